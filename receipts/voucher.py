"""The point voucher (ポイント券, seed 004 #4016, #4021-4027): what a city-hall kiosk prints
against a citizen's municipal points, and its one layout.

The voucher is read by elderly citizens and by shop staff: the municipality, the points,
the voucher number (4-4-4-4, as ``mynapoint.vouchers.grouped`` writes it) and the last day
are in large type, and the QR code holds the service's signed code, so that a shop can
check it with no network (``mynapoint.vouchers.verify``). The rules printed under it are
the platform's: valid only in the municipality printed on it (#4021), not transferable
(#4022), several at once (#4025), no change (#4027), cancellable at the office that issued
it with the points returned (#4024), never cash (#1017).

Like the slip (``receipts.layout``), Japanese comes first and an English session adds the
English line under each Japanese one. A voucher holds nothing of the person: no MyKey ID,
no name (``extra="forbid"``); once used, the service keeps no owner either.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from mynapoint import vouchers
from mynapoint.dates import date_text, time_text
from mynapoint.platform_catalog import MUNICIPALITY_CODE_PATTERN
from receipts.layout import Block, Qr, Rule, Text, Writer
from receipts.model import Language

# The platform's rules, each its own line, in the order a citizen asks about them.
RULES = (
    "voucher.rule.municipality",  # #4021
    "voucher.rule.not_transferable",  # #4022
    "voucher.rule.several",  # #4025
    "voucher.rule.no_change",  # #4027
    "voucher.rule.cancel",  # #4024
    "voucher.rule.no_cash",  # #1017
)


def _voucher_number(number: str) -> str:
    if not vouchers.is_valid_number(number):
        raise ValueError("not a valid voucher number")
    return number


VoucherNumber = Annotated[str, AfterValidator(_voucher_number)]
VoucherCode = Annotated[str, Field(pattern=rf"^{vouchers.PREFIX}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]


class VoucherSlip(BaseModel):
    """One printed voucher, as the service issued it (``grant_service.vouchers.issue``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: Language = "ja"
    issued_at: AwareDatetime
    store_name: Annotated[str, Field(min_length=1, max_length=40)]  # the city hall
    kiosk_id: Annotated[str, Field(min_length=1)]
    municipality_code: Annotated[str, Field(pattern=MUNICIPALITY_CODE_PATTERN)]
    municipality_name_ja: Annotated[str, Field(min_length=1, max_length=40)]
    municipality_name_en: Annotated[str, Field(min_length=1, max_length=60)]
    points: Annotated[int, Field(ge=1)]
    number: VoucherNumber
    expires_on: dt.date
    code: VoucherCode  # the signed QR text, ``MKV1.<payload>.<signature>``
    reprint: bool = False
    sample: bool = False  # a test print or a preview

    @model_validator(mode="after")
    def _code_says_what_the_paper_says(self) -> VoucherSlip:
        """The QR code's payload is this voucher's face, byte for byte: a shop scanning it
        reads the number, municipality, points and last day printed beside it. (Whether the
        service signed it, only its public key tells: ``vouchers.verify``.)"""
        payload = base64.urlsafe_b64encode(self.face.payload()).rstrip(b"=").decode("ascii")
        if self.code.split(".")[1] != payload:
            raise ValueError("the code is not this voucher's: its payload differs")
        return self

    @property
    def face(self) -> vouchers.VoucherFace:
        return vouchers.VoucherFace(
            self.number, self.municipality_code, self.points, self.expires_on
        )

    def reprinted(self) -> VoucherSlip:
        return self.model_copy(update={"reprint": True})


def layout(voucher: VoucherSlip) -> list[Block]:
    """The voucher's blocks, drawn by ``receipts.raster`` and ``receipts.escpos_output``."""
    out = Writer(voucher.language)
    out.line("voucher.title", style="title", bold=True, align="center")
    if voucher.sample:
        out.line("sample", style="heading", bold=True, align="center")
    if voucher.reprint:
        out.line("reprint", style="body", align="center")
    municipality = {"ja": voucher.municipality_name_ja, "en": voucher.municipality_name_en}
    out.blocks.append(Rule())
    out.line("voucher.municipality", style="heading", bold=True, align="center",
             name_by_language=municipality)  # fmt: skip
    points_key = "voucher.points.one" if voucher.points == 1 else "voucher.points"
    out.line(points_key, style="title", bold=True, align="center", points=f"{voucher.points:,}")
    out.line("voucher.number", align="center")
    # The number itself once, in no language: what a shop types if it cannot scan.
    out.blocks.append(
        Text(vouchers.grouped(voucher.number), style="heading", bold=True, align="center")
    )
    expiry = {language: date_text(voucher.expires_on, language) for language in ("ja", "en")}
    out.line("voucher.expires", align="center")
    out.line("voucher.expires.date", style="heading", bold=True, align="center",
             date_by_language=expiry)  # fmt: skip
    out.blocks.append(Qr(voucher.code))
    out.blocks.append(Rule())
    when = {language: time_text(voucher.issued_at, language) for language in ("ja", "en")}
    out.line("issued", when_by_language=when)
    out.line("place", store=voucher.store_name, kiosk=voucher.kiosk_id)
    out.blocks.append(Rule())
    out.line("voucher.rules", style="heading", bold=True)
    for rule in RULES:
        out.line(rule, municipality_by_language=municipality)
    return out.blocks
