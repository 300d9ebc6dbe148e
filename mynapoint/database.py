"""Engines and sessions for SQLite (the kiosk's queue; the service's embedded default)
and PostgreSQL (the service at scale).

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed result survives a power
cut) and every transaction starts with ``BEGIN IMMEDIATE``, so that concurrent writers
queue on the busy timeout instead of failing when a read turns into a write. A reader
that never writes may ask for a plain deferred ``BEGIN`` instead, with the execution
option ``sqlite_read_only=True`` (``read_only_sessions``): it never waits for the write
lock. The database file is made 0600 before SQLite opens it. The kiosk's queue also sets
``secure_delete`` (erased secrets are overwritten in the file, not just unlinked) and may
cap its size (``max_page_count``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from mynapoint.private_files import create_private_empty

SQLITE_BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on both databases (SQLite keeps
    no time zone, so it stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def make_engine(
    url: str,
    *,
    secure_delete: bool = False,
    max_page_count: int | None = None,
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    **options: Any,
) -> Engine:
    """An engine for ``url``; ``options`` go to SQLAlchemy's ``create_engine`` (pool sizes,
    and for PostgreSQL ``connect_args``). ``busy_timeout_ms``: how long an SQLite writer
    waits for the write lock before it fails (and its caller says "busy")."""
    if url.startswith("sqlite"):
        _create_private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000}, **options)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            if secure_delete:
                cursor.execute("PRAGMA secure_delete=ON")
            if max_page_count is not None:
                cursor.execute(f"PRAGMA max_page_count={int(max_page_count)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            read_only = connection.get_execution_options().get("sqlite_read_only", False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 20)
    options.setdefault("pool_pre_ping", True)
    return create_engine(url, **options)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_only_sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions that only read: on SQLite they take no write lock (a write in one would
    fail at once instead of waiting its turn, so they must never write); on PostgreSQL
    each statement runs on its own (no BEGIN and COMMIT round trips)."""
    if engine.dialect.name == "postgresql":
        return sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"),
                            expire_on_commit=False)  # fmt: skip
    return sessionmaker(engine.execution_options(sqlite_read_only=True), expire_on_commit=False)


def single_statement_sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions for work that is one statement, atomic by itself: on PostgreSQL without a
    transaction around it (one round trip instead of three); on SQLite as usual."""
    if engine.dialect.name == "postgresql":
        return read_only_sessions(engine)
    return make_session_factory(engine)


def dialect_insert(dialect_name: str, table: Any) -> Any:
    """The dialect's INSERT for ``table`` (it has ``on_conflict_do_nothing``), on the two
    databases this project runs on (``postgresql``, else SQLite)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql if dialect_name == "postgresql" else sqlite).insert(table)


# IN lists (and row-value IN lists) are cut into chunks well inside every database's
# parameter limit.
IN_LIST_CHUNK = 400


def in_chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """``values`` in slices of at most ``IN_LIST_CHUNK``, for one IN list each."""
    for start in range(0, len(values), IN_LIST_CHUNK):
        yield values[start : start + IN_LIST_CHUNK]


def _create_private_sqlite_file(url: str) -> None:
    """The database file, 0600, before SQLite makes it 0644 (in-memory ones have none)."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        if path.parent.is_dir():  # otherwise SQLite reports the missing directory
            create_private_empty(path)
