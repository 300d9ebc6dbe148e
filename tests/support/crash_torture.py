"""Kill -9 torture of the kiosk's sync daemon, shared by
``tests/kiosk/offline_queue/test_crash.py`` and ``bench/queue_crash.py``.

One *cycle*: start the sync daemon on a kiosk whose queue holds unsent envelopes, let it
run for a random moment, SIGKILL it, reap it. Before and after, the queue's counts are
read (read-only, so the crashed state is left for the next daemon to recover: a
read-write connection would checkpoint the WAL when it closes). After the last cycle the
caller runs ``kiosk-sync --once`` and checks that every envelope reached the service
exactly once (``final_check``).

Two ways to start the daemon, both killed with a real SIGKILL:

- ``exec``: the ``kiosk-sync`` console script, as systemd runs it. Starting a Python
  process costs ~1 s before the first claim on a 2-CPU machine, so 100 cycles are ~2 min.
- ``fork``: a child forked from the calling process, which already has the modules
  imported, runs the same entry point (``kiosk.cli.sync.main``, no arguments, settings
  from the ``KIOSK_*`` environment), then leaves with ``os._exit``. It starts within
  ~0.1 s, so 100 cycles take ~20-30 s. The caller must run no other threads (a forked
  child would inherit their locks, held). The child also marks on a shared-memory board
  where it is (``PHASES``: start-up, claiming a batch, HTTP request, after the request,
  WAL checkpoint...; and whether inside a SQLite COMMIT), by wrapping those calls; only
  the child is wrapped, the wrappers only write to the board, and the parent reads it
  after the kill: where the kill landed.

When kills land: ``startup_share`` of the cycles are killed uniformly within the
daemon's start-up (lock, queue open and migrations, identity, client), the rest
uniformly within ``window`` seconds after its loop began (claims, requests, commits,
checkpoints, idle waits). A forked daemon says when its loop begins; for the console
script, the start-up latency is measured first (``calibration`` cycles that poll the
queue until the daemon writes to it, then kill it there), and the running median of
the forked daemons' start-ups bounds the start-up kills.

The queue is refilled between cycles (never while a daemon runs) when it runs low, so
that nearly every kill finds work to interrupt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import RawArray
from pathlib import Path
from typing import Any

from tests.support.kiosk_harness import BIN, KioskRig

# Where a forked daemon is: the board's slot 0 (an index into PHASES); slot 1: when its
# loop began (monotonic); slot 2: 1 inside a queue transaction; slot 3: 1 in its COMMIT.
PHASES = (
    "start-up",  # lock, queue open (migrations), identity, client: before the loop
    "sync loop",  # the loop's own logic and its waits between rounds
    "claiming a batch",  # the transaction marking a batch "sending" (before its request)
    "http request",  # the batch on its way to the service and back
    "after a request",  # recording the answers, the sync state, the alerts
    "wal checkpoint",  # after answered payloads are erased
    "other queue writes",  # releasing a predecessor's leases, pruning
)
STARTUP, LOOP, CLAIM, HTTP, AFTER, CHECKPOINT, OTHER_WRITE = range(len(PHASES))
UNSENT = ("pending", "sending")
# How the daemon logs a request the service died in the middle of (httpx's errors).
CUT_OFF = ("RemoteProtocolError", "ReadError")


@dataclass(frozen=True)
class Snapshot:
    """The queue's rows per state, and its leases (rows "sending": id, lease end)."""

    counts: dict[str, int]
    leases: frozenset[tuple[int, str]]

    @property
    def unsent(self) -> int:
        return sum(self.counts.get(state, 0) for state in UNSENT)


def snapshot(database: Path) -> Snapshot:
    """Read through a read-only connection, which neither writes nor checkpoints the WAL
    a killed daemon left: the next daemon finds the crash as it was."""
    with contextlib.closing(
        sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    ) as connection:
        counts = connection.execute("SELECT state, count(*) FROM queue GROUP BY state")
        leases = connection.execute("SELECT id, lease_until FROM queue WHERE state = 'sending'")
        return Snapshot(
            {str(state): int(count) for state, count in counts},
            frozenset((int(i), str(until)) for i, until in leases),
        )


@dataclass
class Kill:
    """One cycle: the daemon started, ran ``delay`` seconds, was SIGKILLed."""

    cycle: int
    mode: str
    delay: float
    unsent_before: int
    unsent_after: int
    in_flight: int  # rows this daemon claimed and left "sending" (a batch cut off)
    phase: str | None  # where a forked daemon was when killed (None: not known)
    service_killed: bool = False
    loop_after: float | None = None  # when a forked daemon's loop began (after its start)
    in_commit: bool = False  # a forked daemon was inside a queue transaction's COMMIT

    @property
    def interrupted(self) -> bool:
        """The kill cut off work: a batch in flight, or a drain that had begun with
        envelopes left."""
        return self.in_flight > 0 or 0 < self.unsent_after < self.unsent_before


