"""How a kiosk proves, on every request, that it holds its enrolled device key.

The kiosk signs (ECDSA P-256, SHA-256) a string built from the method, the path, its id,
the time, a one-time nonce and the SHA-256 of the body, and sends the signature in
headers. The service checks the signature with the key it certified at enrollment, the
time against its own clock (the allowed skew), and that the nonce was never seen. So a
request cannot be replayed, moved to another path, or given another body.

Mutual TLS would prove the same, but uvicorn does not hand the client certificate to
the application; a signature in headers also survives TLS-terminating proxies.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from mynapoint.envelope import KIOSK_ID_PATTERN, format_time, parse_time

SCHEME = "mynapoint-request-v1"
HEADER_KIOSK = "X-Kiosk-Id"
HEADER_TIME = "X-Kiosk-Time"
HEADER_NONCE = "X-Kiosk-Nonce"
HEADER_SIGNATURE = "X-Kiosk-Signature"


def string_to_sign(
    method: str, path: str, kiosk_id: str, time: str, nonce: str, body: bytes
) -> bytes:
    return "\n".join(
        [SCHEME, method.upper(), path, kiosk_id, time, nonce, hashlib.sha256(body).hexdigest()]
    ).encode("utf-8")


def sign_request(
    key: ec.EllipticCurvePrivateKey,
    kiosk_id: str,
    method: str,
    path: str,
    body: bytes,
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """The headers that authenticate one request. ``path`` includes the query string."""
    time = format_time(now or dt.datetime.now(dt.UTC))
    nonce = secrets.token_hex(16)
    signature = key.sign(
        string_to_sign(method, path, kiosk_id, time, nonce, body), ec.ECDSA(hashes.SHA256())
    )
    return {
        HEADER_KIOSK: kiosk_id,
        HEADER_TIME: time,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: base64.b64encode(signature).decode("ascii"),
    }


class RequestSignatureError(ValueError):
    """Why a request's device signature is refused (the message is safe to return)."""


@dataclass(frozen=True)
class SignedRequest:
    kiosk_id: str
    time: dt.datetime
    nonce: str
    signature: bytes

    @classmethod
    def from_headers(cls, headers: dict[str, str]) -> SignedRequest:
        """Read the headers (names case-insensitive); raise if one is missing or malformed."""
        lowered = {k.lower(): v for k, v in headers.items()}
        values = []
        for name in (HEADER_KIOSK, HEADER_TIME, HEADER_NONCE, HEADER_SIGNATURE):
            value = lowered.get(name.lower())
            if not value:
                raise RequestSignatureError(f"missing header {name}")
            values.append(value)
        kiosk_id, time, nonce, signature = values
        if not re.fullmatch(KIOSK_ID_PATTERN, kiosk_id):  # and never echoed: it may be huge
            raise RequestSignatureError(f"{HEADER_KIOSK} must match {KIOSK_ID_PATTERN}")
        if len(nonce) != 32 or any(c not in "0123456789abcdef" for c in nonce):
            raise RequestSignatureError(f"{HEADER_NONCE} must be 32 lowercase hex digits")
        try:
            moment = parse_time(time)
        except ValueError as exc:  # its message never repeats the text
            raise RequestSignatureError(f"malformed {HEADER_TIME}: {exc}") from exc
        try:
            raw_signature = base64.b64decode(signature, validate=True)
        except ValueError as exc:
            raise RequestSignatureError(f"malformed {HEADER_SIGNATURE}") from exc
        return cls(kiosk_id, moment, nonce, raw_signature)

    def verify(
        self,
        public_key: ec.EllipticCurvePublicKey,
        method: str,
        path: str,
        body: bytes,
        now: dt.datetime,
        skew: dt.timedelta,
    ) -> None:
        """Check the signature and the time; the caller checks the nonce was never seen."""
        if abs(now - self.time) > skew:
            raise RequestSignatureError(
                f"request time {format_time(self.time)} is more than "
                f"{int(skew.total_seconds())} s from the service's clock; check the kiosk clock"
            )
        message = string_to_sign(
            method, path, self.kiosk_id, format_time(self.time), self.nonce, body
        )
        try:
            public_key.verify(self.signature, message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise RequestSignatureError(
                "the request signature does not match the device key"
            ) from exc
