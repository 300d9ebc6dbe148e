"""The kiosk's payment-service catalog as data: the services as the kiosk shows them
(``CatalogService``), a catalog document read and checked (``parse_catalog``), and the
names of the kinds of service (the words are in ``kiosk.i18n``).

What the screens ask of a catalog is ``kiosk.catalog.queries``; where it comes from (the
service, the cache on disk, the packaged copy) is ``kiosk.catalog.store``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk.i18n import text

Language = Literal["ja", "en"]


# --- words ---------------------------------------------------------------------------------


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
KINDS = ("qr", "e_money", "credit", "debit", "prepaid")


def kind_label(kind: str) -> Label:
    """A kind's name; a kind this kiosk does not know yet is shown by its code."""
    if kind not in KINDS:
        return Label(kind, kind)
    return Label(text(f"catalog.kind.{kind}", "ja"), text(f"catalog.kind.{kind}", "en"))


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
    """One service as published (the grant service's ``GET /v1/payment-services``) or as
    packaged (``mynapoint/data/catalog.json``, whose ``sources`` are ignored)."""

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


def compile_pattern(pattern: str | None, where: str) -> re.Pattern[str] | None:
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
            compile_pattern(getattr(s, name), f"{s.code}.{name}")
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
