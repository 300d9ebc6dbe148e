"""Submissions: one envelope, a batch, or a kiosk's exported queue file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from grant_service import audit, devices, rules
from grant_service.http import PROBLEMS, Admin, ServiceDep, SignedDevice, retry_after
from grant_service.refusals import Refused
from grant_service.service import Service
from grant_service.submissions import ItemResult
from mynapoint.envelope import Envelope
from mynapoint.queue_export import ExportInvalid, QueueExport, open_export
from mynapoint.reasons import R

router = APIRouter(tags=["submissions"])


class BatchRequest(BaseModel):
    """Envelopes of one kiosk, in kiosk order. Each item is checked on its own: a
    malformed one gets its own error result and does not hold back the others."""

    model_config = ConfigDict(extra="forbid")
    items: Annotated[
        list[dict[str, Any]],
        Field(min_length=1, description="Submission envelopes (see the Envelope schema)"),
    ]


class BatchResponse(BaseModel):
    results: list[ItemResult]


def _item_response(result: ItemResult, busy_seconds: int) -> JSONResponse:
    wait = retry_after(R.by_code(result.reason_code), busy_seconds) if result.reason_code else None
    headers = {"Retry-After": str(wait)} if wait is not None else None
    return JSONResponse(result.to_json(), status_code=result.http_status, headers=headers)


def _results(results: list[ItemResult]) -> JSONResponse:
    return JSONResponse({"results": [r.to_json() for r in results]})


@router.post(
    "/v1/submissions",
    response_model=ItemResult,
    responses={**PROBLEMS, 409: {"model": ItemResult}, 422: {"model": ItemResult}},
)
def submit(envelope: Envelope, device: SignedDevice, service: ServiceDep) -> JSONResponse:
    """One envelope. 200 accepted; 422 rejected (final) or invalid; 409 already being
    processed; 503 pending (retry later). A replay returns the first result."""
    result = service.processor.process(device, [envelope])[0]
    return _item_response(result, service.settings.retry_after_seconds)


@router.post("/v1/submissions/batch", response_model=BatchResponse, responses=PROBLEMS)
def submit_batch(batch: BatchRequest, device: SignedDevice, service: ServiceDep) -> JSONResponse:
    """Many envelopes of one kiosk; a result per item, in the order sent."""
    _check_batch_size(len(batch.items), service)
    return _results(service.processor.process(device, batch.items))


def _check_batch_size(items: int, service: Service) -> None:
    if items > service.settings.max_batch_items:
        raise Refused(R.BATCH_TOO_LARGE, f"at most {service.settings.max_batch_items} items")


@router.post("/v1/submissions/import", response_model=BatchResponse, responses=PROBLEMS)
def import_queue(export: QueueExport, admin: Admin, service: ServiceDep) -> JSONResponse:
    """A kiosk's exported queue file, brought by a technician: sealed to this service,
    signed by the kiosk, processed like a batch from that kiosk (same idempotency)."""
    _check_batch_size(export.item_count, service)  # the header's count is what it holds
    with service.readers() as session:
        row, public_key = devices.active_device(session, export.kiosk_id)
    try:
        items = open_export(
            export, device_public_key=public_key, import_private_key=service.keys.import_key
        )
    except ExportInvalid as exc:
        raise Refused(R.EXPORT_INVALID, str(exc)) from exc
    with service.sessions.begin() as session:
        audit.append(
            session, service.keys.audit_hmac, at=service.clock(), kiosk_id=export.kiosk_id,
            actor="technician", action="queue.import", subject=f"{admin.label}:{len(items)}"[:128],
            outcome="accepted",
        )  # fmt: skip
    device = rules.Device(row.id, row.kiosk_id, row.channel, enrolled_at=row.enrolled_at)
    return _results(service.processor.process(device, items))
