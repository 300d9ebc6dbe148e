"""Municipal points (自治体ポイント): what a municipality grants to a MyKey ID, and how it is
spent, held, returned and lost (seed 004 #1013-1017, #4028-4033, #4042).

- A municipality grants points (行政ポイント) with its own credential, each grant under
  its own id: a retry gets the first answer, the same id with other content is refused.
  Each grant is a *lot* with the expiry the municipality set when granting it (#4033).
- Points are whole (#1015), per municipality: they never move to another municipality
  (#4030) or another person (#1013), and cannot be bought (#4042) or changed to cash
  (#1017). There is simply no operation that would.
- Points are spent oldest grant first (#4028), lot by lot; what a voucher took is held
  on it (``vouchers.py``) and goes back to its lots if the voucher is cancelled.
- A lot past its last day counts for nothing; ``expire`` (``grant-service expire-points``,
  daily) moves what is left of it to ``lapsed``.
- Nothing records what the points bought (#4017): spending only lowers ``remaining``.

Locks (``locking.py``): a municipality's grants take turns (step 2), then the people they
are for (step 5); lots are locked in id order after the person.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from grant_service import audit, locking, rules
from grant_service.ledger import Person
from grant_service.models import MunicipalGrantAnswer, MunicipalPointLot, MyKey
from grant_service.refusals import Refused
from mynapoint.platform_catalog import Municipality
from mynapoint.reasons import R

MAX_GRANT_POINTS = 1_000_000


class GrantIn(BaseModel):
    """One grant, as the municipality sends it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    grant_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    mykey_id: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,32}$")]
    points: Annotated[int, Field(ge=1, le=MAX_GRANT_POINTS)]
    expires_on: Annotated[str, Field(pattern=r"^2[0-9]{3}-[0-9]{2}-[0-9]{2}$")]


def _grant_digest(key: bytes, municipality_code: str, grant_id: str) -> str:
    return hmac.new(key, f"municipal-grant\x1f{municipality_code}\x1f{grant_id}".encode(),
                    "sha256").hexdigest()  # fmt: skip


def _content_check(key: bytes, municipality_code: str, grant: GrantIn) -> str:
    content = json.dumps([municipality_code, grant.model_dump()], sort_keys=True).encode()
    return hmac.new(key, content, "sha256").hexdigest()


