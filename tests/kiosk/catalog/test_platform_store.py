"""The MyKey platform's catalog at the kiosk: the service's (kept), then the kept copy
when the service is away, then the packaged one, against a real grant-service process."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.catalog.platform_store import PLATFORM_FILE, load_platform_catalog
from kiosk.link.submit import Submitter
from mynapoint.platform_catalog import PACKAGED_PLATFORM_CATALOG
from tests.support.kiosk_harness import KioskRig, make_card_and_ca, make_rig


@pytest.fixture
def published(private_data_home: Path, tmp_path: Path) -> Iterator[KioskRig]:
    """A service publishing the packaged catalog and one more library."""
    document = json.loads(PACKAGED_PLATFORM_CATALOG.read_text())
    document["version"] = "2026-12-24"
    document["facilities"].append({
        "code": "kanda_library", "kind": "library", "municipality_code": "131016",
        "name_ja": "千代田区立神田まちかど図書館", "name_en": "Kanda Corner Library",
        "number_pattern": "^[0-9]{10}$", "number_example": "1300055555"})  # fmt: skip
    catalog = tmp_path / "platform.json"
    catalog.write_text(json.dumps(document, ensure_ascii=False))
    rig = make_rig(private_data_home, make_card_and_ca(), channel="city_hall",
                   service_env={"GRANT_SERVICE_PLATFORM_CATALOG_FILE": str(catalog)})  # fmt: skip
    yield rig
    rig.service.stop()


def test_the_kiosk_uses_the_services_catalog_then_its_kept_copy_then_the_packaged_one(
    published: KioskRig, caplog: pytest.LogCaptureFixture
) -> None:
    settings = published.settings
    with Submitter.opened(settings) as submitter:
        fresh = load_platform_catalog(settings, submitter.client)
        assert fresh.version == "2026-12-24" and fresh.facility("kanda_library") is not None
        published.service.stop()  # the network is down: the kept copy
        kept = load_platform_catalog(settings, submitter.client)
        assert kept == fresh
        (settings.data_dir / PLATFORM_FILE).write_text("{not json")
        with caplog.at_level(logging.WARNING):
            packaged = load_platform_catalog(settings, submitter.client)
        assert packaged.facility("kanda_library") is None
        assert packaged.facility("chiyoda_library") is not None
        assert "the kept copy is unusable" in caplog.text
