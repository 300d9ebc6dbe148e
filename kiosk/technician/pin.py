"""The technician PIN: set at provisioning, kept only as a scrypt hash in the kiosk's
configuration (``technician_pin_hash``), checked in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt at N=2^14, r=8, p=1: about 50 ms and 16 MiB per check, which makes guessing a
# 6-8 digit PIN from a stolen configuration file slow, and a check at the kiosk instant.
N, R, P = 2**14, 8, 1
PREFIX = "scrypt"


def hash_pin(pin: str) -> str:
    if not (pin.isascii() and pin.isdigit() and 6 <= len(pin) <= 12):
        raise ValueError("the technician PIN is 6 to 12 digits")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return "$".join([PREFIX, str(N), str(R), str(P), _b64(salt), _b64(digest)])


def pin_matches(pin: str, stored: str | None) -> bool:
    """False for a wrong PIN, and when no PIN was set (technician mode is closed)."""
    if not stored:
        return False
    try:
        prefix, n, r, p, salt, digest = stored.split("$")
        if prefix != PREFIX:
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            dklen=len(expected),
        )  # fmt: skip
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
