"""pytest fixtures for Kivy UI tests: one offscreen window per process, emptied after each test.

A UI test module loads them with ``pytest_plugins = ["tests.support.kivy_fixtures"]`` (or
tests/conftest.py does, for every module), then asks for ``kivy_ui``::

    def test_something(kivy_ui):
        kivy_ui.resize((1280, 800))
        root = kivy_ui.show(build_screen())
        kivy_ui.tap(kivy_ui.find_by_text(root, "確定"))

Importing this module sets Kivy's environment (offscreen, private KIVY_HOME) before Kivy
is imported anywhere.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from kiosk.ui import kivy_harness
from tests.support.paths import REPO

# At import, not in a fixture: a test module may import kiosk.ui.screens (and so Kivy) at its
# top, before any fixture runs. KIVY_HOME is a temporary directory removed at exit.
kivy_harness.prepare_environment()


@pytest.fixture(scope="session")
def kivy_window() -> Iterator[object]:
    """Kivy's window, made once for the session (about 0.5 s), at 1920x1080."""
    window = kivy_harness.open_window((1920, 1080))
    yield window
    kivy_harness.clear()


@pytest.fixture
def kivy_ui(kivy_window: object) -> Iterator[ModuleType]:
    """The harness (``kiosk.ui.kivy_harness``) on an empty window; the window is
    emptied again, and the process's translator dropped, after the test."""
    from kiosk.ui.kit.style import ui

    kivy_harness.clear()
    yield kivy_harness
    kivy_harness.clear()
    ui.translator = None


ARTIFACTS = Path(os.environ.get("KIOSK_TEST_ARTIFACTS",
                                REPO / "test-artifacts"))  # fmt: skip


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Path:
    """Where a UI test keeps its screenshots, kept after the run for people to look at:
    ``test-artifacts/ui/<test>/`` (or under ``$KIOSK_TEST_ARTIFACTS``), emptied first."""
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    directory = ARTIFACTS / "ui" / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory
