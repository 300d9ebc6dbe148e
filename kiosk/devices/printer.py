"""The slip printer: ESC/POS bytes to a python-escpos back end, and the printer's status.

The slip is rendered elsewhere to ESC/POS bytes; this module only delivers them::

    with open_printer(settings) as printer:
        status = printer.print_slip(data)    # PaperOut / PrinterOffline: nothing was sent
        if status.paper == "near_end":
            ...                              # printed; tell staff to change the roll

The back end comes from ``printer_backend``: ``file`` (the embedded default: the bytes are
appended to ``printer_output_file``), ``network`` (TCP, usually port 9100), ``usb``,
``serial``, or ``dummy`` (kept in memory). The connection opens on first use and stays
open until ``close()``.

Status comes from the ESC/POS real-time status requests ``DLE EOT n`` (Epson ESC/POS
command reference, "Transmit real-time status"), read with a timeout: a printer that does
not answer is reported as unknown (``online=None``, ``paper="unknown"``), never as out of
paper. python-escpos's own ``paper_status()`` cannot tell those two apart, so it is not
used. The file and dummy back ends cannot answer at all: their status is unknown, and
slips are written to them without a check.

Errors carry a ``message_key`` (the citizen-facing message, looked up in the kiosk's i18n
tables) and a ``detail`` (English, for technicians and logs), like the card layer's.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Literal

from receipts.escpos_library import (
    DeviceNotFoundError,
    Dummy,
    EscposError,
    File,
    Network,
    Serial,
    Usb,
)

if TYPE_CHECKING:
    from escpos.escpos import Escpos

    from kiosk.settings import KioskSettings

log = logging.getLogger(__name__)

Paper = Literal["ok", "near_end", "out", "unknown"]

# Written in pieces, so that a write timeout means "no progress for that long" and a slip
# that takes the printer several seconds to print is not cut off by it.
CHUNK = 4096

# --- DLE EOT n: real-time status ------------------------------------------------------
# Every reply byte has the form 0xx1xx10 (bits 1 and 4 set, bits 0 and 7 clear), which
# tells it apart from automatic status back (0xx1xx00) and stale data.
DLE_EOT = b"\x10\x04"
STATUS_REQUEST = re.compile(rb"\x10\x04[\x01-\x04]")
REPLY_MASK, REPLY_FIXED = 0x93, 0x12
PRINTER_STATUS, OFFLINE_CAUSE, PAPER_SENSOR = 1, 2, 4
# n = 1, printer status
OFFLINE = 0x08  # bit 3: offline
WAITING_FOR_RECOVERY = 0x20  # bit 5: waiting for online recovery
FEED_BUTTON_PRESSED = 0x40  # bit 6: the paper feed button is pressed
# n = 2, offline cause
COVER_OPEN = 0x04  # bit 2: the cover is open
FEEDING_BY_BUTTON = 0x08  # bit 3: paper is being fed by the feed button
PAPER_END_STOP = 0x20  # bit 5: printing stopped at paper end
ERROR_OCCURRED = 0x40  # bit 6: an error occurred
# n = 4, roll paper sensor (each condition sets both of its bits)
PAPER_NEAR_END = 0x0C  # bits 2-3: near-end sensor, the roll is nearly used up
PAPER_END = 0x60  # bits 5-6: paper-end sensor, no paper


# --- Errors -----------------------------------------------------------------------------


class PrinterError(Exception):
    """Base of every error raised by the printer adapter."""

    message_key = "printer.error"
    default_detail = "the slip printer failed"

    def __init__(self, detail: str | None = None, status: PrinterStatus | None = None) -> None:
        self.detail = detail or self.default_detail
        self.status = status
        super().__init__(self.detail)


class PrinterUnavailable(PrinterError):
    """No connection, a failed or timed-out write, or a printer that cannot print now."""

    message_key = "printer.unavailable"
    default_detail = "the slip printer cannot be reached"


class PrinterOffline(PrinterUnavailable):
    """The printer answered that it is offline (cover open, error...); nothing was sent."""

    message_key = "printer.offline"
    default_detail = "the slip printer is offline"


class PaperOut(PrinterError):
    """The printer answered that it has no paper; nothing was sent."""

    message_key = "printer.paper_out"
    default_detail = "the slip printer is out of paper; load a new roll"


# --- Status -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said: ``online`` and ``paper`` are None/"unknown" when it did not
    say (no reply, or a back end that cannot answer)."""

    online: bool | None
    paper: Paper
    detail: str


