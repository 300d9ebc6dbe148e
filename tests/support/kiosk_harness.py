"""A kiosk and a real grant-service process on loopback, for the queue and sync tests.

``GrantServiceProcess`` is ``grant-service serve`` in a subprocess on a fixed port, so
tests can stop it, kill it and start it again while the kiosk keeps the same URL.
``KioskRig`` is an enrolled kiosk (its own data directory, queue and device key) in
front of it, with a virtual card used through its APDUs, and the checks that matter:
every envelope accepted by the service exactly once, none lost.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import select

from grant_service.models import AuditEntry
from kiosk.devices.sim.virtual_card import default_card_path
from kiosk.link.enrollment import enroll
from kiosk.link.fault_proxy import FaultProxy
from kiosk.offline_queue.models import QueuedItem
from kiosk.offline_queue.store import QueueStore, open_queue
from kiosk.settings import KioskSettings
from mynapoint.database import make_engine, make_session_factory
from mynapoint.envelope import (
    ApplicationPayload,
    Envelope,
    ReservationPayload,
    build_envelope,
)
from tests.support.service_harness import CARD_PIN, TestCard


def flip_a_bit(database: Path, uuid: str) -> None:
    """A flipped bit in a queued item's encrypted payload, as a failing disk makes one."""
    with sqlite3.connect(database) as raw:
        [blob] = raw.execute("SELECT payload FROM queue WHERE uuid = ?", (uuid,)).fetchone()
        flipped = blob[:20] + bytes([blob[20] ^ 0x01]) + blob[21:]
        raw.execute("UPDATE queue SET payload = ? WHERE uuid = ?", (flipped, uuid))


