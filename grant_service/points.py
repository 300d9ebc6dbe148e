"""Points: 25% of what a person charges or spends with the chosen service, up to 5,000 yen.

Payment operators post their transactions (``POST /v1/points/transactions``), identified
by the payment account (kept only as the same keyed hash the application stored) and an
operator transaction id, which makes each one count once: a replay gets the first result,
the same id with other content is refused. A transaction counts when the account has an
active application, the kind is the service's grant type (charge or purchase), it came
after the application and inside the programme period, and the person's base of 20,000
yen is not used up. Points are computed on the running total, rounded down to the yen,
so splitting a payment never gains or loses a yen.

The state keeps no purchase history (seed 002, 004 #4017): only each person's running
totals change. Of a transaction the service keeps what answers its replay, sealed so that
only the same transaction opens it (``point_answers.py``), and the audit trail counts a
batch's outcomes without naming a transaction.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.orm import Session

from grant_service import audit, locking, point_answers, rules
from grant_service.catalog import Catalog
from grant_service.ledger import Person
from grant_service.models import Application, MyKey, PointTotal, PointTransactionAnswer
from grant_service.refusals import Refused
from mynapoint.database import in_chunks
from mynapoint.dates import japan_day
from mynapoint.envelope import TimeText, parse_time
from mynapoint.payment_ids import normalise_payment_id
from mynapoint.reasons import R


class TransactionIn(BaseModel):
    """One charge or purchase, as the payment operator reports it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    tx_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    service_code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]
    payment_id: Annotated[str, Field(min_length=1, max_length=64, repr=False)]
    kind: Literal["charge", "purchase"]
    amount_yen: Annotated[int, Field(ge=1, le=100_000_000)]
    occurred_at: TimeText


