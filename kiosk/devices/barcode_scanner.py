"""The barcode scanner for library cards: one scan in, one cleaned card number out.

At a city-hall kiosk a citizen links their library card to their MyKey ID by typing its
number or, where the kiosk has a scanner, by scanning the card's barcode. Japanese library
cards mostly carry NW-7 (Codabar), else Code 39, Code 128 or EAN-13. Kiosk scanners run in
serial mode, USB CDC-ACM (``/dev/ttyACM0``) or RS-232 (``/dev/ttyUSB0``), and write each
scan as one line of ASCII ending in CR, LF or CR LF::

    scanner = scanner_from_setting(settings.barcode_scanner)   # None: no scanner
    if scanner is not None:
        scanner.start(on_scan)     # called on the reader's thread, once per scan
        ...
        scanner.stop()

``clean_scan`` is the rule for what a scan becomes; ``parse_scanner_setting`` the rule for
the ``barcode_scanner`` setting (the settings call it, so a wrong value stops the kiosk at
start). A library card number is personal data: nothing here logs what was scanned, only
how long it was.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import serial  # type: ignore[import-untyped]  # pyserial has no type information

log = logging.getLogger(__name__)

MAX_SCAN_CHARS = 64  # a longer line is no card number: dropped
# A line is kept in bytes until its end comes; past this many it cannot be 64 characters
# (UTF-8 takes at most 4 bytes a character), so the rest is only counted, not kept.
_MAX_LINE_BYTES = 4 * MAX_SCAN_CHARS
RETRY_SECONDS = 2.0  # how often an absent (unplugged) scanner is looked for again
POLL_SECONDS = 0.1  # a read waits this long, then looks at the stop signal
DEFAULT_BAUDRATE = 9600

SETTING_FORMS = "'' or 'none' (no scanner), 'serial:/dev/ttyACM0', 'serial:/dev/ttyACM0@115200'"

_LINE_END = re.compile(rb"\r|\n")
# Codabar (NW-7): data characters 0-9 - $ : / . + between a start and a stop character,
# A, B, C or D (some scanners send them in lower case).
_CODABAR = re.compile(r"[A-Da-d]([0-9\-$:/.+]*[0-9][0-9\-$:/.+]*)[A-Da-d]")


# --- the rules -----------------------------------------------------------------------------


def clean_scan(text: str) -> str:
    """What a scanned line becomes: full-width characters folded to ASCII (NFKC), control
    characters removed, surrounding whitespace stripped, and Codabar's start and stop
    characters dropped where they wrap digits ("A0123456B" -> "0123456"). "" when
    nothing is left."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf")).strip()
    if codabar := _CODABAR.fullmatch(text):
        return codabar.group(1)
    return text


@dataclass(frozen=True)
class SerialScannerSpec:
    """A scanner in serial mode, as the setting names it."""

    path: str
    baudrate: int = DEFAULT_BAUDRATE


def parse_scanner_setting(value: str) -> SerialScannerSpec | None:
    """The scanner ``value`` (the ``barcode_scanner`` setting) names; None for no scanner.

    Raises ValueError, saying the accepted forms, for anything else."""
    text = value.strip()
    if text.lower() in ("", "none"):
        return None
    kind, colon, rest = text.partition(":")
    if kind != "serial" or not colon:
        raise ValueError(f"unknown barcode scanner {value!r}; use {SETTING_FORMS}")
    path, at, baud = rest.rpartition("@") if "@" in rest else (rest, "", "")
    if not path.startswith("/"):
        raise ValueError(
            f"barcode scanner {value!r}: the device must be an absolute path, as in "
            "'serial:/dev/ttyACM0' (or a /dev/serial/by-id/ name)"
        )
    if not at:
        return SerialScannerSpec(path)
    if not baud.isdigit() or int(baud) not in serial.Serial.BAUDRATES:
        raise ValueError(
            f"barcode scanner {value!r}: {baud!r} is not a baud rate; scanners use 9600 "
            "(the default), 19200, 38400, 57600 or 115200"
        )
    return SerialScannerSpec(path, int(baud))


# --- the scanners --------------------------------------------------------------------------


class BarcodeScanner(Protocol):
    """A source of scans. ``on_scan`` gets each scan, cleaned (``clean_scan``), on the
    scanner's own thread: a Kivy screen hands it to its thread (``Clock.schedule_once``)."""

    def start(self, on_scan: Callable[[str], None]) -> None: ...

    def stop(self) -> None: ...

    def describe(self) -> str:
        """One line for the technician's checks: which scanner, and whether it is there."""
        ...


