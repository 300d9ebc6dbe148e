"""The slip printer adapter, through python-escpos's real back ends.

The network paths run against the loopback ESC/POS printer (kiosk.devices.sim.escpos_printer),
a TCP server that records every byte and answers DLE EOT n like a printer.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.devices.printer import (
    PaperOut,
    PrinterOffline,
    PrinterStatus,
    PrinterUnavailable,
    SlipPrinter,
    interpret_status,
    open_printer,
)
from kiosk.devices.sim.escpos_printer import REPLIES, LoopbackPrinter, PrinterState
from kiosk.settings import KioskSettings

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

TIMEOUT = 0.3  # the status timeout of these tests: silence costs this much
STATUS_1, STATUS_2, STATUS_4 = b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x04"


def golden_slip(raster_bytes: int = 24 * 1024) -> bytes:
    """A slip as the renderer makes one: initialise, a line of text, a raster image
    (GS v 0, 576 dots wide), feed and cut. The raster data is fixed pseudo-random bytes,
    so it holds every byte value, 10 04 n sequences included."""
    width = 72  # bytes per row: 576 dots
    rows = raster_bytes // width
    raster = random.Random(20240901).randbytes(width * rows)
    header = b"\x1dv0\x00" + width.to_bytes(2, "little") + rows.to_bytes(2, "little")
    return b"\x1b@" + b"Mynapoint\n" + header + raster + b"\x1bd\x04" + b"\x1dV\x01"


def settings(tmp_path: Path, **overrides: Any) -> KioskSettings:
    return KioskSettings(data_dir=tmp_path / "data", printer_timeout_seconds=TIMEOUT, **overrides)


@pytest.fixture
def loopback() -> Iterator[LoopbackPrinter]:
    with LoopbackPrinter(port=0) as printer:
        yield printer


@pytest.fixture
def printer(loopback: LoopbackPrinter, tmp_path: Path) -> Iterator[SlipPrinter]:
    with open_printer(
        settings(tmp_path, printer_backend="network", printer_port=loopback.port)
    ) as slip_printer:
        yield slip_printer


# --- Status through the network back end -------------------------------------------------


@pytest.mark.parametrize(
    ("state", "online", "paper", "words", "requests"),
    [
        (PrinterState.OK, True, "ok", "online; paper ok", [1, 4]),
        (PrinterState.NEAR_END, True, "near_end", "paper near end", [1, 4]),
        (PrinterState.PAPER_OUT, False, "out", "stopped at paper end", [1, 2, 4]),
        (PrinterState.COVER_OPEN, False, "ok", "offline (cover open)", [1, 2, 4]),
    ],
)
def test_status(
    loopback: LoopbackPrinter,
    printer: SlipPrinter,
    state: PrinterState,
    online: bool,
    paper: str,
    words: str,
    requests: list[int],
) -> None:
    loopback.state = state
    status = printer.status()
    assert (status.online, status.paper) == (online, paper)
    assert words in status.detail
    assert status.detail.startswith(f"network printer 127.0.0.1:{loopback.port}: ")
    assert loopback.requests == requests


def test_status_follows_the_printer_on_one_connection(
    loopback: LoopbackPrinter, printer: SlipPrinter
) -> None:
    for state, paper in [
        (PrinterState.OK, "ok"),
        (PrinterState.NEAR_END, "near_end"),
        (PrinterState.PAPER_OUT, "out"),
        (PrinterState.OK, "ok"),
    ]:
        loopback.state = state
        assert printer.status().paper == paper
    assert loopback.connections == 1


def test_silence_is_unknown_not_paper_out(loopback: LoopbackPrinter, printer: SlipPrinter) -> None:
    loopback.state = PrinterState.SILENT
    started = time.monotonic()
    status = printer.status()
    elapsed = time.monotonic() - started
    assert status.online is None
    assert status.paper == "unknown"
    assert "no reply" in status.detail and "not taken as out of paper" in status.detail
    # One request waited for, not three.
    assert TIMEOUT <= elapsed < 2 * TIMEOUT
    assert loopback.requests == [1]


def test_printer_down(loopback: LoopbackPrinter, printer: SlipPrinter) -> None:
    loopback.state = PrinterState.DOWN
    with pytest.raises(PrinterUnavailable) as caught:
        printer.status()
    assert caught.value.message_key == "printer.unavailable"
    assert caught.value.detail == (
        f"cannot open the network printer 127.0.0.1:{loopback.port}: Connection refused; "
        "check that it is switched on and connected, and the printer_* settings"
    )
    with pytest.raises(PrinterUnavailable, match="Connection refused"):
        printer.print_slip(b"slip")
    with pytest.raises(PrinterUnavailable, match="Connection refused"):
        printer.send(b"slip")
    assert loopback.received == b""


def test_reconnects_when_the_printer_comes_back(
    loopback: LoopbackPrinter, printer: SlipPrinter
) -> None:
    assert printer.status().online is True
    loopback.state = PrinterState.DOWN  # closes the open connection too
    with pytest.raises(PrinterUnavailable):
        printer.status()
    loopback.state = PrinterState.OK
    assert printer.status().online is True
    # A connection the printer closed while idle is replaced, not reported as a failure.
    loopback.state = PrinterState.DOWN
    loopback.state = PrinterState.OK
    assert printer.status().online is True
    assert loopback.connections == 3


# --- Sending ------------------------------------------------------------------------------


def test_bytes_arrive_intact(loopback: LoopbackPrinter, printer: SlipPrinter) -> None:
    slip = golden_slip()
    printer.send(slip)
    # The DLE EOT 1 after the slip confirms delivery: its reply means every byte arrived.
    assert loopback.received == slip + STATUS_1


def test_print_slip(loopback: LoopbackPrinter, printer: SlipPrinter) -> None:
    slip = golden_slip()
    status = printer.print_slip(slip)
    assert status == PrinterStatus(True, "ok", status.detail)
    assert loopback.received == STATUS_1 + STATUS_4 + slip + STATUS_1


def test_print_slip_near_end_prints_and_says_so(
    loopback: LoopbackPrinter, printer: SlipPrinter
) -> None:
    loopback.state = PrinterState.NEAR_END
    slip = golden_slip(1024)
    status = printer.print_slip(slip)
    assert (status.online, status.paper) == (True, "near_end")
    assert loopback.received == STATUS_1 + STATUS_4 + slip + STATUS_1


@pytest.mark.parametrize(
    ("state", "error", "message_key"),
    [
        (PrinterState.PAPER_OUT, PaperOut, "printer.paper_out"),
        (PrinterState.COVER_OPEN, PrinterOffline, "printer.offline"),
    ],
)
def test_print_slip_refuses_and_sends_nothing(
    loopback: LoopbackPrinter,
    printer: SlipPrinter,
    state: PrinterState,
    error: type[Exception],
    message_key: str,
) -> None:
    loopback.state = state
    with pytest.raises(error) as caught:
        printer.print_slip(golden_slip())
    assert caught.value.message_key == message_key  # type: ignore[attr-defined]
    assert caught.value.status.online is False  # type: ignore[attr-defined]
    assert loopback.received == STATUS_1 + STATUS_2 + STATUS_4  # status requests only


def test_offline_is_a_kind_of_unavailable() -> None:
    assert issubclass(PrinterOffline, PrinterUnavailable)


def test_print_slip_to_a_silent_printer(loopback: LoopbackPrinter, printer: SlipPrinter) -> None:
    """No status: the slip is sent anyway (the printer may just not answer DLE EOT), and
    the flow gets the unknown status; no second wait for a delivery confirmation."""
    loopback.state = PrinterState.SILENT
    slip = golden_slip(1024)
    started = time.monotonic()
    status = printer.print_slip(slip)
    elapsed = time.monotonic() - started
    assert (status.online, status.paper) == (None, "unknown")
    assert TIMEOUT <= elapsed < 2 * TIMEOUT
    assert loopback.wait_received(3 + len(slip)) == STATUS_1 + slip


@pytest.mark.parametrize(
    ("cut_after", "size"),
    [
        (100, 1024),  # all of it fits in the socket buffers: the confirmation notices
        (10_000, 4 * 1024 * 1024),  # the writes themselves fail
    ],
)
def test_printer_dies_mid_write(
    loopback: LoopbackPrinter, printer: SlipPrinter, cut_after: int, size: int
) -> None:
    loopback.cut_after = cut_after
    slip = golden_slip(size)
    with pytest.raises(PrinterUnavailable) as caught:
        printer.send(slip)
    assert caught.value.message_key == "printer.unavailable"
    assert "the slip may be incomplete" in caught.value.detail
    assert "\n" not in caught.value.detail
    assert loopback.received == slip[:cut_after]
    # The next slip gets a new connection.
    loopback.cut_after = None
    loopback.clear()
    printer.send(b"next")
    assert loopback.received == b"next" + STATUS_1


# --- File and Dummy -----------------------------------------------------------------------


def test_file_back_end_appends(tmp_path: Path) -> None:
    config = settings(tmp_path)  # printer_backend = file, the default
    path = config.printer_output_file
    assert path == tmp_path / "data" / "printer.bin"  # its directory does not exist yet
    with open_printer(config) as printer:
        status = printer.status()
        assert (status.online, status.paper) == (None, "unknown")
        assert "cannot report" in status.detail and str(path) in status.detail
        assert printer.print_slip(b"first slip\n") == status
    with open_printer(config) as printer:
        printer.send(b"second slip\n")
    assert path.read_bytes() == b"first slip\nsecond slip\n"


def test_file_back_end_cannot_write(tmp_path: Path) -> None:
    (tmp_path / "not-a-directory").write_text("")
    config = settings(tmp_path, printer_file=tmp_path / "not-a-directory" / "printer.bin")
    with open_printer(config) as printer, pytest.raises(PrinterUnavailable, match="cannot open"):
        printer.send(b"slip")


def test_dummy_back_end_collects(tmp_path: Path) -> None:
    with open_printer(settings(tmp_path, printer_backend="dummy")) as printer:
        assert printer.status().online is None
        printer.send(b"one ")
        printer.print_slip(golden_slip(1024))
        assert printer.escpos.output == b"one " + golden_slip(1024)  # type: ignore[attr-defined]


# --- Configuration ------------------------------------------------------------------------


def test_unknown_profile(tmp_path: Path) -> None:
    with pytest.raises(PrinterUnavailable, match="unknown printer_profile 'TM-NOPE'"):
        open_printer(settings(tmp_path, printer_profile="TM-NOPE"))


def test_usb_needs_its_ids(tmp_path: Path) -> None:
    with pytest.raises(PrinterUnavailable, match="printer_usb_vendor_id"):
        open_printer(settings(tmp_path, printer_backend="usb"))


def test_missing_serial_device(tmp_path: Path) -> None:
    config = settings(tmp_path, printer_backend="serial", printer_serial_device="/nonexistent/tty9")
    with open_printer(config) as printer, pytest.raises(PrinterUnavailable) as caught:
        printer.status()
    assert caught.value.detail.startswith(
        "cannot open the serial printer /nonexistent/tty9: could not open port"
    )


def test_missing_usb_printer(tmp_path: Path) -> None:
    """Without pyusb the back end is refused when it is configured; with it, the printer
    is not found (no USB printer has these IDs)."""
    config = settings(
        tmp_path, printer_backend="usb", printer_usb_vendor_id=0x04B8, printer_usb_product_id=1
    )
    with (
        pytest.raises(PrinterUnavailable, match=r"needs pyusb|cannot open the USB printer"),
        open_printer(config) as printer,
    ):
        printer.status()


# --- The status bits ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replies", "online", "paper"),
    [
        ((0x12, None, 0x12), True, "ok"),
        ((0x12, None, 0x1E), True, "near_end"),  # DLE EOT 4 bits 2-3
        ((0x1A, 0x32, 0x7E), False, "out"),  # paper end: bits 5-6, and near end too
        ((0x1A, 0x32, 0x12), False, "out"),  # stopped at paper end (DLE EOT 2 bit 5)
        ((0x1A, 0x16, 0x12), False, "ok"),  # cover open (DLE EOT 2 bit 2)
        ((0x1A, 0x52, 0x12), False, "ok"),  # error (DLE EOT 2 bit 6)
        ((0x12, None, None), True, "unknown"),
        ((None, None, None), None, "unknown"),
    ],
)
def test_interpret_status(replies: tuple[int | None, ...], online: bool, paper: str) -> None:
    status = interpret_status(*replies, source="printer")
    assert (status.online, status.paper) == (online, paper)


def test_loopback_replies_have_the_fixed_bits() -> None:
    for replies in REPLIES.values():
        for byte in replies.values():
            assert byte & 0b1001_0011 == 0b0001_0010


# --- Settings, as a technician writes them ------------------------------------------------


def test_printer_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment values are text: USB IDs as lsusb prints them (hex), the paper width."""
    monkeypatch.setenv("KIOSK_PRINTER_USB_VENDOR_ID", "04b8")
    monkeypatch.setenv("KIOSK_PRINTER_USB_PRODUCT_ID", "0x0E15")
    monkeypatch.setenv("KIOSK_PAPER_WIDTH_MM", "58")
    config = KioskSettings()
    assert (config.printer_usb_vendor_id, config.printer_usb_product_id) == (0x04B8, 0x0E15)
    assert config.paper_width_mm == 58


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("KIOSK_PAPER_WIDTH_MM", "60", "paper_width_mm must be 58 or 80"),
        ("KIOSK_PRINTER_USB_VENDOR_ID", "epson", "'epson' is not a USB ID"),
        ("KIOSK_PRINTER_BACKEND", "bluetooth", "printer_backend"),
    ],
)
def test_bad_printer_settings_are_refused_clearly(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=words):
        KioskSettings()