def interpret_status(
    printer: int | None, offline_cause: int | None, paper_sensor: int | None, source: str
) -> PrinterStatus:
    """The status from the replies to DLE EOT 1, 2 and 4 (None: no reply)."""
    if printer is None:
        return PrinterStatus(None, "unknown", f"{source}: no reply to a status request")
    online = not printer & OFFLINE
    parts = ["online" if online else "offline"]
    causes = []
    if printer & WAITING_FOR_RECOVERY:
        causes.append("waiting for online recovery")
    if printer & FEED_BUTTON_PRESSED:
        causes.append("feed button pressed")
    if offline_cause is not None:
        causes += [
            text
            for bit, text in (
                (COVER_OPEN, "cover open"),
                (FEEDING_BY_BUTTON, "paper being fed by the feed button"),
                (PAPER_END_STOP, "stopped at paper end"),
                (ERROR_OCCURRED, "error (see the printer's error lamp)"),
            )
            if offline_cause & bit
        ]
    elif not online:
        causes.append("no reply about the cause")
    if causes:
        parts[0] += f" ({', '.join(causes)})"

    paper: Paper
    stopped_at_end = offline_cause is not None and offline_cause & PAPER_END_STOP
    if (paper_sensor is not None and paper_sensor & PAPER_END) or stopped_at_end:
        paper = "out"
        parts.append("paper out: load a new roll")
    elif paper_sensor is None:
        paper = "unknown"
        parts.append("paper unknown (no reply from the paper sensor)")
    elif paper_sensor & PAPER_NEAR_END:
        paper = "near_end"
        parts.append("paper near end: change the roll soon")
    else:
        paper = "ok"
        parts.append("paper ok")
    return PrinterStatus(online, paper, f"{source}: {'; '.join(parts)}")


# --- The adapter ------------------------------------------------------------------------


class _ConnectionClosed(Exception):
    """The printer closed the connection (internal: becomes PrinterUnavailable)."""


