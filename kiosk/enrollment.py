"""The kiosk's side of enrollment: a device key, a CSR, a technician's one-time token,
and the certificate the grant service returns, kept under the kiosk's data directory."""

from __future__ import annotations

from pathlib import Path

import httpx

from kiosk.device_identity import KEY_FILE, DeviceIdentity
from kiosk.service_client import ServiceClient
from kiosk.settings import KioskSettings


class NotEnrolled(Exception):
    def __init__(self, directory: Path) -> None:
        self.detail = (
            f"this kiosk is not enrolled (no device key in {directory}); a technician "
            "enrolls it with a one-time token from the grant service"
        )
        super().__init__(self.detail)


class EnrollmentFailed(Exception):
    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


def service_client(
    settings: KioskSettings,
    identity: DeviceIdentity,
    *,
    timeout: float | None = None,
    http: httpx.Client | None = None,
) -> ServiceClient:
    return ServiceClient(
        settings.service_url,
        identity,
        timeout=timeout or settings.online_timeout_seconds,
        ca_file=settings.service_ca_file,
        http=http,
    )


def enroll(
    settings: KioskSettings, token: str, *, http: httpx.Client | None = None
) -> DeviceIdentity:
    """Make a device key, enroll it with ``token``, and keep key and certificate. The
    kiosk's ID is the one the token was made for (the service names the certificate)."""
    identity = DeviceIdentity.generate("unenrolled-kiosk")
    client = service_client(settings, identity, timeout=30, http=http)
    try:
        reply = client.enroll(token)
    except httpx.HTTPError as exc:
        raise EnrollmentFailed(
            f"cannot reach the grant service at {settings.service_url}: {exc}"
        ) from exc
    if reply.status_code != 200:
        detail = reply.body.get("detail", "") if isinstance(reply.body, dict) else ""
        raise EnrollmentFailed(
            f"the service refused the enrollment ({reply.status_code}): {detail}"
        )
    identity.save(settings.device_dir)
    return identity


def load_identity(settings: KioskSettings) -> DeviceIdentity:
    if not (settings.device_dir / KEY_FILE).exists():
        raise NotEnrolled(settings.device_dir)
    return DeviceIdentity.load(settings.device_dir)
