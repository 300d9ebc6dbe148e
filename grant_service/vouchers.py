"""Point vouchers (ポイント券, seed 004 #4016, #4021-4027): printed at a city-hall kiosk
against the balance, used once at a shop of the municipality printed on them.

- **Issue** (the card's holder, at a city-hall kiosk, online only): the points are taken
  from the balance at once, oldest grant first, and held on the voucher, lot by lot. A
  retry of the same request (the kiosk's uuid) gets the same voucher; nothing is taken
  twice. The answer carries the QR code's text, signed with the voucher key.
- **Redeem** (a shop's credential, which names its municipality): one or more vouchers at
  once (#4025), all or none, each once. A voucher used before is refused with when and
  by which shop it was first used; one of another municipality is refused (#4021). The
  shop's redemption id makes its retry a replay. No change is given (#4027): the answer
  says how many points were used, and that is all there is.
- **Cancel** (the holder, with the card, at a city-hall kiosk; #4024): the held points go
  back to their lots, with their own expiry.
- A voucher past its last day is closed by ``expire`` and its points go back the same way
  (they lapse if their lots have). A revoked MyKey ID's vouchers are void.

Once used, a voucher keeps no owner: only that it was used, when, and by which shop.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from grant_service import audit, locking, municipal_points
from grant_service.models import PointVoucher, PointVoucherHold
from grant_service.refusals import Refused
from mynapoint import vouchers
from mynapoint.platform_catalog import Municipality
from mynapoint.reasons import R


def _digest(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x1f".join(parts).encode(), "sha256").hexdigest()


def face_of(voucher: PointVoucher) -> vouchers.VoucherFace:
    return vouchers.VoucherFace(
        voucher.number, voucher.municipality_code, voucher.points, voucher.expires_on
    )


def _issued_answer(voucher: PointVoucher, key: ed25519.Ed25519PrivateKey) -> dict[str, Any]:
    return {
        "number": voucher.number,
        "municipality_code": voucher.municipality_code,
        "points": voucher.points,
        "expires_on": voucher.expires_on.isoformat(),
        "issued_at": voucher.issued_at.isoformat(),
        # Ed25519 signatures are deterministic: a replay carries the very same code.
        "code": vouchers.encode(face_of(voucher), key),
    }


def issue_digest(key: bytes, kiosk_id: str, request_uuid: str) -> str:
    """What a voucher keeps of the request that issued it: its retry finds it."""
    return _digest(key, "voucher-issue", kiosk_id, request_uuid)


@dataclass(frozen=True)
class IssueRequest:
    kiosk_id: str
    device_id: int
    request_uuid: str
    mykey_id: str
    municipality: Municipality
    points: int


def issue(
    session: Session,
    request: IssueRequest,
    *,
    account_key: bytes,
    voucher_key: ed25519.Ed25519PrivateKey,
    audit_key: bytes,
    today: dt.date,
    now: dt.datetime,
) -> dict[str, Any]:
    """Print-ready voucher for an active MyKey ID (the caller checked the card, the person
    and the kiosk): the points held, or a refusal and nothing taken."""
    locking.lock_all(session, [locking.person_key(request.mykey_id)])
    digest = issue_digest(account_key, request.kiosk_id, request.request_uuid)
    check = _digest(account_key, request.mykey_id, request.municipality.code, str(request.points))
    earlier = session.scalars(
        select(PointVoucher).where(PointVoucher.issue_digest == digest)
    ).first()
    if earlier is not None:
        if not hmac.compare_digest(earlier.issue_check, check):
            raise Refused(R.IDEMPOTENCY_KEY_REUSED, "this request uuid issued another voucher")
        return {**_issued_answer(earlier, voucher_key), "replayed": True}
    taken = municipal_points.take(
        session, request.mykey_id, request.municipality.code, request.points, today
    )
    last_day = min(
        [today + dt.timedelta(days=request.municipality.voucher_valid_days)]
        + [lot.expires_on for lot, _ in taken]
    )
    voucher = PointVoucher(
        number=_unused_number(session), municipality_code=request.municipality.code,
        points=request.points, issued_at=now, expires_on=last_day,
        issued_by_device_id=request.device_id, issue_digest=digest, issue_check=check,
        mykey_id=request.mykey_id, state="issued",
    )  # fmt: skip
    session.add(voucher)
    session.flush()
    session.add_all(
        PointVoucherHold(voucher_number=voucher.number, lot_id=lot.id, points=part)
        for lot, part in taken
    )
    audit.append(
        session, audit_key, at=now, kiosk_id=request.kiosk_id, actor="citizen",
        action="voucher.issue", subject=request.mykey_id, outcome="accepted",
    )  # fmt: skip
    return {**_issued_answer(voucher, voucher_key), "replayed": False}


def _unused_number(session: Session) -> str:
    # 10^15 numbers: a clash is as good as impossible, and checked all the same.
    while True:
        number = vouchers.new_voucher_number()
        if session.get(PointVoucher, number) is None:
            return number


def _release_holds(session: Session, numbers: list[str]) -> None:
    """Give a voucher's held points back to their lots, and forget the holds."""
    holds = session.scalars(
        select(PointVoucherHold).where(PointVoucherHold.voucher_number.in_(numbers))
    ).all()
    municipal_points.give_back(session, [(h.lot_id, h.points) for h in holds])
    session.execute(delete(PointVoucherHold).where(PointVoucherHold.voucher_number.in_(numbers)))