class SlipPrinter:
    """A python-escpos printer that sends ready-made ESC/POS bytes and reports status.

    Not thread-safe: one slip at a time. Use it as a context manager, or call ``close()``.
    """

    def __init__(self, escpos: Escpos, where: str, timeout: float) -> None:
        self.escpos = escpos  # the python-escpos object (Dummy: ``.escpos.output``)
        self.where = where  # "network printer 127.0.0.1:9100", for messages
        self.timeout = timeout
        self._open = False
        # False once the printer left a status request unanswered: sending then does not
        # wait for a delivery confirmation that will not come.
        self._answers: bool | None = None

    @property
    def can_report_status(self) -> bool:
        return isinstance(self.escpos, Network | Serial | Usb)

    # --- the public operations --------------------------------------------------------

    def status(self) -> PrinterStatus:
        """Ask the printer (DLE EOT 1, 2 if offline, 4); each request waits up to the
        timeout, and the first one left unanswered ends the inquiry as unknown.

        Raises PrinterUnavailable when the printer cannot be reached at all."""
        self._connect()
        if not self.can_report_status:
            kind = "a file" if isinstance(self.escpos, File) else "memory"
            return PrinterStatus(
                None,
                "unknown",
                f"{self.where}: writes to {kind}, which cannot report paper or online "
                "status; status unknown, slips are written without a check",
            )
        printer = self._query(PRINTER_STATUS)
        if printer is None:
            return PrinterStatus(
                None,
                "unknown",
                f"{self.where}: no reply to a status request (DLE EOT 1) within "
                f"{self.timeout:g} s; status unknown (not taken as out of paper)",
            )
        offline_cause = self._query(OFFLINE_CAUSE) if printer & OFFLINE else None
        paper_sensor = self._query(PAPER_SENSOR)
        return interpret_status(printer, offline_cause, paper_sensor, self.where)

    def send(self, data: bytes) -> None:
        """Write ``data`` as is. On a printer that answers status requests, a DLE EOT 1
        follows the data: its reply shows that the printer received every byte, and a
        connection lost on the way is reported even when the last write went into the
        socket buffers unnoticed.

        Raises PrinterUnavailable (nothing or only part of the slip may have arrived)."""
        self._connect()
        sent = 0
        try:
            while sent < len(data):
                piece = data[sent : sent + CHUNK]
                self.escpos._raw(piece)
                sent += len(piece)
        except (OSError, ValueError, EscposError) as exc:
            self._drop()
            raise PrinterUnavailable(
                f"writing to the {self.where} failed after {sent} of {len(data)} bytes "
                f"({_reason(exc)}); the slip may be incomplete"
            ) from exc
        if not self.can_report_status or self._answers is False:
            return
        # A printer answers DLE EOT n wherever it appears, raster data included: those
        # replies come before the one to the confirmation.
        in_data = len(STATUS_REQUEST.findall(data))
        try:
            replies = self._ask(PRINTER_STATUS, in_data + 1, drain=False)
        except PrinterUnavailable as exc:
            raise PrinterUnavailable(
                f"{exc.detail} after the slip's {len(data)} bytes were written; "
                "the slip may be incomplete"
            ) from exc
        if not replies:
            log.warning("%s: delivery of the slip not confirmed (no reply)", self.where)
        elif len(replies) <= in_data:
            log.info(
                "%s: %d replies to %d status requests (%d in the slip's data)",
                self.where,
                len(replies),
                in_data + 1,
                in_data,
            )

    def print_slip(self, data: bytes) -> PrinterStatus:
        """Check the status, then send: refuses (PaperOut, PrinterOffline; nothing sent)
        when the printer says it cannot print. Returns the status checked before
        sending: ``paper == "near_end"`` (printed; staff should change the roll) or
        ``online is None`` (the printer did not say; printed anyway) are for the flow to
        pass on."""
        status = self.status()
        if status.paper == "out":
            raise PaperOut(status.detail, status)
        if status.online is False:
            raise PrinterOffline(status.detail, status)
        self.send(data)
        return status

    def close(self) -> None:
        if self._open:
            self._drop()

    def __enter__(self) -> SlipPrinter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- connection -------------------------------------------------------------------

    def _connect(self) -> None:
        if self._open and not self._discard_input():
            self._drop()  # the printer closed an idle connection: open a new one
        if self._open:
            return
        try:
            self.escpos.open()
        except (OSError, ValueError, RuntimeError, EscposError) as exc:
            self._drop()
            raise PrinterUnavailable(
                f"cannot open the {self.where}: {_reason(exc)}; check that it is switched "
                "on and connected, and the printer_* settings"
            ) from exc
        self._open = True
        if isinstance(self.escpos, Serial):
            self.escpos._device.write_timeout = self.timeout

    def _drop(self) -> None:
        self._open = False
        try:
            self.escpos.close()
        except Exception:  # closing a broken connection: nothing more to learn from it
            log.debug("%s: error while closing", self.where, exc_info=True)
        self.escpos._device = False  # python-escpos: "not opened", so open() starts over

    def _discard_input(self) -> bool:
        """Throw away unread input (late replies); False if the connection was closed."""
        device = self.escpos._device
        try:
            if isinstance(self.escpos, Network):
                assert isinstance(device, socket.socket)
                device.settimeout(0)  # a socket with a timeout would wait for input
                try:
                    while device.recv(4096):
                        pass
                    return False
                except BlockingIOError:
                    return True
                finally:
                    device.settimeout(self.timeout)
            if isinstance(self.escpos, Serial):
                device.reset_input_buffer()
        except OSError:
            return False
        return True

    # --- status requests --------------------------------------------------------------

    def _query(self, n: int) -> int | None:
        """Send DLE EOT n; the reply byte, or None if none came within the timeout."""
        replies = self._ask(n, 1)
        return replies[-1] if replies else None  # the last: the freshest

    def _ask(self, n: int, count: int, *, drain: bool = True) -> list[int]:
        """Send DLE EOT n and collect status replies until there are ``count`` (or the
        timeout). Other bytes are skipped."""
        if drain:
            self._discard_input()
        replies: list[int] = []
        try:
            self.escpos._raw(DLE_EOT + bytes([n]))
            deadline = time.monotonic() + self.timeout
            while len(replies) < count and (remaining := deadline - time.monotonic()) > 0:
                for byte in self._read(remaining):
                    if byte & REPLY_MASK == REPLY_FIXED:
                        replies.append(byte)
                    else:
                        log.debug("%s: skipped byte %#04x, not a status reply", self.where, byte)
        except _ConnectionClosed:
            self._drop()
            raise PrinterUnavailable(f"the {self.where} closed the connection") from None
        except (OSError, ValueError, EscposError) as exc:
            self._drop()
            raise PrinterUnavailable(
                f"status request to the {self.where} failed: {_reason(exc)}"
            ) from exc
        self._answers = bool(replies)
        return replies

    def _read(self, timeout: float) -> bytes:
        """What the printer has sent, waiting up to ``timeout``: b"" if nothing came."""
        device = self.escpos._device
        if isinstance(self.escpos, Network):
            assert isinstance(device, socket.socket)
            device.settimeout(timeout)
            try:
                data = device.recv(16)
            except TimeoutError:
                return b""
            finally:
                device.settimeout(self.timeout)
            if not data:
                raise _ConnectionClosed
            return data
        if isinstance(self.escpos, Serial):
            device.timeout = timeout
            try:
                return bytes(device.read(1))
            finally:
                device.timeout = self.timeout
        if isinstance(self.escpos, Usb):
            try:
                return bytes(device.read(self.escpos.in_ep, 16, max(1, int(timeout * 1000))))
            except OSError as exc:  # pyusb's USBTimeoutError is a USBError, an OSError
                if type(exc).__name__ == "USBTimeoutError":
                    return b""
                raise
        return b""


