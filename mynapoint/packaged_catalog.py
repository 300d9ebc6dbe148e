"""The payment-service catalog packaged with the software (``mynapoint/data/catalog.json``),
shared data of both sides: the grant service loads it into its database and publishes it
(``grant-service load-catalog``); a kiosk falls back on it when it has neither the
service's copy nor a cached one. It is one edition of the programme: its dates, its rate
and cap, and every payment service with its flags, each value citing its seed line.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

CATALOG_FILE = "catalog.json"
# As a path, for settings that name a file (the service's ``catalog_file``).
PACKAGED_CATALOG = Path(__file__).parent / "data" / CATALOG_FILE


def packaged_document() -> dict[str, Any]:
    """The packaged catalog as a JSON document."""
    resource = importlib.resources.files("mynapoint") / "data" / CATALOG_FILE
    document: dict[str, Any] = json.loads(resource.read_bytes())
    return document
