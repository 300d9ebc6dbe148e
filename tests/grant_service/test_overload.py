"""A saturated database makes the service answer "busy, retry after" at once, instead of
piling requests up until their clients time out and send them all again.

The database is made to stall by holding a lock the service needs (a table lock on
PostgreSQL, the write lock on SQLite); the service is set to wait for a lock at most 1 s,
for a free connection at most 0.5 s, and to take 8 requests at once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from grant_service.models import MyKey
from tests.support.service_cluster import at_once, outcome, running_cluster
from tests.support.service_harness import ServiceEnv

pytestmark = pytest.mark.slow

STALL = {
    "db_lock_timeout_seconds": 1,
    "db_pool_size": 2,
    "db_max_overflow": 0,
    "db_pool_timeout_seconds": 0.5,
    "max_concurrent_requests": 8,
}


def busy(reply: object) -> bool:
    status, reason, _ = outcome(reply)
    retry_after = reply.headers.get("retry-after")  # type: ignore[attr-defined]
    return (status, reason) == (503, "SERVICE_BUSY") and retry_after == "5"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_stalled_database_is_answered_busy_at_once_and_nothing_is_lost(
    make_service: Callable[..., ServiceEnv], tmp_path: Path
) -> None:
    service = make_service(**STALL)
    kiosk = service.kiosk()
    envelopes = [kiosk.reservation(service.card()) for _ in range(24)]
    engine = service.sessions.kw["bind"]
    with running_cluster(service, tmp_path, processes=1, **STALL) as cluster:
        clients = [cluster.client(kiosk, 0) for _ in envelopes]
        calls = [lambda c=c, e=e: c.submit(e) for c, e in zip(clients, envelopes, strict=True)]
        with engine.connect() as hold:
            hold.exec_driver_sql("LOCK TABLE submissions IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            replies = at_once(calls)
            elapsed = time.monotonic() - started
            hold.rollback()
        assert all(busy(r) for r in replies), [outcome(r) for r in replies]
        # A lock wait of 1 s, a connection wait of 0.5 s: nobody waited for the lock's end.
        assert elapsed < 4, f"the answers took {elapsed:.1f} s"
        waiting, done = list(calls), []
        for _ in range(20):  # the kiosks come back (after Retry-After, in real life)
            replies = at_once(waiting)
            assert all(busy(r) or outcome(r)[:2] == (200, None) for r in replies)
            done += [r for r in replies if not busy(r)]
            waiting = [c for c, r in zip(waiting, replies, strict=True) if busy(r)]
            if not waiting:
                break
    assert not waiting and len(done) == len(envelopes)
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(MyKey)) == len(envelopes)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_sqlite_writer_waits_at_most_the_lock_timeout(
    make_service: Callable[..., ServiceEnv],
) -> None:
    service = make_service(**STALL)
    kiosk = service.kiosk()
    envelope = kiosk.reservation(service.card())
    holder = sqlite3.connect(make_url(service.settings.database_url).database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        reply = kiosk.client.submit(envelope)
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert busy(reply), outcome(reply)
    assert elapsed < 3, f"the answer took {elapsed:.1f} s"
    assert kiosk.client.submit(envelope).status_code == 200


def test_requests_beyond_the_admission_limit_are_refused_without_waiting(
    make_service: Callable[..., ServiceEnv], tmp_path: Path
) -> None:
    """Requests already in the process wait for the database; more are told to come back
    at once, on both databases."""
    service = make_service(**{**STALL, "db_lock_timeout_seconds": 3, "max_concurrent_requests": 2})
    kiosk = service.kiosk()
    envelopes = [kiosk.reservation(service.card()) for _ in range(10)]
    engine = service.sessions.kw["bind"]
    settings = {**STALL, "db_lock_timeout_seconds": 3, "max_concurrent_requests": 2}
    with running_cluster(service, tmp_path, processes=1, **settings) as cluster:
        clients = [cluster.client(kiosk, 0) for _ in envelopes]
        timed: list[float] = []

        def timed_call(client, envelope):  # type: ignore[no-untyped-def]
            started = time.monotonic()
            try:
                return client.submit(envelope)
            finally:
                timed.append(time.monotonic() - started)

        with _stalled(engine):
            replies = at_once(
                [lambda c=c, e=e: timed_call(c, e) for c, e in zip(clients, envelopes, strict=True)]
            )
    assert all(busy(r) for r in replies), [outcome(r) for r in replies]
    quick = [t for t in timed if t < 1.0]
    assert len(quick) >= len(envelopes) - 2, sorted(timed)  # all but the two admitted


class _stalled:
    """Hold the lock every submission needs, on either database."""

    def __init__(self, engine: object) -> None:
        self.engine = engine
        self.connection: object = None

    def __enter__(self) -> None:
        if self.engine.dialect.name == "postgresql":  # type: ignore[attr-defined]
            self.connection = self.engine.connect()  # type: ignore[attr-defined]
            self.connection.exec_driver_sql("LOCK TABLE submissions IN ACCESS EXCLUSIVE MODE")  # type: ignore[attr-defined]
        else:
            path = make_url(str(self.engine.url)).database  # type: ignore[attr-defined]
            self.connection = sqlite3.connect(path, isolation_level=None)
            self.connection.execute("BEGIN IMMEDIATE")  # type: ignore[attr-defined]

    def __exit__(self, *_exc: object) -> None:
        if isinstance(self.connection, sqlite3.Connection):
            self.connection.execute("ROLLBACK")
        else:
            self.connection.rollback()  # type: ignore[attr-defined]
        self.connection.close()  # type: ignore[attr-defined]
