"""The kiosk's side of enrollment: a device key, a CSR, a technician's one-time token,
and the certificate the grant service returns, kept under the kiosk's data directory."""

from __future__ import annotations

from pathlib import Path

import httpx

from kiosk.link.device_identity import KEY_FILE, DeviceIdentity
from kiosk.link.service_client import Reply, ServiceClient
from kiosk.settings import KioskSettings


class NotEnrolled(Exception):
    def __init__(self, directory: Path) -> None:
        self.detail = (
            f"this kiosk is not enrolled (no device key in {directory}); a technician "
            "enrolls it with a one-time token from the grant service"
        )
        super().__init__(self.detail)


class EnrollmentFailed(Exception):
    def __init__(self, detail: str, reason_code: str | None = None) -> None:
        self.detail = detail
        self.reason_code = reason_code  # the service's, when it refused
        super().__init__(detail)


def unreachable_detail(url: str, error: httpx.HTTPError) -> str:
    """Why the grant service could not be reached, on one line, with what to check."""
    text = str(error) or type(error).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return (
            f"the grant service at {url} has a TLS certificate this kiosk does not trust "
            f"({text}): set service_ca_file to the service's CA certificate"
        )
    return (
        f"cannot reach the grant service at {url} ({text}): check the kiosk's network "
        "connection and the service URL"
    )


def refusal_detail(reply: Reply) -> tuple[str | None, str]:
    """The service's reason code and explanation of a refusal (its problem body)."""
    body = reply.body if isinstance(reply.body, dict) else {}
    code = body.get("reason_code")
    text = body.get("detail") or body.get("message_en") or body.get("raw") or ""
    return code, str(text).strip().replace("\n", " ")[:300]


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
        reload_identity=lambda: _stored_identity(settings),
    )


def _stored_identity(settings: KioskSettings) -> DeviceIdentity | None:
    """The identity on disk, if the kiosk has one it can read."""
    try:
        return load_identity(settings)
    except (NotEnrolled, OSError, ValueError):
        return None


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
        raise EnrollmentFailed(unreachable_detail(settings.service_url, exc)) from exc
    finally:
        if http is None:  # a client given by the caller stays the caller's
            client.close()
    if reply.status_code != 200:
        code, text = refusal_detail(reply)
        if code == "ENROLLMENT_TOKEN_INVALID":
            raise EnrollmentFailed(
                f"the grant service refused the enrollment token ({text}): ask an operator "
                "for a new one (grant-service enrollment-token --kiosk-id ID --channel ...)",
                code,
            )
        raise EnrollmentFailed(
            f"the grant service refused the enrollment ({reply.status_code} "
            f"{code or 'without a reason code'}: {text or 'no explanation'}); check the "
            "service URL and ask an operator",
            code,
        )
    identity.save(settings.device_dir)
    return identity


def load_identity(settings: KioskSettings) -> DeviceIdentity:
    if not (settings.device_dir / KEY_FILE).exists():
        raise NotEnrolled(settings.device_dir)
    return DeviceIdentity.load(settings.device_dir)