def grant(
    session: Session,
    *,
    account_key: bytes,
    audit_key: bytes,
    municipality: Municipality,
    grants: list[GrantIn],
    today: dt.date,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Grant a batch of one municipality's points; a result per grant, in order."""
    code = municipality.code
    locking.lock_all(session, [locking.municipality_key(code)])
    locking.lock_all(session, {locking.person_key(g.mykey_id) for g in grants})
    digests = [_grant_digest(account_key, code, g.grant_id) for g in grants]
    stored = {
        row.grant_digest: row
        for row in session.scalars(
            select(MunicipalGrantAnswer).where(MunicipalGrantAnswer.grant_digest.in_(digests))
        )
    }
    people = {
        m.mykey_id: m.status
        for m in session.scalars(
            select(MyKey).where(MyKey.mykey_id.in_({g.mykey_id for g in grants}))
        )
    }
    results: list[dict[str, Any]] = []
    decided: dict[str, tuple[str, dict[str, Any]]] = {}  # this batch's, by digest
    outcomes: dict[str, int] = {}
    for item, digest in zip(grants, digests, strict=True):
        check = _content_check(account_key, code, item)
        earlier = stored.get(digest)
        first = (earlier.content_check, json.loads(earlier.answer_json)) if earlier else None
        first = first or decided.get(digest)
        if first is not None:
            results.append(_replay(item, first, check))
            continue
        answer = _decide(session, item, municipality, people.get(item.mykey_id), today)
        session.add(MunicipalGrantAnswer(grant_digest=digest, content_check=check,
                                         answer_json=json.dumps(answer)))  # fmt: skip
        decided[digest] = (check, answer)
        outcomes[answer["outcome"]] = outcomes.get(answer["outcome"], 0) + 1
        results.append(answer)
    session.flush()
    if outcomes:
        audit.append_many(session, audit_key, [
            audit.Event("operator", "municipal_points.grant", f"{code}:{n}", outcome)
            for outcome, n in sorted(outcomes.items())
        ], now)  # fmt: skip
    return results


def _replay(item: GrantIn, first: tuple[str, dict[str, Any]], check: str) -> dict[str, Any]:
    content_check, answer = first
    if not hmac.compare_digest(content_check, check):
        reason = R.GRANT_ID_REUSED.value
        return {"grant_id": item.grant_id, "outcome": "error", "reason_code": reason.code,
                "detail": "this grant id was used for another grant"}  # fmt: skip
    return {**answer, "replayed": True}


def _decide(
    session: Session, item: GrantIn, municipality: Municipality, status: str | None, today: dt.date
) -> dict[str, Any]:
    def refused(reason: R, detail: str = "") -> dict[str, Any]:
        return {"grant_id": item.grant_id, "outcome": "rejected",
                "reason_code": reason.value.code, "detail": detail}  # fmt: skip

    try:
        expires_on = dt.date.fromisoformat(item.expires_on)
    except ValueError:
        return refused(R.MALFORMED, "expires_on: not a date")
    if expires_on < today:
        return refused(R.MALFORMED, "expires_on: already past")
    if status is None:
        return refused(R.NOT_FOUND, "no such MyKey ID")
    try:  # suspended, superseded, revoked: the rule every procedure follows
        rules.check_person_active(Person(item.mykey_id, status))
    except Refused as refusal:
        return refused(refusal.reason)
    lot = MunicipalPointLot(
        mykey_id=item.mykey_id, municipality_code=municipality.code, points=item.points,
        remaining=item.points, granted_on=today, expires_on=expires_on, lapsed=0,
    )  # fmt: skip
    session.add(lot)
    return {"grant_id": item.grant_id, "outcome": "granted", "mykey_id": item.mykey_id,
            "points": item.points, "expires_on": expires_on.isoformat()}  # fmt: skip


# --- balances, holds, returns ---------------------------------------------------------------


def _usable(mykey_id: str, today: dt.date) -> Any:
    return (
        (MunicipalPointLot.mykey_id == mykey_id)
        & (MunicipalPointLot.remaining > 0)
        & (MunicipalPointLot.expires_on >= today)
    )


@dataclass(frozen=True)
class Balance:
    municipality_code: str
    points: int
    # (last day, points) for each expiry date still ahead, soonest first.
    expiring: tuple[tuple[dt.date, int], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "municipality_code": self.municipality_code,
            "points": self.points,
            "expiring": [{"expires_on": d.isoformat(), "points": p} for d, p in self.expiring],
        }


def balances(session: Session, mykey_id: str, today: dt.date) -> list[Balance]:
    """The person's usable points per municipality, and when they expire."""
    rows = session.execute(
        select(
            MunicipalPointLot.municipality_code,
            MunicipalPointLot.expires_on,
            func.sum(MunicipalPointLot.remaining),
        )
        .where(_usable(mykey_id, today))
        .group_by(MunicipalPointLot.municipality_code, MunicipalPointLot.expires_on)
        .order_by(MunicipalPointLot.municipality_code, MunicipalPointLot.expires_on)
    ).all()
    by_code: dict[str, list[tuple[dt.date, int]]] = {}
    for code, expires_on, points in rows:
        by_code.setdefault(code, []).append((expires_on, int(points)))
    return [
        Balance(code, sum(p for _, p in expiring), tuple(expiring))
        for code, expiring in by_code.items()
    ]


def take(
    session: Session, mykey_id: str, municipality_code: str, points: int, today: dt.date
) -> list[tuple[MunicipalPointLot, int]]:
    """Take ``points`` from the person's usable lots in this municipality, oldest grant
    first (#4028): (lot, points taken) for each lot touched. The caller holds the person's
    lock. Refused when the balance is short."""
    lots = session.scalars(
        select(MunicipalPointLot)
        .where(_usable(mykey_id, today), MunicipalPointLot.municipality_code == municipality_code)
        .order_by(MunicipalPointLot.granted_on, MunicipalPointLot.id)
        .with_for_update()
    ).all()
    if sum(lot.remaining for lot in lots) < points:
        raise Refused(R.POINTS_NOT_ENOUGH, f"the balance is {sum(lot.remaining for lot in lots)}")
    taken = []
    left = points
    for lot in lots:
        if left == 0:
            break
        part = min(lot.remaining, left)
        lot.remaining -= part
        left -= part
        taken.append((lot, part))
    return taken


def give_back(session: Session, parts: list[tuple[int, int]]) -> None:
    """Return held points to their lots ((lot id, points), locked in id order): a lot past
    its last day takes them back too, and ``expire`` lapses them."""
    for lot_id, points in sorted(parts):
        session.execute(
            update(MunicipalPointLot)
            .where(MunicipalPointLot.id == lot_id)
            .values(remaining=MunicipalPointLot.remaining + points)
        )


def forfeit(session: Session, mykey_id: str) -> int:
    """Every point of a revoked MyKey ID lapses (#5017); the points lost."""
    lots = session.scalars(
        select(MunicipalPointLot)
        .where(MunicipalPointLot.mykey_id == mykey_id, MunicipalPointLot.remaining > 0)
        .order_by(MunicipalPointLot.id)
        .with_for_update()
    ).all()
    lost = sum(lot.remaining for lot in lots)
    for lot in lots:
        lot.lapsed += lot.remaining
        lot.remaining = 0
    return lost


# --- expiry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expiry:
    lots: int
    points: int


EXPIRY_BATCH = 1000


def expire(session: Session, audit_key: bytes, today: dt.date, now: dt.datetime) -> Expiry:
    """Lapse what is left of every lot whose last day is before ``today`` (JST), a batch of
    lots at a time in id order (the order ``give_back`` locks them in)."""
    lots = points = 0
    while True:
        batch = session.scalars(
            select(MunicipalPointLot)
            .where(MunicipalPointLot.expires_on < today, MunicipalPointLot.remaining > 0)
            .order_by(MunicipalPointLot.id)
            .limit(EXPIRY_BATCH)
            .with_for_update()
        ).all()
        if not batch:
            break
        for lot in batch:
            points += lot.remaining
            lot.lapsed += lot.remaining
            lot.remaining = 0
        lots += len(batch)
        session.flush()
    audit.append(
        session, audit_key, at=now, actor="operator", action="municipal_points.expire",
        subject=f"{lots} lots, {points} points", outcome="accepted",
    )  # fmt: skip
    return Expiry(lots, points)
