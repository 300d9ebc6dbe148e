"""What kiosks read: the catalog, the programme's state, and a card's My Page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from grant_service import mypage, rules
from grant_service.http import PROBLEMS, ServiceDep, SignedDevice
from grant_service.refusals import Refused
from mynapoint.dates import japan_day
from mynapoint.mypage import StatusQuery
from mynapoint.reasons import R

router = APIRouter(tags=["kiosk"])


class ServiceStatus(BaseModel):
    reservations_open: bool
    applications_open: bool
    catalog_version: str
    time: str


class Challenge(BaseModel):
    challenge: str
    expires_at: str


@router.get("/v1/payment-services", responses={304: {"description": "Not modified"}, **PROBLEMS})
def payment_services(
    service: ServiceDep, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """The catalog kiosks cache for offline use. Send ``If-None-Match`` to revalidate."""
    with service.readers() as session:
        catalog = service.catalogs.get(session)
    etag = catalog.http_etag
    if if_none_match is not None and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers={"ETag": etag})
    return JSONResponse(catalog.public_json(), headers={"ETag": etag})


@router.get("/v1/status", response_model=ServiceStatus)
def programme_status(service: ServiceDep) -> ServiceStatus:
    """Whether reservations (from their start, within the national budget) and
    applications are open now."""
    now = service.clock()
    with service.readers() as session:
        catalog = service.catalogs.get(session)
        day = japan_day(now)
        reservations = rules.reservations_open(
            session, service.settings.reservation_cap, catalog, day
        )
    return ServiceStatus(
        reservations_open=reservations,
        applications_open=rules.applications_open(catalog, day),
        catalog_version=catalog.version,
        time=now.isoformat(),
    )


@router.post("/v1/challenge", response_model=Challenge, responses=PROBLEMS)
def challenge(device: SignedDevice, service: ServiceDep) -> Challenge:
    """A one-time challenge for the card to sign (My Page), valid two minutes."""
    with service.sessions.begin() as session:
        row = mypage.new_challenge(session, device.kiosk_id, service.clock())
        return Challenge(challenge=row.challenge, expires_at=row.expires_at.isoformat())


@router.post("/v1/status", responses=PROBLEMS)
def card_status(query: StatusQuery, device: SignedDevice, service: ServiceDep) -> dict[str, Any]:
    """My Page: the card's reservation, application, points, and every submission made
    with it (with the reason when one was refused)."""
    now = service.clock()
    with service.sessions.begin() as session:  # spent first, whatever the card then says
        spent = mypage.spend_challenge(session, query.challenge, device.kiosk_id, now)
    if not spent:
        raise Refused(R.CHALLENGE_INVALID)
    with service.sessions.begin() as session:
        return mypage.status(
            session, query, device=device, trust=service.trust, settings=service.settings,
            catalog=service.catalogs.get(session), audit_key=service.keys.audit_hmac, now=now,
        )  # fmt: skip


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
