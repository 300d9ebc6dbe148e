"""My Page: what the service knows of the card in front of the kiosk.

The card signs a fresh, one-time challenge (``mynapoint/mypage.py``); the answer holds the
reservation, the application (with whether it can still be cancelled today here), the
points, and every submission made with this card, with the reason when one was refused:
that is where a citizen whose queued application was refused finds out why.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from grant_service import audit, pki, rules
from grant_service.catalog import Catalog
from grant_service.ledger import Ledger
from grant_service.models import (
    Application,
    MyKey,
    PointTotal,
    StatusChallenge,
    Submission,
)
from grant_service.pki import CardTrust
from grant_service.refusals import Refused
from grant_service.settings import Settings
from mynapoint.dates import japan_day
from mynapoint.mypage import StatusQuery
from mynapoint.reasons import R

CHALLENGE_LIFETIME = dt.timedelta(minutes=2)
SUBMISSIONS_SHOWN = 100


def new_challenge(session: Session, kiosk_id: str, now: dt.datetime) -> StatusChallenge:
    session.execute(delete(StatusChallenge).where(StatusChallenge.expires_at < now))
    challenge = StatusChallenge(
        challenge=secrets.token_urlsafe(32),
        kiosk_id=kiosk_id,
        created_at=now,
        expires_at=now + CHALLENGE_LIFETIME,
    )
    session.add(challenge)
    return challenge


def spend_challenge(session: Session, challenge: str, kiosk_id: str, now: dt.datetime) -> bool:
    """Use a challenge up, and say whether it was valid: this kiosk's, not expired. The
    caller commits this before checking the card, so that a failed signature spends the
    challenge too (one try per challenge), and only then refuses an invalid one."""
    row = session.execute(
        delete(StatusChallenge)
        .where(StatusChallenge.challenge == challenge)
        .returning(StatusChallenge.kiosk_id, StatusChallenge.expires_at)
    ).first()
    return row is not None and row.expires_at >= now and row.kiosk_id == kiosk_id


def status(
    session: Session,
    query: StatusQuery,
    *,
    device: rules.Device,
    trust: CardTrust,
    settings: Settings,
    catalog: Catalog,
    audit_key: bytes,
    now: dt.datetime,
) -> dict[str, Any]:
    """The card's page, for a query whose challenge was spent (``spend_challenge``)."""
    if query.kiosk_id != device.kiosk_id:
        raise Refused(R.KIOSK_MISMATCH, f"sent by {device.kiosk_id}")
    identity = trust.verify_signed(
        query.certificate_der, query.signature_bytes, query.signed_bytes()
    )
    ledger = Ledger(session, cards=[identity], accounts=[])
    rules.check_validity(
        ledger, identity, now, now,
        max_queue_age=dt.timedelta(days=settings.max_queue_age_days),
        crl_max_age=dt.timedelta(hours=settings.crl_max_age_hours),
    )  # fmt: skip
    person = ledger.person_of_card(identity)
    if person is not None:
        rules.check_person_active(person)  # a suspended MyKey ID: a clear refusal, here too
    audit.append(
        session, audit_key, at=now, kiosk_id=device.kiosk_id, actor="citizen",
        action="mypage.status", subject=person.mykey_id if person else identity.serial_hex[:128],
        outcome="accepted",
    )  # fmt: skip
    return {
        "card": {"serial_hex": identity.serial_hex, "valid_until": identity.not_after.isoformat()},
        "reservations_open": rules.reservations_open(
            session, settings.reservation_cap, catalog, japan_day(now)
        ),
        "reservation": _reservation(session, person.mykey_id if person else None),
        "application": _application(session, person.mykey_id if person else None, device, now),
        "points": _points(session, person.mykey_id if person else None),
        "submissions": _submissions(session, identity),
    }


def _reservation(session: Session, mykey_id: str | None) -> dict[str, Any]:
    if mykey_id is None:
        return {"reserved": False}
    mykey = session.get(MyKey, mykey_id)
    assert mykey is not None
    return {
        "reserved": True,
        "mykey_id": mykey.mykey_id,
        "status": mykey.status,
        "reserved_at": mykey.reserved_at.isoformat(),
        "receipt_number": mykey.receipt_number,
    }


def _application(
    session: Session, mykey_id: str | None, device: rules.Device, now: dt.datetime
) -> dict[str, Any]:
    """The person's current application, or the last one if it was cancelled."""
    if mykey_id is None:
        return {"state": "none"}
    latest = session.scalars(
        select(Application)
        .where(Application.mykey_id == mykey_id)
        .order_by(Application.applied_at.desc())
    ).all()
    active = [a for a in latest if a.status == "active"]
    application = active[0] if active else (latest[0] if latest else None)
    if application is None:
        return {"state": "none"}
    return {
        "state": application.status,
        "service_code": application.service_code,
        "account_last4": application.account_last4,
        "receipt_number": application.receipt_number,
        "applied_at": application.applied_at.isoformat(),
        "cancelled_at": application.cancelled_at.isoformat() if application.cancelled_at else None,
        # Whether this kiosk could cancel it now (the rule: same day, city hall).
        "cancellable_here": application.status == "active"
        and rules.cancellable(device.channel, application.applied_at, now),
    }


def _points(session: Session, mykey_id: str | None) -> dict[str, Any]:
    total = session.get(PointTotal, mykey_id) if mykey_id else None
    return {
        "counted_yen": total.counted_yen if total else 0,
        "points": total.points if total else 0,
    }


def _submissions(session: Session, identity: pki.CardIdentity) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Submission)
        .where(
            Submission.card_issuer == identity.issuer,
            Submission.card_serial_hex == identity.serial_hex,
            Submission.state == "done",
        )
        .order_by(Submission.received_at.desc())
        .limit(SUBMISSIONS_SHOWN)
    )
    shown = []
    for row in rows:
        item: dict[str, Any] = {
            "receipt_number": row.receipt_number,
            "kind": row.kind,
            "state": row.outcome,
            "received_at": row.received_at.isoformat(),
        }
        if row.reason_code:
            reason = R.by_code(row.reason_code).value
            item.update(
                reason_code=reason.code, message_ja=reason.message_ja, message_en=reason.message_en
            )
        shown.append(item)
    return shown
