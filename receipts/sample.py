"""A sample slip, for the preview and the test print: a reservation and an application
made in one session, confirmed (or, with ``pending``, queued while the network is down)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mynapoint import receipt_numbers
from mynapoint.packaged_catalog import packaged_document
from receipts.model import Language, PaymentService, Procedure, Slip, State
from receipts.voucher import VoucherSlip

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


def sample_voucher(*, language: Language = "ja", now: dt.datetime | None = None) -> VoucherSlip:
    """A sample point voucher (marked as one), signed with a key made for it alone: its QR
    code reads, and verifies against no service."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from mynapoint import vouchers

    face = vouchers.VoucherFace("1234567890123450", "131016", 3000, dt.date(2027, 3, 6))
    return VoucherSlip(
        language=language, issued_at=now or dt.datetime.now(dt.UTC),
        store_name="千代田区役所 1階", kiosk_id="kiosk-0001", municipality_code="131016",
        municipality_name_ja="千代田区", municipality_name_en="Chiyoda City", points=face.points,
        number=face.number, expires_on=face.expires_on, sample=True,
        code=vouchers.encode(face, ed25519.Ed25519PrivateKey.generate()),
    )  # fmt: skip
