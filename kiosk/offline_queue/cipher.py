"""Encryption at rest of queued envelopes: AES-256-GCM with the kiosk's queue key.

Each payload is bound to its item's UUID (the associated data), so a ciphertext moved to
another row does not decrypt. The key lives in a file of mode 0600 (provisioning writes
it; the embedded default makes one).
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mynapoint.private_files import create_private_once

VERSION = b"\x01"
NONCE_BYTES = 12


class UndecryptablePayload(Exception):
    pass


class PayloadCipher:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the queue key must be 32 bytes")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(key).hexdigest()[:12]

    @classmethod
    def load_or_create(cls, path: Path) -> PayloadCipher:
        """The key in ``path``, made on first use (whole or not at all; see
        ``mynapoint.private_files``)."""
        create_private_once(path, secrets.token_bytes(32))
        return cls(path.read_bytes())

    def encrypt(self, uuid: str, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, uuid.encode())

    def decrypt(self, uuid: str, blob: bytes) -> bytes:
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != VERSION:
            raise UndecryptablePayload("not a payload of this queue format")
        nonce, ciphertext = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, uuid.encode())
        except InvalidTag as exc:
            raise UndecryptablePayload(
                "the payload does not decrypt with this kiosk's key"
            ) from exc
