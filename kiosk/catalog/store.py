"""Where the kiosk's catalog comes from, and how fresh it is.

``CatalogStore(settings, client).load()`` asks the service (``GET /v1/payment-services``,
revalidating the cached copy with its ETag), saves what it gets atomically under
``settings.data_dir / "catalog.json"``, and falls back when it cannot: to the cached copy
when the service is unreachable, answers 5xx (or anything unusable), and to the catalog
packaged with the software (``mynapoint.packaged_catalog``) when there is no usable cached
copy either. The ``Catalog`` says which it is (``catalog.freshness``, a ``Freshness``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import httpx

from kiosk.catalog.model import CatalogFormatError, parse_catalog
from kiosk.catalog.queries import Catalog
from kiosk.link.service_client import ServiceClient
from kiosk.settings import KioskSettings
from mynapoint.atomic_files import replace_file
from mynapoint.packaged_catalog import packaged_document

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.json"  # the cached copy, in the kiosk's data directory
CACHE_FORMAT = 1


class Source(StrEnum):
    """Which copy of the catalog the kiosk is using."""

    FRESH = "fresh"  # from the service now (sent, or confirmed unchanged: 304)
    CACHED = "cached"  # the copy on disk; the service could not be used
    PACKAGED = "packaged"  # no usable copy on disk and no service: the software's own


CacheState = Literal["ok", "missing", "corrupt", "unwritable"]  # the file on disk


@dataclass(frozen=True)
class Freshness:
    """Where a catalog came from and how old it is, for the technician and the log."""

    source: Source
    version: str
    confirmed_at: dt.datetime | None = None  # when the service last sent or confirmed it
    age: dt.timedelta | None = None  # since then
    cache: CacheState = "ok"
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
        cache_state: CacheState
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
            self.path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(self.path, content, mode=0o644)  # public: what the service publishes
        except OSError as exc:
            log.error("catalog: cannot save the catalog to %s (%s); it will be fetched "
                      "again next time", self.path, exc)  # fmt: skip
            return False
        return True

    def _fall_back(
        self,
        cached: _Cached | None,
        cache_state: CacheState,
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
