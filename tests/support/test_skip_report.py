"""``./scripts/test`` ends with a line listing every skip and its reason (issue 13)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO


def run_pytest(directory: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.support.skip_report", "-q",
         "-p", "no:cacheprovider", str(directory)],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    return done.stdout.strip().splitlines()


def test_the_last_line_lists_every_skip_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n"
        "def test_runs(): pass\n"
        "@pytest.mark.skip(reason='tesseract is missing')\n"
        "def test_needs_a_tool(): pass\n"
    )
    last = run_pytest(tmp_path)[-1]
    assert last.startswith("skipped: 1: ")
    assert "test_sample.py::test_needs_a_tool (tesseract is missing)" in last


def test_a_run_without_skips_says_so(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text("def test_runs(): pass\n")
    assert run_pytest(tmp_path)[-1] == "skipped: none"
