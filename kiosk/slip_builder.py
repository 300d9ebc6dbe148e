"""From what the session did to what the slip says.

This is the one place where the session's envelopes (which hold the payment-service ID
and the security code) meet the slip: only the ID's last four characters cross over,
and nothing else of the payload's secrets.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kiosk.settings import KioskSettings
from kiosk.submit import Submitted
from mynapoint.envelope import ApplicationEnvelope, CancellationEnvelope, Envelope
from mynapoint.payment_ids import last4
from receipts.model import Contact, Language, PaymentService, Procedure, Slip

# The service's names when the service has not answered yet (the kiosk's catalog).
ServiceNames = dict[str, tuple[str, str]]


def procedure_for(
    envelope: Envelope, submitted: Submitted, service_names: ServiceNames | None = None
) -> Procedure:
    answer: dict[str, Any] = (submitted.result or {}).get("result") or {}
    service = None
    if isinstance(envelope, ApplicationEnvelope):
        code = envelope.payload.service_code
        name_ja, name_en = (service_names or {}).get(code, (code, code))
        service = PaymentService(
            code=code,
            name_ja=answer.get("service_name_ja", name_ja),
            name_en=answer.get("service_name_en", name_en),
            account_last4=last4(envelope.payload.payment_id),
        )
    cancelled = (
        envelope.payload.application_receipt_number
        if isinstance(envelope, CancellationEnvelope)
        else None
    )
    result = submitted.result or {}
    return Procedure(
        kind=envelope.kind,
        state=submitted.state,
        receipt_number=envelope.receipt_number,
        mykey_id=answer.get("mykey_id"),
        service=service,
        application_receipt_number=cancelled,
        reason_code=result.get("reason_code") if submitted.state == "rejected" else None,
        reason_ja=result.get("message_ja") if submitted.state == "rejected" else None,
        reason_en=result.get("message_en") if submitted.state == "rejected" else None,
    )


def slip_for(
    procedures: list[Procedure],
    settings: KioskSettings,
    *,
    language: Language,
    kiosk_id: str,
    now: dt.datetime | None = None,
) -> Slip:
    return Slip(
        language=language,
        issued_at=now or dt.datetime.now(dt.UTC),
        store_name=settings.store_name,
        kiosk_id=kiosk_id,
        procedures=procedures,
        contact=Contact(hours_ja=settings.contact_hours_ja, hours_en=settings.contact_hours_en),
    )


def status_procedure(page: dict[str, Any], service_names: ServiceNames | None = None) -> Procedure:
    """A status check's line on the slip, from the service's My Page answer."""
    application = page.get("application") or {}
    state = application.get("state", "none")
    service = None
    code = application.get("service_code")
    if code:
        name_ja, name_en = (service_names or {}).get(code, (code, code))
        service = PaymentService(
            code=code, name_ja=name_ja, name_en=name_en,
            account_last4=application.get("account_last4"),
        )  # fmt: skip
    return Procedure(
        kind="status",
        state="confirmed",
        mykey_id=(page.get("reservation") or {}).get("mykey_id"),
        service=service,
        application_receipt_number=application.get("receipt_number"),
        application_state=state if state in ("active", "cancelled") else "none",
    )
