"""The payment-service catalog: loaded from data (``mynapoint/data/catalog.json``, shared
with the kiosk, each flag citing its seed line), kept in the database, served to kiosks
with an ETag, and read by the application rules."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from grant_service import audit
from grant_service.models import CatalogMeta, PaymentService
from mynapoint.payment_ids import normalise_payment_id


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProgrammeData(_Strict):
    reservation_start: dt.date
    application_start: dt.date
    application_deadline: dt.date
    points_period_start: dt.date
    points_period_end: dt.date
    grant_rate_percent: int
    grant_cap_yen: int
    sources: dict[str, str]


# What the kiosk's screens need besides the rules' flags: a kana reading for search, and
# for the ID and the security code a label, a hint (where to find it) and a format. The
# rules never read them; they have their own columns (``PaymentService``) and are published.
ENTRY_FIELDS = (
    "reading_ja",
    "id_label_ja",
    "id_label_en",
    "id_hint_ja",
    "id_hint_en",
    "id_pattern",
    "id_example",
    "code_label_ja",
    "code_label_en",
    "code_hint_ja",
    "code_hint_en",
    "code_pattern",
)
_KANA = re.compile(r"[\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fc\u30fd\u30fe・ ]+")


class ServiceData(_Strict):
    code: str
    name_ja: str
    name_en: str
    reading_ja: str = Field(max_length=128)  # in kana, for search ("スイカ")
    kind: Literal["qr", "e_money", "credit", "debit", "prepaid"]
    grant_on: Literal["charge", "purchase"]
    app_only: bool
    not_at_convenience_store: bool
    pre_registration: bool
    selectable_from: dt.date
    fictional: bool
    # The programme's ID and code for this service are the card's number and security
    # code: no kiosk may ask for them (mynapoint.availability).
    card_credentials: bool
    # The lengths are the columns' (PostgreSQL refuses a longer value).
    id_label_ja: str = Field(max_length=128)
    id_label_en: str = Field(max_length=128)
    id_hint_ja: str
    id_hint_en: str
    id_pattern: str  # of the normalised ID (mynapoint.payment_ids), as the operator checks
    id_example: str = Field(max_length=64)  # a fake ID in that format, normalised
    code_label_ja: str = Field(max_length=128)
    code_label_en: str = Field(max_length=128)
    code_hint_ja: str
    code_hint_en: str
    code_pattern: str  # of the security code, spaces removed
    sources: dict[str, str]

    @field_validator("reading_ja")
    @classmethod
    def _kana_only(cls, reading: str) -> str:
        if not _KANA.fullmatch(reading):
            raise ValueError(f"reading_ja must be in kana, not {reading!r}")
        return reading

    @field_validator("id_pattern", "code_pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _example_fits(self) -> ServiceData:
        if normalise_payment_id(self.id_example) != self.id_example:
            raise ValueError(f"{self.code}: id_example must be given normalised")
        if not re.fullmatch(self.id_pattern, self.id_example):
            raise ValueError(f"{self.code}: id_example does not match id_pattern")
        return self

    def entry(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in ENTRY_FIELDS}


class CatalogData(_Strict):
    version: str
    notes: str = ""
    programme: ProgrammeData
    services: list[ServiceData]

    @classmethod
    def from_file(cls, path: Path) -> CatalogData:
        return cls.model_validate_json(path.read_bytes())


def store_catalog(session: Session, audit_key: bytes, data: CatalogData, now: dt.datetime) -> None:
    """Replace the catalog in the database with ``data``."""
    codes = [s.code for s in data.services]
    if len(set(codes)) != len(codes):
        raise ValueError("service codes must be unique")
    session.execute(delete(PaymentService))
    for service in data.services:
        fields = service.model_dump(exclude={"sources"})
        session.add(PaymentService(**fields, sources_json=json.dumps(service.sources)))
    meta = session.get(CatalogMeta, 1) or CatalogMeta(id=1)
    meta.version = data.version
    meta.programme_json = data.programme.model_dump_json()
    meta.etag = hashlib.sha256(data.model_dump_json().encode()).hexdigest()[:32]
    meta.loaded_at = now
    session.add(meta)
    audit.append(
        session, audit_key, at=now, actor="operator", action="catalog.load",
        subject=data.version, outcome="accepted",
    )  # fmt: skip


def catalog_loaded(session: Session) -> bool:
    return session.get(CatalogMeta, 1) is not None


@dataclass(frozen=True)
class Catalog:
    """A snapshot of the catalog, with the programme dates in force."""

    version: str
    etag: str
    programme: ProgrammeData
    services: dict[str, PaymentService]
    application_deadline: dt.date

    def public_json(self) -> dict[str, JsonValue]:
        """What kiosks download (``GET /v1/payment-services``)."""
        programme = self.programme.model_dump(mode="json", exclude={"sources"})
        programme["application_deadline"] = self.application_deadline.isoformat()
        return {
            "version": self.version,
            "programme": programme,
            "services": [
                {
                    "code": s.code,
                    "name_ja": s.name_ja,
                    "name_en": s.name_en,
                    "kind": s.kind,
                    "grant_on": s.grant_on,
                    "app_only": s.app_only,
                    "not_at_convenience_store": s.not_at_convenience_store,
                    "pre_registration": s.pre_registration,
                    "selectable_from": s.selectable_from.isoformat(),
                    "fictional": s.fictional,
                    "card_credentials": s.card_credentials,
                    # Left out where NULL (a row the catalog has not been reloaded into
                    # since migration 0003 could not fill it): the kiosk has defaults.
                    **{
                        name: getattr(s, name)
                        for name in ENTRY_FIELDS
                        if getattr(s, name) is not None
                    },
                }
                for s in sorted(self.services.values(), key=lambda s: s.code)
            ],
        }

    @property
    def http_etag(self) -> str:
        """The ETag of ``public_json``: a deadline override changes what kiosks see."""
        digest = hashlib.sha256(rfc8785.dumps(self.public_json())).hexdigest()[:32]
        return f'"{digest}"'


_STORED_ETAG = select(CatalogMeta.etag).where(CatalogMeta.id == 1)


class CatalogCache:
    """Reads the catalog from the database again only when its stored ETag changed (a
    ``grant-service load-catalog`` in another process)."""

    def __init__(self, deadline_override: dt.date | None) -> None:
        self.deadline_override = deadline_override
        self._current: Catalog | None = None

    def get(self, session: Session) -> Catalog:
        etag = session.scalar(_STORED_ETAG)  # the one column, not the whole row, every time
        if etag is None:
            raise LookupError("no catalog loaded: run 'grant-service load-catalog'")
        if self._current is None or self._current.etag != etag:
            meta = session.get(CatalogMeta, 1)
            assert meta is not None
            programme = ProgrammeData.model_validate_json(meta.programme_json)
            services = {s.code: s for s in session.scalars(select(PaymentService))}
            for service in services.values():
                session.expunge(service)
            self._current = Catalog(
                version=meta.version,
                etag=meta.etag,
                programme=programme,
                services=services,
                application_deadline=self.deadline_override or programme.application_deadline,
            )
        return self._current
