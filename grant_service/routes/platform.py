"""The MyKey platform (seed 004): municipal points, point vouchers, library-card links.

- kiosks (device-signed): the card's balances, voucher issue and cancel, and revocation,
  each signed by the card over a one-time challenge (``POST /v1/challenge``);
- municipalities (``municipality`` token): point grants;
- shops (``shop`` token): checking and redeeming vouchers;
- facilities (``facility`` token): "is this MyKey ID linked to card N here?";
- anyone: the platform's catalog (as the payment services' is), and the voucher key's
  public half, for checking vouchers offline.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from grant_service import mykey_platform, mypage, service_links, vouchers
from grant_service.http import (
    PROBLEMS,
    FacilityCaller,
    MunicipalityCaller,
    ServiceDep,
    ShopCaller,
    SignedDevice,
)
from grant_service.municipal_points import GrantIn, grant
from grant_service.refusals import Refused
from grant_service.service import Service
from mynapoint import vouchers as voucher_codes
from mynapoint.dates import japan_day
from mynapoint.platform_requests import (
    BalancesQuery,
    PlatformRequest,
    Revocation,
    VoucherCancel,
    VoucherIssue,
)
from mynapoint.reasons import R

router = APIRouter(tags=["MyKey platform"])


@router.get("/v1/platform/catalog", responses=PROBLEMS)
def platform_catalog(request: Request, service: ServiceDep) -> Response:
    """The municipalities whose points are kept here, and the facilities whose cards can be
    linked (with what their user numbers look like)."""
    catalog = service.platform
    etag = f'"{catalog.etag}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return JSONResponse(catalog.model_dump(mode="json"), headers={"ETag": etag})


@router.get("/v1/platform/voucher-key")
def voucher_key(service: ServiceDep) -> Response:
    """The public key that signs vouchers' QR codes (PEM): a shop checks a voucher with it,
    with no network."""
    pem = voucher_codes.public_key_pem(service.keys.voucher_key.public_key())
    return Response(pem, media_type="application/x-pem-file")


# --- the card's requests, at a kiosk ---------------------------------------------------------


def _answer(service: Service, request: PlatformRequest, device: Any) -> dict[str, Any]:
    now = service.clock()
    context = mykey_platform.Context(
        device=device, trust=service.trust, settings=service.settings, platform=service.platform,
        account_key=service.keys.account_hmac, audit_key=service.keys.audit_hmac, now=now,
    )  # fmt: skip
    if isinstance(request, VoucherIssue):  # a retry whose answer was lost
        with service.sessions.begin() as session:
            earlier = mykey_platform.earlier_voucher(
                session, request, context, service.keys.voucher_key
            )
        if earlier is not None:
            return earlier
    with service.sessions.begin() as session:  # spent first, whatever the card then says
        spent = mypage.spend_challenge(session, request.challenge, device.kiosk_id, now)
    if not spent:
        raise Refused(R.CHALLENGE_INVALID)
    with service.sessions.begin() as session:
        return mykey_platform.handle(session, request, context, service.keys.voucher_key)


@router.post("/v1/platform/balances", responses=PROBLEMS)
def balances(query: BalancesQuery, device: SignedDevice, service: ServiceDep) -> dict[str, Any]:
    """The card's municipal points per municipality (with expiry dates), its unused
    vouchers and its linked library cards."""
    return _answer(service, query, device)


@router.post("/v1/platform/vouchers", responses=PROBLEMS)
def issue_voucher(
    request: VoucherIssue, device: SignedDevice, service: ServiceDep
) -> dict[str, Any]:
    """A voucher against the balance (city hall): the points are held before it is
    printed. A retry of the same ``request_uuid`` gets the same voucher."""
    return _answer(service, request, device)


@router.post("/v1/platform/vouchers/cancel", responses=PROBLEMS)
def cancel_voucher(
    request: VoucherCancel, device: SignedDevice, service: ServiceDep
) -> dict[str, Any]:
    """An unused voucher back into points (city hall, with the card that issued it)."""
    return _answer(service, request, device)


@router.post("/v1/platform/revocation", responses=PROBLEMS)
def revoke(request: Revocation, device: SignedDevice, service: ServiceDep) -> dict[str, Any]:
    """Revoke the MyKey ID, for good (city hall, confirmed twice)."""
    return _answer(service, request, device)


# --- municipalities ---------------------------------------------------------------------------


class GrantBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grants: Annotated[list[GrantIn], Field(min_length=1)]


@router.post("/v1/municipal-points/grants", responses=PROBLEMS)
def post_grants(batch: GrantBatch, caller: MunicipalityCaller, service: ServiceDep) -> JSONResponse:
    """A municipality's points (行政ポイント) for MyKey IDs, each with its expiry; a result
    per grant. A replay of a grant id gets the first result; another content is refused."""
    if len(batch.grants) > service.settings.max_batch_items:
        raise Refused(R.BATCH_TOO_LARGE, f"at most {service.settings.max_batch_items}")
    municipality = service.platform.municipality(caller.scope or "")
    if municipality is None:
        raise Refused(R.FORBIDDEN_SCOPE, "this token's municipality is not in the catalog")
    now = service.clock()
    with service.sessions.begin() as session:
        results = grant(
            session, account_key=service.keys.account_hmac, audit_key=service.keys.audit_hmac,
            municipality=municipality, grants=batch.grants, today=japan_day(now), now=now,
        )  # fmt: skip
    return JSONResponse({"results": results})


# --- shops ---------------------------------------------------------------------------------------

VoucherItem = Annotated[str, Field(min_length=1, max_length=400)]


class VoucherCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    voucher: VoucherItem  # the QR code's text, or the number as typed


class Redemption(BaseModel):
    model_config = ConfigDict(extra="forbid")
    redemption_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    vouchers: Annotated[list[VoucherItem], Field(min_length=1, max_length=50)]


def _shop(caller: Any) -> vouchers.Shop:
    return vouchers.Shop(label=caller.label, municipality_code=caller.scope or "")


@router.post("/v1/vouchers/check", responses=PROBLEMS)
def check_voucher(body: VoucherCheck, caller: ShopCaller, service: ServiceDep) -> dict[str, Any]:
    """Could this shop take this voucher now? Nothing changes."""
    with service.readers() as session:
        return vouchers.check(
            session, body.voucher, shop=_shop(caller),
            public_key=service.keys.voucher_key.public_key(), today=japan_day(service.clock()),
        )  # fmt: skip


@router.post("/v1/vouchers/redeem", responses=PROBLEMS)
def redeem(body: Redemption, caller: ShopCaller, service: ServiceDep) -> dict[str, Any]:
    """Use these vouchers together, all or none, each once. A voucher used before is
    refused with when and by which shop; the same ``redemption_id`` again is a replay."""
    now = service.clock()
    with service.sessions.begin() as session:
        return vouchers.redeem(
            session, body.vouchers, shop=_shop(caller), redemption_id=body.redemption_id,
            account_key=service.keys.account_hmac, audit_key=service.keys.audit_hmac,
            public_key=service.keys.voucher_key.public_key(), today=japan_day(now), now=now,
        )  # fmt: skip


# --- facilities ----------------------------------------------------------------------------------


class LinkCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mykey_id: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,32}$")]
    user_number: Annotated[str, Field(min_length=1, max_length=32)]


@router.post("/v1/facility-links/check", responses=PROBLEMS)
def check_link(body: LinkCheck, caller: FacilityCaller, service: ServiceDep) -> dict[str, bool]:
    """Is this MyKey ID linked to card ``user_number`` at the caller's facility? Yes or
    no, and nothing more."""
    with service.readers() as session:
        linked = service_links.is_linked(
            session, key=service.keys.account_hmac, facility_code=caller.scope or "",
            mykey_id=body.mykey_id, user_number=body.user_number,
        )  # fmt: skip
    return {"linked": linked}
