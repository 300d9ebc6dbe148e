"""Operators' work on people: suspending a MyKey ID, linking re-issued cards, and the
queue of link conflicts.

A MyKey ID is tied to a card certificate, not to the My Number, so a lost and re-issued
card must be linked by J-LIS (the feed of renewed and re-issued certificates): the new
certificate is added to the old MyKey ID, and the reservation, the application and the
points follow it. If the new certificate already set a MyKey ID of its own, the person
has two: that goes to an operator (``grant-service conflicts``), and the newer one is held
(suspended) meanwhile, so nothing is ever granted twice. Every certificate the feed
reports is recorded as a renewal, linked or not: a renewed certificate waits 24 hours
before any procedure (``pki.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from grant_service import audit, locking
from grant_service.models import (
    Application,
    CardCertificate,
    CertificateRenewal,
    LinkConflict,
    MyKey,
    PointTotal,
)
from grant_service.pki import CardIdentity, CardTrust
from grant_service.refusals import Refused
from mynapoint.reasons import R


def _mykey(session: Session, mykey_id: str) -> MyKey:
    mykey = session.get(MyKey, mykey_id, with_for_update=True)
    if mykey is None:
        raise Refused(R.NOT_FOUND, f"no MyKey ID {mykey_id}")
    return mykey


def _set_status(mykey: MyKey, status: str, reason: str | None, now: dt.datetime) -> None:
    mykey.status, mykey.status_reason, mykey.status_changed_at = status, reason, now


def suspend(
    session: Session, audit_key: bytes, mykey_id: str, reason: str, now: dt.datetime
) -> MyKey:
    """Stop a MyKey ID (a leak or misuse, seed 004 #1022): every procedure, My Page and
    point grants are refused until it is reinstated."""
    mykey = _mykey(session, mykey_id)
    if mykey.status == "superseded":
        raise Refused(R.MYKEY_SUPERSEDED, mykey_id)
    if mykey.status == "revoked":
        raise Refused(R.MYKEY_REVOKED, mykey_id)
    _set_status(mykey, "suspended", reason[:200], now)
    audit.append(
        session, audit_key, at=now, actor="operator", action="mykey.suspend",
        subject=mykey_id, outcome="accepted",
    )  # fmt: skip
    return mykey


def reinstate(session: Session, audit_key: bytes, mykey_id: str, now: dt.datetime) -> MyKey:
    mykey = _mykey(session, mykey_id)
    if mykey.status != "suspended":
        raise Refused(R.NOT_FOUND, f"{mykey_id} is {mykey.status}, not suspended")
    if session.scalar(
        select(LinkConflict.id).where(
            LinkConflict.state == "open", LinkConflict.new_mykey_id == mykey_id
        )
    ):
        raise Refused(R.NOT_FOUND, f"{mykey_id} is held by an open link conflict: resolve it")
    _set_status(mykey, "active", None, now)
    audit.append(
        session, audit_key, at=now, actor="operator", action="mykey.reinstate",
        subject=mykey_id, outcome="accepted",
    )  # fmt: skip
    return mykey


# --- re-issued cards ------------------------------------------------------------------


@dataclass(frozen=True)
class Reissue:
    old_issuer: str
    old_serial_hex: str
    new_certificate_der: bytes


def link_reissue(
    session: Session, audit_key: bytes, trust: CardTrust, entry: Reissue, now: dt.datetime
) -> dict[str, Any]:
    """Link a re-issued certificate to the old one's MyKey ID (idempotent)."""
    new = trust.certificate_identity(entry.new_certificate_der)
    # Both cards, as a reservation with either would (locking.py): never two links at once.
    locking.lock_people(
        session, [(entry.old_issuer, entry.old_serial_hex), (new.issuer, new.serial_hex)]
    )
    _record_renewal(session, new)
    old_link = session.get(CardCertificate, (entry.old_issuer, entry.old_serial_hex))
    new_link = session.get(CardCertificate, (new.issuer, new.serial_hex))
    result: dict[str, Any] = {
        "new_serial_hex": new.serial_hex,
        "old_serial_hex": entry.old_serial_hex,
    }
    if old_link is None:
        outcome = "nothing_to_link"  # the old card never reserved: only the wait applies
    elif new_link is not None and new_link.mykey_id == old_link.mykey_id:
        outcome = "already_linked"
    elif new_link is not None:
        outcome = "conflict"
        result["conflict_id"] = _open_conflict(session, entry, new, old_link, new_link, now)
    else:
        session.add(
            CardCertificate(
                issuer=new.issuer, serial_hex=new.serial_hex, mykey_id=old_link.mykey_id,
                not_before=new.not_before, not_after=new.not_after, linked_at=now,
                reissued_from_issuer=entry.old_issuer, reissued_from_serial=entry.old_serial_hex,
            )
        )  # fmt: skip
        outcome = "linked"
        result["mykey_id"] = old_link.mykey_id
    result["outcome"] = outcome
    audit.append(
        session, audit_key, at=now, actor="operator", action=f"card.reissue.{outcome}",
        subject=new.serial_hex, outcome="accepted",
    )  # fmt: skip
    return result


def _record_renewal(session: Session, new: CardIdentity) -> None:
    """The new certificate is a renewal, whatever its link (once: the feed may repeat)."""
    if session.get(CertificateRenewal, (new.issuer, new.serial_hex)) is None:
        session.add(
            CertificateRenewal(
                issuer=new.issuer, serial_hex=new.serial_hex, not_before=new.not_before
            )
        )


def _open_conflict(
    session: Session,
    entry: Reissue,
    new: CardIdentity,
    old_link: CardCertificate,
    new_link: CardCertificate,
    now: dt.datetime,
) -> int:
    existing = session.scalar(
        select(LinkConflict).where(
            LinkConflict.new_issuer == new.issuer,
            LinkConflict.new_serial_hex == new.serial_hex,
            LinkConflict.old_mykey_id == old_link.mykey_id,
        )
    )
    if existing is not None:
        return existing.id
    conflict = LinkConflict(
        old_issuer=entry.old_issuer, old_serial_hex=entry.old_serial_hex,
        new_issuer=new.issuer, new_serial_hex=new.serial_hex,
        old_mykey_id=old_link.mykey_id, new_mykey_id=new_link.mykey_id,
        state="open", opened_at=now,
    )  # fmt: skip
    session.add(conflict)
    newer = _mykey(session, new_link.mykey_id)
    if newer.status == "active":  # held until an operator decides
        _set_status(newer, "suspended", "link conflict with a re-issued card", now)
    session.flush()
    return conflict.id


def open_conflicts(session: Session) -> list[LinkConflict]:
    return list(
        session.scalars(
            select(LinkConflict).where(LinkConflict.state == "open").order_by(LinkConflict.id)
        )
    )


def resolve_conflict(
    session: Session, audit_key: bytes, conflict_id: int, keep: str, now: dt.datetime
) -> LinkConflict:
    """The person keeps one MyKey ID (``keep`` is ``old`` or ``new``). Every card of the
    other moves to it; the other's application ends (``superseded``: the account is free
    again), its points count toward the kept one's cap, and it is ``superseded``."""
    if keep not in ("old", "new"):
        raise ValueError("keep must be 'old' or 'new'")
    seen = session.get(LinkConflict, conflict_id)
    if seen is not None:  # the cards of both MyKey IDs first, then the rows (locking.py)
        both = (seen.old_mykey_id, seen.new_mykey_id)
        locking.lock_people(
            session,
            session.execute(
                select(CardCertificate.issuer, CardCertificate.serial_hex).where(
                    CardCertificate.mykey_id.in_(both)
                )
            ).all(),
        )
    conflict = session.get(LinkConflict, conflict_id, with_for_update=True, populate_existing=True)
    if conflict is None or conflict.state != "open":
        raise Refused(R.NOT_FOUND, f"no open conflict {conflict_id}")
    kept_id, gone_id = (
        (conflict.old_mykey_id, conflict.new_mykey_id)
        if keep == "old"
        else (conflict.new_mykey_id, conflict.old_mykey_id)
    )
    session.execute(
        update(CardCertificate).where(CardCertificate.mykey_id == gone_id).values(mykey_id=kept_id)
    )
    kept_applications = session.scalar(
        select(func.count()).where(Application.mykey_id == kept_id, Application.status == "active")
    )
    active_of_gone = update(Application).where(
        Application.mykey_id == gone_id, Application.status == "active"
    )
    if kept_applications:
        session.execute(active_of_gone.values(status="superseded", cancelled_at=now))
    else:  # the kept ID had none: the other's application becomes the person's
        session.execute(active_of_gone.values(mykey_id=kept_id))
    _merge_points(session, kept_id, gone_id)
    _set_status(_mykey(session, gone_id), "superseded", f"merged into {kept_id}", now)
    kept = _mykey(session, kept_id)
    if kept.status == "suspended" and kept.status_reason == "link conflict with a re-issued card":
        _set_status(kept, "active", None, now)
    conflict.state, conflict.resolved_at, conflict.kept_mykey_id = "resolved", now, kept_id
    audit.append(
        session, audit_key, at=now, actor="operator", action="card.conflict.resolve",
        subject=f"{conflict_id}:{kept_id}", outcome="accepted",
    )  # fmt: skip
    return conflict


def _merge_points(session: Session, kept_id: str, gone_id: str) -> None:
    totals = {
        row.mykey_id: row
        for row in session.scalars(
            select(PointTotal)
            .where(PointTotal.mykey_id.in_([kept_id, gone_id]))
            .order_by(PointTotal.mykey_id)  # the order point batches lock them in
            .with_for_update()
        )
    }
    gone, kept = totals.get(gone_id), totals.get(kept_id)
    if gone is None:
        return
    if kept is None:
        kept = PointTotal(mykey_id=kept_id, counted_yen=0, points=0)
        session.add(kept)
    # Both IDs' grants count toward the person's one cap from now on.
    kept.counted_yen += gone.counted_yen
    kept.points += gone.points
    gone.counted_yen = gone.points = 0
