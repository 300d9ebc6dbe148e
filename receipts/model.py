"""What a slip says, filled by the kiosk's flow: the procedures done and their state.

A slip holds nothing secret and cannot: there is no field for a PIN, a security code,
a My Number or a whole payment-service ID (only its last four characters, which the
model checks). The same model is archived for reprints and rendered three ways (see
``receipts.layout``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from mynapoint import contact, receipt_numbers
from mynapoint.dates import JST
from mynapoint.payment_ids import SHOWN_CHARACTERS

Language = Literal["ja", "en"]
Kind = Literal["reservation", "application", "status", "cancellation"]
# confirmed: the service accepted it; rejected: a rule refused it (with the reason);
# pending: queued on the kiosk, sent when the network returns.
State = Literal["confirmed", "rejected", "pending"]


def _receipt_number(number: str) -> str:
    if not receipt_numbers.is_valid(number):
        raise ValueError("not a valid receipt number")
    return number


ReceiptNumber = Annotated[str, AfterValidator(_receipt_number)]
Last4 = Annotated[str, Field(min_length=1, max_length=SHOWN_CHARACTERS)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PaymentService(_Frozen):
    code: str
    name_ja: str
    name_en: str
    account_last4: Last4 | None = None
    # On what this service grants points (the catalog's); None: not known to the kiosk.
    grant_on: Literal["charge", "purchase"] | None = None


class Procedure(_Frozen):
    """One procedure of the session, as the service answered it (or not yet)."""

    kind: Kind
    state: State
    receipt_number: ReceiptNumber | None = None  # a status check has none
    mykey_id: Annotated[str, Field(pattern=r"^[0-9A-Z]{8}$")] | None = None
    service: PaymentService | None = None
    # The application cancelled (cancellations), or found (status checks).
    application_receipt_number: ReceiptNumber | None = None
    application_state: Literal["active", "cancelled", "none"] | None = None  # status
    reason_code: str | None = None
    reason_ja: str | None = None
    reason_en: str | None = None


class Contact(_Frozen):
    """Where citizens call (``mynapoint.contact``); the hours as this kiosk sets them."""

    phone: str = contact.PHONE
    option: int = contact.OPTION
    navi_dial: str = contact.NAVI_DIAL
    ordinary: str = contact.ORDINARY
    hours_ja: str = contact.HOURS_JA
    hours_en: str = contact.HOURS_EN


class Slip(_Frozen):
    language: Language = "ja"
    issued_at: AwareDatetime
    store_name: Annotated[str, Field(min_length=1, max_length=40)]
    kiosk_id: str
    procedures: Annotated[list[Procedure], Field(min_length=1)]
    contact: Contact = Contact()
    # The programme's rate and cap, as the kiosk's catalog states them (None: not stated,
    # and the slip prints no rule rather than a guessed one).
    grant_rate_percent: int | None = None
    grant_cap_yen: int | None = None
    reprint: bool = False
    sample: bool = False  # a test print or a preview: no citizen's data

    def reprinted(self) -> Slip:
        return self.model_copy(update={"reprint": True})

    @property
    def issued_at_jst(self) -> dt.datetime:
        return self.issued_at.astimezone(JST)