BIN = Path(sys.executable).parent
# A test account of the packaged operator registry, and a security code no output could
# contain by accident.
PAYMENT_ID, SECURITY_CODE = "090-0000-0001", "1234"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class GrantServiceProcess:
    """``grant-service serve`` on a fixed loopback port; its output goes to a file (a pipe
    nobody reads would fill up and stall the server)."""

    def __init__(
        self,
        log_path: Path,
        *args: str,
        env: dict[str, str] | None = None,
        port: int | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_path
        self.url = f"{'https' if ca_file else 'http'}://127.0.0.1:{self.port}"
        self._verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
        )
        self.process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def start(self, timeout: float = 30) -> None:
        assert not self.running, "the service is already running"
        self._log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [str(BIN / "grant-service"), "serve", "--port", str(self.port), *self.args],
            stdout=self._log, stderr=subprocess.STDOUT, text=True, env=self.env,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"the service exited: {self.output()[-2000:]}"
            try:
                reply = httpx.get(f"{self.url}/healthz", verify=self._verify, timeout=1)
                if reply.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.1)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Another ``grant-service`` command on the same settings (a technician's)."""
        return subprocess.run(
            [str(BIN / "grant-service"), *args], capture_output=True, text=True,
            env=self.env, timeout=60, check=False,
        )  # fmt: skip


@contextmanager
def running(service: GrantServiceProcess) -> Iterator[GrantServiceProcess]:
    service.start()
    try:
        yield service
    finally:
        service.stop()


def make_card_and_ca() -> TestCard:
    """The test CA and the default virtual card, as ``kiosk-card-sim`` makes them."""
    for args in (("make-ca",), ("issue", "--pin", CARD_PIN)):
        made = subprocess.run([str(BIN / "kiosk-card-sim"), *args], capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip
        assert made.returncode == 0, made.stderr
    return TestCard(default_card_path())


@dataclass
class KioskRig:
    """An enrolled kiosk in front of a grant-service process."""

    service: GrantServiceProcess
    settings: KioskSettings
    card: TestCard
    kiosk_id: str
    database_url: str  # the service's
    made: list[str] = field(default_factory=list)  # UUIDs of the envelopes made, in order
    proxy: FaultProxy | None = None  # between kiosk and service, with ``via_proxy``

    @property
    def env(self) -> dict[str, str]:
        """The kiosk's settings as ``KIOSK_*`` variables, for its console scripts."""
        values = self.settings.model_dump(exclude_none=True)
        return {f"KIOSK_{name.upper()}": str(value) for name, value in values.items()}

    def store(self) -> QueueStore:
        return open_queue(self.settings)

    def envelope(self, store: QueueStore, kind: str = "reservation") -> Envelope:
        """An envelope the card signs, numbered by the kiosk's queue."""
        payload: ReservationPayload | ApplicationPayload
        if kind == "reservation":
            payload = ReservationPayload(terms_version="2020-07")
        else:
            payload = ApplicationPayload(
                service_code="paypay", payment_id=PAYMENT_ID, security_code=SECURITY_CODE
            )
        envelope = build_envelope(
            payload,
            kiosk_id=self.kiosk_id,
            sequence=store.next_sequence(),
            certificate_der=self.card.certificate_der,
            sign=self.card.sign,
        )
        self.made.append(envelope.uuid)
        return envelope

    def queue(self, count: int, kind: str = "reservation") -> list[Envelope]:
        """``count`` envelopes committed to the queue as the flow does when offline."""
        store = self.store()
        try:
            envelopes = [self.envelope(store, kind) for _ in range(count)]
            for envelope in envelopes:
                store.enqueue(envelope)
        finally:
            store.close()
        return envelopes

    # --- what the service says ---------------------------------------------------------

    def service_events(self) -> dict[str, list[tuple[str, str]]]:
        """Per envelope UUID, the service's audited (action, outcome) pairs."""
        engine = make_engine(self.database_url)
        try:
            with make_session_factory(engine)() as session:
                rows = session.execute(
                    select(AuditEntry.subject, AuditEntry.action, AuditEntry.outcome).where(
                        AuditEntry.action.like("submission.%")
                    )
                ).all()
        finally:
            engine.dispose()
        events: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
        for subject, action, outcome in rows:
            events[subject].append((action, outcome))
        return events

    def kiosk_states(self) -> dict[str, str]:
        store = self.store()
        try:
            with store.sessions() as session:
                return dict(session.execute(select(QueuedItem.uuid, QueuedItem.state)).all())
        finally:
            store.close()

    def assert_exactly_once(self, uuids: list[str] | None = None) -> None:
        """Every envelope processed by the service once (later sends are replays), and
        settled on the kiosk with the service's answer: none lost, none twice."""
        uuids = self.made if uuids is None else uuids
        events, states = self.service_events(), self.kiosk_states()
        lost = [u for u in uuids if not any(".replay" not in a for a, _ in events.get(u, []))]
        twice = {
            u: events[u]
            for u in uuids
            if sum(1 for a, o in events.get(u, []) if ".replay" not in a and o == "accepted") > 1
        }
        unsettled = {u: states.get(u) for u in uuids if states.get(u) != "accepted"}
        assert not lost, f"{len(lost)} envelopes never reached the service"
        assert not twice, f"processed twice: {twice}"
        assert not unsettled, f"{len(unsettled)} not accepted on the kiosk: {unsettled}"


def make_rig(
    home: Path,
    card: TestCard,
    *,
    kiosk_id: str = "kiosk-0001",
    channel: str = "convenience_store",
    via_proxy: bool = False,
    service_env: dict[str, str] | None = None,
    **kiosk_settings: Any,
) -> KioskRig:
    """A grant service (SQLite, its own data directory) that trusts the test CA and has
    its fresh CRL, and a kiosk enrolled with it through the enrollment client. With
    ``via_proxy``, the kiosk reaches the service through a ``FaultProxy`` (``rig.proxy``,
    passing everything until told otherwise; the caller stops it)."""
    database_url = f"sqlite:///{home / 'grant-service.sqlite3'}"
    env = {
        "GRANT_SERVICE_DATA_DIR": str(home / "grant-service"),
        "GRANT_SERVICE_DATABASE_URL": database_url,
        "GRANT_SERVICE_APPLICATION_DEADLINE": "2099-12-31",
        **(service_env or {}),
    }
    service = GrantServiceProcess(home / "grant-service.log", env=env)
    crl = home / "mynapoint-kiosk" / "test-ca" / "crl.der"
    imported = service.cli("import-crl", str(crl))
    assert imported.returncode == 0, imported.stderr
    token = service.cli("enrollment-token", "--kiosk-id", kiosk_id, "--channel", channel)
    assert token.returncode == 0, token.stderr
    proxy = FaultProxy(("127.0.0.1", service.port)) if via_proxy else None
    defaults: dict[str, Any] = {
        "data_dir": home / "kiosk",
        "service_url": proxy.url if proxy else service.url,
        "online_timeout_seconds": 2.0,
        "sync_interval_seconds": 0.2,
        "backoff_initial_seconds": 0.05,
        "backoff_max_seconds": 0.5,
    }
    try:
        settings = KioskSettings(**{**defaults, **kiosk_settings})
        if proxy is not None:
            proxy.start()
        service.start()
        enroll(settings, token.stdout.strip())
    except BaseException:
        service.stop()
        if proxy is not None:
            proxy.stop()
        raise
    return KioskRig(service, settings, card, kiosk_id, database_url, proxy=proxy)
