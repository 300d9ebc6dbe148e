"""The kiosk's checks, as technician mode and ``kiosk-provision check`` ask them, with real
parts: the virtual card through the in-process reader, the loopback ESC/POS network
printer in each of its states, the kiosk's queue file, and for "sync now" a real grant
service (``tests/support/kiosk_harness.py``) and a real ``kiosk-sync``."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from kiosk.devices import errors
from kiosk.devices.jpki import JpkiCard
from kiosk.devices.printer import PrinterUnavailable, open_printer
from kiosk.devices.sim.escpos_printer import LoopbackPrinter, PrinterState
from kiosk.devices.sim.loopback import VirtualReader
from kiosk.devices.sim.virtual_card import VirtualJpkiCard
from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.service_client import ServiceClient
from kiosk.link.submit import Submitter
from kiosk.offline_queue.store import open_queue
from kiosk.settings import KioskSettings
from kiosk.shell.assembly import Kiosk, assembled
from kiosk.shell.parts import KioskParts
from kiosk.slip.desk import SlipDesk
from kiosk.technician.checks import printer_status, read_card, run_check, version_line
from tests.conftest import WRONG_PIN
from tests.support.escpos_decoder import decode
from tests.support.kiosk_harness import KioskRig

TIMEOUT = 0.3  # the printer's status wait: a silent printer answers "unknown" this fast


@pytest.fixture
def loopback() -> Iterator[LoopbackPrinter]:
    with LoopbackPrinter(port=0) as printer:
        yield printer


def printer_settings(tmp_path: Path, loopback: LoopbackPrinter) -> KioskSettings:
    return KioskSettings(
        data_dir=tmp_path / "data",
        printer_backend="network",
        printer_port=loopback.port,
        printer_timeout_seconds=TIMEOUT,
    )


# --- the test read ------------------------------------------------------------------------


def test_a_test_read_takes_the_certificates_size_and_validity_and_spends_no_pin_try(
    card_file: Path,
) -> None:
    certificate = VirtualJpkiCard(card_file).certificate
    reader = VirtualReader(card_file)
    first = read_card(reader, 1)
    assert first.valid_until == certificate.not_valid_after_utc
    assert first.certificate_size == len(certificate.public_bytes(serialization.Encoding.DER))
    assert first.pin_tries_left == 3
    assert read_card(reader, 1).pin_tries_left == 3  # asking the tries spends none


def test_a_test_read_shows_the_tries_a_wrong_pin_left(card_file: Path) -> None:
    reader = VirtualReader(card_file)
    with reader.wait_for_card(1) as connection, pytest.raises(errors.WrongPin):
        JpkiCard(connection).verify_pin(WRONG_PIN)
    assert read_card(reader, 1).pin_tries_left == 2


def test_a_test_read_without_a_card_or_a_reader_raises_the_card_layers_error(
    card_file: Path, tmp_path: Path
) -> None:
    reader = VirtualReader(card_file)
    reader.remove()
    started = time.monotonic()
    with pytest.raises(errors.NoCard):
        read_card(reader, 0.2)
    assert time.monotonic() - started < 2  # waits as long as it was told, not longer
    with pytest.raises(errors.NoReader, match="no virtual card"):
        read_card(VirtualReader(tmp_path / "no-card.json"), 1)


# --- the printer's status -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "online", "paper"),
    [
        (PrinterState.OK, True, "ok"),
        (PrinterState.NEAR_END, True, "near_end"),
        (PrinterState.PAPER_OUT, False, "out"),
        (PrinterState.COVER_OPEN, False, "ok"),
        (PrinterState.SILENT, None, "unknown"),
    ],
)
def test_the_printer_status_is_what_the_printer_answers(
    tmp_path: Path, loopback: LoopbackPrinter, state: PrinterState, online: bool, paper: str
) -> None:
    loopback.state = state
    with open_printer(printer_settings(tmp_path, loopback)) as printer:
        status = printer_status(printer)
    assert (status.online, status.paper) == (online, paper), status.detail
    assert f"network printer 127.0.0.1:{loopback.port}" in status.detail


def test_a_printer_that_cannot_be_reached_raises_printer_unavailable(
    tmp_path: Path, loopback: LoopbackPrinter
) -> None:
    loopback.state = PrinterState.DOWN
    with (
        open_printer(printer_settings(tmp_path, loopback)) as printer,
        pytest.raises(PrinterUnavailable, match="cannot open the network printer"),
    ):
        printer_status(printer)


# --- technician mode's actions, on the kiosk's own parts --------------------------------


@pytest.fixture
def parts(tmp_path: Path, card_file: Path, loopback: LoopbackPrinter) -> Iterator[KioskParts]:
    """An enrolled kiosk's parts with no service behind them (only "sync now" needs
    one): the card on the reader, the loopback printer, the kiosk's queue file."""
    settings = printer_settings(tmp_path, loopback).model_copy(
        update={"service_url": "http://127.0.0.1:9", "store_name": "ローソン 霞が関店"}
    )
    store = open_queue(settings)
    client = ServiceClient(settings.service_url, DeviceIdentity.generate("kiosk-0001"))
    slips = SlipDesk(settings)
    try:
        yield KioskParts(settings, VirtualReader(card_file), Submitter(store, client, settings),
                         client, slips)  # fmt: skip
    finally:
        slips.close()
        client.close()
        store.close()


