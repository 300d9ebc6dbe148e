"""The audit trail: every operation, append-only, in a keyed hash chain.

Each entry's ``hash`` is an HMAC (the service's audit key) over the previous entry's hash
and the entry's own fields, so changing a row, deleting one, or reordering them breaks
the chain from there on, and nobody without the key can re-seal a rewritten chain.
Appending locks the one ``audit_head`` row, so entries form a single line even with
many writers. Database triggers refuse UPDATE and DELETE on the table as well.

Entries name the kiosk, the actor, the action, the subject (a submission UUID, a
MyKey ID, a kiosk id), the outcome and the reason code: never a PIN, security code,
payment-service ID or My Number.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

import rfc8785
from sqlalchemy import select
from sqlalchemy.orm import Session

from grant_service.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def _seal(key: bytes, prev_hash: str, entry: AuditEntry) -> str:
    fields = {
        "seq": entry.seq,
        "at": entry.at.astimezone(dt.UTC).isoformat(),
        "kiosk_id": entry.kiosk_id,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "outcome": entry.outcome,
        "reason_code": entry.reason_code,
    }
    return hmac.new(key, prev_hash.encode() + rfc8785.dumps(fields), "sha256").hexdigest()


def append(
    session: Session,
    key: bytes,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str,
    outcome: str,
    kiosk_id: str | None = None,
    reason_code: str | None = None,
) -> AuditEntry:
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()
    entry = AuditEntry(
        seq=head.last_seq + 1,
        at=at.replace(microsecond=0),
        kiosk_id=kiosk_id,
        actor=actor,
        action=action,
        subject=subject,
        outcome=outcome,
        reason_code=reason_code,
        prev_hash=head.last_hash,
    )
    entry.hash = _seal(key, head.last_hash, entry)
    session.add(entry)
    head.last_seq, head.last_hash = entry.seq, entry.hash
    head.seal = _seal_head(key, entry.seq, entry.hash)
    return entry


def _seal_head(key: bytes, seq: int, last_hash: str) -> str:
    return hmac.new(key, f"head\x1f{seq}\x1f{last_hash}".encode(), "sha256").hexdigest()


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    problem: str = ""


def verify(session: Session, key: bytes, batch: int = 5000) -> VerifyReport:
    """Walk the chain from the first entry; report the first break."""
    expected_seq, prev_hash, count = 1, GENESIS, 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return VerifyReport(False, count, f"entry {expected_seq} is missing (deleted?)")
            if entry.prev_hash != prev_hash:
                return VerifyReport(
                    False, count, f"entry {entry.seq} does not follow entry {entry.seq - 1}"
                )
            if not hmac.compare_digest(entry.hash, _seal(key, prev_hash, entry)):
                return VerifyReport(False, count, f"entry {entry.seq} was changed")
            prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
        last_seq = rows[-1].seq
    head = session.get(AuditHead, 1)
    if head is None or head.last_seq != count or head.last_hash != prev_hash:
        return VerifyReport(
            False, count, "the chain's head does not match its last entry (truncated?)"
        )
    if count and not hmac.compare_digest(head.seal, _seal_head(key, count, prev_hash)):
        return VerifyReport(False, count, "the chain's head was rewritten (truncated?)")
    return VerifyReport(True, count)
