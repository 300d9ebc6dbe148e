"""Kiosk devices: enrollment with a one-time token and a CSR, renewal, revocation, and the
check of every device-signed request (unknown or revoked devices get 401).

A request's device and signature are checked in a read-only transaction, and only a
genuine request then writes (its nonce): on SQLite, junk traffic never takes, nor waits
for, the write lock that real kiosks queue on.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
import threading
import time
from typing import Any, Literal, get_args

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Row, bindparam, delete, select
from sqlalchemy.orm import Session, sessionmaker

from grant_service import audit, rules
from grant_service.keys import CsrRejected, DeviceCa
from grant_service.models import Device, EnrollmentToken, RequestNonce
from grant_service.refusals import Refused, echoed
from mynapoint.database import dialect_insert
from mynapoint.envelope import KIOSK_ID_PATTERN
from mynapoint.reasons import R
from mynapoint.request_signing import RequestSignatureError, SignedRequest

Channel = Literal["convenience_store", "city_hall"]
CHANNELS: tuple[str, ...] = get_args(Channel)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _audit_technician(
    session: Session, audit_key: bytes, now: dt.datetime, kiosk_id: str, action: str
) -> None:
    """The audit entry of a technician's act on a kiosk's enrollment (always accepted)."""
    audit.append(
        session,
        audit_key,
        at=now,
        kiosk_id=kiosk_id,
        actor="technician",
        action=action,
        subject=kiosk_id,
        outcome="accepted",
    )


def create_enrollment_token(
    session: Session,
    audit_key: bytes,
    kiosk_id: str,
    channel: str,
    valid_for: dt.timedelta,
    now: dt.datetime,
) -> str:
    """A one-time token a technician types into a new kiosk; only its hash is kept."""
    if not re.fullmatch(KIOSK_ID_PATTERN, kiosk_id):
        raise ValueError(f"kiosk id must match {KIOSK_ID_PATTERN}")
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
    token = secrets.token_urlsafe(24)
    session.add(
        EnrollmentToken(
            token_sha256=_sha256(token),
            kiosk_id=kiosk_id,
            channel=channel,
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    _audit_technician(session, audit_key, now, kiosk_id, "device.enrollment_token")
    return token


def enroll(
    session: Session,
    ca: DeviceCa,
    audit_key: bytes,
    token: str,
    csr_pem: str,
    *,
    days: int,
    now: dt.datetime,
) -> tuple[Device, x509.Certificate]:
    row = session.get(EnrollmentToken, _sha256(token), with_for_update=True)
    if row is None or row.used_at is not None or row.expires_at < now:
        raise Refused(R.ENROLLMENT_TOKEN_INVALID)
    try:
        certificate = ca.issue(csr_pem, row.kiosk_id, row.channel, days)
    except CsrRejected as exc:
        raise Refused(R.CSR_INVALID, str(exc)) from exc
    row.used_at = now
    device = session.scalar(select(Device).where(Device.kiosk_id == row.kiosk_id))
    if device is None:
        device = Device(kiosk_id=row.kiosk_id, enrolled_at=now)
        session.add(device)
    device.channel = row.channel  # from the token a technician made, never from the kiosk
    device.status = "active"
    device.revoked_at = None
    _set_certificate(device, certificate)
    _audit_technician(session, audit_key, now, row.kiosk_id, "device.enroll")
    return device, certificate


def renew(
    session: Session,
    ca: DeviceCa,
    audit_key: bytes,
    device: Device,
    csr_pem: str,
    *,
    days: int,
    now: dt.datetime,
) -> x509.Certificate:
    """A new certificate for a new key, asked for with the current key (signed request)."""
    try:
        certificate = ca.issue(csr_pem, device.kiosk_id, device.channel, days)
    except CsrRejected as exc:
        raise Refused(R.CSR_INVALID, str(exc)) from exc
    _set_certificate(device, certificate)
    device.renewed_at = now
    _audit_technician(session, audit_key, now, device.kiosk_id, "device.renew")
    return certificate


def revoke(session: Session, audit_key: bytes, kiosk_id: str, *, now: dt.datetime) -> Device:
    device = session.scalar(select(Device).where(Device.kiosk_id == kiosk_id))
    if device is None:
        raise Refused(R.NOT_FOUND, f"no kiosk {echoed(kiosk_id)}")
    device.status = "revoked"
    device.revoked_at = now
    _audit_technician(session, audit_key, now, kiosk_id, "device.revoke")
    return device


def _set_certificate(device: Device, certificate: x509.Certificate) -> None:
    device.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    device.public_key_der = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    device.certificate_serial = f"{certificate.serial_number:X}"


# Every signed request reads its device: one statement built once (SQLAlchemy then skips
# building and keying it per request), and each device key parsed once per process.
_DEVICE = select(
    Device.id,
    Device.kiosk_id,
    Device.channel,
    Device.status,
    Device.public_key_der,
    Device.enrolled_at,
).where(Device.kiosk_id == bindparam("kiosk_id"))


@functools.lru_cache(maxsize=100_000)
def _device_key(der: bytes) -> ec.EllipticCurvePublicKey | None:
    public_key = serialization.load_der_public_key(der)
    return public_key if isinstance(public_key, ec.EllipticCurvePublicKey) else None


def active_device(
    session: Session, kiosk_id: str
) -> tuple[Row[int, str, str, str, bytes, dt.datetime], ec.EllipticCurvePublicKey]:
    """An enrolled, not revoked kiosk (id, kiosk_id, channel, status, public_key_der,
    enrolled_at) and its device key; ``Refused`` (401) otherwise."""
    device = session.execute(_DEVICE, {"kiosk_id": kiosk_id}).first()
    if device is None:
        raise Refused(R.DEVICE_UNKNOWN, echoed(kiosk_id))
    if device.status != "active":
        raise Refused(R.DEVICE_REVOKED, echoed(kiosk_id))
    public_key = _device_key(device.public_key_der)
    if public_key is None:
        raise Refused(R.DEVICE_UNKNOWN, "the enrolled key is not an EC key")
    return device, public_key


class NonceSweep:
    """When this process last forgot old nonces: at most every ``every_seconds``, not on
    every request. The nonces are in the database either way; the sweep only keeps their
    table small, and a nonce older than the skew is refused by its time anyway."""

    def __init__(self, every_seconds: float = 10.0) -> None:
        self.every_seconds = every_seconds
        self._last: float | None = None
        self._lock = threading.Lock()

    def due(self) -> bool:
        """Whether to sweep now; if so, the next sweep is not due for ``every_seconds``."""
        now = time.monotonic()
        with self._lock:
            if self._last is not None and now - self._last < self.every_seconds:
                return False
            self._last = now
            return True


def authenticate_request(
    readers: sessionmaker[Session],
    writers: sessionmaker[Session],
    headers: dict[str, str],
    method: str,
    path: str,
    body: bytes,
    *,
    now: dt.datetime,
    skew: dt.timedelta,
    sweep: NonceSweep | None = None,
) -> rules.Device:
    """The enrolled, active device that signed this request; ``Refused`` (401) otherwise.
    ``readers`` only read (the device); ``writers`` record the nonce of a genuine request
    (and sweep old ones when ``sweep`` is due; always without one), each in one statement
    (``single_statement_sessions``)."""
    try:
        signed = SignedRequest.from_headers(headers)
    except RequestSignatureError as exc:
        raise Refused(R.REQUEST_SIGNATURE_INVALID, str(exc)) from exc
    with readers.begin() as session:
        device, public_key = active_device(session, signed.kiosk_id)
    try:
        signed.verify(public_key, method, path, body, now, skew)
    except RequestSignatureError as exc:
        raise Refused(R.REQUEST_SIGNATURE_INVALID, str(exc)) from exc
    with writers.begin() as session:
        if sweep is None or sweep.due():
            session.execute(delete(RequestNonce).where(RequestNonce.seen_at < now - 2 * skew))
    with writers.begin() as session:
        _record_nonce(session, signed, now)
    return rules.Device(
        id=device.id,
        kiosk_id=device.kiosk_id,
        channel=device.channel,
        enrolled_at=device.enrolled_at,
        request_time=signed.time,
    )


@functools.cache
def _nonce_insert(dialect_name: str) -> Any:
    return (
        dialect_insert(dialect_name, RequestNonce.__table__)
        .values(
            kiosk_id=bindparam("kiosk_id"), nonce=bindparam("nonce"), seen_at=bindparam("seen_at")
        )
        .on_conflict_do_nothing(index_elements=["kiosk_id", "nonce"])
        .returning(RequestNonce.nonce)
    )


def _record_nonce(session: Session, signed: SignedRequest, now: dt.datetime) -> None:
    """Remember the nonce; ``REQUEST_REPLAYED`` if it was seen (also by a request running
    meanwhile: the primary key decides, in one statement)."""
    statement = _nonce_insert(session.get_bind().dialect.name)
    recorded = session.scalar(
        statement, {"kiosk_id": signed.kiosk_id, "nonce": signed.nonce, "seen_at": now}
    )
    if recorded is None:
        raise Refused(R.REQUEST_REPLAYED, signed.nonce)
