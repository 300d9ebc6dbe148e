"""The audit trail: every operation, append-only, in keyed hash chains, with checkpoints.

Each entry's ``hash`` is an HMAC (the service's audit key) over the previous entry's hash
in its chain and the entry's own fields, so changing a row, deleting one, or reordering
them breaks the chain from there on, and nobody without the key can re-seal a rewritten
chain. Database triggers refuse UPDATE, DELETE and (PostgreSQL) TRUNCATE as well.

**Many chains, no single lock.** The log is several chains (``audit_chains``, one head
row each; ``audit_chains`` setting). A transaction appends its entries, in the same
transaction as the change they record, to the first chain whose head no other
transaction holds (``FOR UPDATE SKIP LOCKED``), and keeps that chain until it commits:
each chain is a line, writers do not queue behind one another, and a transaction waits
for a chain only when every chain is being written. Appending is the last thing a
transaction locks (``locking.py``). An entry's place in time is its ``at``; its place in
the log is (chain, seq).

**Checkpoints against truncation.** Someone with write access to the database and without
the key can still cut a chain's tail and rewind its head to an earlier, genuinely sealed
state, or wipe everything. ``grant-service audit-checkpoint`` exports the heads of all
chains, signed with the service's checkpoint key (Ed25519), for an auditor to keep
outside the database; ``audit-verify --checkpoint FILE`` then checks that every chain
still holds the entry the checkpoint saw, with the same hash.

Entries name the kiosk, the actor, the action, the subject (a submission UUID, a
MyKey ID, a kiosk id), the outcome and the reason code: never a PIN, security code,
payment-service ID or My Number.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from grant_service.models import AuditChain, AuditEntry

GENESIS = "0" * 64
CHECKPOINT_TYPE = "mynapoint-audit-checkpoint-v1"
_HELD = "audit_chain"  # session.info: the chain this transaction writes


def _seal(key: bytes, prev_hash: str, entry: AuditEntry) -> str:
    # A JSON list in a fixed order: a deterministic encoding of the entry's fields.
    fields: list[Any] = [
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
    if entry.chain:  # chain 0 is the single chain of before: its entries seal as they did
        fields.insert(0, ["chain", entry.chain])
    message = prev_hash.encode() + json.dumps(fields, separators=(",", ":")).encode()
    return hmac.new(key, message, "sha256").hexdigest()


def _seal_head(key: bytes, chain: int, seq: int, last_hash: str) -> str:
    prefix = f"head\x1f{chain}\x1f" if chain else "head\x1f"
    return hmac.new(key, f"{prefix}{seq}\x1f{last_hash}".encode(), "sha256").hexdigest()


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


@dataclass
class _Head:
    chain: int
    last_seq: int
    last_hash: str
    transaction: object = field(repr=False, default=None)


def ensure_chains(session: Session, key: bytes, count: int) -> None:
    """Make chains 0..count-1 exist, each sealed. Chains are never removed: a chain that
    exists is verified, however many the settings ask for now."""
    existing = {
        row.chain: row for row in session.execute(select(AuditChain)).scalars()
    }  # fmt: skip
    for chain in range(max(1, count)):
        row = existing.get(chain)
        if row is None:
            session.add(
                AuditChain(
                    chain=chain, last_seq=0, last_hash=GENESIS,
                    seal=_seal_head(key, chain, 0, GENESIS),
                )
            )  # fmt: skip
        elif row.last_seq == 0 and not row.seal:  # the genesis head of revision 0001
            row.seal = _seal_head(key, chain, 0, GENESIS)


# Built once: every writing transaction runs them.
_HEAD = (AuditChain.chain, AuditChain.last_seq, AuditChain.last_hash)
_FREE_CHAIN = select(*_HEAD).order_by(AuditChain.chain).limit(1).with_for_update(skip_locked=True)
_CHAIN = select(*_HEAD).where(AuditChain.chain == bindparam("chain")).with_for_update()
_APPEND = insert(AuditEntry.__table__)
_NEW_HEAD = (
    update(AuditChain.__table__)
    .where(AuditChain.chain == bindparam("b_chain"))
    .values(last_seq=bindparam("b_seq"), last_hash=bindparam("b_hash"), seal=bindparam("b_seal"))
)


def _take_chain(session: Session) -> _Head:
    """The head of a chain for this transaction, locked until it ends: the one it holds
    already, else the first free one, else (all are being written) any, waiting."""
    transaction = session.get_transaction()
    held: _Head | None = session.info.get(_HELD)
    if held is not None and held.transaction is transaction:
        return held
    row = session.execute(_FREE_CHAIN).first()
    if row is None:  # every chain is being written: wait for one, holding none
        chains = list(session.scalars(select(AuditChain.chain)))
        if not chains:
            raise LookupError("the audit log has no chain: run 'grant-service migrate'")
        chain = random.choice(chains)  # noqa: S311 (spreads the waits; not a secret)
        row = session.execute(_CHAIN, {"chain": chain}).one()
    head = _Head(row.chain, row.last_seq, row.last_hash, transaction)
    session.info[_HELD] = head
    return head


def append_many(session: Session, key: bytes, events: list[Event], at: dt.datetime) -> None:
    """Append events in order, to this transaction's chain: one insert, one head update."""
    if not events:
        return
    head = _take_chain(session)
    seq, prev_hash = head.last_seq, head.last_hash
    rows = []
    for event in events:
        seq += 1
        entry = AuditEntry(
            chain=head.chain, seq=seq, at=at.replace(microsecond=0), kiosk_id=event.kiosk_id,
            actor=event.actor, action=event.action, subject=event.subject,
            outcome=event.outcome, reason_code=event.reason_code, flagged=event.flagged,
            prev_hash=prev_hash,
        )  # fmt: skip
        entry.hash = _seal(key, prev_hash, entry)
        prev_hash = entry.hash
        rows.append(
            {c: getattr(entry, c) for c in (
                "chain", "seq", "at", "kiosk_id", "actor", "action", "subject", "outcome",
                "reason_code", "flagged", "prev_hash", "hash",
            )}
        )  # fmt: skip
    session.execute(_APPEND, rows)  # one executemany
    session.execute(
        _NEW_HEAD,
        {"b_chain": head.chain, "b_seq": seq, "b_hash": prev_hash,
         "b_seal": _seal_head(key, head.chain, seq, prev_hash)},
    )  # fmt: skip
    head.last_seq, head.last_hash = seq, prev_hash


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


