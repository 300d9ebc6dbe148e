"""The slip's one layout: a list of blocks that each output (raster image, Kanji-mode
text, PNG preview) draws in its own way.

Japanese always comes first; a session run in English adds the English line under
each Japanese one, so that both the citizen and the store's staff can read the slip.
Every procedure prints its receipt number in large type and as a QR code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mynapoint.dates import time_text
from receipts.messages import text
from receipts.model import Language, Procedure, Slip

Style = Literal["title", "heading", "body", "small"]
Align = Literal["left", "center"]


@dataclass(frozen=True)
class Text:
    text: str
    style: Style = "body"
    bold: bool = False
    align: Align = "left"


@dataclass(frozen=True)
class Qr:
    payload: str


@dataclass(frozen=True)
class Rule:
    """A horizontal line between sections."""


Block = Text | Qr | Rule


def layout(slip: Slip) -> list[Block]:
    out = Writer(slip.language)
    out.line("title", style="title", bold=True, align="center")
    out.line("subtitle", style="heading", bold=True, align="center")
    if slip.sample:
        out.line("sample", style="heading", bold=True, align="center")
    if slip.reprint:
        out.line("reprint", style="body", align="center")
    when = {language: time_text(slip.issued_at, language) for language in ("ja", "en")}
    out.line("issued", when_by_language=when)
    out.line("place", store=slip.store_name, kiosk=slip.kiosk_id)
    for procedure in slip.procedures:
        out.blocks.append(Rule())
        _procedure(out, procedure)
    out.blocks.append(Rule())
    out.line("note.heading", style="heading", bold=True)
    if any(p.kind == "application" for p in slip.procedures):
        out.line("note.no_change", style="small")
    _grant_rules(out, slip)
    out.line("note.check", style="small")
    if any(p.receipt_number for p in slip.procedures):
        out.line("note.receipt_number", style="small")
    out.line("note.scam", style="small", bold=True)
    contact = slip.contact
    hours = {"ja": contact.hours_ja, "en": contact.hours_en}
    out.line("contact", style="small", phone=contact.phone, option=contact.option,
             hours_by_language=hours)  # fmt: skip
    out.line("contact.other", style="small", navi=contact.navi_dial, paid=contact.ordinary)
    return out.blocks


def _grant_rules(out: Writer, slip: Slip) -> None:
    """Each service's own rule, once (an application and a status check may name it)."""
    if slip.grant_rate_percent is None or slip.grant_cap_yen is None:
        return
    seen: set[str] = set()
    for procedure in slip.procedures:
        service = procedure.service
        if service is None or service.grant_on is None or service.code in seen:
            continue
        seen.add(service.code)
        names = {"ja": service.name_ja, "en": service.name_en}
        out.line(f"note.points.{service.grant_on}", style="small", service_by_language=names,
                 rate=slip.grant_rate_percent, cap=f"{slip.grant_cap_yen:,}")  # fmt: skip


def _procedure(out: Writer, procedure: Procedure) -> None:
    out.line(f"kind.{procedure.kind}", style="heading", bold=True)
    out.line(f"state.{procedure.state}", bold=procedure.state != "confirmed")
    if procedure.receipt_number:
        out.line("receipt", style="heading", bold=True, number=procedure.receipt_number)
        out.blocks.append(Qr(procedure.receipt_number))
    if procedure.mykey_id:
        out.line("mykey_id", style="heading", mykey_id=procedure.mykey_id)
    elif procedure.kind == "reservation" and procedure.state == "pending":
        out.line("mykey_id.pending")
    if procedure.service is not None:
        names = {"ja": procedure.service.name_ja, "en": procedure.service.name_en}
        out.line("service", name_by_language=names)
        if procedure.service.account_last4:
            out.line("account", last4=procedure.service.account_last4)
    if procedure.kind == "status" and procedure.application_state:
        out.line(f"status.application.{procedure.application_state}")
    if procedure.kind == "cancellation" and procedure.application_receipt_number:
        out.line("cancelled", number=procedure.application_receipt_number)
        if procedure.state == "confirmed":
            out.line("cancelled.again")
    if procedure.state == "pending":
        out.line("pending.how")
    if procedure.state == "rejected":
        reasons = {"ja": procedure.reason_ja or "", "en": procedure.reason_en or ""}
        out.line("reason", reason_by_language=reasons)


class Writer:
    """Adds each message in Japanese, then (in an English session) in English."""

    def __init__(self, language: Language) -> None:
        self.languages: tuple[Language, ...] = ("ja",) if language == "ja" else ("ja", "en")
        self.blocks: list[Block] = []

    def line(
        self,
        key: str,
        *,
        style: Style = "body",
        bold: bool = False,
        align: Align = "left",
        **values: object,
    ) -> None:
        for language in self.languages:
            localised = {
                name.removesuffix("_by_language"): _in_language(name, value, language)
                for name, value in values.items()
            }
            english = language == "en"
            self.blocks.append(
                Text(
                    text(key, language, **localised),
                    # the English line under its Japanese one: a size smaller
                    style="small" if english and style == "body" else style,
                    bold=bold and not english,
                    align=align,
                )
            )


def _in_language(name: str, value: object, language: Language) -> object:
    """``value`` as said in ``language``: a ``*_by_language`` value maps each language to it."""
    if not name.endswith("_by_language"):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must map each language to its value, not {value!r}")
    return value[language]
