"""Choosing a card reader from one string, the same everywhere (CLI, settings, tests).

``pcsc``            the first PC/SC reader that gets a card
``pcsc:NAME``       a PC/SC reader whose name contains NAME
``nfc:usb``         a USB NFC reader driven by nfcpy (``nfc:usb:054c:06c1`` for one model)
``nfc:udp:H:P``     nfcpy's network driver, with ``kiosk-card-sim serve --nfc-udp H:P``
``virtual``         the virtual card in-process (``virtual:PATH`` for another card file)
"""

from __future__ import annotations

from pathlib import Path

from kiosk.devices import errors
from kiosk.devices.transport import CardReader

READER_SPECS = ("pcsc", "pcsc:NAME", "nfc:usb", "nfc:udp:HOST:PORT", "virtual", "virtual:PATH")


def open_reader(spec: str) -> CardReader:
    kind, _, rest = spec.partition(":")
    if kind == "pcsc":
        from kiosk.devices.pcsc import PcscReader  # pyscard loads libpcsclite: only when asked

        return PcscReader(rest)
    if kind == "nfc" and rest:
        from kiosk.devices.nfc import NfcReader

        return NfcReader(rest)
    if kind == "virtual":
        from kiosk.devices.sim.loopback import VirtualReader
        from kiosk.devices.sim.virtual_card import ensure_demo_card

        path = Path(rest) if rest else ensure_demo_card()[0]
        return VirtualReader(path)
    raise errors.NoReader(f"unknown reader '{spec}'; use one of: {', '.join(READER_SPECS)}")
