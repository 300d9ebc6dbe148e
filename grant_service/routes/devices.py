"""Kiosk devices: enrollment, renewal, revocation."""

from __future__ import annotations

from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from grant_service import devices, models
from grant_service.http import PROBLEMS, Admin, ServiceDep, SignedDevice
from grant_service.refusals import Refused
from grant_service.service import Service
from mynapoint.envelope import KIOSK_ID_PATTERN
from mynapoint.queue_export import import_key_bytes
from mynapoint.reasons import R

router = APIRouter(tags=["devices"])


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: Annotated[str, Field(min_length=8, max_length=128)]
    csr_pem: Annotated[str, Field(min_length=1, max_length=8000)]


class RenewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    csr_pem: Annotated[str, Field(min_length=1, max_length=8000)]


class DeviceCertificate(BaseModel):
    kiosk_id: str
    channel: str
    certificate_pem: str
    ca_certificate_pem: str
    # The service's X25519 key, base64: the kiosk seals exported queue files to it.
    import_public_key: str


class RevokeResult(BaseModel):
    kiosk_id: str
    status: str


def _certificate_body(
    kiosk_id: str, channel: str, certificate: x509.Certificate, service: Service
) -> DeviceCertificate:
    return DeviceCertificate(
        kiosk_id=kiosk_id,
        channel=channel,
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        ca_certificate_pem=service.device_ca.certificate.public_bytes(
            serialization.Encoding.PEM
        ).decode("ascii"),
        import_public_key=import_key_bytes(service.keys.import_key.public_key()),
    )


@router.post("/v1/devices/enroll", response_model=DeviceCertificate, responses=PROBLEMS)
def enroll(body: EnrollRequest, service: ServiceDep) -> DeviceCertificate:
    """Enroll a kiosk: a one-time token from a technician, and the kiosk's CSR."""
    with service.sessions.begin() as session:
        device, certificate = devices.enroll(
            session, service.device_ca, service.keys.audit_hmac, body.token, body.csr_pem,
            days=service.settings.device_certificate_days, now=service.clock(),
        )  # fmt: skip
        return _certificate_body(device.kiosk_id, device.channel, certificate, service)


@router.post("/v1/devices/renew", response_model=DeviceCertificate, responses=PROBLEMS)
def renew(body: RenewRequest, device: SignedDevice, service: ServiceDep) -> DeviceCertificate:
    """A new certificate for a new key, asked for with the current key."""
    with service.sessions.begin() as session:
        row = session.get(models.Device, device.id)
        if row is None:
            raise Refused(R.DEVICE_UNKNOWN)
        certificate = devices.renew(
            session, service.device_ca, service.keys.audit_hmac, row, body.csr_pem,
            days=service.settings.device_certificate_days, now=service.clock(),
        )  # fmt: skip
        return _certificate_body(row.kiosk_id, row.channel, certificate, service)


@router.post("/v1/devices/{kiosk_id}/revoke", response_model=RevokeResult, responses=PROBLEMS)
def revoke(
    kiosk_id: Annotated[str, Path(pattern=KIOSK_ID_PATTERN)], _admin: Admin, service: ServiceDep
) -> RevokeResult:
    """Revoke a kiosk (technicians: ``Authorization: Bearer <admin token>``)."""
    with service.sessions.begin() as session:
        row = devices.revoke(session, service.keys.audit_hmac, kiosk_id, now=service.clock())
        return RevokeResult(kiosk_id=row.kiosk_id, status=row.status)


@router.get("/v1/import-key")
def import_key(service: ServiceDep) -> dict[str, str]:
    """The service's public key for sealing exported queue files (X25519, base64)."""
    return {"import_public_key": import_key_bytes(service.keys.import_key.public_key())}
