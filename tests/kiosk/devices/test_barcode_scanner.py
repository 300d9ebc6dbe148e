"""The library-card barcode scanner: what a scan becomes, the setting that names the
scanner, and the real SerialScanner (pyserial) reading a real tty, the FakeScanner's pty,
as it reads a scanner in serial mode: lines, endings, split writes, over-long lines that
never reach the log, and a scanner unplugged and plugged in again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import ValidationError

from kiosk.devices.barcode_scanner import (
    MAX_SCAN_CHARS,
    SerialScanner,
    SerialScannerSpec,
    clean_scan,
    parse_scanner_setting,
    scanner_from_setting,
)
from kiosk.devices.sim.fake_scanner import FakeScanner
from kiosk.settings import KioskSettings

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

WAIT = 2.0  # the longest any scan or state change may take to show (it takes milliseconds)
RETRY = 0.05  # the tests' retry interval for an absent scanner (the kiosk's: 2 s)
SENTINEL = "5550001"  # scanned last: once it arrives, everything before it has arrived


@dataclass
class Plugged:
    fake: FakeScanner
    scanner: SerialScanner
    scans: queue.Queue[str]

    def next_scan(self) -> str:
        return self.scans.get(timeout=WAIT)

    def assert_nothing_more(self) -> None:
        """Nothing else arrived: the next scan is the sentinel."""
        self.fake.scan(SENTINEL)
        assert self.next_scan() == SENTINEL


@pytest.fixture
def link(tmp_path: Path) -> Path:
    """Where the scanner is, as a /dev/serial/by-id/ name: a link that follows re-plugs."""
    return tmp_path / "usb-Scanner_0001-if00"


@pytest.fixture
def plugged(link: Path) -> Iterator[Plugged]:
    with FakeScanner(link) as fake:
        scanner = SerialScanner(str(link), retry_seconds=RETRY)
        scans: queue.Queue[str] = queue.Queue()
        scanner.start(scans.put)
        try:
            assert scanner.wait_connected(WAIT), scanner.describe()
            yield Plugged(fake, scanner, scans)
        finally:
            scanner.stop()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT} s: {what}"
        time.sleep(0.005)


def scanner_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("scanner ")]


# --- what a scan becomes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scanned", "number"),
    [
        ("4901234567894", "4901234567894"),  # EAN-13 as it is
        ("  0123456789\t", "0123456789"),  # whitespace around it
        ("\x020123456789\x03", "0123456789"),  # STX ... ETX framing
        ("01234\x1d56789", "0123456789"),  # a control character inside (GS, FNC1)
        ("A0123456789B", "0123456789"),  # Codabar's start and stop characters
        ("c0123456789d", "0123456789"),  # ... in lower case
        ("D12-34C", "12-34"),  # Codabar's data characters besides digits
        ("０１２３４５６７８９", "0123456789"),  # full-width digits
        ("Ａ０１２３Ｂ", "0123"),  # full-width Codabar: folded, then unwrapped
        ("ABC", "ABC"),  # Code 39 text: no digits inside, so not Codabar
        ("AB", "AB"),
        ("LIB-0042", "LIB-0042"),  # Code 39/128 with letters
        (" \r\n\x00 ", ""),  # nothing left
    ],
)
def test_a_scan_becomes_the_card_number(scanned: str, number: str) -> None:
    assert clean_scan(scanned) == number


# --- the setting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "spec"),
    [
        ("", None),
        ("none", None),
        (" None ", None),
        ("serial:/dev/ttyACM0", SerialScannerSpec("/dev/ttyACM0", 9600)),
        ("serial:/dev/ttyUSB0@115200", SerialScannerSpec("/dev/ttyUSB0", 115200)),
        (
            "serial:/dev/serial/by-id/usb-Denso_Wave_QK30-if00",
            SerialScannerSpec("/dev/serial/by-id/usb-Denso_Wave_QK30-if00", 9600),
        ),
    ],
)
def test_the_setting_names_a_serial_scanner_or_none(
    value: str, spec: SerialScannerSpec | None
) -> None:
    assert parse_scanner_setting(value) == spec
    scanner = scanner_from_setting(value)
    if spec is None:
        assert scanner is None
    else:
        assert isinstance(scanner, SerialScanner)
        assert (scanner.path, scanner.baudrate) == (spec.path, spec.baudrate)
        assert scanner.describe().endswith("not started")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("usb:0c2e:0b61", "unknown barcode scanner"),
        ("keyboard", "unknown barcode scanner"),
        ("/dev/ttyACM0", "unknown barcode scanner"),
        ("serial", "unknown barcode scanner"),
        ("serial:", "absolute path"),
        ("serial:ttyACM0", "absolute path"),
        ("serial:/dev/ttyACM0@", "not a baud rate"),
        ("serial:/dev/ttyACM0@fast", "not a baud rate"),
        ("serial:/dev/ttyACM0@11520", "not a baud rate"),
    ],
)
def test_any_other_setting_is_refused_with_the_forms_that_work(value: str, problem: str) -> None:
    for parse in (parse_scanner_setting, scanner_from_setting):
        with pytest.raises(ValueError, match=problem) as refused:
            parse(value)
        assert "serial:/dev/ttyACM0" in str(refused.value)


def test_a_wrong_scanner_setting_stops_the_kiosk_at_start_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIOSK_BARCODE_SCANNER", "usb:0c2e:0b61")
    with pytest.raises(ValidationError) as refused:
        KioskSettings(data_dir=tmp_path)
    message = str(refused.value)
    assert "barcode_scanner" in message
    assert "unknown barcode scanner 'usb:0c2e:0b61'" in message


def test_the_scanner_setting_defaults_to_none_and_takes_a_serial_device(tmp_path: Path) -> None:
    assert KioskSettings(data_dir=tmp_path).barcode_scanner == ""
    settings = KioskSettings(data_dir=tmp_path, barcode_scanner=" serial:/dev/ttyACM0@19200 ")
    assert settings.barcode_scanner == "serial:/dev/ttyACM0@19200"


# --- reading a scanner: real pyserial on a real tty ---------------------------------------------


def test_a_scan_arrives_cleaned(plugged: Plugged) -> None:
    plugged.fake.scan(" \x020123456789\x03 ")
    assert plugged.next_scan() == "0123456789"
    assert plugged.scanner.scans == 1
    assert "connected, 1 scans" in plugged.scanner.describe()


def test_a_codabar_scan_arrives_without_its_start_and_stop_characters(plugged: Plugged) -> None:
    plugged.fake.scan("0123456789", codabar=True)
    assert plugged.next_scan() == "0123456789"


@pytest.mark.parametrize("ending", ["\r", "\n", "\r\n"], ids=["CR", "LF", "CRLF"])
def test_each_line_ending_ends_a_scan_and_makes_no_empty_one(plugged: Plugged, ending: str) -> None:
    plugged.fake.scan("1111", ending=ending)
    plugged.fake.scan("2222", ending=ending)
    assert [plugged.next_scan(), plugged.next_scan()] == ["1111", "2222"]
    plugged.assert_nothing_more()


def test_a_scan_split_across_two_writes_arrives_once_and_whole(plugged: Plugged) -> None:
    plugged.fake.write(b"01234")
    assert plugged.fake.wait_read(WAIT), "the reader did not take the first half"
    assert plugged.scans.empty(), "half a line was passed on"
    plugged.fake.write(b"56789\r\n")
    assert plugged.next_scan() == "0123456789"
    plugged.assert_nothing_more()


def test_empty_lines_are_ignored(plugged: Plugged) -> None:
    plugged.fake.write(b"\r\n\n  \r\n\x03\r")
    plugged.assert_nothing_more()


@pytest.mark.parametrize("length", [MAX_SCAN_CHARS + 1, 100, 1000])
def test_an_overlong_line_is_dropped_and_never_logged(
    plugged: Plugged, caplog: pytest.LogCaptureFixture, length: int
) -> None:
    caplog.set_level(logging.DEBUG)  # the most talkative setting a technician could choose
    long_line = ("9876543210" * 100)[:length]
    plugged.fake.scan(long_line)
    plugged.assert_nothing_more()
    drops = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(drops) == 1
    assert str(length) in drops[0].getMessage()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    pieces = {long_line[i : i + 5] for i in range(len(long_line) - 4)}
    assert not [piece for piece in pieces if piece in logged]


def test_a_line_of_exactly_the_maximum_length_is_a_scan(plugged: Plugged) -> None:
    plugged.fake.scan("7" * MAX_SCAN_CHARS)
    assert plugged.next_scan() == "7" * MAX_SCAN_CHARS


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_full_width_digits_fold_to_ascii(plugged: Plugged, encoding: str) -> None:
    plugged.fake.scan("０１２３４５６７８９", encoding=encoding)
    assert plugged.next_scan() == "0123456789"


def test_a_failing_scan_handler_loses_that_scan_only_and_logs_no_number(
    link: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    scans: queue.Queue[str] = queue.Queue()

    def on_scan(number: str) -> None:
        if number == "31415926":
            raise ValueError(f"no library card {number}")
        scans.put(number)

    with FakeScanner(link) as fake:
        scanner = SerialScanner(str(link), retry_seconds=RETRY)
        scanner.start(on_scan)
        try:
            assert scanner.wait_connected(WAIT)
            fake.scan("31415926")
            fake.scan(SENTINEL)
            assert scans.get(timeout=WAIT) == SENTINEL
        finally:
            scanner.stop()
    assert "the scan handler raised ValueError" in caplog.text
    assert "31415926" not in caplog.text


# --- unplugged and plugged in again -------------------------------------------------------------


def test_an_unplugged_scanner_is_logged_once_and_found_again_when_plugged_in(
    plugged: Plugged, link: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    plugged.fake.unplug()
    # It keeps looking: several retries, each failing (a debug line), with one warning.
    wait_until(
        lambda: sum("still absent" in r.getMessage() for r in caplog.records) >= 3,
        "three retries",
    )
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings if "lost" in r.getMessage()] == [
        r.getMessage() for r in warnings
    ]
    assert len(warnings) == 1
    assert not plugged.scanner.connected
    assert "NOT CONNECTED" in plugged.scanner.describe()
    assert scanner_threads(), "the reader gave up"

    with FakeScanner(link) as again:
        assert plugged.scanner.wait_connected(WAIT), plugged.scanner.describe()
        again.scan("0123456789", codabar=True)
        assert plugged.next_scan() == "0123456789"
    assert any("connected again" in r.getMessage() for r in caplog.records)


def test_a_scanner_absent_at_start_is_logged_once_and_read_once_plugged_in(
    link: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    scanner = SerialScanner(str(link), retry_seconds=RETRY)
    scans: queue.Queue[str] = queue.Queue()
    scanner.start(scans.put)
    try:
        wait_until(
            lambda: sum("still absent" in r.getMessage() for r in caplog.records) >= 3,
            "three retries",
        )
        assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
        assert "NOT CONNECTED" in scanner.describe()
        with FakeScanner(link) as fake:
            assert scanner.wait_connected(WAIT), scanner.describe()
            fake.scan("0042")
            assert scans.get(timeout=WAIT) == "0042"
    finally:
        scanner.stop()


def test_stop_ends_the_reader_whether_the_scanner_is_there_or_not(link: Path) -> None:
    assert not scanner_threads()
    scanner = SerialScanner(str(link), retry_seconds=RETRY)
    with FakeScanner(link) as fake:
        scanner.start(lambda number: None)
        assert scanner.wait_connected(WAIT)
        started = time.monotonic()
        scanner.stop()
        assert time.monotonic() - started < 1
        assert not scanner_threads()
        assert scanner.describe().endswith("not started")
        # Started again, then unplugged: it keeps retrying, and stop still ends it.
        scanner.start(lambda number: None)
        assert scanner.wait_connected(WAIT)
        fake.unplug()
        wait_until(lambda: not scanner.connected, "the reader to notice the unplug")
        scanner.stop()
        assert not scanner_threads()


def test_a_scanner_cannot_be_started_twice(plugged: Plugged) -> None:
    with pytest.raises(RuntimeError, match="started already"):
        plugged.scanner.start(lambda number: None)
