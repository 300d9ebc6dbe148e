"""The kiosk's payment-service catalog: fetched from the grant service, kept on disk for
offline use, and what the touchscreen flow asks of it.

``CatalogStore(settings, client).load()`` asks the service (``GET /v1/payment-services``,
revalidating the cached copy with its ETag), saves what it gets atomically under
``settings.data_dir / "catalog.json"``, and falls back when it cannot: to the cached copy
when the service is unreachable, answers 5xx (or anything unusable), and to the catalog
packaged with the software when there is no usable cached copy either. The ``Catalog``
says which it is (``catalog.freshness``).

The ``Catalog`` serves the service-choice screen (``search``, ``by_kind``,
``availability`` on this kiosk's channel, the pre-registration and grant notices) and
the entry screens (``check_id``, ``check_code``: normalised value, or a format error in
Japanese and English that names the service's own label and never repeats what was typed).
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk.catalog.kana import plain
from kiosk.link.service_client import ServiceClient
from kiosk.settings import KioskSettings
from mynapoint.dates import date_text
from mynapoint.payment_ids import normalise_payment_id

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.json"
CACHE_FORMAT = 1
JST = dt.timezone(dt.timedelta(hours=9), "JST")

Language = Literal["ja", "en"]
Channel = Literal["convenience_store", "city_hall"]


# --- messages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """Something to show, under a stable key (for tests, logs and the screens' styling)."""

    key: str
    message_ja: str
    message_en: str

    def text(self, language: Language) -> str:
        return self.message_ja if language == "ja" else self.message_en


@dataclass(frozen=True)
class Label:
    ja: str
    en: str

    def text(self, language: Language) -> str:
        return self.ja if language == "ja" else self.en


# The kinds the service publishes, in the order the screen offers them.
KIND_LABELS: dict[str, Label] = {
    "qr": Label("QRコード決済", "QR code payment"),
    "e_money": Label("電子マネー", "E-money"),
    "credit": Label("クレジットカード", "Credit card"),
    "debit": Label("デビットカード", "Debit card"),
    "prepaid": Label("プリペイドカード", "Prepaid card"),
}

# Their readings, so that kana typed on the kiosk's keyboard finds them ("でんしまねー").
_KIND_READINGS = {
    "qr": "キューアールコードケッサイ",
    "e_money": "デンシマネー",
    "credit": "クレジットカード",
    "debit": "デビットカード",
    "prepaid": "プリペイドカード",
}


def _kind_names(kind: str) -> tuple[str, ...]:
    """A kind's names as search compares them (``fold``)."""
    label = kind_label(kind)
    return tuple(fold(t) for t in (label.ja, label.en, _KIND_READINGS.get(kind, "")) if t)


def kind_label(kind: str) -> Label:
    """A kind's name; a kind this kiosk does not know yet is shown by its code."""
    return KIND_LABELS.get(kind, Label(kind, kind))


# --- the services ------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogService:
    """One payment service as the kiosk shows it. The entry fields may be missing from
    an older service's catalog: then the labels are the programme's generic ones and the
    formats are not checked here (the operator still checks them)."""

    code: str
    name_ja: str
    name_en: str
    reading: str  # kana, for search ("スイカ"); "" when the catalog gives none
    kind: str  # "qr", "e_money", "credit", "debit", "prepaid"
    grant_on: Literal["charge", "purchase"]
    app_only: bool
    not_at_convenience_store: bool
    pre_registration: bool
    selectable_from: dt.date
    fictional: bool = False
    card_credentials: bool = False  # the ID and code are the card's number and security code
    id_label_ja: str = "決済サービスID"
    id_label_en: str = "payment service ID"
    id_hint_ja: str = ""
    id_hint_en: str = ""
    id_pattern: str | None = None  # of the normalised ID (mynapoint.payment_ids)
    id_example: str | None = None
    code_label_ja: str = "セキュリティコード"
    code_label_en: str = "security code"
    code_hint_ja: str = ""
    code_hint_en: str = ""
    code_pattern: str | None = None  # of the security code, whitespace removed

    @property
    def kind_label(self) -> Label:
        return kind_label(self.kind)

    @property
    def id_label(self) -> Label:
        return Label(self.id_label_ja, self.id_label_en)

    @property
    def code_label(self) -> Label:
        return Label(self.code_label_ja, self.code_label_en)

    @property
    def id_hint(self) -> Label:
        return Label(self.id_hint_ja, self.id_hint_en)

    @property
    def code_hint(self) -> Label:
        return Label(self.code_hint_ja, self.code_hint_en)


class _ServiceDoc(BaseModel):
    """One service as published (``grant_service.catalog.Catalog.public_json``) or as
    packaged (``grant_service/data/catalog.json``, whose ``sources`` are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str = Field(min_length=1)
    name_ja: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    reading_ja: str = ""
    kind: str
    grant_on: Literal["charge", "purchase"]
    app_only: bool
    not_at_convenience_store: bool
    pre_registration: bool
    selectable_from: dt.date
    fictional: bool = False
    # None: a document from before the flag (an older service, an old cache).
    card_credentials: bool | None = None
    id_label_ja: str = "決済サービスID"
    id_label_en: str = "payment service ID"
    id_hint_ja: str = ""
    id_hint_en: str = ""
    id_pattern: str | None = None
    id_example: str | None = None
    code_label_ja: str = "セキュリティコード"
    code_label_en: str = "security code"
    code_hint_ja: str = ""
    code_hint_en: str = ""
    code_pattern: str | None = None


class _CatalogDoc(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str
    programme: dict[str, Any] = Field(default_factory=dict)
    services: list[_ServiceDoc] = Field(min_length=1)


class CatalogFormatError(ValueError):
    """A catalog document (the service's answer, the cache, the packaged file) that
    cannot be used."""


def _compile(pattern: str | None, where: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        # ASCII: "\d" is 0-9 only (NFKC has folded full-width digits already).
        return re.compile(pattern, re.ASCII)
    except re.error as exc:
        raise CatalogFormatError(f"{where}: {pattern!r} is not a pattern ({exc})") from None


def _card_credentials(s: _ServiceDoc) -> bool:
    """The flag as published; a document from before it existed took every credit card's
    number and security code, so there a credit card counts as flagged (fails safe)."""
    return s.card_credentials if s.card_credentials is not None else s.kind == "credit"


def parse_catalog(document: Any) -> tuple[str, dict[str, Any], tuple[CatalogService, ...]]:
    """(version, programme, services) of a catalog document, or ``CatalogFormatError``."""
    try:
        doc = _CatalogDoc.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3]
        )
        raise CatalogFormatError(f"not a payment-service catalog ({problems})") from None
    codes = [s.code for s in doc.services]
    if len(set(codes)) != len(codes):
        raise CatalogFormatError("not a payment-service catalog (service codes repeat)")
    services = []
    for s in doc.services:
        for name in ("id_pattern", "code_pattern"):
            _compile(getattr(s, name), f"{s.code}.{name}")
        services.append(
            CatalogService(
                code=s.code, name_ja=s.name_ja, name_en=s.name_en, reading=s.reading_ja,
                kind=s.kind, grant_on=s.grant_on, app_only=s.app_only,
                not_at_convenience_store=s.not_at_convenience_store,
                pre_registration=s.pre_registration, selectable_from=s.selectable_from,
                fictional=s.fictional, card_credentials=_card_credentials(s),
                id_label_ja=s.id_label_ja, id_label_en=s.id_label_en,
                id_hint_ja=s.id_hint_ja, id_hint_en=s.id_hint_en,
                id_pattern=s.id_pattern, id_example=s.id_example,
                code_label_ja=s.code_label_ja, code_label_en=s.code_label_en,
                code_hint_ja=s.code_hint_ja, code_hint_en=s.code_hint_en,
                code_pattern=s.code_pattern,
            )
        )  # fmt: skip
    programme = {k: v for k, v in doc.programme.items() if k != "sources"}
    return doc.version, programme, tuple(services)


# --- search ----------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Text as search compares it: NFKC (full-width Latin and half-width kana folded),
    case-folded, kana plain (no voiced marks, none small: ``kiosk.catalog.kana.plain``), hiragana as
    katakana, without spaces and separators."""
    folded = plain(unicodedata.normalize("NFKC", text).casefold())
    folded = "".join(
        chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" or c in "\u309d\u309e" else c
        for c in folded
    )
    return re.sub(r"[\s・･\-‐‑–—_.]", "", folded)


# --- availability and notices ----------------------------------------------------------------


class Unavailable(Enum):
    """Why a service cannot be chosen at this kiosk; the values are the grant service's
    reason codes for the same refusals (``mynapoint.reasons``)."""

    APP_ONLY = "SERVICE_APP_ONLY"
    CARD_CREDENTIALS = "SERVICE_CARD_CREDENTIALS"
    NOT_AT_CONVENIENCE_STORE = "SERVICE_NOT_AT_CONVENIENCE_STORE"
    NOT_YET_SELECTABLE = "SERVICE_NOT_YET_SELECTABLE"


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


def japan_today(now: dt.datetime | None = None) -> dt.date:
    """The programme's days are Japan's."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(JST).date()


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


class Source(StrEnum):
    FRESH = "fresh"  # from the service now (sent, or confirmed unchanged: 304)
    CACHED = "cached"  # the copy on disk; the service could not be used
    PACKAGED = "packaged"  # no usable copy on disk and no service: the software's own


@dataclass(frozen=True)
class Freshness:
    source: Source
    version: str
    confirmed_at: dt.datetime | None = None  # when the service last sent or confirmed it
    age: dt.timedelta | None = None  # since then
    cache: Literal["ok", "missing", "corrupt", "unwritable"] = "ok"  # the file on disk
    problem: str | None = None  # why the service's copy was not used
    revalidated: bool = False  # FRESH by a 304

    def describe(self) -> str:
        """For the technician's screen and the log: ``fresh``, ``cached (2 h 5 min old)``,
        ``missing: using the packaged catalog``, with the reason."""
        why = f"; {self.problem}" if self.problem else ""
        if self.source is Source.FRESH:
            return "fresh (revalidated)" if self.revalidated else "fresh"
        if self.source is Source.CACHED:
            return f"cached ({_age_text(self.age)} old){why}"
        return f"missing (cache {self.cache}): using the packaged catalog {self.version}{why}"


def _age_text(age: dt.timedelta | None) -> str:
    if age is None:
        return "unknown age"
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 1:
        return "<1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@dataclass(frozen=True)
class Catalog:
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
            for kind in KIND_LABELS:
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
        code = kind if kind in KIND_LABELS or any(s.kind == kind for s in self.services) else None
        if code is None:
            wanted = fold(kind)
            code = next((k for k in KIND_LABELS if wanted in _kind_names(k)), None)
        if code is None:
            raise ValueError(f"unknown kind of payment service: {kind!r}")
        return [s for s in self.services if s.kind == code]

    def kinds(self) -> list[tuple[str, Label]]:
        """The kinds present in this catalog, in the screen's order, with their names."""
        present = {s.kind for s in self.services}
        known = [k for k in KIND_LABELS if k in present]
        other = sorted(present - set(KIND_LABELS))
        return [(k, kind_label(k)) for k in (*known, *other)]

    def availability(
        self, service: CatalogService | str, channel: Channel, today: dt.date
    ) -> Availability:
        """Whether ``service`` can be chosen on this kiosk's ``channel`` on ``today`` (a
        Japan date), and if not why and what to do instead. The service applies the same
        rules (``grant_service.rules``); the first reason that lasts is given."""
        s = self._resolve(service)
        if s.app_only:
            # seed 000 line 223: only from the operator's own app, not at procedure spots.
            return Availability(
                Unavailable.APP_ONLY,
                f"{s.name_ja}は、{s.name_ja}のアプリからのみ申し込めます（マイナポイント手続"
                f"スポットの端末では申し込めません）。{s.name_ja}のアプリでお申し込みください。",
                f"{s.name_en} can be chosen only in its own app, not at Mynapoint procedure-"
                f"spot terminals. Please apply in the {s.name_en} app.",
            )
        if s.card_credentials:
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
        if channel == "convenience_store" and s.not_at_convenience_store:
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
        if today < s.selectable_from:
            # seed 001 line 19: each service has its own first day.
            return Availability(
                Unavailable.NOT_YET_SELECTABLE,
                f"{s.name_ja}は、{date_text(s.selectable_from, 'ja')}から選べます。",
                f"{s.name_en} can be chosen from {date_text(s.selectable_from, 'en')}.",
                selectable_from=s.selectable_from,
            )
        return AVAILABLE

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
        pattern = _compile(s.id_pattern, s.code)
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
        pattern = _compile(s.code_pattern, s.code)
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


# --- the store -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cached:
    document: dict[str, Any]
    etag: str | None
    fetched_at: dt.datetime
    confirmed_at: dt.datetime
    catalog: Catalog


class CatalogUnavailable(RuntimeError):
    """Not even the packaged catalog could be read: the installation is broken."""


def packaged_document() -> dict[str, Any]:
    """The catalog packaged with the software (``grant_service/data/catalog.json``)."""
    resource = importlib.resources.files("grant_service") / "data" / CATALOG_FILE
    document: dict[str, Any] = json.loads(resource.read_bytes())
    return document


def _write_atomically(path: Path, content: bytes) -> None:
    """Write aside, fsync, rename over ``path``, fsync the directory: a reader (or a
    power cut) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        with aside.open("xb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(aside, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        aside.unlink(missing_ok=True)


class CatalogStore:
    """The catalog as this kiosk can best have it now. ``client`` may be ``None`` (not
    enrolled, or deliberately offline): then only the cached and packaged copies count."""

    def __init__(
        self,
        settings: KioskSettings,
        client: ServiceClient | None = None,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        path: Path | None = None,
    ) -> None:
        self.client = client
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.path = path or settings.data_dir / CATALOG_FILE

    def load(self, *, online: bool = True) -> Catalog:
        """Fetch or revalidate (``online`` and with a client), else the cached copy, else
        the packaged one. Never raises for the service's or the cache's troubles."""
        cached, cache_state = self._read_cache()
        if not online or self.client is None:
            problem = "not asked (offline)" if not online else "no service client (not enrolled?)"
            return self._fall_back(cached, cache_state, problem, level=logging.INFO)
        etag = cached.etag if cached is not None else None
        try:
            reply = self.client.payment_services(etag)
        except httpx.HTTPError as exc:
            return self._fall_back(
                cached, cache_state, f"service unreachable ({type(exc).__name__}: {exc})"
            )
        now = self.clock()
        if reply.status_code == 304 and cached is not None:
            if not self._save(cached.document, cached.etag, cached.fetched_at, now):
                cache_state = "unwritable"
            return self._with(cached.catalog, Freshness(
                Source.FRESH, cached.catalog.version, confirmed_at=now, age=dt.timedelta(0),
                cache=cache_state, revalidated=True,
            ))  # fmt: skip
        if reply.status_code == 200:
            try:
                catalog = Catalog.from_document(reply.body, Freshness(Source.FRESH, ""))
            except CatalogFormatError as exc:
                log.error("the grant service sent a catalog this kiosk cannot use: %s", exc)
                return self._fall_back(cached, cache_state, f"unusable catalog from service: {exc}")
            new_etag = reply.headers.get("ETag")
            if not self._save(reply.body, new_etag, now, now):
                cache_state = "unwritable"
            return self._with(catalog, Freshness(
                Source.FRESH, catalog.version, confirmed_at=now, age=dt.timedelta(0),
                cache=cache_state,
            ))  # fmt: skip
        problem = f"service answered HTTP {reply.status_code}"
        if reply.status_code < 500 and reply.status_code != 304:
            log.error("catalog: the grant service refused the request (HTTP %s): %s",
                      reply.status_code, reply.body)  # fmt: skip
        return self._fall_back(cached, cache_state, problem)

    def cached(self) -> Catalog | None:
        """The copy on disk, if there is a usable one (no network)."""
        cached, _ = self._read_cache()
        return None if cached is None else cached.catalog

    # --- internals -----------------------------------------------------------------------

    def _with(self, catalog: Catalog, freshness: Freshness) -> Catalog:
        return Catalog(catalog.version, catalog.services, catalog.programme, freshness)

    def _read_cache(self) -> tuple[_Cached | None, Literal["ok", "missing", "corrupt"]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None, "missing"
        except OSError as exc:
            log.warning("the cached catalog %s cannot be read (%s)", self.path, exc)
            return None, "corrupt"
        try:
            stored = json.loads(raw)
            if not isinstance(stored, dict) or stored.get("format") != CACHE_FORMAT:
                raise CatalogFormatError(f"not a catalog cache of format {CACHE_FORMAT}")
            etag = stored.get("etag")
            if etag is not None and not isinstance(etag, str):
                raise CatalogFormatError("its ETag is not text")
            fetched_at = dt.datetime.fromisoformat(stored["fetched_at"])
            confirmed_at = dt.datetime.fromisoformat(stored["confirmed_at"])
            document = stored["catalog"]
            catalog = Catalog.from_document(document, Freshness(Source.CACHED, ""))
        except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
            log.warning(
                "the cached catalog %s is unreadable (%s: %s): it will be replaced by the "
                "service's copy, or the packaged catalog used until then",
                self.path, type(exc).__name__, exc,
            )  # fmt: skip
            return None, "corrupt"
        return _Cached(document, etag, fetched_at, confirmed_at, catalog), "ok"

    def _save(
        self,
        document: Any,
        etag: str | None,
        fetched_at: dt.datetime,
        confirmed_at: dt.datetime,
    ) -> bool:
        stored = {
            "format": CACHE_FORMAT,
            "etag": etag,
            "fetched_at": fetched_at.isoformat(),
            "confirmed_at": confirmed_at.isoformat(),
            "catalog": document,
        }
        content = json.dumps(stored, ensure_ascii=False, indent=1).encode("utf-8")
        try:
            _write_atomically(self.path, content)
        except OSError as exc:
            log.error("catalog: cannot save the catalog to %s (%s); it will be fetched "
                      "again next time", self.path, exc)  # fmt: skip
            return False
        return True

    def _fall_back(
        self,
        cached: _Cached | None,
        cache_state: Literal["ok", "missing", "corrupt"],
        problem: str,
        *,
        level: int = logging.WARNING,
    ) -> Catalog:
        now = self.clock()
        if cached is not None:
            freshness = Freshness(
                Source.CACHED, cached.catalog.version, confirmed_at=cached.confirmed_at,
                age=now - cached.confirmed_at, cache="ok", problem=problem,
            )  # fmt: skip
            log.log(level, "catalog: %s", freshness.describe())
            return self._with(cached.catalog, freshness)
        try:
            document = packaged_document()
            version, programme, services = parse_catalog(document)
        except (OSError, ValueError) as exc:
            raise CatalogUnavailable(
                f"no catalog: {problem}, the cache is {cache_state}, and the packaged "
                f"catalog cannot be read ({exc})"
            ) from exc
        freshness = Freshness(Source.PACKAGED, version, cache=cache_state, problem=problem)
        log.log(max(level, logging.WARNING), "catalog: %s", freshness.describe())
        return Catalog(version, services, programme, freshness)


def load_catalog(settings: KioskSettings, *, online: bool = True) -> Catalog:
    """The catalog for this kiosk: its device identity's client when enrolled (the
    catalog itself is public), else the cached or packaged copy."""
    from kiosk.link.enrollment import NotEnrolled, load_identity, service_client

    try:
        identity = load_identity(settings)
    except NotEnrolled:
        return CatalogStore(settings).load(online=False)
    client = service_client(settings, identity)
    try:
        return CatalogStore(settings, client).load(online=online)
    finally:
        client.close()