# --- checkpoints ------------------------------------------------------------------------


class CheckpointInvalid(ValueError):
    """A checkpoint file that is not one, or whose signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    """The heads of every chain at one moment, signed by the service."""

    made_at: str
    heads: tuple[tuple[int, int, str], ...]  # (chain, seq, hash)
    public_key: str  # the service's checkpoint key (Ed25519, raw, base64)
    signature: str = ""

    @property
    def entries(self) -> int:
        return sum(seq for _, seq, _ in self.heads)

    def body(self) -> dict[str, Any]:
        return {
            "type": CHECKPOINT_TYPE,
            "made_at": self.made_at,
            "heads": [{"chain": c, "seq": s, "hash": h} for c, s, h in self.heads],
            "entries": self.entries,
            "public_key": self.public_key,
        }

    def signed_bytes(self) -> bytes:
        return rfc8785.dumps(self.body())

    def to_json(self) -> str:
        return json.dumps({**self.body(), "signature": self.signature}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("type") != CHECKPOINT_TYPE:
                raise CheckpointInvalid(f"not a {CHECKPOINT_TYPE} file")
            heads = tuple((int(h["chain"]), int(h["seq"]), str(h["hash"])) for h in data["heads"])
            checkpoint = cls(
                str(data["made_at"]), heads, str(data["public_key"]), str(data["signature"])
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointInvalid(f"not an audit checkpoint: {exc}") from exc
        # Only what is signed may be in the file: an edited total, or an extra field, could
        # mislead whoever reads it even though the signature covers the heads.
        if {**checkpoint.body(), "signature": checkpoint.signature} != data:
            raise CheckpointInvalid("the file holds fields, or a total, that were not signed")
        checkpoint.check_signature()
        return checkpoint

    def check_signature(self, trusted_key: ed25519.Ed25519PublicKey | None = None) -> None:
        """The checkpoint as the service signed it; with ``trusted_key``, signed by that key
        (an auditor pins the service's key instead of believing the file's)."""
        try:
            raw = base64.b64decode(self.public_key, validate=True)
            key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
            key.verify(base64.b64decode(self.signature, validate=True), self.signed_bytes())
        except (ValueError, InvalidSignature) as exc:
            raise CheckpointInvalid("the checkpoint's signature does not verify") from exc
        if trusted_key is not None and raw != public_key_bytes(trusted_key):
            raise CheckpointInvalid("the checkpoint was signed by another key")


def public_key_bytes(key: ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def make_checkpoint(
    session: Session, audit_key: bytes, signing_key: ed25519.Ed25519PrivateKey, now: dt.datetime
) -> Checkpoint:
    """Sign the heads of every chain as committed now (one statement: one snapshot). A head
    whose seal does not match is refused: a checkpoint never vouches for a rewound head."""
    heads = []
    for row in session.execute(select(AuditChain).order_by(AuditChain.chain)).scalars():
        if row.seal and not hmac.compare_digest(
            row.seal, _seal_head(audit_key, row.chain, row.last_seq, row.last_hash)
        ):
            raise CheckpointInvalid(f"the head of chain {row.chain} was rewritten")
        heads.append((row.chain, row.last_seq, row.last_hash))
    public_key = base64.b64encode(public_key_bytes(signing_key.public_key())).decode("ascii")
    unsigned = Checkpoint(now.astimezone(dt.UTC).isoformat(), tuple(heads), public_key)
    signature = base64.b64encode(signing_key.sign(unsigned.signed_bytes())).decode("ascii")
    return Checkpoint(unsigned.made_at, unsigned.heads, public_key, signature)


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    problem: str = ""
    chains: int = 0


class _Broken(Exception):
    pass


def verify(
    session: Session,
    key: bytes,
    checkpoints: Iterable[Checkpoint] = (),
    batch: int = 5000,
) -> VerifyReport:
    """Walk every chain from its first entry; report the first break. Each checkpoint's
    heads must still be in their chains, with the same hashes."""
    heads = {row.chain: row for row in session.execute(select(AuditChain)).scalars()}
    wanted: dict[tuple[int, int], str] = {}
    for checkpoint in checkpoints:
        for chain, seq, hash_ in checkpoint.heads:
            if chain not in heads:
                return VerifyReport(
                    False, 0, f"chain {chain} of the checkpoint of {checkpoint.made_at} is "
                    "gone (its head was deleted)", len(heads),
                )  # fmt: skip
            if seq:
                wanted[(chain, seq)] = hash_
    count = 0
    try:
        for chain in sorted(heads):
            count += _verify_chain(session, key, heads[chain], wanted, batch)
        stray = session.scalar(
            select(AuditEntry.chain).where(AuditEntry.chain.not_in(list(heads))).limit(1)
        )
        if stray is not None:
            raise _Broken(f"entries of chain {stray}, which has no head (its head was deleted)")
    except _Broken as broken:
        return VerifyReport(False, count, str(broken), len(heads))
    return VerifyReport(True, count, chains=len(heads))


def _verify_chain(
    session: Session, key: bytes, head: AuditChain, wanted: dict[tuple[int, int], str], batch: int
) -> int:
    chain, expected_seq, prev_hash, count = head.chain, 1, GENESIS, 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.chain == chain, AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for entry in rows:
            where = f"chain {chain}: entry {entry.seq}" if chain else f"entry {entry.seq}"
            if entry.seq != expected_seq:
                missing = (
                    f"chain {chain}: entry {expected_seq}" if chain else f"entry {expected_seq}"
                )
                raise _Broken(f"{missing} is missing (deleted?)")
            if entry.prev_hash != prev_hash:
                raise _Broken(f"{where} does not follow the entry before it")
            if not hmac.compare_digest(entry.hash, _seal(key, prev_hash, entry)):
                raise _Broken(f"{where} was changed")
            checkpointed = wanted.get((chain, entry.seq))
            if checkpointed is not None and checkpointed != entry.hash:
                raise _Broken(f"{where} is not the entry the checkpoint saw (replaced?)")
            prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
        last_seq = rows[-1].seq
    for (c, seq), _hash in wanted.items():
        if c == chain and seq > count:
            raise _Broken(
                f"chain {chain} ends at entry {count}, but a checkpoint saw entry {seq}: "
                "its tail was cut (truncated?)"
            )
    if head.last_seq != count or head.last_hash != prev_hash:
        raise _Broken(f"chain {chain}'s head does not match its last entry (truncated?)")
    if (count or head.seal) and not hmac.compare_digest(
        head.seal, _seal_head(key, chain, count, prev_hash)
    ):
        raise _Broken(f"chain {chain}'s head was rewritten (truncated?)")
    return count