@dataclass
class TortureReport:
    seed: int
    mode: str
    batch_size: int
    startup_latency: float  # seconds from start to the first write to the queue (median)
    kills: list[Kill] = field(default_factory=list)
    refills: int = 0
    exited_early: list[str] = field(default_factory=list)  # daemons that died on their own
    hung: list[str] = field(default_factory=list)  # forked daemons that never reached the loop
    stopped_early: bool = False  # the time budget ran out before all the kills
    service_restarts: list[float] = field(default_factory=list)  # seconds each took
    seconds: float = 0.0
    service_kills_mid_batch: int = 0  # the service died with claimed envelopes unanswered
    requests_cut_off: int = 0  # the daemon's requests the service died in the middle of

    @property
    def interrupted(self) -> int:
        return sum(kill.interrupted for kill in self.kills)

    @property
    def in_flight(self) -> int:
        return sum(kill.in_flight > 0 for kill in self.kills)

    @property
    def with_unsent(self) -> int:
        return sum(kill.unsent_after > 0 for kill in self.kills)

    @property
    def phases(self) -> Counter[str]:
        return Counter(kill.phase for kill in self.kills if kill.phase is not None)

    @property
    def in_commit(self) -> int:
        return sum(kill.in_commit for kill in self.kills)

    @property
    def service_kills(self) -> int:
        return sum(kill.service_killed for kill in self.kills)

    def lines(self) -> list[str]:
        n = len(self.kills)
        out = [
            f"seed {self.seed}, mode {self.mode}, batches of {self.batch_size}, "
            f"start-up latency {self.startup_latency * 1000:.0f} ms",
            f"kills: {n} in {self.seconds:.1f} s ({self.seconds / max(n, 1) * 1000:.0f} ms "
            f"per cycle), {self.refills} refills",
            f"kills that interrupted work: {self.interrupted} "
            f"(with a batch in flight: {self.in_flight}; with envelopes unsent: "
            f"{self.with_unsent})",
        ]
        if self.service_kills:
            out.append(
                f"cycles that also killed the grant service: {self.service_kills} "
                f"(with envelopes claimed and unanswered: {self.service_kills_mid_batch}; "
                f"the daemon's requests cut off by it: {self.requests_cut_off})"
            )
        if self.phases:
            out.append(
                "where the kills landed: "
                + ", ".join(f"{name} {self.phases[name]}" for name in PHASES if self.phases[name])
                + f"; inside a SQLite COMMIT: {self.in_commit}"
            )
        if self.service_restarts:
            out.append(
                f"service restarts: {len(self.service_restarts)}, median "
                f"{statistics.median(self.service_restarts):.1f} s, "
                f"max {max(self.service_restarts):.1f} s"
            )
        if self.stopped_early:
            out.append("stopped early: the time budget ran out")
        if self.hung:
            out.append(f"daemons that hung in their start-up: {self.hung}")
        if self.exited_early:
            out.append(f"daemons that exited on their own: {self.exited_early}")
        return out


# --- a forked daemon -------------------------------------------------------------------


