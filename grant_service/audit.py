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
import json
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from grant_service.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def _seal(key: bytes, prev_hash: str, entry: AuditEntry) -> str:
    # A JSON list in a fixed order: a deterministic encoding of the entry's fields.
    fields = [
        entry.seq,
        entry.at.astimezone(dt.UTC).isoformat(),
        entry.kiosk_id,
        entry.actor,
        entry.action,
        entry.subject,
        entry.outcome,
        entry.reason_code,
    ]
    if entry.flagged:  # entries from before the flag existed seal as they did then
        fields.append("flagged")
    message = prev_hash.encode() + json.dumps(fields, separators=(",", ":")).encode()
    return hmac.new(key, message, "sha256").hexdigest()


@dataclass(frozen=True)
class Event:
    """One operation to record."""

    actor: str
    action: str
    subject: str
    outcome: str
    kiosk_id: str | None = None
    reason_code: str | None = None
    flagged: bool = False


def lock_head(session: Session) -> AuditHead:
    """Take the chain's head (locked until commit): from here on, this transaction is the
    only writer of the audit trail, and of everything recorded with it."""
    return session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()


def append_many(session: Session, key: bytes, events: list[Event], at: dt.datetime) -> None:
    """Append events in order: one insert, one head update."""
    if not events:
        return
    head = lock_head(session)
    seq, prev_hash = head.last_seq, head.last_hash
    rows = []
    for event in events:
        seq += 1
        entry = AuditEntry(
            seq=seq, at=at.replace(microsecond=0), kiosk_id=event.kiosk_id, actor=event.actor,
            action=event.action, subject=event.subject, outcome=event.outcome,
            reason_code=event.reason_code, flagged=event.flagged, prev_hash=prev_hash,
        )  # fmt: skip
        entry.hash = _seal(key, prev_hash, entry)
        prev_hash = entry.hash
        rows.append(
            {c: getattr(entry, c) for c in (
                "seq", "at", "kiosk_id", "actor", "action", "subject", "outcome",
                "reason_code", "flagged", "prev_hash", "hash",
            )}
        )  # fmt: skip
    session.execute(insert(AuditEntry.__table__), rows)  # Core: one executemany
    head.last_seq, head.last_hash = seq, prev_hash
    head.seal = _seal_head(key, seq, prev_hash)


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
) -> None:
    append_many(session, key, [Event(actor, action, subject, outcome, kiosk_id, reason_code)], at)


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
