"""From what the session did to what the slip says.

This is the one place where the session's envelopes (which hold the payment-service ID
and the security code) meet the slip: only the ID's last four characters cross over,
and nothing else of the payload's secrets. What the slip says of a service (its names,
and on what it grants points) and the programme's rate and cap come from the kiosk's
catalog (``SlipTerms``), as the screens' do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kiosk.link.submit import Submitted
from kiosk.settings import KioskSettings
from mynapoint.envelope import (
    ApplicationEnvelope,
    CancellationEnvelope,
    Envelope,
    ServiceLinkEnvelope,
    ServiceUnlinkEnvelope,
)
from mynapoint.payment_ids import last4
from receipts.model import Contact, Language, PaymentService, Procedure, Slip


@dataclass(frozen=True)
class ServiceTerms:
    name_ja: str
    name_en: str
    grant_on: Literal["charge", "purchase"] | None = None


@dataclass(frozen=True)
class SlipTerms:
    """What the catalog says that the slip repeats."""

    services: Mapping[str, ServiceTerms] = field(default_factory=dict)
    grant_rate_percent: int | None = None
    grant_cap_yen: int | None = None

    @classmethod
    def of(cls, catalog: Any) -> SlipTerms:
        """From a ``kiosk.catalog.queries.Catalog``."""
        programme = catalog.programme or {}
        return cls(
            {s.code: ServiceTerms(s.name_ja, s.name_en, s.grant_on) for s in catalog.services},
            programme.get("grant_rate_percent"),
            programme.get("grant_cap_yen"),
        )

    def service(
        self, code: str, account_last4: str | None, answer: Mapping[str, Any] | None = None
    ) -> PaymentService:
        """A service on the slip: the service's own names when it answered, else the
        catalog's (the code itself for a service this catalog does not know)."""
        known = self.services.get(code, ServiceTerms(code, code))
        answer = answer or {}
        return PaymentService(
            code=code,
            name_ja=answer.get("service_name_ja", known.name_ja),
            name_en=answer.get("service_name_en", known.name_en),
            account_last4=account_last4,
            grant_on=known.grant_on,
        )


def procedure_for(
    envelope: Envelope, submitted: Submitted, terms: SlipTerms | None = None
) -> Procedure:
    terms = terms or SlipTerms()
    if isinstance(envelope, ServiceLinkEnvelope | ServiceUnlinkEnvelope):
        raise ValueError("a library card's link has no Mynapoint slip (its screen says it)")
    answer: dict[str, Any] = (submitted.result or {}).get("result") or {}
    service = None
    if isinstance(envelope, ApplicationEnvelope):
        payload = envelope.payload
        service = terms.service(payload.service_code, last4(payload.payment_id), answer)
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
    terms: SlipTerms | None = None,
) -> Slip:
    terms = terms or SlipTerms()
    return Slip(
        language=language,
        issued_at=now or dt.datetime.now(dt.UTC),
        store_name=settings.store_name,
        kiosk_id=kiosk_id,
        procedures=procedures,
        contact=Contact(hours_ja=settings.contact_hours_ja, hours_en=settings.contact_hours_en),
        grant_rate_percent=terms.grant_rate_percent,
        grant_cap_yen=terms.grant_cap_yen,
    )


def status_procedure(page: dict[str, Any], terms: SlipTerms | None = None) -> Procedure:
    """A status check's line on the slip, from the service's My Page answer."""
    application = page.get("application") or {}
    state = application.get("state", "none")
    code = application.get("service_code")
    service = (
        (terms or SlipTerms()).service(code, application.get("account_last4")) if code else None
    )
    return Procedure(
        kind="status",
        state="confirmed",
        mykey_id=(page.get("reservation") or {}).get("mykey_id"),
        service=service,
        application_receipt_number=application.get("receipt_number"),
        application_state=state if state in ("active", "cancelled") else "none",
    )