def test_device_status_names_the_reader_the_printers_state_and_the_service(
    parts: KioskParts, card_file: Path, loopback: LoopbackPrinter
) -> None:
    reader, printer, service, version = run_check("device_status", parts)
    assert reader == f"reader: virtual ({card_file})"
    assert printer.startswith(f"printer: network printer 127.0.0.1:{loopback.port}: online")
    assert "paper ok" in printer, printer
    assert service == "grant service: http://127.0.0.1:9"
    assert version == version_line() and version.startswith("mynapoint-kiosk ")

    loopback.state = PrinterState.DOWN  # its open connection closed, no new one taken
    printer = run_check("device_status", parts)[1]
    assert printer.startswith("printer: NOT READY: "), printer
    assert f"network printer 127.0.0.1:{loopback.port}" in printer


def test_the_test_read_shows_the_validity_and_tries_never_the_serial_number(
    parts: KioskParts, card_file: Path
) -> None:
    certificate = VirtualJpkiCard(card_file).certificate
    size = len(certificate.public_bytes(serialization.Encoding.DER))
    lines = run_check("test_read", parts)
    assert lines[0] == (
        f"test read OK: certificate of {size} bytes, valid until "
        f"{certificate.not_valid_after_utc:%Y-%m-%d}; PIN tries left 3"
    )
    assert not any(f"{certificate.serial_number:X}" in line for line in lines)

    reader = parts.reader
    assert isinstance(reader, VirtualReader)
    reader.remove()
    assert run_check("test_read", parts)[0].startswith("test read failed: ")


def test_the_test_print_sends_the_sample_slip_or_says_why_not(
    parts: KioskParts, loopback: LoopbackPrinter
) -> None:
    lines = run_check("test_print", parts)
    assert lines[0].startswith("test print sent: "), lines
    printed = decode(loopback.received)
    assert printed.cuts == 1 and (printed.lines or printed.rasters)  # one whole slip

    loopback.state = PrinterState.PAPER_OUT
    lines = run_check("test_print", parts)
    assert lines[0].startswith("test print FAILED: "), lines
    assert "paper" in lines[0]


def test_the_queue_status_counts_the_kiosks_queue(parts: KioskParts) -> None:
    status, last, _version = run_check("queue_status", parts)
    assert status == "queue: 0 unsent (oldest -); empty"
    assert last == "last success: -; last error: -"


def test_an_unknown_action_is_named_and_nothing_runs(
    parts: KioskParts, loopback: LoopbackPrinter
) -> None:
    assert run_check("format_disk", parts) == ["unknown action 'format_disk'"]
    assert loopback.received == b""


@contextmanager
def technician_kiosk(rig: KioskRig) -> Iterator[Kiosk]:
    """The kiosk as ``kiosk run`` assembles it, before a real grant service."""
    settings = rig.settings.model_copy(update={"printer_backend": "dummy"})
    with assembled(settings, reader=VirtualReader(rig.card.path)) as kiosk:
        yield kiosk


def test_sync_now_sends_what_the_queue_status_counted(rig: KioskRig) -> None:
    with technician_kiosk(rig) as kiosk:
        status, last = run_check("queue_status", kiosk.parts)[:2]
        assert status == "queue: 0 unsent (oldest -); empty"
        assert last == "last success: -; last error: -"

        rig.queue(2)  # made offline: the kiosk's own queue file
        status = run_check("queue_status", kiosk.parts)[0]
        assert status.startswith("queue: 2 unsent (oldest 20") and status.endswith("pending 2")

        assert run_check("sync_now", kiosk.parts)[0] == "sync: 2 sent, 2 accepted, 0 rejected"
        status, last = run_check("queue_status", kiosk.parts)[:2]
        assert status == "queue: 0 unsent (oldest -); accepted 2"
        assert not last.startswith("last success: -;"), last
    rig.assert_exactly_once()


def test_sync_now_asks_a_running_kiosk_sync_instead_of_racing_it(
    rig: KioskRig, start_cli: Callable[..., subprocess.Popen[str]]
) -> None:
    # Its next round is an hour away: only the technician's request sends now.
    sync = start_cli("kiosk-sync", env={**rig.env, "KIOSK_SYNC_INTERVAL_SECONDS": "3600"})
    assert sync.stderr is not None
    for line in sync.stderr:
        if "kiosk-sync started" in line:
            break
    with technician_kiosk(rig) as kiosk:
        rig.queue(1)
        lines = run_check("sync_now", kiosk.parts)
        assert lines[0] == f"asked kiosk-sync (pid {sync.pid}) to send everything now"
        deadline = time.monotonic() + 20
        while run_check("queue_status", kiosk.parts)[0] != "queue: 0 unsent (oldest -); accepted 1":
            assert time.monotonic() < deadline, "kiosk-sync did not send when asked"
            time.sleep(0.1)
    rig.assert_exactly_once()
