"""python-escpos, imported without its side effect on logging.

``escpos.capabilities`` calls ``logging.basicConfig()`` when it is imported: that puts a
handler on the root logger, after which a program's own ``logging.basicConfig(...)`` does
nothing (``kiosk-sync`` lost its log lines that way). Import python-escpos from here,
never directly: the handler it adds is taken off again.
"""

from __future__ import annotations

import logging

_handlers_before = list(logging.root.handlers)

from escpos.constants import QR_ECLEVEL_M  # noqa: E402
from escpos.exceptions import DeviceNotFoundError  # noqa: E402
from escpos.exceptions import Error as EscposError  # noqa: E402
from escpos.printer import Dummy, File, Network, Serial, Usb  # noqa: E402

for _handler in logging.root.handlers[:]:
    if _handler not in _handlers_before:
        logging.root.removeHandler(_handler)

__all__ = [
    "QR_ECLEVEL_M",
    "DeviceNotFoundError",
    "Dummy",
    "EscposError",
    "File",
    "Network",
    "Serial",
    "Usb",
]
