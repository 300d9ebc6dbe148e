"""Everything a demonstration needs on one machine: a local grant service on SQLite (in
this process, on loopback; it can "lose the network" and get it back), a kiosk enrolled
with it, and virtual My Number Cards from the development test CA.

``kiosk-demo`` (the text demo) and ``kiosk demo`` (the touch screens) both use it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session, sessionmaker

from grant_service import credentials, devices, pki
from grant_service.api import create_app
from grant_service.cli import prepare_database
from grant_service.keys import ServiceKeys
from grant_service.settings import Settings
from kiosk.devices.sim.test_ca import JpkiTestCa
from kiosk.devices.sim.virtual_card import DEMO_PIN, default_ca_dir, ensure_demo_card, issue_card
from kiosk.link.enrollment import enroll
from kiosk.settings import KioskSettings
from mynapoint.database import make_engine, make_session_factory


class DemoError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]  # (host, port) for AF_INET
        return port


class LocalService:
    """The grant service on loopback in a background thread; it can stop and start again
    on the same port (the kiosk keeps its URL), as a store's network comes and goes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        config = uvicorn.Config(
            create_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="grant-service")
        self._thread.daemon = True
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise DemoError("the local grant service did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = self._thread = None


def demo_service_settings(data_dir: Path | None = None) -> Settings:
    """The seeds describe the 2020-21 edition, whose deadline has passed: a demo runs a
    new edition with the deadline a year from today."""
    deadline = dt.date.today() + dt.timedelta(days=365)
    if data_dir is None:
        return Settings(application_deadline=deadline)
    return Settings(application_deadline=deadline, data_dir=data_dir)


def prepare_service(settings: Settings, kiosk_id: str, channel: str) -> str:
    """Schema, catalog, the test CA's fresh CRL (as a CA publishes it); a one-time
    enrollment token for ``kiosk_id``."""
    prepare_database(settings)
    sessions: sessionmaker[Session] = make_session_factory(make_engine(settings.database_url))
    audit_key = ServiceKeys.load(settings.data_dir).audit_hmac
    ca = JpkiTestCa.load(default_ca_dir())
    now = dt.datetime.now(dt.UTC)
    try:
        with sessions.begin() as session:
            crl = ca.write_crl(now)
            pki.import_crl(
                session, audit_key, pki.CardTrust.from_files(settings.trusted_ca_files),
                crl.public_bytes(serialization.Encoding.DER), now,
            )  # fmt: skip
            return devices.create_enrollment_token(
                session, audit_key, kiosk_id, channel, dt.timedelta(minutes=10), now
            )
    finally:
        sessions.kw["bind"].dispose()


CONSOLE_USER = "demo operator"


def console_key(settings: Settings) -> str:
    """The access key of the demo's operator, to sign in to the service's console."""
    sessions: sessionmaker[Session] = make_session_factory(make_engine(settings.database_url))
    audit_key = ServiceKeys.load(settings.data_dir).audit_hmac
    try:
        with sessions.begin() as session:
            now = dt.datetime.now(dt.UTC)
            return credentials.create(session, audit_key, "console", CONSOLE_USER, now)
    finally:
        sessions.kw["bind"].dispose()


@dataclass
class DemoEnvironment:
    base: Path
    service: LocalService
    kiosk: KioskSettings
    console_key: str = field(repr=False, default="")
    cards: list[Path] = field(default_factory=list)

    def new_card(self) -> Path:
        """A new citizen's card (PIN ``DEMO_PIN``), from the test CA the service trusts."""
        path = self.base / "cards" / f"citizen-{len(self.cards) + 1}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        issue_card(JpkiTestCa.load(default_ca_dir()), path, pin=DEMO_PIN)
        self.cards.append(path)
        return path


@contextmanager
def demo_environment(
    base: Path, *, kiosk_id: str = "kiosk-demo", channel: str = "convenience_store",
    **kiosk_settings: Any,  # more settings, checked by KioskSettings
) -> Iterator[DemoEnvironment]:  # fmt: skip
    """A fresh service (its data under ``base``, wiped first) with the kiosk enrolled;
    the service runs until the block ends."""
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    ensure_demo_card()  # makes the development test CA on first use
    service_settings = demo_service_settings(base / "grant-service")
    token = prepare_service(service_settings, kiosk_id, channel)
    key = console_key(service_settings)
    service = LocalService(service_settings)
    service.start()
    try:
        settings = KioskSettings(
            data_dir=base / "kiosk", service_url=service.url, online_timeout_seconds=2.0,
            **kiosk_settings,
        )  # fmt: skip
        enroll(settings, token)
        yield DemoEnvironment(base, service, settings, console_key=key)
    finally:
        service.stop()
