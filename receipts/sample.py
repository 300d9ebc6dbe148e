"""A sample slip, for the preview and the test print: a reservation and an application
made in one session, confirmed (or, with ``pending``, queued while the network is down)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mynapoint import receipt_numbers
from mynapoint.packaged_catalog import packaged_document
from receipts.model import Language, PaymentService, Procedure, Slip, State

PAYPAY = PaymentService(
    code="paypay", name_ja="PayPay", name_en="PayPay", account_last4="0001", grant_on="charge"
)


def _programme() -> dict[str, Any]:
    """The programme's terms as the packaged catalog states them: a sample slip shows the
    rate and cap of the software's own catalog, as a real slip shows those of the kiosk's
    catalog (``kiosk.slip.builder.SlipTerms``)."""
    programme: dict[str, Any] = packaged_document()["programme"]
    return programme


def sample_slip(
    *,
    language: Language = "ja",
    pending: bool = False,
    store_name: str = "マイナポイント市役所 1階",
    kiosk_id: str = "kiosk-0001",
    now: dt.datetime | None = None,
) -> Slip:
    state: State = "pending" if pending else "confirmed"
    programme = _programme()
    return Slip(
        language=language,
        issued_at=now or dt.datetime.now(dt.UTC),
        store_name=store_name,
        kiosk_id=kiosk_id,
        sample=True,
        grant_rate_percent=programme["grant_rate_percent"],
        grant_cap_yen=programme["grant_cap_yen"],
        procedures=[
            Procedure(
                kind="reservation",
                state=state,
                receipt_number=receipt_numbers.new_receipt_number(),
                mykey_id=None if pending else "K7QM3XPA",
            ),
            Procedure(
                kind="application",
                state=state,
                receipt_number=receipt_numbers.new_receipt_number(),
                service=PAYPAY,
            ),
        ],
    )
