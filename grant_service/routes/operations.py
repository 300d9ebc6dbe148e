"""What operators send: payment transactions, suspensions, the J-LIS re-issue feed."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from grant_service import people, points
from grant_service.http import PROBLEMS, Admin, JlisFeed, PaymentOperator, ServiceDep
from grant_service.refusals import Refused
from mynapoint.envelope import BASE64_PATTERN
from mynapoint.reasons import R

router = APIRouter(tags=["operators"])


class TransactionBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    transactions: Annotated[list[points.TransactionIn], Field(min_length=1)]


class SuspendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class ReissueEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    old_issuer: Annotated[str, Field(min_length=1, max_length=512)]
    old_serial_hex: Annotated[str, Field(pattern=r"^[0-9A-F]{1,64}$")]
    new_certificate: Annotated[str, Field(pattern=BASE64_PATTERN, max_length=6000)]


class ReissueFeed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: Annotated[list[ReissueEntry], Field(min_length=1)]


@router.post("/v1/points/transactions", responses=PROBLEMS)
def post_transactions(
    batch: TransactionBatch, operator: PaymentOperator, service: ServiceDep
) -> JSONResponse:
    """Charges or purchases of one payment operator; a result per transaction. A replay
    of a transaction id gets the first result; another content under it is refused."""
    if len(batch.transactions) > service.settings.max_batch_items:
        raise Refused(R.BATCH_TOO_LARGE, f"at most {service.settings.max_batch_items}")
    foreign = {t.service_code for t in batch.transactions} - {operator.service_code}
    if foreign:
        raise Refused(R.FORBIDDEN_SERVICE, f"this token is for {operator.service_code}")
    now = service.clock()
    with service.sessions.begin() as session:
        catalog = service.catalogs.get(session)
        results = points.ingest(
            session,
            account_key=service.keys.account_hmac,
            audit_key=service.keys.audit_hmac,
            catalog=catalog,
            period=points.PointsPeriod.of(catalog, service.settings.points_period_end),
            transactions=batch.transactions,
            now=now,
        )
    return JSONResponse({"results": results})


@router.post("/v1/mykeys/{mykey_id}/suspend", responses=PROBLEMS)
def suspend(
    mykey_id: str, body: SuspendRequest, _admin: Admin, service: ServiceDep
) -> dict[str, Any]:
    """Suspend a MyKey ID (a leak or misuse): every procedure and My Page are refused."""
    with service.sessions.begin() as session:
        mykey = people.suspend(
            session, service.keys.audit_hmac, mykey_id, body.reason, service.clock()
        )
        return {"mykey_id": mykey.mykey_id, "status": mykey.status}


@router.post("/v1/mykeys/{mykey_id}/reinstate", responses=PROBLEMS)
def reinstate(mykey_id: str, _admin: Admin, service: ServiceDep) -> dict[str, Any]:
    with service.sessions.begin() as session:
        mykey = people.reinstate(session, service.keys.audit_hmac, mykey_id, service.clock())
        return {"mykey_id": mykey.mykey_id, "status": mykey.status}


@router.post("/v1/jlis/reissues", responses=PROBLEMS)
def reissues(feed: ReissueFeed, _feed: JlisFeed, service: ServiceDep) -> JSONResponse:
    """Re-issued certificates (J-LIS): each is linked to the certificate it replaces, so
    the MyKey ID, the application and the points follow the new card."""
    results = []
    for entry in feed.entries:
        try:
            der = base64.b64decode(entry.new_certificate, validate=True)
            with service.sessions.begin() as session:
                results.append(
                    people.link_reissue(
                        session, service.keys.audit_hmac, service.trust,
                        people.Reissue(entry.old_issuer, entry.old_serial_hex, der),
                        service.clock(),
                    )
                )  # fmt: skip
        except (Refused, binascii.Error) as error:
            code = error.reason.value.code if isinstance(error, Refused) else "MALFORMED"
            results.append({"old_serial_hex": entry.old_serial_hex, "outcome": "error",
                            "reason_code": code})  # fmt: skip
    return JSONResponse({"results": results})
