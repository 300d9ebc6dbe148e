"""A sample slip, for the preview and the test print: a reservation and an application
made in one session, confirmed (or, with ``pending``, queued while the network is down)."""

from __future__ import annotations

import datetime as dt

from mynapoint import receipt_numbers
from receipts.model import Language, PaymentService, Procedure, Slip

PAYPAY = PaymentService(
    code="paypay", name_ja="PayPay", name_en="PayPay", account_last4="0001", grant_on="charge"
)
# A sample's programme terms (the packaged catalog's at the time of writing); a real slip
# takes them from the kiosk's catalog (``kiosk.slip.builder.SlipTerms``).
SAMPLE_RATE_PERCENT, SAMPLE_CAP_YEN = 25, 5000


def sample_slip(
    *,
    language: Language = "ja",
    pending: bool = False,
    store_name: str = "マイナポイント市役所 1階",
    kiosk_id: str = "kiosk-0001",
    now: dt.datetime | None = None,
) -> Slip:
    state = "pending" if pending else "confirmed"
    return Slip(
        language=language,
        issued_at=now or dt.datetime.now(dt.UTC),
        store_name=store_name,
        kiosk_id=kiosk_id,
        sample=True,
        grant_rate_percent=SAMPLE_RATE_PERCENT,
        grant_cap_yen=SAMPLE_CAP_YEN,
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
