"""``kiosk-provision rotate-key``: a new device key, certified by the grant service on a
request signed with the current one (``POST /v1/devices/renew``; no token needed).

The service accepts only the new key from the moment it answers, so the new key is on
disk (``device-key.pem.next``) before the request goes out, and replaces the old one only
after the new certificate is stored. If the answer never arrives or the kiosk stops half
way, running rotate-key again finishes the rotation: it asks again, with the current key
or, if the service holds the new one already, with the new key.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.enrollment import load_identity, refusal_detail, service_client, unreachable_detail
from kiosk.link.service_client import Reply
from kiosk.settings import KioskSettings
from mynapoint.private_files import write_private
from provisioning.errors import ProvisioningError

NEXT_KEY_FILE = "device-key.pem.next"


@dataclass(frozen=True)
class Rotated:
    kiosk_id: str
    old_serial: int
    new_certificate: x509.Certificate
    resumed: bool  # an interrupted rotation was finished


def rotate_key(settings: KioskSettings) -> Rotated:
    current = load_identity(settings)
    old_serial = x509.load_pem_x509_certificate(current.certificate_pem.encode()).serial_number
    next_key_path = settings.device_dir / NEXT_KEY_FILE
    resumed = next_key_path.exists()
    if resumed:
        key = serialization.load_pem_private_key(next_key_path.read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ProvisioningError(f"{next_key_path} is not a device key: move it away")
        fresh = DeviceIdentity(current.kiosk_id, key)
    else:
        fresh = DeviceIdentity.generate(current.kiosk_id)
        write_private(next_key_path, fresh.key_pem())

    signer, reply = current, _renew(settings, current, fresh)
    if resumed and reply.status_code == 401:  # the service may hold the new key already
        signer = DeviceIdentity(current.kiosk_id, fresh.key, channel=current.channel)
        reply = _renew(settings, signer, fresh)
    if reply.status_code != 200:
        code, text = refusal_detail(reply)
        if not resumed:  # a clear refusal: the service still holds the current key
            next_key_path.unlink()
        raise ProvisioningError(
            f"the grant service refused the new key ({reply.status_code} {code}: {text}); "
            "run kiosk-provision check: a revoked kiosk needs a new enrollment token "
            "(kiosk-provision enroll --force)"
        )
    # The signer now holds the new key and its certificate: store them, the key last.
    signer.save(settings.device_dir)
    next_key_path.unlink()
    certificate = x509.load_pem_x509_certificate(signer.certificate_pem.encode())
    return Rotated(current.kiosk_id, old_serial, certificate, resumed)


def _renew(settings: KioskSettings, signer: DeviceIdentity, fresh: DeviceIdentity) -> Reply:
    client = service_client(settings, signer, timeout=30)
    client.reload_identity = None  # sign with exactly this key: the rotation chose it
    try:
        return client.renew(fresh)
    except httpx.HTTPError as exc:
        raise ProvisioningError(
            f"{unreachable_detail(settings.service_url, exc)}. The key may or may not have "
            "changed at the service: run rotate-key again once it can be reached (it "
            "finishes the rotation)"
        ) from exc
    finally:
        client.close()