def _reason(exc: BaseException) -> str:
    """The cause of an I/O failure in a few words, on one line."""
    if isinstance(exc, EscposError) and isinstance(exc.__context__, OSError):
        exc = exc.__context__
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if isinstance(exc, DeviceNotFoundError):
        text = exc.msg
    return " ".join(text.split()) or type(exc).__name__


class _AppendingFile(File):  # type: ignore[misc]  # File is Any: python-escpos has no types
    """python-escpos's File truncates the file when it opens it; the kiosk's slip file
    keeps every slip, so this one appends (and makes the directory)."""

    device: IO[bytes] | None  # as File declares it (None: could not be opened)

    def open(self, raise_not_found: bool = True) -> None:
        if self._device:
            self.close()
        try:
            path = Path(self.devfile)
            if not path.parent.exists():
                path.parent.mkdir(parents=True)
            self.device = path.open("ab")
        except OSError as exc:
            self.device = None
            raise DeviceNotFoundError(f"cannot open {self.devfile} for appending: {exc}") from exc


def open_printer(settings: KioskSettings) -> SlipPrinter:
    """The slip printer of ``settings`` (nothing is opened before the first use).

    Raises PrinterUnavailable for a configuration that cannot work (an unknown
    ``printer_profile``, a USB printer without its vendor and product IDs)."""
    timeout = settings.printer_timeout_seconds
    profile = settings.printer_profile
    backend = settings.printer_backend
    escpos: Escpos
    try:
        if backend == "file":
            path = settings.printer_output_file
            escpos, where = _AppendingFile(str(path), profile=profile), f"file printer {path}"
        elif backend == "network":
            host, port = settings.printer_host, settings.printer_port
            escpos = Network(host, port, timeout=timeout, profile=profile)
            where = f"network printer {host}:{port}"
        elif backend == "usb":
            vendor, product = settings.printer_usb_vendor_id, settings.printer_usb_product_id
            if vendor is None or product is None:
                raise PrinterUnavailable(
                    "printer_backend = usb needs printer_usb_vendor_id and "
                    "printer_usb_product_id (see lsusb)"
                )
            if not Usb.is_usable():  # checked first: a Usb object without pyusb cannot
                # even be deleted quietly (python-escpos 3.1's close() raises then)
                raise PrinterUnavailable(
                    "printer_backend = usb needs pyusb (and libusb); it is not installed"
                )
            # pyusb takes its timeouts in milliseconds.
            escpos = Usb(vendor, product, timeout=int(timeout * 1000), profile=profile)
            where = f"USB printer {vendor:04x}:{product:04x}"
        elif backend == "serial":
            device = settings.printer_serial_device
            escpos = Serial(
                device, settings.printer_serial_baudrate, timeout=timeout, profile=profile
            )
            where = f"serial printer {device}"
        else:
            escpos, where = Dummy(profile=profile), "dummy printer (memory)"
    except KeyError as exc:
        raise PrinterUnavailable(
            f"unknown printer_profile {profile!r} (a python-escpos capabilities profile, "
            "such as 'default' or 'TM-T88V')"
        ) from exc
    except RuntimeError as exc:  # python-escpos: a library the back end needs is missing
        raise PrinterUnavailable(f"printer_backend = {backend}: {exc}") from exc
    return SlipPrinter(escpos, where, timeout)
