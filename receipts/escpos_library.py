"""python-escpos, imported without its side effect on logging.

``escpos.capabilities`` calls ``logging.basicConfig()`` when it is imported: that puts a
handler on the root logger, after which a program's own ``logging.basicConfig(...)`` does
nothing (``kiosk-sync`` lost its log lines that way). Import python-escpos from here,
never directly: the handler it adds is taken off again.

It also caches its printer database as a pickle in a new ``mkdtemp()`` directory at each
import, never removed (it makes one even when ``ESCPOS_CAPABILITIES_PICKLE_DIR`` is set:
the default argument is evaluated first); a kiosk restarted for months would fill
``/tmp`` with them. Here every temporary directory the import makes goes into one of this
process's own, removed when the process ends. (A shared cache would save the 0.1 s parse,
but the library writes it in place: a process starting beside another could read half a
file.)
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile

_PICKLE_DIR = "ESCPOS_CAPABILITIES_PICKLE_DIR"
_own_dir = tempfile.mkdtemp(prefix="escpos-capabilities-")
atexit.register(shutil.rmtree, _own_dir, True)
_tempdir_before, tempfile.tempdir = tempfile.tempdir, _own_dir
_set_pickle_dir = _PICKLE_DIR not in os.environ
if _set_pickle_dir:
    os.environ[_PICKLE_DIR] = _own_dir  # read once, at import (below)

_handlers_before = list(logging.root.handlers)

from escpos.constants import QR_ECLEVEL_M  # noqa: E402
from escpos.exceptions import DeviceNotFoundError  # noqa: E402
from escpos.exceptions import Error as EscposError  # noqa: E402
from escpos.printer import Dummy, File, Network, Serial, Usb  # noqa: E402

for _handler in logging.root.handlers[:]:
    if _handler not in _handlers_before:
        logging.root.removeHandler(_handler)
tempfile.tempdir = _tempdir_before
if _set_pickle_dir:  # not for child processes: the directory goes when this one ends
    del os.environ[_PICKLE_DIR]

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