def _instrument(board: Any) -> None:
    """In the forked child only: mark on ``board`` where the daemon is. The wrappers
    only write to the board; what they wrap runs as it is."""
    from sqlalchemy import Engine, event

    from kiosk.link.service_client import ServiceClient
    from kiosk.offline_queue.store import QueueStore
    from kiosk.offline_queue.sync import Syncer, SyncLoop

    def during(
        phase: int, function: Callable[..., Any], then: int | None = None
    ) -> Callable[..., Any]:
        """Mark ``phase`` while ``function`` runs; afterwards ``then``, or what it was."""

        @functools.wraps(function)
        def marked(*args: Any, **kwargs: Any) -> Any:
            previous, board[0] = board[0], phase
            try:
                return function(*args, **kwargs)
            finally:
                board[0] = previous if then is None else then

        return marked

    def transaction(write: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(write)
        def marked(*args: Any, **kwargs: Any) -> Any:
            previous = board[0]
            if board[0] in (STARTUP, LOOP):
                board[0] = OTHER_WRITE
            board[2] = 1
            try:
                return write(*args, **kwargs)
            finally:
                board[0], board[2], board[3] = previous, 0, 0

        return marked

    def loop_started(run: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(run)
        def marked(*args: Any, **kwargs: Any) -> Any:
            board[0], board[1] = LOOP, time.monotonic()
            return run(*args, **kwargs)

        return marked

    def committing(connection: Any) -> None:
        if board[2]:  # a queue transaction's COMMIT (not the migrations')
            board[3] = 1

    QueueStore._write = transaction(QueueStore._write)  # type: ignore[method-assign]
    QueueStore.claim_ready = during(CLAIM, QueueStore.claim_ready)  # type: ignore[method-assign]
    QueueStore.checkpoint = during(CHECKPOINT, QueueStore.checkpoint)  # type: ignore[method-assign]
    ServiceClient.submit_batch = during(HTTP, ServiceClient.submit_batch, then=AFTER)  # type: ignore[method-assign]
    Syncer.drain = during(LOOP, Syncer.drain, then=LOOP)  # type: ignore[method-assign]
    SyncLoop.run = loop_started(SyncLoop.run)  # type: ignore[method-assign]
    event.listen(Engine, "commit", committing)


def _forked_daemon(env: dict[str, str], log_path: Path, board: Any) -> None:
    """The child's life: ``kiosk-sync`` as the console script runs it; never returns."""
    code = 70
    try:
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__  # not pytest's capture
        os.environ.update(env)
        logging.root.handlers.clear()  # the parent's (pytest's) handlers: let it log here
        _instrument(board)
        from kiosk.cli.sync import main

        main(args=[], prog_name="kiosk-sync", standalone_mode=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _other_threads_after(timeout: float) -> list[str]:
    """The names of this process's other threads still running after up to ``timeout`` s.

    A fork copies only the calling thread, and a lock another thread held stays locked in
    the child. A test before this one may leave a thread that is ending (an HTTP server's
    handler thread while its client closes a kept-alive connection): wait for it."""
    deadline = time.monotonic() + timeout
    while True:
        others = [t for t in threading.enumerate() if t is not threading.current_thread()]
        if not others or time.monotonic() >= deadline:
            return [t.name for t in others]
        others[0].join(0.1)


class Daemon:
    """One run of the sync daemon, to be SIGKILLed."""

    def __init__(self, rig: KioskRig, mode: str, log_path: Path) -> None:
        self.mode = mode
        self.board = RawArray("d", 4)  # shared with a forked child (see PHASES)
        self.board[0] = STARTUP
        self.process: subprocess.Popen[bytes] | None = None
        self.pid = 0
        self.status: str | None = None  # how it ended
        self.started = time.monotonic()
        sys.stdout.flush()
        sys.stderr.flush()
        if mode == "fork":
            others = _other_threads_after(10.0)
            if others:
                raise RuntimeError(
                    f"fork with other threads running ({', '.join(others)}): use mode "
                    "'exec', or stop them"
                )
            pid = os.fork()
            if pid == 0:
                _forked_daemon(rig.env, log_path, self.board)  # never returns
            self.pid = pid
        elif mode == "exec":
            with log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [str(BIN / "kiosk-sync")], env={**os.environ, **rig.env},
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )  # fmt: skip
            self.pid = self.process.pid
        else:
            raise ValueError(f"unknown mode {mode!r}")

    def alive(self) -> bool:
        """Still running (a forked daemon; not reaped)."""
        return not os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)

    def wait_for_loop(self, timeout: float = 10) -> float | None:
        """When a forked daemon's sync loop began (monotonic), waiting for it; None if it
        died first or took longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.board[1] and time.monotonic() < deadline:
            if not self.alive():
                break  # it died (not reaped: kill() does that)
            time.sleep(0.0005)
        return self.board[1] or None

    def kill(self) -> bool:
        """SIGKILL and reap it; True if it was still running (was killed by us)."""
        if self.status is not None:
            return False
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            returncode = self.process.wait()
            killed = returncode == -signal.SIGKILL
            self.status = "killed" if killed else f"exit status {returncode}"
            return killed
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)  # a zombie still takes it
        _, status = os.waitpid(self.pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        self.status = "killed" if killed else f"wait status {status}"
        return killed

    @property
    def loop_after(self) -> float | None:
        """Seconds from its start to its sync loop's (a forked daemon's, if it got there)."""
        if self.mode != "fork" or not self.board[1]:
            return None
        return self.board[1] - self.started

    @property
    def phase(self) -> str | None:
        if self.mode != "fork":
            return None
        return PHASES[int(self.board[0])]

    @property
    def in_commit(self) -> bool:
        return bool(self.board[3])


@contextlib.contextmanager
def daemon(rig: KioskRig, mode: str, log_path: Path) -> Iterator[Daemon]:
    """A daemon that is killed on the way out, whatever happens (a failed assertion, a
    pytest timeout)."""
    run = Daemon(rig, mode, log_path)
    try:
        yield run
    finally:
        run.kill()


# --- the torture -----------------------------------------------------------------------


def calibrate(rig: KioskRig, mode: str, log_path: Path, runs: int = 3) -> list[float]:
    """How long the daemon takes from its start to its first write to the queue
    (releasing a predecessor's leases, or claiming a batch): poll the queue's counts
    until they change, then kill it right there."""
    latencies = []
    for _ in range(runs):
        before = snapshot(rig.settings.queue_database)
        with daemon(rig, mode, log_path) as run:
            deadline = run.started + 30
            while time.monotonic() < deadline:
                if snapshot(rig.settings.queue_database) != before:
                    break
                time.sleep(0.002)
            latencies.append(time.monotonic() - run.started)
    return latencies


def torture(
    rig: KioskRig,
    *,
    kills: int,
    seed: int,
    log_dir: Path,
    mode: str = "fork",
    window: float = 0.15,
    startup_share: float = 0.25,
    low_water: int = 60,
    refill: int = 120,
    service_kill_share: float = 0.0,
    calibration: int = 3,
    budget: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> TortureReport:
    """``kills`` cycles of start, random wait, SIGKILL; see the module's docstring.

    With ``service_kill_share``, that share of the cycles also SIGKILLs the grant
    service at a random moment while the daemon runs, and starts it again: half of them
    before the daemon is killed (which then backs off and sends again), half after it
    (the daemon dies while the service is down).

    With ``budget`` (seconds), no cycle starts after it is spent (``stopped_early``): a
    CI machine slower than expected still finishes, with fewer kills.
    """
    rng = random.Random(seed)
    database = rig.settings.queue_database
    log_path = log_dir / f"kiosk-sync-{mode}.log"
    log_start = log_path.stat().st_size if log_path.exists() else 0
    started = time.perf_counter()
    if snapshot(database).unsent < low_water:
        rig.queue(refill)
    latency = statistics.median(calibrate(rig, mode, log_path, calibration))
    report = TortureReport(seed, mode, rig.settings.sync_batch_size, latency)
    backoff = rig.settings.backoff_max_seconds
    claims_left = 0

    observed: list[float] = []  # forked daemons' start-up latencies, as they come

    def pause(run: Daemon) -> None:
        """Wait for a random moment of the daemon's life: within its start-up, or up to
        ``window`` seconds into its work (a forked daemon says when its loop begins)."""
        if rng.random() < startup_share:
            startup = statistics.median(observed[-25:]) if observed else latency
            until = run.started + rng.uniform(0, startup)
        else:
            offset = rng.uniform(0, window)
            begun = run.wait_for_loop() if mode == "fork" else None
            if mode == "fork" and begun is None and run.alive():
                report.hung.append(f"cycle {len(report.kills)}: no sync loop after 10 s")
            until = (begun if begun is not None else run.started + latency) + offset
        time.sleep(max(0.0, until - time.monotonic()))

    def restart_service() -> None:
        begun = time.perf_counter()
        rig.service.start()
        report.service_restarts.append(time.perf_counter() - begun)

    for cycle in range(kills):
        if budget is not None and time.perf_counter() - started > budget:
            report.stopped_early = True
            break
        before = snapshot(database)
        if before.unsent < low_water:
            rig.queue(refill)
            report.refills += 1
            before = snapshot(database)
        service_killed = rng.random() < service_kill_share
        with daemon(rig, mode, log_path) as run:
            if service_killed:
                since = dt.datetime.now(dt.UTC)
                pause(run)
                rig.service.stop(kill=True)
                claims_left += service_claims_in_flight(rig, since) > 0
                if rng.random() < 0.5:  # the daemon dies while the service is down
                    time.sleep(rng.uniform(0, window))
                    killed = run.kill()
                    restart_service()
                else:  # the service comes back under a running daemon
                    restart_service()
                    time.sleep(rng.uniform(0, window + backoff))
                    killed = run.kill()
            else:
                pause(run)
                killed = run.kill()
        if run.loop_after is not None:
            observed.append(run.loop_after)
        delay = time.monotonic() - run.started
        if not killed:
            report.exited_early.append(f"cycle {cycle}: {run.status}")
        after = snapshot(database)
        kill = Kill(
            cycle, mode, delay, before.unsent, after.unsent, len(after.leases - before.leases),
            run.phase, service_killed, run.loop_after, run.in_commit,
        )  # fmt: skip
        report.kills.append(kill)
        if progress is not None and (cycle + 1) % 50 == 0:
            progress(
                f"{cycle + 1} kills, {report.interrupted} interrupted work, "
                f"{time.perf_counter() - started:.0f} s"
            )
    report.seconds = time.perf_counter() - started
    report.service_kills_mid_batch = claims_left
    with log_path.open("rb") as log:
        log.seek(log_start)
        lines = log.read().decode(errors="replace").splitlines()
    report.requests_cut_off = sum(
        "cannot reach the service: " in line and line.split(": ")[-1].startswith(CUT_OFF)
        for line in lines
    )
    return report


def service_claims_in_flight(rig: KioskRig, since: dt.datetime) -> int:
    """Envelopes the (killed) service claimed since ``since`` and never answered."""
    database = rig.database_url.removeprefix("sqlite:///")
    stamp = since.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")  # as stored
    with contextlib.closing(
        sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    ) as connection:
        query = "SELECT count(*) FROM submissions WHERE state = 'in_flight' AND received_at >= ?"
        return int(connection.execute(query, (stamp,)).fetchone()[0])


# --- after the torture ---------------------------------------------------------------


@dataclass
class Verdict:
    envelopes: int
    lost: list[str]  # never processed by the service
    twice: list[str]  # processed (accepted) more than once
    unsettled: dict[str, str | None]  # not "accepted" on the kiosk
    replays: int  # sends the service answered as replays (the crashes' resends)
    once_runs: int  # ``kiosk-sync --once`` runs until it exited 0
    once_status: int  # the last one's
    once_output: str
    queue_status: int  # ``kiosk-queue status``
    integrity: str  # PRAGMA integrity_check of the queue

    @property
    def sound(self) -> bool:
        return (
            not self.lost
            and not self.twice
            and not self.unsettled
            and self.once_status == 0
            and self.queue_status == 0
            and self.integrity == "ok"
        )

    def lines(self) -> list[str]:
        return [
            f"envelopes: {self.envelopes}, lost: {len(self.lost)}, duplicates: "
            f"{len(self.twice)}, not accepted on the kiosk: {len(self.unsettled)}",
            f"resends answered as replays: {self.replays}",
            f"kiosk-sync --once: {self.once_runs} run(s), the last exit {self.once_status} "
            f"({self.once_output.strip()}); "
            f"kiosk-queue status: exit {self.queue_status}; integrity_check: {self.integrity}",
        ]


def cli(rig: KioskRig, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / tool), *args], capture_output=True, text=True,
        env={**os.environ, **rig.env}, timeout=120, check=False,
    )  # fmt: skip


def integrity(database: Path) -> str:
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
        return "; ".join(row[0] for row in connection.execute("PRAGMA integrity_check"))


def final_check(rig: KioskRig, patience: float = 60) -> Verdict:
    """The queue's integrity as the last daemon left it, then ``kiosk-sync --once`` (no
    kill) until it exits 0 (it exits 1 while the service answers some envelope with
    "in flight, try later": a service killed mid-batch keeps its claims until their
    lease ends) or ``patience`` runs out; then what the service and the kiosk say of
    every envelope made."""
    checked = integrity(rig.settings.queue_database)
    deadline = time.monotonic() + patience
    runs = 0
    while True:
        once = cli(rig, "kiosk-sync", "--once")
        runs += 1
        if once.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    status = cli(rig, "kiosk-queue", "status")
    checked_after = integrity(rig.settings.queue_database)
    events, states = rig.service_events(), rig.kiosk_states()
    lost = [u for u in rig.made if not any(".replay" not in a for a, _ in events.get(u, []))]
    twice = [
        u
        for u in rig.made
        if sum(1 for a, o in events.get(u, []) if ".replay" not in a and o == "accepted") > 1
    ]
    unsettled = {u: states.get(u) for u in rig.made if states.get(u) != "accepted"}
    replays = sum(1 for u in rig.made for a, _ in events.get(u, []) if ".replay" in a)
    return Verdict(
        envelopes=len(rig.made),
        lost=lost,
        twice=twice,
        unsettled=unsettled,
        replays=replays,
        once_runs=runs,
        once_status=once.returncode,
        once_output=once.stdout + once.stderr[-2000:],
        queue_status=status.returncode,
        integrity=checked if checked != "ok" else checked_after,
    )


def shorten_service_leases(rig: KioskRig, seconds: int) -> None:
    """Restart the service with short in-flight claims (default 60 s): a service killed
    between claiming a batch and applying it answers "in flight" for that long."""
    rig.service.stop()
    rig.service.env["GRANT_SERVICE_IN_FLIGHT_LEASE_SECONDS"] = str(seconds)
    rig.service.start()
