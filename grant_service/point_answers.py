"""What the service keeps of a payment operator's transaction: nothing of the purchase.

The state collects and keeps no purchase history (seed 002: «国が商品等の購入履歴等の情報を
収集・保有することもありません»; seed 004 #4017). Points need only each person's running
totals (``point_totals``); a transaction leaves one row, for idempotency alone:

- ``tx_digest``: a keyed hash (the service's account key) of the service and the
  operator's transaction id, to find a replay without keeping the id;
- ``content_check``: a hash of the transaction's fingerprint, to tell a replay (same
  content: the first answer again) from other content under the same id (``TX_ID_REUSED``);
- ``sealed_answer``: the first answer (outcome, reason, base counted, points, MyKey ID),
  encrypted with AES-256-GCM under a key derived from the fingerprint.

The fingerprint is an HMAC, with the account key, of the whole transaction (id, account,
kind, amount, time) and is never stored. So only whoever presents the same transaction
again - the operator replaying it - can open its answer: the database holds no amount,
time, account, person, points or operator id of any one transaction, nor which
transactions were one person's.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


@dataclass(frozen=True)
class Answer:
    """What a replay must be told again, as first decided."""

    status: str  # granted | not_counted
    counted_yen: int
    points: int
    reason_code: str | None
    mykey_id: str | None  # for the person's current total in the replayed answer


def tx_digest(key: bytes, service_code: str, tx_id: str) -> str:
    return hmac.new(key, f"point-tx\x1f{service_code}\x1f{tx_id}".encode(), "sha256").hexdigest()


def _derive(fingerprint: str, label: bytes) -> bytes:
    return hmac.new(bytes.fromhex(fingerprint), label, "sha256").digest()


def content_check(fingerprint: str) -> str:
    return _derive(fingerprint, b"content-check").hex()


def seal(fingerprint: str, answer: Answer) -> bytes:
    plain = json.dumps(
        [answer.status, answer.counted_yen, answer.points, answer.reason_code, answer.mykey_id],
        separators=(",", ":"),
    ).encode()
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return nonce + AESGCM(_derive(fingerprint, b"answer-seal")).encrypt(nonce, plain, None)


def open_sealed(fingerprint: str, sealed: bytes) -> Answer:
    """The answer sealed for this fingerprint (``InvalidTag`` for any other)."""
    nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    plain = AESGCM(_derive(fingerprint, b"answer-seal")).decrypt(nonce, body, None)
    status, counted_yen, points, reason_code, mykey_id = json.loads(plain)
    return Answer(status, counted_yen, points, reason_code, mykey_id)