def cancel(
    session: Session,
    *,
    mykey_id: str,
    number: str,
    kiosk_id: str,
    audit_key: bytes,
    now: dt.datetime,
) -> dict[str, Any]:
    """The holder cancels an unused voucher: its points go back (#4024). Cancelling one
    already cancelled answers as the first time did."""
    locking.lock_all(session, [locking.person_key(mykey_id)])
    voucher = session.scalars(
        select(PointVoucher).where(PointVoucher.number == number).with_for_update()
    ).first()
    if voucher is None:
        raise Refused(R.VOUCHER_UNKNOWN)
    if voucher.state == "used":
        raise Refused(R.VOUCHER_ALREADY_USED, _first_use(voucher))
    if voucher.mykey_id != mykey_id:
        raise Refused(R.VOUCHER_NOT_YOURS)
    if voucher.state == "void":
        raise Refused(R.VOUCHER_CANCELLED)
    already = voucher.state in ("cancelled", "expired")
    if not already:
        _release_holds(session, [voucher.number])
        voucher.state, voucher.cancelled_at = "cancelled", now
        audit.append(
            session, audit_key, at=now, kiosk_id=kiosk_id, actor="citizen",
            action="voucher.cancel", subject=mykey_id, outcome="accepted",
        )  # fmt: skip
    return {
        "number": voucher.number,
        "state": voucher.state,
        "points_returned": voucher.points,
        "municipality_code": voucher.municipality_code,
        "already": already,
    }


def _first_use(voucher: PointVoucher) -> str:
    assert voucher.used_at is not None
    return f"first used {voucher.used_at.isoformat()} by {voucher.used_by}"


def held(session: Session, mykey_id: str) -> list[PointVoucher]:
    """The person's vouchers not yet used, cancelled or expired."""
    return list(
        session.scalars(
            select(PointVoucher)
            .where(PointVoucher.mykey_id == mykey_id, PointVoucher.state == "issued")
            .order_by(PointVoucher.issued_at)
        )
    )


def void_all(session: Session, mykey_id: str) -> int:
    """A revoked MyKey ID's unused vouchers can no longer be used (#5017): their points
    lapse with the rest. The number voided."""
    open_vouchers = session.scalars(
        select(PointVoucher)
        .where(PointVoucher.mykey_id == mykey_id, PointVoucher.state == "issued")
        .order_by(PointVoucher.number)
        .with_for_update()
    ).all()
    numbers = [v.number for v in open_vouchers]
    if numbers:
        _release_holds(session, numbers)  # back to the lots, which ``forfeit`` then lapses
    for voucher in open_vouchers:
        voucher.state = "void"
    return len(numbers)


def expire(session: Session, audit_key: bytes, today: dt.date, now: dt.datetime) -> int:
    """Close the vouchers past their last day; their points go back to their lots (and
    lapse with them if those have expired too). The number closed."""
    stale = session.scalars(
        select(PointVoucher)
        .where(PointVoucher.state == "issued", PointVoucher.expires_on < today)
        .order_by(PointVoucher.number)
        .with_for_update()
    ).all()
    if stale:
        _release_holds(session, [v.number for v in stale])
    for voucher in stale:
        voucher.state = "expired"
    audit.append(
        session, audit_key, at=now, actor="operator", action="voucher.expire",
        subject=f"{len(stale)} vouchers", outcome="accepted",
    )  # fmt: skip
    return len(stale)


# --- shops ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shop:
    """A shop's credential: its name (what a second use is told) and its municipality."""

    label: str
    municipality_code: str


def number_of(
    item: str, public_key: ed25519.Ed25519PublicKey
) -> tuple[str, vouchers.VoucherFace | None]:
    """A voucher number from what the shop sent: the QR code's text (checked against the
    voucher key), or the number as typed (checked by its check digit)."""
    if item.strip().startswith(vouchers.PREFIX + "."):
        try:
            face = vouchers.verify(item, public_key)
        except vouchers.VoucherCodeInvalid as exc:
            raise Refused(R.VOUCHER_FORGED, str(exc)) from exc
        return face.number, face
    number = vouchers.normalise_voucher_number(item)
    if not vouchers.is_valid_number(number):
        raise Refused(R.VOUCHER_UNKNOWN, "not a voucher number (its check digit does not match)")
    return number, None


