"""The sync daemon SIGKILLed at random moments, over and over: nothing lost, nothing twice.

A kiosk with hundreds of queued reservations (signed by a virtual card through its
APDUs) in front of a real ``grant-service serve``; the sync daemon is started, killed
with SIGKILL after a random moment, started again, 100+ times. Then ``kiosk-sync
--once`` runs unkilled, and every envelope must have been processed by the service
exactly once (the crashes' resends answered as replays) and be "accepted" on the kiosk;
``kiosk-queue status`` must report an empty queue and SQLite must find the queue file
intact.

How the daemon is started, measured on a 2-CPU machine: the ``kiosk-sync`` console
script needs 0.5-1.2 s before its first batch (interpreter start and imports), so 100
cycles would take ~2 min; a child forked from the test process, which runs the same
entry point (``kiosk.cli.sync.main``) with the same ``KIOSK_*`` environment, needs
~0.07 s, and a SIGKILL is as real for it. So the 100 cycles use forked children (~20-30
s with the refills); 4 more run the console script itself, and the final drain is the
console script too. Batches of 5; kills land within the start-up (a quarter of them) or
up to 150 ms into the work, so they fall before, during and after HTTP requests, inside
queue transactions, their commits and WAL checkpoints: the forked child marks where it
is, and the test checks that the kills did land there and did cut off work (a batch
left in flight, a drain half done). Typically 60-75 of the 100 kills cut off work,
45-55 with a batch in flight, 4-15 inside a SQLite COMMIT. The loop itself is
``tests/support/crash_torture.py`` (``bench/queue_crash.py`` runs it 1,000 times).

The seed is printed; ``CRASH_TORTURE_SEED=<seed>`` replays a run's kill moments.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import time
from collections.abc import Iterator
from multiprocessing.sharedctypes import RawArray
from pathlib import Path

import pytest

from kiosk.offline_queue.cipher import PayloadCipher
from tests.support.crash_torture import (
    TortureReport,
    Verdict,
    final_check,
    shorten_service_leases,
    torture,
)
from tests.support.kiosk_harness import KioskRig, make_card_and_ca, make_rig

pytestmark = pytest.mark.slow


def seed() -> int:
    chosen = os.environ.get("CRASH_TORTURE_SEED")
    value = int(chosen) if chosen else random.SystemRandom().randrange(2**32)
    print(f"crash torture seed: {value} (again: CRASH_TORTURE_SEED={value})")
    return value


def show(*parts: TortureReport | Verdict) -> str:
    lines = [line for part in parts for line in part.lines()]
    print("\n".join(lines))
    return "\n".join(lines)


def assert_sound(verdict: Verdict, rig: KioskRig, summary: str) -> None:
    assert verdict.integrity == "ok", summary
    assert verdict.once_status == 0, summary
    assert verdict.queue_status == 0, summary
    assert not verdict.lost and not verdict.twice and not verdict.unsettled, summary
    rig.assert_exactly_once()


@pytest.fixture
def crash_rig(private_data_home: Path) -> Iterator[KioskRig]:
    """A kiosk whose daemon sends batches of 5 (a kill often lands mid-batch)."""
    rig = make_rig(private_data_home, make_card_and_ca(), sync_batch_size=5)
    yield rig
    rig.service.stop()


@pytest.mark.timeout(150)
def test_sync_killed_at_random_moments_loses_nothing_and_sends_nothing_twice(
    crash_rig: KioskRig, tmp_path: Path
) -> None:
    rig = crash_rig
    rig.queue(300)
    forked = torture(rig, kills=100, seed=seed(), log_dir=tmp_path, mode="fork")
    script = torture(
        rig, kills=4, seed=forked.seed + 1, log_dir=tmp_path, mode="exec", calibration=2
    )
    verdict = final_check(rig)
    summary = show(forked, script, verdict)

    assert not forked.exited_early and not script.exited_early, summary
    assert not forked.hung, summary
    assert_sound(verdict, rig, summary)
    assert verdict.replays > 0, summary  # the kills did make the daemon send again
    # The kills were not idle: most cut off work, many with a batch in flight, and they
    # landed in every part of the daemon's work.
    assert forked.interrupted >= 50, summary
    assert forked.in_flight >= 25, summary
    phases = forked.phases
    assert phases["start-up"] >= 5, summary
    assert phases["claiming a batch"] + phases["http request"] >= 20, summary
    assert phases["after a request"] + phases["wal checkpoint"] >= 3, summary


@pytest.mark.timeout(150)
def test_sync_and_service_both_killed_at_random_moments(
    crash_rig: KioskRig, tmp_path: Path
) -> None:
    """Most cycles also SIGKILL the grant service (mid-request, mid-commit, idle) and
    start it again, before or after the daemon is killed. A service killed between
    claiming a batch and applying it answers "in flight" until its claims' lease ends
    (3 s here, 60 s by default); then the kiosk's resend is processed, once."""
    rig = crash_rig
    shorten_service_leases(rig, 3)
    rig.queue(200)
    report = torture(
        rig,
        kills=25,
        seed=seed(),
        log_dir=tmp_path,
        mode="fork",
        service_kill_share=0.6,
        budget=60,
    )
    verdict = final_check(rig)
    summary = show(report, verdict)

    assert not report.exited_early and not report.hung, summary
    assert len(report.kills) >= 10, summary  # all 25 in ~30 s, unless CI is very slow
    assert_sound(verdict, rig, summary)
    assert report.service_kills >= len(report.kills) // 5, summary
    assert report.interrupted >= len(report.kills) // 5, summary


@pytest.mark.timeout(60)
@pytest.mark.parametrize("stuck_in", ["secrets.token_bytes", "os.fsync"])
def test_a_process_killed_while_making_the_queue_key_leaves_none_or_a_whole_one(
    tmp_path: Path, stuck_in: str
) -> None:
    """The first process to open the queue makes its key. One stopped while doing so
    (by SIGKILL, or just slower than a second process starting beside it, as the sync
    and the kiosk app do at first boot) must leave no key file or a whole one: a short
    one would stop every later start ("the queue key must be 32 bytes")."""
    path = tmp_path / "kiosk" / "queue.key"
    stuck = RawArray("d", 1)
    module_name, name = stuck_in.split(".")
    module = {"secrets": secrets, "os": os}[module_name]
    pid = os.fork()
    if pid == 0:  # the child: stopped for good in the middle of making the key
        try:

            def stop_here(*args: object) -> None:
                stuck[0] = 1
                time.sleep(60)

            setattr(module, name, stop_here)
            PayloadCipher.load_or_create(path)
        finally:
            os._exit(1)
    try:
        deadline = time.monotonic() + 20
        while not stuck[0]:
            assert time.monotonic() < deadline, "the child never got to making the key"
            time.sleep(0.005)
        beside = PayloadCipher.load_or_create(path)  # a second process, meanwhile
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    after = PayloadCipher.load_or_create(path)  # the next start, after the kill
    assert after.key_id == beside.key_id
    assert len(path.read_bytes()) == 32
