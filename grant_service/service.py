"""Everything the HTTP routes use, built once per process from the settings."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from grant_service.catalog import CatalogCache
from grant_service.devices import NonceSweep
from grant_service.keys import DeviceCa, ServiceKeys
from grant_service.operators import OperatorRegistry
from grant_service.pki import CardTrust
from grant_service.settings import Settings
from grant_service.submissions import SubmissionProcessor
from mynapoint.database import (
    make_engine,
    make_session_factory,
    read_only_sessions,
    single_statement_sessions,
)
from mynapoint.dates import utc_now
from mynapoint.platform_catalog import PlatformCatalog
from mynapoint.private_files import make_private_directory

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


class _PoolOptions(TypedDict, total=False):
    """SQLAlchemy's pool options, as ``database_engine`` passes them to ``create_engine``."""

    pool_size: int
    max_overflow: int
    pool_timeout: float
    pool_pre_ping: bool


def database_engine(settings: Settings) -> Engine:
    """The service's engine: a bounded pool, and bounded waits for a connection and for a
    lock, so that a saturated database makes requests fail fast as 503 "busy, retry after"
    (``api.py``) instead of piling up."""
    lock_ms = int(settings.db_lock_timeout_seconds * 1000)
    pool = _PoolOptions(
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    if settings.is_sqlite:
        return make_engine(settings.database_url, busy_timeout_ms=lock_ms, **pool)
    # No ping before each use (a round trip per transaction): a connection that died shows
    # as an error, answered 503 and retried, and SQLAlchemy then drops the whole pool.
    pool["pool_pre_ping"] = False
    statement_ms = int(settings.db_statement_timeout_seconds * 1000)
    connect_args: dict[str, object] = {
        "options": f"-c lock_timeout={lock_ms} -c statement_timeout={statement_ms}"
    }
    if settings.db_behind_pgbouncer:  # transaction mode: nothing may outlive a transaction
        connect_args = {"prepare_threshold": None}
    return make_engine(settings.database_url, connect_args=connect_args, **pool)


@dataclass
class Service:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    trust: CardTrust
    keys: ServiceKeys
    device_ca: DeviceCa
    catalogs: CatalogCache
    processor: SubmissionProcessor
    clock: Clock
    # Sessions that only read (on SQLite: no write lock), e.g. to check who is calling
    # before anything is written for them.
    readers: sessionmaker[Session]
    # Sessions for one-statement writes (a request's nonce).
    single_writes: sessionmaker[Session]
    nonce_sweep: NonceSweep
    platform: PlatformCatalog
    # When this process last pruned the fleet's history: at most once a minute.
    history_sweep: NonceSweep = field(default_factory=lambda: NonceSweep(every_seconds=60.0))

    @classmethod
    def build(cls, settings: Settings, clock: Clock = utc_now) -> Service:
        make_private_directory(settings.data_dir)
        engine = database_engine(settings)
        sessions = make_session_factory(engine)
        trust = CardTrust.from_files(settings.trusted_ca_files)
        if not trust.issuers:
            log.warning("no trusted JPKI CA found in %s: every card will be refused",
                        settings.trusted_ca_files)  # fmt: skip
        keys = ServiceKeys.load(settings.data_dir)
        registry = OperatorRegistry.from_file(
            settings.operator_registry_file, settings.operators_unavailable
        )
        catalogs = CatalogCache(settings.application_deadline)
        platform = PlatformCatalog.from_file(settings.platform_catalog_file)
        single_writes = single_statement_sessions(engine)
        processor = SubmissionProcessor(
            sessions, settings, trust, registry, catalogs, keys, platform, clock, single_writes
        )
        device_ca = DeviceCa.load_or_create(settings.device_ca_dir)
        return cls(
            settings, engine, sessions, trust, keys, device_ca, catalogs, processor, clock,
            readers=read_only_sessions(engine), single_writes=single_writes,
            nonce_sweep=NonceSweep(), platform=platform,
        )  # fmt: skip
