"""Fixtures the kiosk's parts share: a clock the test moves, and a real queue on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.offline_queue.cipher import PayloadCipher
from kiosk.offline_queue.store import QueueStore
from tests.support.service_harness import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC))


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[QueueStore]:
    """The kiosk's queue (a SQLite file and its key) in the test's directory."""
    cipher = PayloadCipher.load_or_create(tmp_path / "queue.key")
    store = QueueStore(tmp_path / "queue.sqlite3", cipher, clock=clock)
    yield store
    store.close()