def _problem(voucher: PointVoucher | None, face: vouchers.VoucherFace | None, shop: Shop,
             today: dt.date) -> tuple[R, dict[str, Any]] | None:  # fmt: skip
    """Why this voucher cannot be used by this shop today, if it cannot."""
    if voucher is None:
        return R.VOUCHER_UNKNOWN, {}
    if face is not None and face != face_of(voucher):
        return R.VOUCHER_FORGED, {}
    if voucher.state == "used":
        assert voucher.used_at is not None
        return R.VOUCHER_ALREADY_USED, {
            "first_used_at": voucher.used_at.isoformat(), "first_used_by": voucher.used_by
        }  # fmt: skip
    if voucher.state in ("cancelled", "void"):
        return R.VOUCHER_CANCELLED, {}
    if voucher.state == "expired" or voucher.expires_on < today:
        return R.VOUCHER_EXPIRED, {"expires_on": voucher.expires_on.isoformat()}
    if voucher.municipality_code != shop.municipality_code:
        return R.VOUCHER_WRONG_MUNICIPALITY, {"municipality_code": voucher.municipality_code}
    return None


def check(session: Session, item: str, *, shop: Shop,
          public_key: ed25519.Ed25519PublicKey, today: dt.date) -> dict[str, Any]:  # fmt: skip
    """Could this shop take this voucher now? Nothing changes (the online check)."""
    number, face = number_of(item, public_key)
    voucher = session.get(PointVoucher, number)
    problem = _problem(voucher, face, shop, today)
    if problem is not None:
        reason, detail = problem
        return {"number": number, "usable": False, "reason_code": reason.value.code, **detail}
    assert voucher is not None
    return {"number": number, "usable": True, "points": voucher.points,
            "expires_on": voucher.expires_on.isoformat()}  # fmt: skip


def redeem(
    session: Session,
    items: list[str],
    *,
    shop: Shop,
    redemption_id: str,
    account_key: bytes,
    audit_key: bytes,
    public_key: ed25519.Ed25519PublicKey,
    today: dt.date,
    now: dt.datetime,
) -> dict[str, Any]:
    """Use these vouchers together, all or none."""
    parsed = [number_of(item, public_key) for item in items]
    numbers = [n for n, _ in parsed]
    if len(set(numbers)) != len(numbers):
        raise Refused(R.MALFORMED, "a voucher is listed twice")
    digest = _digest(account_key, "voucher-redeem", shop.municipality_code, shop.label,
                     redemption_id)  # fmt: skip
    rows = {
        v.number: v
        for v in session.scalars(
            select(PointVoucher)
            .where(PointVoucher.number.in_(sorted(numbers)))
            .order_by(PointVoucher.number)
            .with_for_update()
        )
    }
    under_this_id = set(
        session.scalars(select(PointVoucher.number).where(PointVoucher.redemption_digest == digest))
    )
    if under_this_id:
        if under_this_id != set(numbers):
            raise Refused(R.IDEMPOTENCY_KEY_REUSED, "this redemption id used other vouchers")
        return {**_redeemed_answer([rows[n] for n in numbers]), "replayed": True}
    problems = []
    for number, face in parsed:
        problem = _problem(rows.get(number), face, shop, today)
        if problem is not None:
            reason, detail = problem
            problems.append({"number": number, "reason_code": reason.value.code, **detail})
    if problems:
        audit.append(
            session, audit_key, at=now, actor="operator", action="voucher.redeem",
            subject=shop.label[:128], outcome="rejected", reason_code=problems[0]["reason_code"],
        )  # fmt: skip
        return {"outcome": "rejected", "points": 0, "problems": problems}
    session.execute(delete(PointVoucherHold).where(PointVoucherHold.voucher_number.in_(numbers)))
    for number in numbers:
        voucher = rows[number]
        voucher.state, voucher.used_at, voucher.used_by = "used", now, shop.label
        voucher.redemption_digest, voucher.mykey_id = digest, None
    audit.append(
        session, audit_key, at=now, actor="operator", action="voucher.redeem",
        subject=shop.label[:128], outcome="accepted",
    )  # fmt: skip
    return {**_redeemed_answer([rows[n] for n in numbers]), "replayed": False}


def _redeemed_answer(used: list[PointVoucher]) -> dict[str, Any]:
    return {
        "outcome": "accepted",
        # All of it: a voucher gives no change (#4027).
        "points": sum(v.points for v in used),
        "vouchers": [{"number": v.number, "points": v.points} for v in used],
        "used_at": max(v.used_at for v in used if v.used_at is not None).isoformat(),
    }
