"""What operators send: payment transactions, suspensions, the J-LIS re-issue feed."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import StatementError

from grant_service import people, points
from grant_service.http import (
    PROBLEMS,
    UNSTORABLE,
    Admin,
    JlisFeed,
    PaymentOperator,
    ServiceDep,
    unstorable,
)
from grant_service.refusals import Refused, echoed, validation_detail
from grant_service.service import Service
from mynapoint.envelope import BASE64_PATTERN, StorableText
from mynapoint.reasons import R

log = logging.getLogger(__name__)
router = APIRouter(tags=["operators"])

# A MyKey ID as a path parameter: letters and digits, so nothing the database cannot
# hold and nothing long is echoed back (an unknown one is 404).
MyKeyId = Annotated[str, Path(pattern=r"^[0-9A-Za-z]{1,32}$")]


class TransactionBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    transactions: Annotated[list[points.TransactionIn], Field(min_length=1)]


class SuspendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[StorableText, Field(min_length=1, max_length=200)]


class ReissueEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    old_issuer: Annotated[StorableText, Field(min_length=1, max_length=512)]
    old_serial_hex: Annotated[str, Field(pattern=r"^[0-9A-F]{1,64}$")]
    new_certificate: Annotated[str, Field(pattern=BASE64_PATTERN, max_length=6000)]


class ReissueFeed(BaseModel):
    """Re-issued certificates. Each entry is checked on its own: a malformed one gets its
    own error result and does not hold back the others."""

    model_config = ConfigDict(extra="forbid")
    entries: Annotated[
        list[dict[str, Any]],
        Field(min_length=1, json_schema_extra={"items": ReissueEntry.model_json_schema()}),
    ]


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
    mykey_id: MyKeyId, body: SuspendRequest, _admin: Admin, service: ServiceDep
) -> dict[str, Any]:
    """Suspend a MyKey ID (a leak or misuse): every procedure and My Page are refused."""
    with service.sessions.begin() as session:
        mykey = people.suspend(
            session, service.keys.audit_hmac, mykey_id, body.reason, service.clock()
        )
        return {"mykey_id": mykey.mykey_id, "status": mykey.status}


@router.post("/v1/mykeys/{mykey_id}/reinstate", responses=PROBLEMS)
def reinstate(mykey_id: MyKeyId, _admin: Admin, service: ServiceDep) -> dict[str, Any]:
    with service.sessions.begin() as session:
        mykey = people.reinstate(session, service.keys.audit_hmac, mykey_id, service.clock())
        return {"mykey_id": mykey.mykey_id, "status": mykey.status}


@router.post("/v1/jlis/reissues", responses=PROBLEMS)
def reissues(feed: ReissueFeed, _feed: JlisFeed, service: ServiceDep) -> JSONResponse:
    """Re-issued certificates (J-LIS): each is linked to the certificate it replaces, so
    the MyKey ID, the application and the points follow the new card. A result per entry,
    in the order sent; each entry is its own transaction."""
    return JSONResponse({"results": [_reissue(service, entry) for entry in feed.entries]})


def _reissue(service: Service, raw: dict[str, Any]) -> dict[str, Any]:
    try:
        entry = ReissueEntry.model_validate(raw)
        der = base64.b64decode(entry.new_certificate, validate=True)
    except ValidationError as exc:
        return _entry_error(raw, Refused(R.MALFORMED, validation_detail(exc.errors())))
    except binascii.Error:
        return _entry_error(raw, Refused(R.MALFORMED, "new_certificate: not valid base64"))
    try:
        with service.sessions.begin() as session:
            return people.link_reissue(
                session, service.keys.audit_hmac, service.trust,
                people.Reissue(entry.old_issuer, entry.old_serial_hex, der), service.clock(),
            )  # fmt: skip
    except Refused as refusal:
        return _entry_error(raw, refusal)
    except StatementError as error:
        if not unstorable(error):
            raise
        log.warning("a re-issue entry the database cannot store: %s", type(error.orig).__name__)
        return _entry_error(raw, Refused(R.MALFORMED, UNSTORABLE))


def _entry_error(raw: dict[str, Any], refusal: Refused) -> dict[str, Any]:
    serial = raw.get("old_serial_hex")
    return {
        "old_serial_hex": echoed(serial) if isinstance(serial, str) else None,
        "outcome": "error", "reason_code": refusal.reason.value.code, "detail": refusal.detail,
    }  # fmt: skip
