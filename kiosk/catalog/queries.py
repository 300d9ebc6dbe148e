"""What the touchscreen flow asks of the kiosk's catalog (``Catalog``).

The service-choice screen: ``search`` (names, readings and kinds, however typed),
``by_kind``, ``kinds``, ``availability`` on this kiosk's channel (the rule is
``mynapoint.availability``; here are its words), ``taken_on``, and the pre-registration and
grant notices. The entry screens: ``check_id``, ``check_code`` (the normalised value, or a
format error in Japanese and English that names the service's own label and never repeats
what was typed).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kiosk.catalog.kana import fold
from kiosk.catalog.model import (
    KINDS,
    CatalogService,
    Label,
    Language,
    Message,
    compile_pattern,
    kind_label,
    parse_catalog,
)
from kiosk.i18n.ja import KIND_READINGS
from mynapoint.availability import Channel, Unavailable, unavailable
from mynapoint.dates import date_text
from mynapoint.payment_ids import normalise_payment_id

if TYPE_CHECKING:
    from kiosk.catalog.store import Freshness


def _kind_names(kind: str) -> tuple[str, ...]:
    """A kind's names as search compares them (``fold``)."""
    label = kind_label(kind)
    return tuple(fold(t) for t in (label.ja, label.en, KIND_READINGS.get(kind, "")) if t)


# --- availability ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Availability:
    reason: Unavailable | None = None
    message_ja: str = ""
    message_en: str = ""
    selectable_from: dt.date | None = None  # with NOT_YET_SELECTABLE

    @property
    def available(self) -> bool:
        return self.reason is None

    @property
    def key(self) -> str | None:
        return None if self.reason is None else self.reason.value

    def text(self, language: Language) -> str:
        return self.message_ja if language == "ja" else self.message_en


AVAILABLE = Availability()


