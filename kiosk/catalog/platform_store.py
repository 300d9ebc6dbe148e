"""The MyKey platform's catalog at the kiosk (its municipalities, and the libraries and
facilities whose cards can be linked): the one the service publishes
(``GET /v1/platform/catalog``), kept for the next start; the last one kept when the
service cannot be asked; the packaged one when there is none. A library card is linked
offline too, so the list must not need the network."""

from __future__ import annotations

import logging

import httpx
from pydantic import ValidationError

from kiosk.link.service_client import ServiceClient
from kiosk.settings import KioskSettings
from mynapoint.atomic_files import replace_file
from mynapoint.platform_catalog import PACKAGED_PLATFORM_CATALOG, PlatformCatalog

log = logging.getLogger(__name__)

PLATFORM_FILE = "platform-catalog.json"  # the kept copy, in the kiosk's data directory


def load_platform_catalog(settings: KioskSettings, client: ServiceClient | None) -> PlatformCatalog:
    kept = settings.data_dir / PLATFORM_FILE
    if client is not None:
        try:
            reply = client.platform_catalog()
            if reply.status_code == 200:
                catalog = PlatformCatalog.model_validate(reply.body)
                try:
                    replace_file(kept, catalog.model_dump_json().encode())
                except OSError as exc:  # used now, asked again at the next start
                    log.warning("platform catalog not kept: %s", exc)
                return catalog
            log.warning("platform catalog: the service answered HTTP %d", reply.status_code)
        except (httpx.HTTPError, ValidationError) as exc:
            log.warning("platform catalog: not from the service (%s)", type(exc).__name__)
    try:
        return PlatformCatalog.model_validate_json(kept.read_bytes())
    except FileNotFoundError:
        pass
    except (OSError, ValidationError) as exc:
        log.warning("platform catalog: the kept copy is unusable (%s)", type(exc).__name__)
    return PlatformCatalog.from_file(PACKAGED_PLATFORM_CATALOG)