def test_importing_the_printer_leaves_logging_alone() -> None:
    """python-escpos configures the root logger when imported; ours takes that back, so
    a program's own logging set-up (kiosk-sync's) still works."""
    code = (
        "import logging, kiosk.devices.printer, receipts.render\n"
        "assert logging.root.handlers == [], logging.root.handlers\n"
        "import escpos.capabilities\n"  # already imported: no new handler either
        "assert logging.root.handlers == []\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_importing_the_printer_leaves_no_directory_in_tmp(tmp_path: Path) -> None:
    """python-escpos caches its printer database in a new temporary directory at each
    import and never removes it; ours goes when the process ends, and is not handed to
    child processes (which would share, then lose it)."""
    code = (
        "import os, kiosk.devices.printer\n"
        "assert 'ESCPOS_CAPABILITIES_PICKLE_DIR' not in os.environ\n"
        "import escpos.capabilities as c\n"
        "print(c.pickle_dir)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("ESCPOS_CAPABILITIES_PICKLE_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(tmp_path))  # it was there while it ran
    assert list(tmp_path.iterdir()) == []


def test_the_loopback_printer_from_a_shell(tmp_path: Path) -> None:
    """As docs/slip.md runs it: in the background, stopped with kill, the bytes saved."""
    saved = tmp_path / "received.bin"
    emulator = [sys.executable, "-m", "kiosk.devices.sim.escpos_printer"]
    command = [*emulator, "--port", "0", "--state", "near_end", "--save", str(saved)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as server:
        assert server.stdout is not None
        banner = server.stdout.readline()
        port = int(banner.split("127.0.0.1:")[1].split()[0])
        config = KioskSettings(
            printer_backend="network", printer_port=port, printer_timeout_seconds=TIMEOUT
        )
        with open_printer(config) as printer:
            assert printer.print_slip(b"slip\n").paper == "near_end"
        server.terminate()
        assert server.wait(10) == 0
    assert saved.read_bytes() == STATUS_1 + STATUS_4 + b"slip\n" + STATUS_1
