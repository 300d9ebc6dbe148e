"""A grant service in a test: real app, real database (SQLite or PostgreSQL), real cards.

``ServiceEnv`` wires a migrated database, a test JPKI CA with an imported CRL, a test
operator registry, the FastAPI app (through Starlette's test client, so the whole HTTP
stack runs) and a clock the test can move. ``Kiosk`` is an enrolled device that builds
envelopes signed by virtual cards through their APDU protocol.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from grant_service import credentials, devices, pki
from grant_service.api import create_app
from grant_service.cli import prepare_database
from grant_service.keys import ServiceKeys
from grant_service.operators import account_entry
from grant_service.settings import PACKAGE_DATA, Settings
from kiosk.devices.jpki import JpkiCard
from kiosk.devices.sim.loopback import VirtualReader
from kiosk.devices.sim.test_ca import JpkiTestCa, Validity
from kiosk.devices.sim.virtual_card import issue_card
from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.service_client import Reply, ServiceClient
from mynapoint.database import make_engine, make_session_factory
from mynapoint.envelope import (
    ApplicationPayload,
    CancellationPayload,
    Envelope,
    ReservationPayload,
    build_envelope,
)
from mynapoint.mypage import build_status_query
from mynapoint.platform_requests import signed_request

CARD_PIN = "4827"
# Distinctive test secrets: the privacy tests search the database and logs for them.
SECURITY_CODE = "7QX4ZK"
PAYPAY_ID = "090-8765-4321"  # normalised: 09087654321
MY_SECRET_IDS = {
    "paypay": ["090-8765-4321", "090-8765-4322", "090-8765-4323"],
    "suica": ["JE77665544332211", "JE77665544332212"],  # the first is pre-registered
    "waon": ["6977665544332211"],
    "fictional_konbini_ng_pay": ["TEST77665544"],
    "fictional_future_pay": ["TEST77665545"],
    "fictional_test_debit": ["TEST77665546"],
    "rakuten_pay": ["1977665544332"],
    "d_card": ["5377665544332211"],  # fails the Luhn check: no real card's number
}
PRE_REGISTERED = {"JE77665544332211"}


class FakeClock:
    """The service's clock, and the kiosk's: tests move it to where a rule bites."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def write_registry(path: Path) -> Path:
    """The packaged operators' ID formats, with the test accounts above."""
    packaged = json.loads((PACKAGE_DATA / "operators.json").read_text())
    operators = {}
    for code, spec in packaged["operators"].items():
        accounts = [
            account_entry(
                code, payment_id, SECURITY_CODE, pre_registered=payment_id in PRE_REGISTERED
            )
            for payment_id in MY_SECRET_IDS.get(code, [])
        ]
        operators[code] = {"id_pattern": spec["id_pattern"], "accounts": accounts}
    path.write_text(json.dumps({"operators": operators}))
    return path


class TestCard:
    """A virtual My Number Card, used through its APDUs: the PIN is verified once, then
    every envelope is signed by the card."""

    __test__ = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self._card = JpkiCard(VirtualReader(path).wait_for_card(1))
        self.certificate = self._card.read_certificate()
        self.certificate_der = self.certificate.public_bytes(serialization.Encoding.DER)
        self._card.verify_pin(CARD_PIN)

    def sign(self, data: bytes) -> bytes:
        return self._card.sign(data)

    @property
    def serial_hex(self) -> str:
        return f"{self.certificate.serial_number:X}"


def jlis_entry(old: TestCard, new: TestCard) -> dict[str, str]:
    """A J-LIS re-issue feed entry: ``new``'s certificate replaces ``old``'s."""
    return {
        "old_issuer": old.certificate.issuer.rfc4514_string(),
        "old_serial_hex": old.serial_hex,
        "new_certificate": base64.b64encode(new.certificate_der).decode(),
    }