def grant_increment(
    counted_before: int, amount: int, *, rate_percent: int, cap_yen: int
) -> tuple[int, int]:
    """The programme's arithmetic, in one place: (base counted, points granted) by a
    transaction of ``amount`` for a person whose base so far is ``counted_before``.

    The base stops at cap / rate (20,000 yen for 5,000 at 25%); points are the rate of the
    running base, rounded down to the yen.
    """
    base_cap = cap_yen * 100 // rate_percent
    counted_after = min(base_cap, counted_before + amount)
    points_before = min(cap_yen, counted_before * rate_percent // 100)
    points_after = min(cap_yen, counted_after * rate_percent // 100)
    return counted_after - counted_before, points_after - points_before


@dataclass(frozen=True)
class PointsPeriod:
    start: dt.date
    end: dt.date

    @classmethod
    def of(cls, catalog: Catalog, end_override: dt.date | None) -> PointsPeriod:
        programme = catalog.programme
        return cls(programme.points_period_start, end_override or programme.points_period_end)


def _fingerprint(key: bytes, tx: TransactionIn) -> str:
    content = json.dumps(tx.model_dump(), sort_keys=True).encode()
    return hmac.new(key, content, "sha256").hexdigest()


def ingest(
    session: Session,
    *,
    account_key: bytes,
    audit_key: bytes,
    catalog: Catalog,
    period: PointsPeriod,
    transactions: list[TransactionIn],
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Count a batch of one operator's transactions; a result per transaction, in order.

    Nothing of a transaction is kept but what answers its replay (``point_answers``):
    the person's totals change, no purchase is recorded."""
    # One operator's batches take turns (its transaction ids, and the totals of its
    # customers); other operators' batches, and kiosks, go on side by side.
    locking.lock_all(session, {locking.point_stream_key(tx.service_code) for tx in transactions})
    accounts = {
        tx.tx_id: rules.account_fingerprint(
            account_key, tx.service_code, normalise_payment_id(tx.payment_id)
        )
        for tx in transactions
    }
    fingerprints = [_fingerprint(account_key, tx) for tx in transactions]
    digests = [
        point_answers.tx_digest(account_key, tx.service_code, tx.tx_id) for tx in transactions
    ]
    seen = _existing(session, digests)
    replays = _open_replays(seen, digests, fingerprints)
    applications = _applications(
        session, {(tx.service_code, accounts[tx.tx_id]) for tx in transactions}
    )
    people = _statuses(session, {a.mykey_id for a in applications.values()})
    replayed_people = {a.mykey_id for a in replays.values() if a.mykey_id}
    totals = _totals(session, set(people) | replayed_people)
    new_totals: set[str] = set(people) - set(totals)
    for mykey_id in new_totals:
        totals[mykey_id] = [0, 0]
    rate, cap = catalog.programme.grant_rate_percent, catalog.programme.grant_cap_yen
    results, rows, touched = [], [], set()
    in_batch: dict[str, tuple[str, point_answers.Answer]] = {}
    for tx, fingerprint, digest in zip(transactions, fingerprints, digests, strict=True):
        check = point_answers.content_check(fingerprint)
        first_check: str | None
        first: point_answers.Answer | None  # None: no answer to replay
        if digest in in_batch:
            first_check, first = in_batch[digest]
        elif digest in seen:
            first_check, first = seen[digest][0], replays.get(digest)
        else:
            first_check, first = None, None
        if first_check is not None:  # seen before: a replay, or other content under its id
            if hmac.compare_digest(first_check, check) and first is not None:
                results.append(_result(tx, first, totals, replayed=True))
            else:
                results.append(_error(tx, Refused(R.TX_ID_REUSED)))
            continue
        application = applications.get((tx.service_code, accounts[tx.tx_id]))
        counted, points, reason = 0, 0, None
        try:
            _check(tx, application, people, catalog, period)
            assert application is not None
            total = totals[application.mykey_id]
            counted, points = grant_increment(
                total[0], tx.amount_yen, rate_percent=rate, cap_yen=cap
            )
            if counted == 0:
                raise Refused(R.POINTS_CAP_REACHED)
            total[0] += counted
            total[1] += points
            touched.add(application.mykey_id)
        except Refused as refusal:
            reason = refusal.reason
        answer = point_answers.Answer(
            status="granted" if reason is None else "not_counted",
            counted_yen=counted,
            points=points,
            reason_code=reason.value.code if reason else None,
            mykey_id=application.mykey_id if application is not None else None,
        )
        rows.append(
            {
                "tx_digest": digest,
                "content_check": check,
                "sealed_answer": point_answers.seal(fingerprint, answer),
            }
        )
        in_batch[digest] = (check, answer)
        results.append(_result(tx, answer, totals, replayed=False))
    if rows:
        session.execute(insert(PointTransactionAnswer), rows)
    inserts = [
        {"mykey_id": m, "counted_yen": totals[m][0], "points": totals[m][1]}
        for m in touched & new_totals
    ]
    updates = [
        {"mykey_id": m, "counted_yen": totals[m][0], "points": totals[m][1]}
        for m in touched - new_totals
    ]
    if inserts:
        session.execute(insert(PointTotal), inserts)
    if updates:
        session.execute(update(PointTotal), updates)  # by primary key
    audit.append_many(session, audit_key, _events(transactions, results), now)
    return results


def _result(
    tx: TransactionIn,
    answer: point_answers.Answer,
    totals: dict[str, list[int]],
    *,
    replayed: bool,
) -> dict[str, Any]:
    return {
        "tx_id": tx.tx_id,
        "service_code": tx.service_code,
        "status": answer.status,
        "counted_yen": answer.counted_yen,
        "points": answer.points,
        "reason_code": answer.reason_code,
        "total_points": totals[answer.mykey_id][1] if answer.mykey_id in totals else None,
        "replayed": replayed,
    }


def _check(
    tx: TransactionIn,
    application: Application | None,
    people: dict[str, str],
    catalog: Catalog,
    period: PointsPeriod,
) -> None:
    if application is None:
        raise Refused(R.NO_APPLICATION_FOR_ACCOUNT)
    rules.check_person_active(
        Person(application.mykey_id, people.get(application.mykey_id, "active"))
    )
    service = catalog.services.get(tx.service_code)
    if service is None or tx.kind != service.grant_on:
        raise Refused(
            R.WRONG_GRANT_TYPE,
            f"{tx.service_code} grants on {service.grant_on if service else '-'}",
        )
    occurred = parse_time(tx.occurred_at)
    if occurred < application.applied_at:
        raise Refused(R.BEFORE_APPLICATION)
    if not period.start <= japan_day(occurred) <= period.end:
        raise Refused(R.OUTSIDE_POINTS_PERIOD)


def _error(tx: TransactionIn, refusal: Refused) -> dict[str, Any]:
    reason = refusal.reason.value
    return {
        "tx_id": tx.tx_id, "service_code": tx.service_code, "status": "error",
        "reason_code": reason.code, "detail": refusal.detail, "replayed": False,
    }  # fmt: skip


def _events(transactions: list[TransactionIn], results: list[dict[str, Any]]) -> list[audit.Event]:
    """The batch in the audit trail as counts per service and outcome: an entry per
    transaction, with its time, would be the purchase history the state does not keep."""
    counts = Counter(
        (tx.service_code, r["status"], r.get("reason_code"), bool(r.get("replayed")))
        for tx, r in zip(transactions, results, strict=True)
    )
    return [
        audit.Event(
            actor="operator",
            action="points.transactions" + (".replay" if replayed else ""),
            subject=f"{service_code} x{count}",
            outcome=status,
            reason_code=reason_code,
        )
        for (service_code, status, reason_code, replayed), count in sorted(counts.items(), key=str)
    ]


def _existing(session: Session, digests: list[str]) -> dict[str, tuple[str, bytes]]:
    """The kept (content check, sealed answer) of the transactions seen before."""
    found: dict[str, tuple[str, bytes]] = {}
    for chunk in in_chunks(sorted(set(digests))):
        for digest, check, sealed in session.execute(
            select(
                PointTransactionAnswer.tx_digest,
                PointTransactionAnswer.content_check,
                PointTransactionAnswer.sealed_answer,
            ).where(PointTransactionAnswer.tx_digest.in_(chunk))
        ):
            found[digest] = (check, sealed)
    return found


def _open_replays(
    seen: dict[str, tuple[str, bytes]], digests: list[str], fingerprints: list[str]
) -> dict[str, point_answers.Answer]:
    """The first answers of this batch's replays: those whose content matches."""
    opened = {}
    for digest, fingerprint in zip(digests, fingerprints, strict=True):
        if digest in seen and digest not in opened:
            check, sealed = seen[digest]
            if hmac.compare_digest(check, point_answers.content_check(fingerprint)):
                opened[digest] = point_answers.open_sealed(fingerprint, sealed)
    return opened


def _applications(
    session: Session, accounts: set[tuple[str, str]]
) -> dict[tuple[str, str], Application]:
    found = {}
    for chunk in in_chunks(sorted(accounts)):
        for application in session.scalars(
            select(Application).where(
                tuple_(Application.service_code, Application.account_hmac).in_(chunk),
                Application.status == "active",
            )
        ):
            found[(application.service_code, application.account_hmac)] = application
    return found


def _statuses(session: Session, mykey_ids: set[str]) -> dict[str, str]:
    found = {}
    for chunk in in_chunks(sorted(mykey_ids)):
        rows = session.execute(
            select(MyKey.mykey_id, MyKey.status).where(MyKey.mykey_id.in_(chunk))
        )
        found.update({mykey_id: status for mykey_id, status in rows})
    return found


def _totals(session: Session, mykey_ids: set[str]) -> dict[str, list[int]]:
    found = {}
    for chunk in in_chunks(sorted(mykey_ids)):
        for row in session.scalars(
            select(PointTotal)
            .where(PointTotal.mykey_id.in_(chunk))
            .order_by(PointTotal.mykey_id)  # rows are locked in this order (locking.py)
            .with_for_update()
        ):
            found[row.mykey_id] = [row.counted_yen, row.points]
    return found