# --- entry checks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A typed ID or security code: normalised (``value``) or refused (``error``). The
    value is kept out of ``repr`` so that no log of this object shows it."""

    value: str | None = field(default=None, repr=False)
    error: Message | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


MAX_ID_LENGTH = 64  # without a published format: anything longer is a mistake
MAX_CODE_LENGTH = 32


def _join(*sentences: str) -> str:
    return " ".join(t for t in sentences if t)


def _example(service: CatalogService) -> tuple[str, str]:
    if not service.id_example:
        return "", ""
    return f"（例：{service.id_example}）", f" (Example: {service.id_example})"


# --- the catalog -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """The services this kiosk offers, the programme's terms (``programme``: dates, rate
    and cap), and where this copy came from (``freshness``)."""

    version: str
    services: tuple[CatalogService, ...]
    programme: dict[str, Any]
    freshness: Freshness

    @classmethod
    def from_document(cls, document: Any, freshness: Freshness) -> Catalog:
        version, programme, services = parse_catalog(document)
        return cls(version, services, programme, freshness)

    # --- looking up --------------------------------------------------------------------

    def get(self, code: str | None) -> CatalogService | None:
        return next((s for s in self.services if s.code == code), None)

    def service(self, code: str) -> CatalogService:
        found = self.get(code)
        if found is None:
            raise KeyError(code)
        return found

    def names(self) -> dict[str, tuple[str, str]]:
        """Per code, (name_ja, name_en): what the slip shows before the service answers."""
        return {s.code: (s.name_ja, s.name_en) for s in self.services}

    def _resolve(self, service: CatalogService | str) -> CatalogService:
        return self.service(service) if isinstance(service, str) else service

    # --- choosing ----------------------------------------------------------------------

    def search(self, query: str) -> list[CatalogService]:
        """Services whose name (Japanese or English), kana reading or code contains
        ``query``, case- and width-insensitive, hiragana and katakana alike; also every
        service of a kind whose name starts with it ("電子マネー", "credit"). Names that
        start with the query come first; otherwise the catalog's order. An empty query
        gives every service."""
        wanted = fold(query)
        if not wanted:
            return list(self.services)
        kinds = set()
        if len(wanted) >= 2:  # "e" or "q" alone would pick whole kinds
            for kind in KINDS:
                if any(name.startswith(wanted) for name in _kind_names(kind)):
                    kinds.add(kind)
        found: list[tuple[int, int, CatalogService]] = []
        for order, service in enumerate(self.services):
            keys = [fold(t) for t in (service.name_ja, service.name_en, service.reading)]
            keys = [k for k in keys if k] + [fold(service.code)]
            if any(k.startswith(wanted) for k in keys):
                found.append((0, order, service))
            elif any(wanted in k for k in keys):
                found.append((1, order, service))
            elif service.kind in kinds:
                found.append((2, order, service))
        return [service for _, _, service in sorted(found, key=lambda f: f[:2])]

    def by_kind(self, kind: str) -> list[CatalogService]:
        """Services of one kind, given by its code ("e_money") or its name in Japanese
        (or its reading) or English ("電子マネー", "でんしまねー", "E-money"); ``ValueError``
        for none of them."""
        code = kind if kind in KINDS or any(s.kind == kind for s in self.services) else None
        if code is None:
            wanted = fold(kind)
            code = next((k for k in KINDS if wanted in _kind_names(k)), None)
        if code is None:
            raise ValueError(f"unknown kind of payment service: {kind!r}")
        return [s for s in self.services if s.kind == code]

    def kinds(self) -> list[tuple[str, Label]]:
        """The kinds present in this catalog, in the screen's order, with their names."""
        present = {s.kind for s in self.services}
        known = [k for k in KINDS if k in present]
        other = sorted(present - set(KINDS))
        return [(k, kind_label(k)) for k in (*known, *other)]

    def availability(
        self, service: CatalogService | str, channel: Channel, today: dt.date
    ) -> Availability:
        """Whether ``service`` can be chosen on this kiosk's ``channel`` on ``today`` (a
        Japan date), and if not why and what to do instead. The rule, which the service
        applies too, is ``mynapoint.availability``; here is what it means for the citizen."""
        s = self._resolve(service)
        reason = unavailable(s, channel=channel, day=today)
        if reason is None:
            return AVAILABLE
        if reason is Unavailable.APP_ONLY:
            # seed 000 line 223: only from the operator's own app, not at procedure spots.
            return Availability(
                Unavailable.APP_ONLY,
                f"{s.name_ja}は、{s.name_ja}のアプリからのみ申し込めます（マイナポイント手続"
                f"スポットの端末では申し込めません）。{s.name_ja}のアプリでお申し込みください。",
                f"{s.name_en} can be chosen only in its own app, not at Mynapoint procedure-"
                f"spot terminals. Please apply in the {s.name_en} app.",
            )
        if reason is Unavailable.CARD_CREDENTIALS:
            # On both channels: a public terminal never takes a card number with its
            # security code. The card company's own app or site (seed 000 line 44), or
            # the citizen's own phone or PC (seed 000 line 47), may.
            return Availability(
                Unavailable.CARD_CREDENTIALS,
                f"{s.name_ja}は、カード番号とセキュリティコードで申し込むサービスのため、この"
                "端末では申し込めません（公共の端末ではカード番号とセキュリティコードをお聞き"
                f"しません）。{s.name_ja}を発行したカード会社のアプリや会員向けWebサイト、"
                "またはご自身のスマートフォン・パソコン（マイナポイントアプリ・サイト）で"
                "お申し込みください。",
                f"{s.name_en} is applied for with the card number and its security code, so it "
                "cannot be chosen at this kiosk: a public terminal never asks for them. Please "
                "apply in the app or member website of the company that issued your "
                f"{s.name_en}, or with your own smartphone or PC (the Mynapoint app or website).",
            )
        if reason is Unavailable.NOT_AT_CONVENIENCE_STORE:
            # seed 000 line 224: not from convenience-store copiers; line 222: procedure
            # spots at municipal offices and shops, and one's own phone or PC.
            return Availability(
                Unavailable.NOT_AT_CONVENIENCE_STORE,
                f"{s.name_ja}は、コンビニの端末では申し込めません。市区町村の窓口などにある"
                "マイナポイント手続スポットの端末か、ご自身のスマートフォン・パソコン"
                "（マイナポイントアプリ・サイト）でお申し込みください。",
                f"{s.name_en} cannot be chosen at a convenience-store terminal. Please apply "
                "at a Mynapoint procedure-spot terminal, such as the one at your municipal "
                "office, or with your own smartphone or PC (the Mynapoint app or website).",
            )
        # seed 001 line 19: each service has its own first day.
        return Availability(
            Unavailable.NOT_YET_SELECTABLE,
            f"{s.name_ja}は、{date_text(s.selectable_from, 'ja')}から選べます。",
            f"{s.name_en} can be chosen from {date_text(s.selectable_from, 'en')}.",
            selectable_from=s.selectable_from,
        )

    def taken_on(self, channel: Channel) -> list[CatalogService]:
        """The services a citizen can apply for on ``channel`` on some day: all but those
        that never can here (``availability`` on the last day there is)."""
        return [s for s in self.services if self.availability(s, channel, dt.date.max).available]

    def pre_registration_notice(self, service: CatalogService | str) -> Message | None:
        """For a service that needs the citizen registered with the operator first
        (seed 001 line 18), the warning to show before the ID is typed."""
        s = self._resolve(service)
        if not s.pre_registration:
            return None
        return Message(
            "SERVICE_PRE_REGISTRATION",
            f"{s.name_ja}は、マイナポイントの申込の前に、{s.name_ja}のアプリまたはWebサイトで"
            "事前の登録が必要です。登録がお済みでない場合は、先に登録を済ませてから"
            "お申し込みください（この端末でも、ほかの手続スポットでも申し込めます）。",
            f"{s.name_en} needs you to register for Mynapoint in the {s.name_en} app or website "
            "before applying. If you have not, please register first, then apply (here or at "
            "any procedure spot).",
        )

    def grant_notice(self, service: CatalogService | str) -> Message:
        """For the confirmation screen: on what points are granted (seed 000 line 258),
        and that when depends on the operator (seed 002 line 76, 86)."""
        s = self._resolve(service)
        timing_ja = "ポイントが付与される時期は、決済サービスにより異なります。"
        timing_en = "When the points are granted depends on the payment service."
        if s.grant_on == "charge":
            return Message(
                "GRANT_ON_CHARGE",
                f"{s.name_ja}は、チャージ（前払）の金額に対してポイントが付与されます。{timing_ja}",
                f"With {s.name_en}, points are granted on the amounts you charge (top up). "
                + timing_en,
            )
        return Message(
            "GRANT_ON_PURCHASE",
            f"{s.name_ja}は、お買い物の金額に対してポイントが付与されます。{timing_ja}",
            f"With {s.name_en}, points are granted on the amounts you spend. {timing_en}",
        )

    # --- entering ----------------------------------------------------------------------

    def check_id(self, service: CatalogService | str, typed: str) -> Checked:
        """The payment-service ID as the operator compares it (full width folded, spaces
        and hyphens dropped, upper case), or why it cannot be right. The error names the
        service's label and gives its hint and a fake example, never the typed ID."""
        s = self._resolve(service)
        value = normalise_payment_id(typed or "")
        if not value:
            return Checked(error=Message(
                "ID_EMPTY",
                f"{s.id_label_ja}を入力してください。{s.id_hint_ja}",
                _join(f"Please enter your {s.id_label_en}.", s.id_hint_en),
            ))  # fmt: skip
        pattern = compile_pattern(s.id_pattern, s.code)
        fits = (
            bool(pattern.fullmatch(value))
            if pattern is not None
            else len(value) <= MAX_ID_LENGTH and value.isascii() and value.isalnum()
        )
        if not fits:
            example_ja, example_en = _example(s)
            return Checked(error=Message(
                "ID_FORMAT",
                f"{s.id_label_ja}の形式が正しくありません。{s.id_hint_ja}{example_ja}",
                _join(f"Your {s.id_label_en} is not in the right format.", s.id_hint_en)
                + example_en,
            ))  # fmt: skip
        return Checked(value=value)

    def check_code(self, service: CatalogService | str, typed: str) -> Checked:
        """The security code with full width folded and spaces removed, or why it cannot
        be right. The error never contains what was typed (not even its length)."""
        s = self._resolve(service)
        value = re.sub(r"\s", "", unicodedata.normalize("NFKC", typed or ""))
        if not value:
            return Checked(error=Message(
                "CODE_EMPTY",
                f"{s.name_ja}の{s.code_label_ja}を入力してください。{s.code_hint_ja}",
                _join(f"Please enter your {s.code_label_en} for {s.name_en}.", s.code_hint_en),
            ))  # fmt: skip
        pattern = compile_pattern(s.code_pattern, s.code)
        fits = (
            bool(pattern.fullmatch(value))
            if pattern is not None
            else len(value) <= MAX_CODE_LENGTH and value.isascii() and value.isprintable()
        )
        if not fits:
            return Checked(error=Message(
                "CODE_FORMAT",
                f"{s.name_ja}の{s.code_label_ja}の形式が正しくありません。{s.code_hint_ja}",
                _join(
                    f"Your {s.code_label_en} for {s.name_en} is not in the right format.",
                    s.code_hint_en,
                ),
            ))  # fmt: skip
        return Checked(value=value)
