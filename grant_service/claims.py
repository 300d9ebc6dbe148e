"""Claims on envelope UUIDs: however many copies of a UUID arrive at once, on however many
processes, exactly one request processes it.

A request claims the UUIDs it was sent in one short transaction of its own, committed
before any rule runs, so that the claim outlives a crash of the request:

- a new UUID is inserted as ``in_flight`` with this request's ``claim_token`` and a lease
  (``INSERT ... ON CONFLICT DO NOTHING``: of two inserts of one UUID, exactly one
  succeeds; the database decides, not a read before the write);
- a UUID left ``pending`` (decided "not now") or ``in_flight`` past its lease (its request
  died) is taken over by a conditional update that skips rows another transaction holds
  (``FOR UPDATE SKIP LOCKED``): again exactly one taker, and nobody waits;
- anything else is answered from the row: the stored result for a finished UUID (a
  replay), 409 IN_FLIGHT while another request holds it, 422 when the same UUID comes with
  another envelope.

The transaction that applies the rules locks its claimed rows first, by UUID and only
while they still carry its token (``lock_owned``): a claim taken over meanwhile is not
applied twice, and a takeover cannot happen while the rules run. It then stores each
final result (``done``) or gives the claim back (``pending``) in that same transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, tuple_, update
from sqlalchemy.orm import Session

from grant_service.models import Submission
from mynapoint.database import dialect_insert

_CHUNK = 500


@dataclass(frozen=True)
class ClaimRow:
    """What is stored for an envelope while it is processed."""

    uuid: str
    fingerprint: str
    kind: str
    kiosk_id: str
    receipt_number: str
    card_issuer: str
    card_serial_hex: str
    sequence: int
    kiosk_time: dt.datetime


@dataclass(frozen=True)
class Found:
    """A UUID this request could not claim, as stored."""

    uuid: str
    state: str
    fingerprint: str
    result_json: str | None


def claim(
    session: Session, rows: list[ClaimRow], *, token: str, now: dt.datetime, lease: dt.datetime
) -> tuple[set[str], dict[str, Found]]:
    """Claim ``rows`` for this request: the UUIDs claimed, and the others as stored."""
    ordered = sorted(rows, key=lambda r: r.uuid)  # one order: concurrent claims never cross
    claimed: set[str] = set()
    statement = _claim_insert(session.get_bind().dialect.name)
    for start in range(0, len(ordered), _CHUNK):
        values = [
            {**vars(r), "state": "in_flight", "claim_token": token, "lease_until": lease,
             "received_at": now}  # vars, not asdict: asdict deep-copies every value
            for r in ordered[start : start + _CHUNK]
        ]  # fmt: skip
        claimed.update(session.scalars(statement, values))
    rest = {r.uuid: r for r in ordered if r.uuid not in claimed}
    if rest:
        claimed |= _take_over(session, list(rest.values()), token=token, now=now, lease=lease)
    found = _stored(session, [u for u in rest if u not in claimed])
    return claimed, found


# The statements every request runs, built once (SQLAlchemy then neither builds nor keys
# them again per request).
_T = Submission.__table__.c


@functools.cache
def _claim_insert(dialect_name: str) -> Any:
    """Insert claims; a UUID already there is left alone (and not returned)."""
    return (
        dialect_insert(dialect_name, Submission.__table__)
        .on_conflict_do_nothing(index_elements=["uuid"])
        .returning(_T.uuid)
    )


_LOCK_OWNED = (
    select(_T.uuid)
    .where(
        _T.uuid.in_(bindparam("uuids", expanding=True)),
        _T.claim_token == bindparam("token"),
        _T.state == "in_flight",
    )
    .order_by(_T.uuid)
    .with_for_update()
)
_SETTLE_DONE = (
    update(Submission.__table__)
    .where(_T.uuid == bindparam("b_uuid"))
    .values(
        state="done", lease_until=None, claim_token=None, outcome=bindparam("b_outcome"),
        reason_code=bindparam("b_reason_code"), http_status=bindparam("b_http_status"),
        result_json=bindparam("b_result_json"), completed_at=bindparam("b_completed_at"),
    )
)  # fmt: skip
_GIVE_BACK = (
    update(Submission.__table__)
    .where(_T.uuid.in_(bindparam("uuids", expanding=True)))
    .values(state="pending", lease_until=None, claim_token=None)
)
_UNSETTLED = select(_T.card_issuer, _T.card_serial_hex, _T.sequence, _T.uuid).where(
    tuple_(_T.card_issuer, _T.card_serial_hex).in_(bindparam("cards", expanding=True)),
    _T.state != "done",
    _T.kiosk_id == bindparam("kiosk_id"),
    _T.sequence.is_not(None),
)


def _take_over(
    session: Session, rows: list[ClaimRow], *, token: str, now: dt.datetime, lease: dt.datetime
) -> set[str]:
    """Take the UUIDs that are free to retry: given back (``pending``) or left by a
    request that died (``in_flight`` past its lease), with the same envelope."""
    taken: set[str] = set()
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        free = (
            select(Submission.uuid)
            .where(
                or_(*(
                    and_(Submission.uuid == r.uuid, Submission.fingerprint == r.fingerprint)
                    for r in chunk
                )),
                or_(
                    Submission.state == "pending",
                    and_(Submission.state == "in_flight", Submission.lease_until < now),
                ),
            )
            .with_for_update(skip_locked=True)
        )  # fmt: skip
        taken.update(
            session.scalars(
                update(Submission)
                .where(Submission.uuid.in_(free.scalar_subquery()))
                .values(state="in_flight", claim_token=token, lease_until=lease)
                .returning(Submission.uuid)
            )
        )
    return taken


def _stored(session: Session, uuids: list[str]) -> dict[str, Found]:
    found: dict[str, Found] = {}
    for start in range(0, len(uuids), _CHUNK):
        for row in session.execute(
            select(
                Submission.uuid, Submission.state, Submission.fingerprint, Submission.result_json
            ).where(Submission.uuid.in_(uuids[start : start + _CHUNK]))
        ):
            found[row.uuid] = Found(row.uuid, row.state, row.fingerprint, row.result_json)
    return found


def lock_owned(session: Session, uuids: Iterable[str], token: str) -> set[str]:
    """Lock this request's claims (step 1 of the lock order) and return the UUIDs it still
    owns; a claim taken over after its lease ended is no longer this request's."""
    wanted = sorted(set(uuids))
    owned: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        owned.update(session.scalars(_LOCK_OWNED, {"uuids": chunk, "token": token}))
    return owned