@dataclass
class Kiosk:
    client: ServiceClient
    kiosk_id: str
    clock: FakeClock
    sequence: int = 0

    def envelope(
        self,
        payload: ReservationPayload | ApplicationPayload | CancellationPayload,
        card: TestCard,
        *,
        at: dt.datetime | None = None,
        for_whom: str = "self",
    ) -> Envelope:
        self.sequence += 1
        return build_envelope(
            payload,
            kiosk_id=self.kiosk_id,
            sequence=self.sequence,
            certificate_der=card.certificate_der,
            sign=card.sign,
            for_whom=for_whom,  # type: ignore[arg-type]
            now=at or self.clock(),
        )

    def reservation(self, card: TestCard, **options: Any) -> Envelope:
        return self.envelope(ReservationPayload(terms_version="2020-07"), card, **options)

    def application(
        self,
        card: TestCard,
        service_code: str = "paypay",
        payment_id: str = PAYPAY_ID,
        security_code: str = SECURITY_CODE,
        **options: Any,
    ) -> Envelope:
        payload = ApplicationPayload(
            service_code=service_code, payment_id=payment_id, security_code=security_code
        )
        return self.envelope(payload, card, **options)

    def cancellation(
        self, card: TestCard, receipt_number: str, reason: str = "wrong_entry", **options: Any
    ) -> Envelope:
        payload = CancellationPayload(application_receipt_number=receipt_number, reason=reason)  # type: ignore[arg-type]
        return self.envelope(payload, card, **options)

    def cancel(self, card: TestCard, receipt_number: str, **options: Any) -> Reply:
        return self.client.submit(self.cancellation(card, receipt_number, **options))

    def my_page(self, card: TestCard) -> Reply:
        """Open My Page with the card: a fresh challenge, signed by the card."""
        challenge = self.client.challenge()
        assert challenge.status_code == 200, challenge.body
        query = build_status_query(
            challenge.body["challenge"], kiosk_id=self.kiosk_id,
            certificate_der=card.certificate_der, sign=card.sign,
        )  # fmt: skip
        return self.client.card_status(query)

    def reserve(self, card: TestCard, **options: Any) -> Reply:
        return self.client.submit(self.reservation(card, **options))

    def platform(self, card: TestCard, kind: type[Any], **fields: Any) -> Reply:
        """A MyKey platform request (``mynapoint/platform_requests.py``) signed by the card
        over a fresh challenge."""
        return self.client.platform(self.platform_request(card, kind, **fields))

    def platform_request(self, card: TestCard, kind: type[Any], **fields: Any) -> Any:
        challenge = self.client.challenge()
        assert challenge.status_code == 200, challenge.body
        return signed_request(
            kind, certificate_der=card.certificate_der, sign=card.sign,
            challenge=challenge.body["challenge"], kiosk_id=self.kiosk_id, **fields,
        )  # fmt: skip

    def apply(self, card: TestCard, *args: Any, **options: Any) -> Reply:
        return self.client.submit(self.application(card, *args, **options))


@dataclass
class ServiceEnv:
    settings: Settings
    ca: JpkiTestCa
    clock: FakeClock
    workdir: Path
    app: Any = None
    http: TestClient | None = None
    _cards: int = 0
    _kiosks: int = 0
    _sessions: sessionmaker[Session] | None = field(default=None, repr=False)

    def start(self) -> ServiceEnv:
        prepare_database(self.settings)
        self.import_crl()
        self.app = create_app(self.settings, clock=self.clock)
        self.http = TestClient(self.app, base_url="http://127.0.0.1")
        return self

    @property
    def audit_key(self) -> bytes:
        return ServiceKeys.load(self.settings.data_dir).audit_hmac

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._sessions is None:
            self._sessions = make_session_factory(make_engine(self.settings.database_url))
        return self._sessions

    def import_crl(self, now: dt.datetime | None = None) -> None:
        crl = self.ca.write_crl(now or self.clock())
        trust = pki.CardTrust.from_files(self.settings.trusted_ca_files)
        with self.sessions.begin() as session:
            pki.import_crl(
                session,
                self.audit_key,
                trust,
                crl.public_bytes(serialization.Encoding.DER),
                self.clock(),
            )

    def card(self, validity: Validity | None = None, *, revoked: bool = False) -> TestCard:
        self._cards += 1
        path = self.workdir / f"card-{self._cards}.json"
        issue_card(
            self.ca,
            path,
            pin=CARD_PIN,
            validity=validity or Validity.usable(self.clock()),
            revoked=revoked,
        )
        return TestCard(path)

    def credential(
        self,
        role: str,
        service_code: str | None = None,
        *,
        scope: str | None = None,
        label: str | None = None,
    ) -> str:
        with self.sessions.begin() as session:
            return credentials.create(
                session,
                self.audit_key,
                role,
                label or f"test {role}",
                self.clock(),
                service_code=service_code,
                scope=scope,
            )

    def as_role(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def kiosk(self, channel: str = "city_hall", kiosk_id: str | None = None) -> Kiosk:
        self._kiosks += 1
        kiosk_id = kiosk_id or f"kiosk-{self._kiosks:04d}"
        with self.sessions.begin() as session:
            token = devices.create_enrollment_token(
                session, self.audit_key, kiosk_id, channel, dt.timedelta(hours=1), self.clock()
            )
        client = ServiceClient(
            "http://127.0.0.1", DeviceIdentity.generate(kiosk_id), http=self.http, clock=self.clock
        )
        reply = client.enroll(token)
        assert reply.status_code == 200, reply.body
        return Kiosk(client, kiosk_id, self.clock)

    def close(self) -> None:
        if self.http is not None:
            self.http.close()
        if self._sessions is not None:
            self._sessions.kw["bind"].dispose()
        self.app.state.service.engine.dispose()


def service_env(
    workdir: Path, database_url: str, ca: JpkiTestCa, clock: FakeClock, **overrides: Any
) -> Iterator[ServiceEnv]:
    # A new edition of the programme: the seeds' 2020-21 dates are long past.
    overrides.setdefault("application_deadline", dt.date(2099, 12, 31))
    overrides.setdefault("points_period_end", dt.date(2099, 12, 31))
    settings = Settings(
        data_dir=workdir / "service-data",
        database_url=database_url,
        trusted_ca_files=[ca.directory / "ca-cert.pem"],
        operator_registry_file=write_registry(workdir / "operators.json"),
        **overrides,
    )
    env = ServiceEnv(settings, ca, clock, workdir).start()
    try:
        yield env
    finally:
        env.close()
