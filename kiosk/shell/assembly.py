"""The kiosk put together from its settings: reader, submit path, service client,
catalog, slip printer, then the flow, its runner and the dispatcher between them.

``kiosk run`` and ``kiosk demo`` use it, and so do the flow tests: what they test is
what the kiosk runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from kiosk.catalog.platform_store import load_platform_catalog
from kiosk.catalog.queries import Catalog
from kiosk.catalog.store import CatalogStore
from kiosk.devices.barcode_scanner import BarcodeScanner, scanner_from_setting
from kiosk.devices.readers import open_reader
from kiosk.devices.transport import CardReader
from kiosk.link.submit import Submitter
from kiosk.procedure import events as ev
from kiosk.procedure.flow import Channel, Flow
from kiosk.settings import KioskSettings
from kiosk.shell.dispatcher import Dispatcher
from kiosk.shell.parts import KioskParts
from kiosk.shell.runner import Runner
from kiosk.slip.builder import SlipTerms
from kiosk.slip.desk import SlipDesk


@dataclass
class Kiosk:
    settings: KioskSettings
    parts: KioskParts
    catalog: Catalog
    flow: Flow
    runner: Runner
    dispatcher: Dispatcher
    scanner: BarcodeScanner | None = None  # library cards' barcodes (a setting)

    @property
    def channel(self) -> Channel:
        return self.flow.channel


def enrolled_channel(recorded: str) -> Channel:
    """Where the enrollment put the kiosk: a convenience store when none is recorded (a
    kiosk enrolled before channels were)."""
    if recorded in ("", "convenience_store"):
        return "convenience_store"
    if recorded == "city_hall":
        return "city_hall"
    raise ValueError(f"the kiosk's enrollment names an unknown channel: {recorded!r}")


@contextmanager
def assembled(
    settings: KioskSettings,
    *,
    reader: CardReader | None = None,
    channel: Channel | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Iterator[Kiosk]:
    """The enrolled kiosk of ``settings`` (``NotEnrolled`` if it is not). ``channel``
    overrides the one the enrollment gave (tests only)."""
    now = clock or (lambda: dt.datetime.now(dt.UTC))
    card_reader = reader or open_reader(settings.card_reader)
    slips = SlipDesk(settings)
    try:
        with Submitter.opened(settings) as submitter:
            client = submitter.client
            catalog = CatalogStore(settings, client).load()
            parts = KioskParts(
                settings,
                card_reader,
                submitter,
                client,
                slips,
                slip_terms=lambda: SlipTerms.of(catalog),
                clock=now,
            )
            flow = Flow(
                channel=channel or enrolled_channel(client.identity.channel),
                catalog=catalog,
                clock=now,
                reader_location=settings.reader_location,
                platform=load_platform_catalog(settings, client),
            )
            runner = Runner(parts)
            dispatcher = Dispatcher(flow, runner)
            scanner = scanner_from_setting(settings.barcode_scanner)
            kiosk = Kiosk(settings, parts, catalog, flow, runner, dispatcher, scanner)
            if scanner is not None:  # a scan is for the flow: only its step decides
                scanner.start(lambda text: dispatcher.post(ev.BarcodeScanned(text)))
            try:
                yield kiosk
            finally:
                if scanner is not None:
                    scanner.stop()
                kiosk.dispatcher.close()
    finally:
        slips.close()
        card_reader.close()
