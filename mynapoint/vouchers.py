"""Point vouchers (ポイント券): the number a shop types, and the signed code it scans.

A voucher's number is sixteen digits, the last a Damm check digit (any one wrong digit and
any swap of two neighbours is caught), printed in groups of four. Its QR code carries
what a shop needs to check it with no network: the number, the municipality it is valid
in, the points, the last day it may be used, signed with the service's Ed25519 voucher key
(seed 004 #4016, #4021). Only the service can redeem it, once (``grant_service/vouchers.py``);
the signature tells a shop, offline, that the service printed it.

The code's text is ``MKV1.<payload>.<signature>``, both base64url without padding; the
payload is RFC 8785 canonical JSON, so that the bytes signed are the bytes read.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Final

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from stdnum import damm

PREFIX: Final = "MKV1"
NUMBER_PATTERN: Final = r"^[0-9]{16}$"


class VoucherCodeInvalid(ValueError):
    """Not a voucher code, or one whose signature does not verify: do not accept it."""


def new_voucher_number() -> str:
    body = "".join(secrets.choice("0123456789") for _ in range(15))
    return body + damm.calc_check_digit(body)


def normalise_voucher_number(text: str) -> str:
    """A number as typed: spaces and hyphens dropped (full-width digits folded)."""
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text))


def is_valid_number(number: str) -> bool:
    return re.fullmatch(NUMBER_PATTERN, number) is not None and damm.is_valid(number)


def grouped(number: str) -> str:
    """``1234 5678 9012 3456``: as printed and read aloud."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


@dataclass(frozen=True)
class VoucherFace:
    """What the voucher says: the same on its paper, in its code, and at the service."""

    number: str
    municipality_code: str
    points: int
    expires_on: dt.date

    def payload(self) -> bytes:
        return rfc8785.dumps(
            {
                "n": self.number,
                "m": self.municipality_code,
                "p": self.points,
                "e": self.expires_on.isoformat(),
            }
        )

    def usable_on(self, day: dt.date) -> bool:
        return day <= self.expires_on


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise VoucherCodeInvalid("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise VoucherCodeInvalid("not base64url") from exc


def encode(face: VoucherFace, key: ed25519.Ed25519PrivateKey) -> str:
    """The QR code's text, signed by the service."""
    payload = face.payload()
    return f"{PREFIX}.{_b64(payload)}.{_b64(key.sign(payload))}"


def verify(code: str, public_key: ed25519.Ed25519PublicKey) -> VoucherFace:
    """The voucher a scanned code stands for, if the service signed it; raises
    ``VoucherCodeInvalid`` otherwise. Whether it was used already only the service knows."""
    parts = code.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise VoucherCodeInvalid(f"not a {PREFIX} voucher code")
    payload, signature = _unb64(parts[1]), _unb64(parts[2])
    try:
        public_key.verify(signature, payload)
    except InvalidSignature as exc:
        raise VoucherCodeInvalid("the signature does not verify") from exc
    try:
        fields = json.loads(payload)
        face = VoucherFace(
            number=fields["n"],
            municipality_code=fields["m"],
            points=fields["p"],
            expires_on=dt.date.fromisoformat(fields["e"]),
        )
    except (ValueError, KeyError, TypeError) as exc:  # signed, but not ours in form
        raise VoucherCodeInvalid("not a voucher's fields") from exc
    if not is_valid_number(face.number) or not isinstance(face.points, int):
        raise VoucherCodeInvalid("not a voucher's fields")
    return face


def public_key_pem(key: ed25519.Ed25519PublicKey) -> bytes:
    """The voucher key's public half, as shops are given it."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(pem: bytes) -> ed25519.Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key
