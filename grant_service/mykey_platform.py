"""The citizen's side of the MyKey platform at a city-hall kiosk: balances, vouchers, and
revoking the MyKey ID (``mynapoint/platform_requests.py`` says what each request is).

Every request is signed by the card over a one-time challenge of this kiosk; the card is
checked as for any procedure (trusted, valid, not revoked), and the person must hold an
active MyKey ID. Vouchers and revocation are for city-hall kiosks only.

**Revoking** (失効, seed 004 #5016-5017; seed 000: «予約・申込の権利を一切失います») is
for good: the MyKey ID can never be used again, its municipal points lapse, its unused
vouchers are void, its library links go, its Mynapoint application stops counting, and a
new reservation with the same card (or a re-issued one) is refused (``MYKEY_REVOKED``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grant_service import audit, locking, municipal_points, rules, service_links, vouchers
from grant_service.ledger import Ledger, Person
from grant_service.models import Application, MyKey, PointVoucher
from grant_service.pki import CardIdentity, CardTrust
from grant_service.refusals import Refused
from grant_service.settings import Settings
from mynapoint.dates import japan_day
from mynapoint.platform_catalog import PlatformCatalog
from mynapoint.platform_requests import (
    REVOCATION_TERMS_VERSION,
    BalancesQuery,
    PlatformRequest,
    Revocation,
    VoucherCancel,
    VoucherIssue,
)
from mynapoint.reasons import R


@dataclass(frozen=True)
class Context:
    """What every request is judged with."""

    device: rules.Device
    trust: CardTrust
    settings: Settings
    platform: PlatformCatalog
    account_key: bytes
    audit_key: bytes
    now: dt.datetime


def card_of(session: Session, request: PlatformRequest, context: Context) -> CardIdentity:
    """The card that signed ``request``, checked as for any procedure."""
    if request.kiosk_id != context.device.kiosk_id:
        raise Refused(R.KIOSK_MISMATCH, f"sent by {context.device.kiosk_id}")
    identity = context.trust.verify_signed(
        request.certificate_der, request.signature_bytes, request.signed_bytes()
    )
    ledger = Ledger(session, cards=[identity], accounts=[])
    rules.check_validity(
        ledger, identity, context.now, context.now,
        max_queue_age=dt.timedelta(days=context.settings.max_queue_age_days),
        crl_max_age=dt.timedelta(hours=context.settings.crl_max_age_hours),
    )  # fmt: skip
    return identity


def person_of(session: Session, identity: CardIdentity) -> Person:
    person = Ledger(session, cards=[identity], accounts=[]).person_of_card(identity)
    if person is None:
        raise Refused(R.NO_RESERVATION)
    return person


def handle(session: Session, request: PlatformRequest, context: Context,
           voucher_key: Any) -> dict[str, Any]:  # fmt: skip
    """The answer to a request whose challenge was spent."""
    identity = card_of(session, request, context)
    person = person_of(session, identity)
    if isinstance(request, Revocation):
        return revoke(session, person, request, context)
    rules.check_person_active(person)
    today = japan_day(context.now)
    if isinstance(request, BalancesQuery):
        return page(session, person.mykey_id, context.platform, today)
    rules.check_at_city_hall(context.device)
    if isinstance(request, VoucherIssue):
        municipality = context.platform.municipality(request.municipality_code)
        if municipality is None:
            raise Refused(R.MUNICIPALITY_UNKNOWN, request.municipality_code)
        issued = vouchers.issue(
            session,
            vouchers.IssueRequest(
                context.device.kiosk_id, context.device.id, request.request_uuid,
                person.mykey_id, municipality, request.points,
            ),
            account_key=context.account_key, voucher_key=voucher_key,
            audit_key=context.audit_key, today=today, now=context.now,
        )  # fmt: skip
        return {**issued, "balance": _balance_in(session, person.mykey_id, municipality.code,
                                                 today)}  # fmt: skip
    if isinstance(request, VoucherCancel):
        return vouchers.cancel(
            session, mykey_id=person.mykey_id, number=request.voucher_number,
            kiosk_id=context.device.kiosk_id, audit_key=context.audit_key, now=context.now,
        )  # fmt: skip
    raise Refused(R.KIND_NOT_SUPPORTED, request.action)


def earlier_voucher(session: Session, request: VoucherIssue, context: Context,
                    voucher_key: Any) -> dict[str, Any] | None:  # fmt: skip
    """A retried issue (its answer was lost) is answered from the voucher it made, even
    though its challenge is spent: the request was signed once, and held points once."""
    digest = vouchers.issue_digest(context.account_key, request.kiosk_id, request.request_uuid)
    if session.scalars(select(PointVoucher).where(PointVoucher.issue_digest == digest)).first():
        return handle(session, request, context, voucher_key)
    return None


def _balance_in(session: Session, mykey_id: str, code: str, today: dt.date) -> int:
    return sum(
        b.points
        for b in municipal_points.balances(session, mykey_id, today)
        if b.municipality_code == code
    )


def page(
    session: Session, mykey_id: str, platform: PlatformCatalog, today: dt.date
) -> dict[str, Any]:
    """Balances per municipality (with expiry), vouchers not yet used, linked cards."""
    return {
        "mykey_id": mykey_id,
        "balances": [b.to_json() for b in municipal_points.balances(session, mykey_id, today)],
        "vouchers": [
            {
                "number": v.number,
                "municipality_code": v.municipality_code,
                "points": v.points,
                "expires_on": v.expires_on.isoformat(),
            }
            for v in vouchers.held(session, mykey_id)
        ],
        "links": service_links.links_of(session, mykey_id),
        "municipalities_known": [m.code for m in platform.municipalities],
    }


def revoke(
    session: Session, person: Person, request: Revocation, context: Context
) -> dict[str, Any]:
    """Revoke the MyKey ID for good. Revoking one already revoked answers as the first time."""
    rules.check_at_city_hall(context.device)
    if request.terms_version != REVOCATION_TERMS_VERSION:
        raise Refused(R.MALFORMED, "confirmed against another text of the consequences")
    locking.lock_all(session, [locking.person_key(person.mykey_id)])
    mykey = session.get(MyKey, person.mykey_id, with_for_update=True)
    assert mykey is not None
    if mykey.status == "revoked":
        assert mykey.status_changed_at is not None
        return {"mykey_id": mykey.mykey_id, "revoked": True, "already": True,
                "revoked_at": mykey.status_changed_at.isoformat()}  # fmt: skip
    if mykey.status == "superseded":
        raise Refused(R.MYKEY_SUPERSEDED, mykey.mykey_id)
    voided = vouchers.void_all(session, mykey.mykey_id)
    lapsed = municipal_points.forfeit(session, mykey.mykey_id)
    unlinked = service_links.drop_all(session, mykey.mykey_id)
    stopped = session.execute(
        update(Application)
        .where(Application.mykey_id == mykey.mykey_id, Application.status == "active")
        .values(status="revoked")
        .returning(Application.id)
    ).all()
    mykey.status, mykey.status_reason = "revoked", "revoked by its holder at a city-hall kiosk"
    mykey.status_changed_at = context.now
    audit.append(
        session, context.audit_key, at=context.now, kiosk_id=context.device.kiosk_id,
        actor="citizen", action="mykey.revoke", subject=mykey.mykey_id, outcome="accepted",
    )  # fmt: skip
    return {
        "mykey_id": mykey.mykey_id,
        "revoked": True,
        "already": False,
        "revoked_at": context.now.isoformat(),
        "points_lapsed": lapsed,
        "vouchers_void": voided,
        "links_removed": unlinked,
        "application_stopped": bool(stopped),
    }
