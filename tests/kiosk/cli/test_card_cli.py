"""``kiosk-card`` and ``kiosk-card-sim`` as a technician runs them: clear output, no tracebacks."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from kiosk.devices.sim.test_ca import JpkiTestCa
from kiosk.devices.sim.virtual_card import DEMO_PIN, VirtualJpkiCard
from tests.conftest import PIN, WRONG_PIN, CardFactory, run_cli
from tests.support.leaks import leaked


def assert_clean_failure(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in result.stderr


def sign(card: Path, data: Path, pin: str) -> subprocess.CompletedProcess[str]:
    reader = ("--reader", f"virtual:{card}")
    return run_cli(
        "kiosk-card", "sign", *reader, "--pin-stdin", "--data-file", str(data), stdin=f"{pin}\n"
    )


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "consent.txt"
    path.write_text("I apply for Mynapoint with PayPay\n")
    return path


def test_info_on_a_fresh_machine_makes_and_reads_the_demo_card(private_data_home: Path) -> None:
    result = run_cli("kiosk-card", "info", "--reader", "virtual")
    assert result.returncode == 0, result.stderr
    card = private_data_home / "mynapoint-kiosk" / "virtual-card.json"
    serial = f"{VirtualJpkiCard(card).certificate.serial_number:X}"
    assert f"Serial number:  {serial}" in result.stdout
    assert "JPKI for user authentication TEST" in result.stdout
    assert "PIN tries left:   3" in result.stdout
    assert "Made a demo virtual card" in result.stderr


def test_demo_runs_the_card_procedure_end_to_end() -> None:
    result = run_cli("kiosk-card", "demo")
    assert result.returncode == 0, result.stderr
    assert "3. PIN verified by the card" in result.stdout
    assert "4. Consent signed by the card; signature checked" in result.stdout
    assert "the My Number was never read" in result.stdout
    assert "<4 secret bytes>" in result.stdout
    assert DEMO_PIN.encode().hex(" ").upper() not in result.stdout


def test_sign_prints_a_signature_that_verifies(card_file: Path, data_file: Path) -> None:
    result = sign(card_file, data_file, PIN)
    assert result.returncode == 0, result.stderr
    signature = base64.b64decode(result.stdout)
    VirtualJpkiCard(card_file).certificate.public_key().verify(
        signature, data_file.read_bytes(), padding.PKCS1v15(), hashes.SHA256()
    )
    assert "Signature verified against the certificate" in result.stderr


def test_wrong_pin_says_how_many_tries_are_left(card_file: Path, data_file: Path) -> None:
    result = sign(card_file, data_file, WRONG_PIN)
    assert_clean_failure(result, "wrong PIN; 2 tries left")
    assert WRONG_PIN not in result.stdout + result.stderr
    second = sign(card_file, data_file, WRONG_PIN)
    assert_clean_failure(second, "1 try left")
    assert "one more wrong PIN locks the card" in second.stderr


def test_a_locked_card_sends_the_holder_to_the_municipal_office(
    card_file: Path, data_file: Path
) -> None:
    for _ in range(3):
        sign(card_file, data_file, WRONG_PIN)
    result = sign(card_file, data_file, PIN)
    assert_clean_failure(result, "locked", "municipal office")
    info = run_cli("kiosk-card", "info", "--reader", f"virtual:{card_file}")
    assert "PIN tries left:   0 (LOCKED" in info.stdout


def test_a_pin_of_the_wrong_length_costs_nothing(card_file: Path, data_file: Path) -> None:
    result = sign(card_file, data_file, "48270")
    assert_clean_failure(result, "exactly 4 digits", "nothing was sent")
    assert VirtualJpkiCard(card_file).tries_left() == 3


def test_an_unknown_reader_is_a_clear_message() -> None:
    assert_clean_failure(
        run_cli("kiosk-card", "info", "--reader", "bluetooth"), "unknown reader 'bluetooth'"
    )


def test_a_missing_card_file(tmp_path: Path) -> None:
    result = run_cli("kiosk-card", "info", "--reader", f"virtual:{tmp_path / 'none.json'}")
    assert_clean_failure(result, "no virtual card at")


def test_readers_lists_what_there_is() -> None:
    result = run_cli("kiosk-card", "readers", env={"PCSCLITE_CSOCK_NAME": "/nonexistent"})
    assert result.returncode == 0, result.stderr
    assert "pcscd" in result.stdout
    assert "no USB NFC reader found" in result.stdout
    assert "virtual" in result.stdout


def test_expired_card_is_shown_as_expired(make_card: CardFactory, tmp_path: Path) -> None:
    ca = tmp_path / "ca"
    assert run_cli("kiosk-card-sim", "make-ca", "--ca", str(ca)).returncode == 0
    card = tmp_path / "expired.json"
    issued = run_cli("kiosk-card-sim", "issue", "--ca", str(ca), "--card", str(card), "--expired")
    assert issued.returncode == 0, issued.stderr
    result = run_cli("kiosk-card", "info", "--reader", f"virtual:{card}")
    assert "EXPIRED: cannot be used to apply" in result.stdout


def test_sim_issues_fresh_and_revoked_cards(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    run_cli("kiosk-card-sim", "make-ca", "--ca", str(ca_dir))
    fresh = tmp_path / "fresh.json"
    files = ("--ca", str(ca_dir), "--card", str(fresh))
    result = run_cli("kiosk-card-sim", "issue", *files, "--fresh", "--pin-stdin", stdin=f"{PIN}\n")
    assert result.returncode == 0, result.stderr
    age = dt.datetime.now(dt.UTC) - VirtualJpkiCard(fresh).certificate.not_valid_before_utc
    assert dt.timedelta(0) < age < dt.timedelta(hours=24)

    revoked = tmp_path / "revoked.json"
    run_cli("kiosk-card-sim", "issue", "--ca", str(ca_dir), "--card", str(revoked), "--revoked")
    crl = x509.load_der_x509_crl((ca_dir / "crl.der").read_bytes())
    serial = VirtualJpkiCard(revoked).certificate.serial_number
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    assert (
        crl.get_revoked_certificate_by_serial_number(
            VirtualJpkiCard(fresh).certificate.serial_number
        )
        is None
    )
    assert crl.is_signature_valid(JpkiTestCa.load(ca_dir).certificate.public_key())  # type: ignore[arg-type]

    run_cli("kiosk-card-sim", "revoke", "--ca", str(ca_dir), "--card", str(fresh))
    crl = x509.load_der_x509_crl((ca_dir / "crl.der").read_bytes())
    assert len(list(crl)) == 2


def test_sim_refuses_bad_input_without_traceback(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    no_ca = run_cli("kiosk-card-sim", "issue", "--ca", str(ca_dir), "--card", str(tmp_path / "c"))
    assert no_ca.returncode != 0 and "make-ca" in no_ca.stderr
    run_cli("kiosk-card-sim", "make-ca", "--ca", str(ca_dir))
    bad_pin = run_cli("kiosk-card-sim", "issue", "--ca", str(ca_dir), "--pin", "12a4")
    assert bad_pin.returncode != 0 and "4 digits" in bad_pin.stderr
    both = run_cli("kiosk-card-sim", "issue", "--ca", str(ca_dir), "--expired", "--fresh")
    assert both.returncode != 0 and "exclude" in both.stderr
    no_target = run_cli("kiosk-card-sim", "serve")
    assert no_target.returncode != 0 and "--vpcd" in no_target.stderr
    for result in (no_ca, bad_pin, both, no_target):
        assert "Traceback" not in result.stderr


def test_the_card_file_keeps_no_pin_in_clear(card_file: Path) -> None:
    text = card_file.read_text()
    assert not leaked(text, [PIN])  # base64 may hold "4827" touching other characters
    assert json.loads(text)["pins"]["auth"]["tries_left"] == 3
