"""Service IDs: library cards (and other facilities' user numbers) linked to a MyKey ID,
so that the My Number Card serves as the card (seed 004 #3001-3006).

- A link names the facility (from the platform's catalog) and so its municipality; one
  person links several facilities (#3006), one card per facility (a new number at the
  same facility replaces the old one).
- A number belongs to one MyKey ID: linking a number someone else linked is refused.
- The number is kept as a keyed digest and its last four digits only: enough for the
  facility's question "is this MyKey ID linked to card N here?" (yes or no, nothing more)
  and for the citizen's screen. No loan is ever recorded (#3005): there is no field for it.
- Linking and unlinking are submissions (``service_link``, ``service_unlink``): signed by
  the card, queued while the kiosk is offline, exactly once. Only city-hall kiosks link.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from grant_service import rules
from grant_service.ledger import Ledger
from grant_service.models import MyKey, ServiceLink
from grant_service.pki import CardIdentity
from grant_service.refusals import Refused
from mynapoint.envelope import ServiceLinkPayload, ServiceUnlinkPayload
from mynapoint.platform_catalog import Facility, PlatformCatalog, normalise_user_number
from mynapoint.reasons import R


def number_digest(key: bytes, facility_code: str, user_number: str) -> str:
    """The only form a user number is kept in (normalised first)."""
    message = f"service-id\x1f{facility_code}\x1f{normalise_user_number(user_number)}"
    return hmac.new(key, message.encode(), "sha256").hexdigest()


def facility_for(catalog: PlatformCatalog, facility_code: str) -> Facility:
    facility = catalog.facility(facility_code)
    if facility is None:
        raise Refused(R.FACILITY_UNKNOWN, facility_code)
    return facility


def lock_key_of(key: bytes, payload: ServiceLinkPayload) -> tuple[str, str]:
    """What a link locks (``locking.service_id_key``): the facility and the number."""
    return payload.facility_code, number_digest(key, payload.facility_code, payload.user_number)


def _linkable_person(ledger: Ledger, identity: CardIdentity, device: rules.Device) -> str:
    rules.check_at_city_hall(device)
    person = ledger.person_of_card(identity)
    if person is None:
        raise Refused(R.NO_RESERVATION)
    rules.check_person_active(person)
    return person.mykey_id


def link(
    ledger: Ledger,
    identity: CardIdentity,
    payload: ServiceLinkPayload,
    *,
    device: rules.Device,
    catalog: PlatformCatalog,
    key: bytes,
    now: dt.datetime,
) -> dict[str, Any]:
    mykey_id = _linkable_person(ledger, identity, device)
    facility = facility_for(catalog, payload.facility_code)
    number = normalise_user_number(payload.user_number)
    if not facility.accepts(number):
        raise Refused(R.SERVICE_ID_INVALID, f"not like {facility.number_example}")
    digest = number_digest(key, facility.code, number)
    session = ledger.session
    holder = session.scalars(
        select(ServiceLink).where(
            ServiceLink.facility_code == facility.code, ServiceLink.number_digest == digest
        )
    ).first()
    answer = {"facility_code": facility.code, "municipality_code": facility.municipality_code,
              "number_last4": number[-4:], "mykey_id": mykey_id}  # fmt: skip
    if holder is not None:
        if holder.mykey_id != mykey_id:
            raise Refused(R.SERVICE_ID_TAKEN)
        return {**answer, "already_linked": True, "replaced": False}
    current = session.scalars(
        select(ServiceLink).where(
            ServiceLink.mykey_id == mykey_id, ServiceLink.facility_code == facility.code
        )
    ).first()
    if current is not None:  # another card of the same library: the new one counts
        current.number_digest, current.number_last4, current.linked_at = digest, number[-4:], now
    else:
        session.add(
            ServiceLink(
                mykey_id=mykey_id, facility_code=facility.code,
                municipality_code=facility.municipality_code, number_digest=digest,
                number_last4=number[-4:], linked_at=now,
            )
        )  # fmt: skip
    session.flush()
    return {**answer, "already_linked": False, "replaced": current is not None}


def unlink(
    ledger: Ledger,
    identity: CardIdentity,
    payload: ServiceUnlinkPayload,
    *,
    device: rules.Device,
    catalog: PlatformCatalog,
) -> dict[str, Any]:
    mykey_id = _linkable_person(ledger, identity, device)
    facility = facility_for(catalog, payload.facility_code)
    gone = ledger.session.execute(
        delete(ServiceLink)
        .where(ServiceLink.mykey_id == mykey_id, ServiceLink.facility_code == facility.code)
        .returning(ServiceLink.number_last4)
    ).first()
    if gone is None:
        raise Refused(R.SERVICE_ID_NOT_LINKED, facility.code)
    return {"facility_code": facility.code, "number_last4": gone.number_last4, "unlinked": True}


def is_linked(
    session: Session, *, key: bytes, facility_code: str, mykey_id: str, user_number: str
) -> bool:
    """The facility's question, answered yes or no: a link of an active MyKey ID."""
    digest = number_digest(key, facility_code, user_number)
    row = session.execute(
        select(ServiceLink.id)
        .join(MyKey, MyKey.mykey_id == ServiceLink.mykey_id)
        .where(
            ServiceLink.facility_code == facility_code,
            ServiceLink.number_digest == digest,
            ServiceLink.mykey_id == mykey_id,
            MyKey.status == "active",
        )
    ).first()
    return row is not None


def links_of(session: Session, mykey_id: str) -> list[dict[str, Any]]:
    """The person's links, for their screen: facility, municipality, last four digits."""
    rows = session.scalars(
        select(ServiceLink).where(ServiceLink.mykey_id == mykey_id).order_by(ServiceLink.linked_at)
    )
    return [
        {
            "facility_code": r.facility_code,
            "municipality_code": r.municipality_code,
            "number_last4": r.number_last4,
            "linked_at": r.linked_at.isoformat(),
        }
        for r in rows
    ]


def drop_all(session: Session, mykey_id: str) -> int:
    """A revoked MyKey ID keeps no link (#5016: each must be registered again)."""
    gone = session.execute(
        delete(ServiceLink).where(ServiceLink.mykey_id == mykey_id).returning(ServiceLink.id)
    ).all()
    return len(gone)
