"""The kiosk on a disk filled to the last byte (a 2 MiB tmpfs): every tool that opens the
queue says so in one line, the queue is untouched, and ``kiosk-sync`` still starts and
drains it to a real ``grant-service serve``, spending the queue's ballast.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.offline_queue.lock import SyncLock, SyncRunning
from tests.conftest import run_cli
from tests.support.full_disk import fill, tmpfs
from tests.support.kiosk_harness import KioskRig, make_card_and_ca, make_rig
from tests.support.service_harness import CARD_PIN

pytestmark = pytest.mark.slow

QUEUE_FULL = 5  # the tools' exit status for a full queue (kiosk/cli/common.py)
QUEUED = 24
# The reserve below which new items are refused, and the part of it held in the ballast.
RESERVE_MIB, BALLAST_MIB = 0.75, 0.25


@pytest.fixture
def rig(private_data_home: Path, tmp_path: Path) -> Iterator[KioskRig]:
    """An enrolled kiosk whose data directory (queue, key, lock, ballast) is on a 2 MiB
    tmpfs, in front of a grant service whose data is elsewhere."""
    with tmpfs(tmp_path / "disk", "2m") as disk:
        rig = make_rig(
            private_data_home,
            make_card_and_ca(),
            data_dir=disk / "kiosk",
            queue_min_free_mib=RESERVE_MIB,
            queue_ballast_mib=BALLAST_MIB,
        )
        try:
            yield rig
        finally:
            rig.service.stop()


def queue_rows(rig: KioskRig) -> list[tuple[object, ...]]:
    """Every row of the queue, payloads (encrypted) included."""
    with contextlib.closing(sqlite3.connect(rig.settings.queue_database)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return raw.execute("SELECT * FROM queue ORDER BY id").fetchall()


def assert_one_clear_line(name: str, run: subprocess.CompletedProcess[str]) -> None:
    assert run.returncode == QUEUE_FULL, (name, run.returncode, run.stdout, run.stderr)
    lines = run.stderr.splitlines()
    assert len(lines) == 1, (name, run.stderr)
    assert "queue cannot be written: its disk" in lines[0], (name, lines[0])
    assert "Nothing queued earlier is lost" in lines[0], (name, lines[0])


def test_on_a_full_disk_every_tool_that_opens_the_queue_says_so_in_one_line(
    rig: KioskRig, tmp_path: Path
) -> None:
    rig.service.stop()  # nothing may leave either
    made = rig.queue(QUEUED)
    before = queue_rows(rig)
    ballast = rig.settings.queue_ballast_file.stat().st_size
    assert ballast == BALLAST_MIB * 2**20  # made with the first item

    filler = fill(rig.settings.data_dir)
    runs = {
        "kiosk-submit": run_cli(
            "kiosk-submit", "reservation", "--pin-stdin", stdin=f"{CARD_PIN}\n", env=rig.env
        ),
        "kiosk run": run_cli("kiosk", "run", env=rig.env),
    }
    for args in (
        ["status"],
        ["status", "--json"],
        ["list"],
        ["retry", made[0].receipt_number],
        ["clear-alert", "SERVICE_BUSY"],
        ["export", str(tmp_path / "export.json")],
    ):
        runs[f"kiosk-queue {args[0]}"] = run_cli("kiosk-queue", *args, env=rig.env)
    for name, run in runs.items():
        assert_one_clear_line(name, run)

    # Only the sync spends the ballast; the queue is as it was, byte for byte.
    assert rig.settings.queue_ballast_file.stat().st_size == ballast
    filler.unlink()
    assert queue_rows(rig) == before


def test_on_a_full_disk_kiosk_sync_once_starts_and_drains_the_queue(rig: KioskRig) -> None:
    made = rig.queue(QUEUED)
    fill(rig.settings.data_dir)
    started = time.monotonic()
    synced = run_cli("kiosk-sync", "--once", env=rig.env)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert f"{QUEUED} accepted" in synced.stdout
    assert "released the ballast" in synced.stderr and "Traceback" not in synced.stderr
    assert time.monotonic() - started < 30

    # Nothing lost or sent twice; and still no new item (the reserve holds).
    rig.assert_exactly_once([envelope.uuid for envelope in made])
    refused = run_cli(
        "kiosk-submit", "reservation", "--pin-stdin", stdin=f"{CARD_PIN}\n", env=rig.env
    )
    assert refused.returncode == QUEUE_FULL, refused.stdout + refused.stderr
    assert "queue cannot be written" in refused.stderr.splitlines()[-1]


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_on_a_full_disk_the_sync_daemon_drains_the_queue_by_itself(
    rig: KioskRig, start_cli: Callable[..., subprocess.Popen[str]]
) -> None:
    made = rig.queue(QUEUED)
    fill(rig.settings.data_dir)
    daemon = start_cli("kiosk-sync", env=rig.env)

    def unsent() -> int | None:
        """None until the daemon holds the queue open: its -shm lets others read it."""
        status = run_cli("kiosk-queue", "status", "--json", env=rig.env)
        if status.returncode == QUEUE_FULL:
            return None
        assert status.returncode in (0, 3), status.stderr
        return int(json.loads(status.stdout)["unsent"])

    wait_for(lambda: daemon.poll() is not None or unsent() == 0)
    assert daemon.poll() is None, daemon.communicate()[1]
    daemon.send_signal(signal.SIGTERM)
    _, stderr = daemon.communicate(timeout=20)
    assert daemon.returncode == 0, stderr
    assert "Traceback" not in stderr
    rig.assert_exactly_once([envelope.uuid for envelope in made])


def test_the_sync_lock_is_taken_on_a_full_disk(tmp_path: Path) -> None:
    """The PID is kept where it can be written in place, and never left stale."""
    with tmpfs(tmp_path / "disk", "64k") as disk:
        (disk / "used.lock").write_text("4194304\n")  # a predecessor's, written with room
        fill(disk)
        with SyncLock(disk / "used.lock") as used, SyncLock(disk / "new.lock") as new:
            assert used.holder() == os.getpid()  # written over the old one, in place
            assert new.holder() is None  # no room for one: none rather than a stale one
            with pytest.raises(SyncRunning):
                SyncLock(disk / "new.lock").acquire()
