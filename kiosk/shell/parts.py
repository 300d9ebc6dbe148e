"""The kiosk's parts: what the runner and technician mode work with (the card reader, the
submit path with its queue, the service client, the slip desk and its printer, the
settings, the clock). ``kiosk/shell/assembly.py`` builds them from the settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.devices.transport import CardReader
from kiosk.link.service_client import ServiceClient
from kiosk.link.submit import Submitter
from kiosk.settings import KioskSettings
from kiosk.slip.builder import SlipTerms
from kiosk.slip.desk import SlipDesk


@dataclass
class KioskParts:
    """``client`` is None when the kiosk is not enrolled."""

    settings: KioskSettings
    reader: CardReader
    submitter: Submitter
    client: ServiceClient | None
    slips: SlipDesk
    slip_terms: Callable[[], SlipTerms] = field(default=SlipTerms)  # the catalog's
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
