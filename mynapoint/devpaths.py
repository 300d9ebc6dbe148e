"""Where the embedded development defaults live on one machine (XDG data home).

The kiosk's virtual card and the test CA that issues it, and the grant service's data,
sit side by side, so that a service started with no configuration trusts the test CA
that ``kiosk-card-sim`` uses.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def test_ca_dir() -> Path:
    """The test JPKI CA (``KIOSK_TEST_CA`` overrides)."""
    if env := os.environ.get("KIOSK_TEST_CA"):
        return Path(env)
    return data_home() / "mynapoint-kiosk" / "test-ca"


def virtual_card_path() -> Path:
    """The default virtual card (``KIOSK_VIRTUAL_CARD`` overrides)."""
    if env := os.environ.get("KIOSK_VIRTUAL_CARD"):
        return Path(env)
    return data_home() / "mynapoint-kiosk" / "virtual-card.json"


def grant_service_dir() -> Path:
    return data_home() / "mynapoint-grant-service"
