"""The NFC path for real: nfcpy's udp driver, ISO 14443-4 Type B, ISO-DEP chaining."""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.devices import errors
from kiosk.devices.jpki import JpkiCard
from kiosk.devices.nfc import NfcReader
from kiosk.devices.sim.nfc_udp import NfcUdpCard
from kiosk.devices.sim.virtual_card import ForeignCard, RemoveAfter, VirtualJpkiCard
from tests.conftest import PIN, kiosk_session, run_cli

Field = Callable[..., NfcUdpCard]


def test_a_full_session_over_nfc(card_file: Path, nfc_field: Field) -> None:
    sim = nfc_field(VirtualJpkiCard(card_file))
    with NfcReader(sim.reader_path) as reader, reader.wait_for_card(5) as connection:
        # 256 signature bytes + SW exceed one 256-byte frame: the card chains its answer.
        kiosk_session(connection, card_file)


def test_kiosk_card_info_over_nfc_prints_the_same_serial(card_file: Path, nfc_field: Field) -> None:
    sim = nfc_field(VirtualJpkiCard(card_file))
    result = run_cli("kiosk-card", "info", "--reader", f"nfc:{sim.reader_path}")
    assert result.returncode == 0, result.stderr
    assert f"{VirtualJpkiCard(card_file).certificate.serial_number:X}" in result.stdout


def test_a_card_leaving_the_field_mid_read(card_file: Path, nfc_field: Field) -> None:
    sim = nfc_field(VirtualJpkiCard(card_file), removal=RemoveAfter(4))
    with NfcReader(sim.reader_path) as reader, reader.wait_for_card(5) as connection:
        card = JpkiCard(connection)
        with pytest.raises(errors.CardRemoved):
            card.read_certificate()
        assert reader.wait_for_removal(5)


def test_a_card_leaving_the_field_mid_sign(card_file: Path, nfc_field: Field) -> None:
    # SELECT applet, SELECT PIN EF, VERIFY, SELECT key EF, then the signature: gone.
    sim = nfc_field(VirtualJpkiCard(card_file), removal=RemoveAfter(4))
    with NfcReader(sim.reader_path) as reader, reader.wait_for_card(5) as connection:
        card = JpkiCard(connection)
        card.verify_pin(PIN)
        with pytest.raises(errors.CardRemoved):
            card.sign(b"consent")


def test_taking_the_card_away_is_seen(card_file: Path, nfc_field: Field) -> None:
    sim = nfc_field(VirtualJpkiCard(card_file))
    with NfcReader(sim.reader_path) as reader:
        reader.wait_for_card(5)
        assert not reader.wait_for_removal(0.3)
        sim.remove()
        assert reader.wait_for_removal(5)


def test_no_card_in_the_field_times_out(card_file: Path, nfc_field: Field) -> None:
    sim = nfc_field(VirtualJpkiCard(card_file))
    sim.remove()
    started = time.monotonic()
    with NfcReader(sim.reader_path) as reader, pytest.raises(errors.NoCard):
        reader.wait_for_card(1.0)
    assert time.monotonic() - started < 5


def test_a_card_that_is_not_a_my_number_card(nfc_field: Field) -> None:
    sim = nfc_field(ForeignCard())
    with (
        NfcReader(sim.reader_path) as reader,
        reader.wait_for_card(5) as connection,
        pytest.raises(errors.NotAJpkiCard),
    ):
        JpkiCard(connection)


def test_no_usb_nfc_reader_is_a_clear_message() -> None:
    result = run_cli("kiosk-card", "info", "--reader", "nfc:usb", "--wait", "1")
    assert result.returncode == 1
    assert "no NFC reader at 'usb'" in result.stderr
    assert "Traceback" not in result.stderr


def test_nfcpy_frame_logs_never_show_the_pin(
    card_file: Path, nfc_field: Field, caplog: pytest.LogCaptureFixture
) -> None:
    sim = nfc_field(VirtualJpkiCard(card_file))
    caplog.set_level(logging.DEBUG)
    with NfcReader(sim.reader_path) as reader, reader.wait_for_card(5) as connection:
        JpkiCard(connection).verify_pin(PIN)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret bytes" in text, "the APDU log ran (this test can see a leak)"
    for form in (PIN, PIN.encode().hex(), PIN.encode().hex(" ")):
        assert form.lower() not in text.lower()


def test_kiosk_card_sim_serve_is_a_card_for_nfcpy(
    card_file: Path, start_cli: Callable[..., subprocess.Popen[str]]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sim = start_cli(
        "kiosk-card-sim", "serve", "--card", str(card_file), "--nfc-udp", f"127.0.0.1:{port}"
    )
    time.sleep(0.5)  # the simulator binds its port
    assert sim.poll() is None
    result = run_cli("kiosk-card", "info", "--reader", f"nfc:udp:127.0.0.1:{port}", "--wait", "5")
    assert result.returncode == 0, result.stderr
    assert f"{VirtualJpkiCard(card_file).certificate.serial_number:X}" in result.stdout
