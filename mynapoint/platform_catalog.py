"""What the MyKey platform offers at a city-hall kiosk: the municipalities whose points
(自治体ポイント) the service keeps, and the libraries and other facilities whose cards can be
linked to a MyKey ID (seed 004 #3001-3006).

The service loads it from a file (``platform_catalog_file``; the packaged one,
``mynapoint/data/platform.json``, lists demo municipalities) and publishes it to kiosks
(``GET /v1/platform/catalog``); a kiosk keeps the last one it fetched, and starts from the
packaged one. A facility says
what its user numbers look like, so that a mistyped number is caught at the kiosk and at
the service alike.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PACKAGED_PLATFORM_CATALOG = Path(__file__).parent / "data" / "platform.json"
MUNICIPALITY_CODE_PATTERN = r"^[0-9]{6}$"  # 全国地方公共団体コード, with its check digit
FACILITY_CODE_PATTERN = r"^[a-z0-9_]{1,32}$"


def offered_on(channel: str) -> bool:
    """The platform's procedures are done at city-hall terminals only: the one rule the
    kiosk (to say where to go instead) and the service (to refuse) share."""
    return channel == "city_hall"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Municipality(_Frozen):
    code: Annotated[str, Field(pattern=MUNICIPALITY_CODE_PATTERN)]
    name_ja: Annotated[str, Field(min_length=1, max_length=40)]
    name_en: Annotated[str, Field(min_length=1, max_length=60)]
    # A voucher is usable this many days after it is printed (and never after the points
    # it holds expire).
    voucher_valid_days: Annotated[int, Field(ge=1, le=366)]

    def name(self, language: str) -> str:
        return self.name_ja if language == "ja" else self.name_en


class Facility(_Frozen):
    code: Annotated[str, Field(pattern=FACILITY_CODE_PATTERN)]
    kind: Literal["library", "museum", "sports", "other"]
    municipality_code: Annotated[str, Field(pattern=MUNICIPALITY_CODE_PATTERN)]
    name_ja: Annotated[str, Field(min_length=1, max_length=40)]
    name_en: Annotated[str, Field(min_length=1, max_length=60)]
    number_pattern: Annotated[str, Field(min_length=1, max_length=100)]
    number_example: Annotated[str, Field(min_length=4, max_length=32)]

    @field_validator("number_pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        re.compile(pattern)
        return pattern

    def name(self, language: str) -> str:
        return self.name_ja if language == "ja" else self.name_en

    def accepts(self, user_number: str) -> bool:
        """Whether ``user_number`` (normalised) is one of this facility's numbers."""
        return re.fullmatch(self.number_pattern, user_number) is not None


def normalise_user_number(text: str) -> str:
    """A card's number as typed or scanned: full-width forms folded (NFKC), spaces and
    hyphens dropped, letters upper case."""
    folded = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s\-‐－ー]", "", folded).upper()


class PlatformCatalog(_Frozen):
    version: Annotated[str, Field(min_length=1, max_length=32)]
    municipalities: tuple[Municipality, ...]
    facilities: tuple[Facility, ...]

    @model_validator(mode="after")
    def _consistent(self) -> PlatformCatalog:
        codes = [m.code for m in self.municipalities]
        if len(set(codes)) != len(codes):
            raise ValueError("a municipality is listed twice")
        facility_codes = [f.code for f in self.facilities]
        if len(set(facility_codes)) != len(facility_codes):
            raise ValueError("a facility is listed twice")
        unknown = {f.municipality_code for f in self.facilities} - set(codes)
        if unknown:
            raise ValueError(f"facilities in unlisted municipalities {sorted(unknown)}")
        return self

    @classmethod
    def from_file(cls, path: Path) -> PlatformCatalog:
        return cls.model_validate_json(path.read_bytes())

    def municipality(self, code: str) -> Municipality | None:
        return next((m for m in self.municipalities if m.code == code), None)

    def facility(self, code: str) -> Facility | None:
        return next((f for f in self.facilities if f.code == code), None)

    @cached_property
    def etag(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:32]
