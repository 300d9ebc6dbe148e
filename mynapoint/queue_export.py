"""A kiosk's queue, exported to a file when the kiosk cannot come online.

A technician carries the file to the grant service (``POST /v1/submissions/import``).
It travels sealed and signed: the envelopes (which hold security codes) are encrypted
with HPKE (RFC 9180: X25519, HKDF-SHA256, AES-256-GCM) to the service's import key,
which the kiosk received at enrollment, and the whole file is signed with the kiosk's
device key, so the service knows which kiosk (hence which channel) it comes from. The
envelopes inside are processed exactly like ``POST /v1/submissions/batch``: same checks,
same idempotency.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Annotated, Any, Final, Literal

import rfc8785
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from pydantic import BaseModel, ConfigDict, Field

from mynapoint.envelope import BASE64_PATTERN, KIOSK_ID_PATTERN, TimeText, format_time

FORMAT: Final = "mynapoint-queue-export-v1"
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


class ExportInvalid(ValueError):
    """Not a file this kiosk sealed for this service (the reason is safe to show)."""


class QueueExport(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    format: Literal["mynapoint-queue-export-v1"] = FORMAT
    kiosk_id: Annotated[str, Field(pattern=KIOSK_ID_PATTERN)]
    exported_at: TimeText
    item_count: Annotated[int, Field(ge=0, le=100_000)]
    sealed: Annotated[str, Field(pattern=BASE64_PATTERN, max_length=64 * 1024 * 1024)]
    signature: Annotated[str, Field(pattern=BASE64_PATTERN, max_length=200)] = ""

    def _header(self) -> bytes:
        return f"{FORMAT}|{self.kiosk_id}|{self.exported_at}|{self.item_count}".encode()

    def signed_bytes(self) -> bytes:
        return rfc8785.dumps(self.model_dump(exclude={"signature"}))


def import_key_bytes(public_key: x25519.X25519PublicKey) -> str:
    """The service's import key as the kiosk stores it (base64 of the raw key)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def seal_export(
    items: list[dict[str, Any]],
    *,
    kiosk_id: str,
    device_key: ec.EllipticCurvePrivateKey,
    import_public_key: str,
    now: dt.datetime | None = None,
) -> QueueExport:
    """Seal the queued envelopes for the service and sign the file as the kiosk."""
    plaintext = json.dumps({"items": items}, separators=(",", ":")).encode()
    return seal_content(
        plaintext, item_count=len(items), kiosk_id=kiosk_id, device_key=device_key,
        import_public_key=import_public_key, now=now,
    )  # fmt: skip


def seal_content(
    plaintext: bytes,
    *,
    item_count: int,
    kiosk_id: str,
    device_key: ec.EllipticCurvePrivateKey,
    import_public_key: str,
    now: dt.datetime | None = None,
) -> QueueExport:
    """Seal any content as an export file and sign it (``seal_export``'s work, apart so
    that tests can seal content no kiosk would write)."""
    public_key = x25519.X25519PublicKey.from_public_bytes(base64.b64decode(import_public_key))
    unsigned = QueueExport(
        kiosk_id=kiosk_id,
        exported_at=format_time(now or dt.datetime.now(dt.UTC)),
        item_count=item_count,
        sealed="A",  # replaced below: the header goes into the encryption's context
    )
    sealed = SUITE.encrypt(plaintext, public_key, info=unsigned._header())
    unsigned = unsigned.model_copy(update={"sealed": base64.b64encode(sealed).decode("ascii")})
    signature = device_key.sign(unsigned.signed_bytes(), ec.ECDSA(hashes.SHA256()))
    return unsigned.model_copy(update={"signature": base64.b64encode(signature).decode("ascii")})


def open_export(
    export: QueueExport,
    *,
    device_public_key: ec.EllipticCurvePublicKey,
    import_private_key: x25519.X25519PrivateKey,
) -> list[Any]:
    """The envelopes inside, once the kiosk's signature and the sealing check out."""
    try:
        device_public_key.verify(
            base64.b64decode(export.signature), export.signed_bytes(), ec.ECDSA(hashes.SHA256())
        )
    except (InvalidSignature, ValueError) as exc:
        raise ExportInvalid("the file is not signed by this kiosk's device key") from exc
    try:
        plaintext = SUITE.decrypt(
            base64.b64decode(export.sealed), import_private_key, info=export._header()
        )
    except (InvalidTag, ValueError) as exc:
        raise ExportInvalid("the file is not sealed for this service's import key") from exc
    items = _items(plaintext)
    if len(items) != export.item_count:
        raise ExportInvalid("the sealed content does not match the file's header")
    return items


def _items(plaintext: bytes) -> list[Any]:
    """The envelopes in the sealed content, ``{"items": [...]}``; ``ExportInvalid`` for
    anything else (the kiosk signed it, but a kiosk's bug must not be a server error)."""
    try:
        content = json.loads(plaintext, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested beyond reason
        raise ExportInvalid("the sealed content is not JSON") from exc
    items = content.get("items") if isinstance(content, dict) else None
    if not isinstance(items, list):
        raise ExportInvalid("the sealed content is not an object with a list of items")
    return items


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python reads them, JSON has none