class _ScanLines:
    """Bytes from the scanner in, scans out: splits lines at CR or LF, decodes and cleans
    them, and drops empty, over-long and undecodable ones (logging their length only)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self._pending = b""
        self._overflow = 0  # bytes thrown away from the current, over-long line

    def feed(self, data: bytes) -> list[str]:
        scans = []
        self._pending += data
        while end := _LINE_END.search(self._pending):
            line, self._pending = self._pending[: end.start()], self._pending[end.end() :]
            overflow, self._overflow = self._overflow, 0
            if overflow:
                self._drop_long(overflow + len(line), "bytes")
            elif (scan := self._scan(line)) is not None:
                scans.append(scan)
        if len(self._pending) > _MAX_LINE_BYTES:
            self._overflow += len(self._pending)
            self._pending = b""
        return scans

    def _scan(self, line: bytes) -> str | None:
        text = _decode(line)
        if text is None:
            log.warning(
                "barcode scanner %s: dropped a line of %d bytes that is not text "
                "(check the scanner's character set: ASCII)",
                self.where,
                len(line),
            )
            return None
        if len(text) > MAX_SCAN_CHARS:
            self._drop_long(len(text), "characters")
            return None
        return clean_scan(text) or None

    def _drop_long(self, length: int, unit: str) -> None:
        log.warning(
            "barcode scanner %s: dropped a line of %d %s (more than %d characters: not a "
            "card number)",
            self.where,
            length,
            unit,
            MAX_SCAN_CHARS,
        )


def _decode(line: bytes) -> str | None:
    """Scanners write ASCII; a few write full-width digits, in UTF-8 or Shift_JIS."""
    for encoding in ("utf-8", "cp932"):
        try:
            return line.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


class SerialScanner:
    """A scanner in serial mode (USB CDC-ACM or RS-232), read with pyserial on a daemon
    thread. A scanner that is absent or unplugged is logged once and looked for again
    every ``retry_seconds`` until ``stop()``: plugging it back in needs no restart."""

    def __init__(
        self, path: str, baudrate: int = DEFAULT_BAUDRATE, *, retry_seconds: float = RETRY_SECONDS
    ) -> None:
        self.path = path
        self.baudrate = baudrate
        self.retry_seconds = retry_seconds
        self.scans = 0  # scans passed on since start (a count: never what they were)
        self._problem: str | None = None  # why the scanner cannot be read now
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._port: serial.Serial | None = None  # open, being read; guarded by _port_lock
        self._port_lock = threading.Lock()

    @property
    def where(self) -> str:
        return f"{self.path} ({self.baudrate} baud)"

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """True once the port is open (scans written before that are lost)."""
        return self._connected.wait(timeout)

    def start(self, on_scan: Callable[[str], None]) -> None:
        if self._thread is not None:
            raise RuntimeError(f"barcode scanner {self.where} is started already")
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(on_scan,), name=f"scanner {self.path}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stops reading and closes the port."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        with self._port_lock:
            if self._port is not None:
                self._port.cancel_read()  # the read waiting now returns at once
        thread.join(timeout=5 * POLL_SECONDS + 1)
        if thread.is_alive():
            log.warning("barcode scanner %s: the reader did not stop in time", self.where)

    def describe(self) -> str:
        if self._thread is None:
            state = "not started"
        elif self.connected:
            state = f"connected, {self.scans} scans since start"
        else:
            problem = self._problem or "opening"
            state = f"NOT CONNECTED: {problem}; retrying every {self.retry_seconds:g} s"
        return f"barcode scanner {self.where}: {state}"

    # --- the reader thread ---------------------------------------------------------------

    def _run(self, on_scan: Callable[[str], None]) -> None:
        reported = False  # the current absence has been logged
        while not self._stopping.is_set():
            try:
                port = serial.Serial(self.path, self.baudrate, timeout=POLL_SECONDS)
            except (serial.SerialException, OSError, ValueError) as exc:
                self._problem = _reason(exc)
                if not reported:
                    log.warning(
                        "barcode scanner %s: cannot open it (%s); looking for it every %g s",
                        self.where,
                        self._problem,
                        self.retry_seconds,
                    )
                    reported = True
                else:
                    log.debug("barcode scanner %s: still absent", self.where)
                self._stopping.wait(self.retry_seconds)
                continue
            if reported:
                log.info("barcode scanner %s: connected again", self.where)
            reported = False
            try:
                self._read(port, on_scan)
            except (serial.SerialException, OSError) as exc:
                self._problem = _reason(exc)
                log.warning(
                    "barcode scanner %s: lost (%s; unplugged?); looking for it every %g s",
                    self.where,
                    self._problem,
                    self.retry_seconds,
                )
                reported = True
            finally:
                self._connected.clear()
                with self._port_lock:
                    self._port = None
                _close(port)
            if reported:  # lost: a device that opens but fails to read is not spun on
                self._stopping.wait(self.retry_seconds)

    def _read(self, port: serial.Serial, on_scan: Callable[[str], None]) -> None:
        lines = _ScanLines(self.where)
        with self._port_lock:
            self._port = port
        self._problem = None
        self._connected.set()
        while not self._stopping.is_set():
            data = bytes(port.read(port.in_waiting or 1))
            for scan in lines.feed(data):
                self.scans += 1
                self._deliver(on_scan, scan)

    def _deliver(self, on_scan: Callable[[str], None], scan: str) -> None:
        try:
            on_scan(scan)
        except Exception as exc:  # the reader goes on; the scan is lost, not the scanner
            # Not the exception's message, nor log.exception: either may hold the scan.
            frame = exc.__traceback__
            while frame is not None and frame.tb_next is not None:
                frame = frame.tb_next
            at = f" at {frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}" if frame else ""
            log.error(
                "barcode scanner %s: the scan handler raised %s%s; that scan was lost",
                self.where,
                type(exc).__name__,
                at,
            )


def _close(port: serial.Serial) -> None:
    try:
        port.close()
    except (serial.SerialException, OSError):  # closing a vanished device: nothing to learn
        log.debug("error while closing a barcode scanner", exc_info=True)


def _reason(exc: BaseException) -> str:
    """The cause of an I/O failure in a few words, on one line."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return " ".join(text.split()) or type(exc).__name__


def scanner_from_setting(value: str) -> BarcodeScanner | None:
    """The scanner the ``barcode_scanner`` setting names (not started); None for none.

    Raises ValueError for a value that names no scanner."""
    spec = parse_scanner_setting(value)
    if spec is None:
        return None
    return SerialScanner(spec.path, spec.baudrate)