def settle(
    session: Session,
    done: list[dict[str, Any]],
    pending: list[str],
) -> None:
    """Store final results (``done``: uuid, outcome, reason_code, http_status, result_json,
    completed_at) and give the ``pending`` claims back for the kiosk's retry."""
    if done:
        session.execute(_SETTLE_DONE, [{f"b_{k}": v for k, v in row.items()} for row in done])
    for start in range(0, len(pending), _CHUNK):
        session.execute(_GIVE_BACK, {"uuids": pending[start : start + _CHUNK]})


def release(session: Session, uuids: Iterable[str], token: str) -> None:
    """Give back claims this request could not finish (its retry, or another copy's, takes
    them over at once)."""
    wanted = sorted(set(uuids))
    for start in range(0, len(wanted), _CHUNK):
        session.execute(
            update(Submission)
            .where(
                Submission.uuid.in_(wanted[start : start + _CHUNK]),
                Submission.claim_token == token,
                Submission.state == "in_flight",
            )
            .values(state="pending", lease_until=None, claim_token=None)
        )


def unsettled_before(
    session: Session, cards: Iterable[tuple[str, str]], kiosk_id: str, mine: set[str]
) -> dict[tuple[str, str], int]:
    """Per card: the lowest sequence of this kiosk's unsettled items of that card that are
    not this request's (a later item of the card must wait behind it)."""
    wanted = sorted(set(cards))
    lowest: dict[tuple[str, str], int] = {}
    for start in range(0, len(wanted), 200):
        chunk = wanted[start : start + 200]
        rows = session.execute(_UNSETTLED, {"cards": chunk, "kiosk_id": kiosk_id})
        for issuer, serial, sequence, uuid in rows:
            if uuid in mine:
                continue
            card = (issuer, serial)
            lowest[card] = min(sequence, lowest.get(card, sequence))
    return lowest
