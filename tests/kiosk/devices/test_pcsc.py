"""The PC/SC path for real: pyscard -> libpcsclite -> pcscd -> vpcd driver -> virtual card.

The fixtures start a private pcscd with a vpcd reader on loopback and stop it afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from kiosk.devices import errors
from kiosk.devices.jpki import JpkiCard
from kiosk.devices.pcsc import PcscReader, list_readers
from kiosk.devices.sim.pcscd import PrivatePcscd
from kiosk.devices.sim.virtual_card import ForeignCard, RemoveAfter, VirtualJpkiCard
from tests.conftest import PIN, kiosk_session, run_cli

pytestmark = pytest.mark.pcsc


def test_pcscd_lists_the_virtual_reader(pcscd: PrivatePcscd) -> None:
    assert pcscd.reader_name in list_readers()


def test_a_full_session_through_pcscd(vpcd_card: Path) -> None:
    with PcscReader() as reader, reader.wait_for_card(5) as connection:
        kiosk_session(connection, vpcd_card)


def test_closing_the_connection_resets_the_card(vpcd_card: Path, pcscd: PrivatePcscd) -> None:
    """A PIN verified in one session must not let the next one sign."""
    with PcscReader() as reader:
        with reader.wait_for_card(5) as connection:
            JpkiCard(connection).verify_pin(PIN)
        with (
            reader.wait_for_card(5) as connection,
            pytest.raises(errors.SecurityStatusNotSatisfied),
        ):
            JpkiCard(connection).sign(b"consent")


def test_kiosk_card_info_through_pcscd_prints_the_same_serial_as_virtual(
    vpcd_card: Path, pcscd: PrivatePcscd
) -> None:
    through_pcscd = run_cli("kiosk-card", "info", "--reader", "pcsc", env=pcscd.environment())
    direct = run_cli("kiosk-card", "info", "--reader", f"virtual:{vpcd_card}")
    serial = f"{VirtualJpkiCard(vpcd_card).certificate.serial_number:X}"
    assert through_pcscd.returncode == 0, through_pcscd.stderr
    assert f"Serial number:  {serial}" in through_pcscd.stdout
    assert through_pcscd.stdout == direct.stdout
    assert "PIN tries left:   3" in through_pcscd.stdout


def test_kiosk_card_sign_through_pcscd(
    vpcd_card: Path, pcscd: PrivatePcscd, tmp_path: Path
) -> None:
    data = tmp_path / "consent.txt"
    data.write_bytes(b"I apply for Mynapoint")
    signing = ("sign", "--reader", "pcsc:kiosk test", "--pin-stdin", "--data-file", str(data))
    result = run_cli("kiosk-card", *signing, stdin=f"{PIN}\n", env=pcscd.environment())
    assert result.returncode == 0, result.stderr
    signature = base64.b64decode(result.stdout.strip())
    VirtualJpkiCard(vpcd_card).certificate.public_key().verify(
        signature, data.read_bytes(), padding.PKCS1v15(), hashes.SHA256()
    )


def test_a_card_pulled_out_mid_read_through_pcscd(
    card_file: Path, insert_vpcd: Callable[..., object]
) -> None:
    insert_vpcd(VirtualJpkiCard(card_file), removal=RemoveAfter(4))
    with PcscReader() as reader, reader.wait_for_card(5) as connection:
        card = JpkiCard(connection)
        with pytest.raises(errors.CardRemoved):
            card.read_certificate()
        assert reader.wait_for_removal(5)


def test_a_card_pulled_out_mid_sign_through_pcscd(
    card_file: Path, insert_vpcd: Callable[..., object]
) -> None:
    # SELECT applet, SELECT PIN EF, VERIFY, SELECT key EF, then the signature: gone.
    insert_vpcd(VirtualJpkiCard(card_file), removal=RemoveAfter(4))
    with PcscReader() as reader, reader.wait_for_card(5) as connection:
        card = JpkiCard(connection)
        card.verify_pin(PIN)
        with pytest.raises(errors.CardRemoved):
            card.sign(b"consent")


def test_no_card_times_out_with_a_clear_error(pcscd: PrivatePcscd) -> None:
    started = time.monotonic()
    with PcscReader() as reader, pytest.raises(errors.NoCard):
        reader.wait_for_card(0.7)
    assert 0.6 < time.monotonic() - started < 5


def test_waits_for_a_card_placed_later(card_file: Path, insert_vpcd: Callable[..., object]) -> None:
    with PcscReader() as reader:
        threading.Timer(0.5, insert_vpcd, [VirtualJpkiCard(card_file)]).start()
        with reader.wait_for_card(10) as connection:
            assert JpkiCard(connection).pin_status().tries_left == 3


def test_taking_the_card_back_is_seen(card_file: Path, insert_vpcd: Callable[..., object]) -> None:
    link = insert_vpcd(VirtualJpkiCard(card_file))
    with PcscReader() as reader:
        reader.wait_for_card(5).close()
        assert not reader.wait_for_removal(0.3)
        link.remove()  # type: ignore[attr-defined]
        assert reader.wait_for_removal(5)


def test_a_card_that_is_not_a_my_number_card(
    pcscd: PrivatePcscd, insert_vpcd: Callable[..., object]
) -> None:
    insert_vpcd(ForeignCard())
    result = run_cli("kiosk-card", "info", "--reader", "pcsc", env=pcscd.environment())
    assert result.returncode == 1
    assert "not a My Number Card" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_reader_name_lists_the_readers(pcscd: PrivatePcscd) -> None:
    with pytest.raises(errors.NoReader) as missing:
        PcscReader("Sony RC-S380")
    assert pcscd.reader_name in missing.value.detail


def test_pcscd_not_running_says_how_to_start_it(tmp_path: Path) -> None:
    nowhere = {"PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd-here.comm")}
    result = run_cli("kiosk-card", "info", "--reader", "pcsc", env=nowhere)
    assert result.returncode == 1
    assert "pcscd" in result.stderr and "start" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.opensc
@pytest.mark.skipif(shutil.which("pkcs15-tool") is None, reason="OpenSC is not installed")
def test_opensc_reads_the_virtual_card_independently(
    vpcd_card: Path, pcscd: PrivatePcscd, tmp_path: Path
) -> None:
    """OpenSC's own JPKI driver, knowing nothing of this code, reads the same card."""
    env = {**os.environ, **pcscd.environment()}
    read = subprocess.run(
        ["pkcs15-tool", "--read-certificate", "01"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert read.returncode == 0, read.stderr
    assert (
        x509.load_pem_x509_certificate(read.stdout.encode())
        == VirtualJpkiCard(vpcd_card).certificate
    )
    pins = subprocess.run(
        ["pkcs15-tool", "--list-pins"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert "User Authentication PIN" in pins.stdout
    assert "Tries left     : 3" in pins.stdout
    digest = tmp_path / "digest"
    digest.write_bytes(hashlib.sha256(b"consent").digest())
    sign = ["pkcs15-crypt", "--sign", "--key", "01", "--sha-256", "--pkcs1", "--raw", "--pin", "-"]
    files = ["--input", str(digest), "--output", str(tmp_path / "signature")]
    signed = subprocess.run(
        [*sign, *files],
        input=f"{PIN}\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert signed.returncode == 0, signed.stderr
    VirtualJpkiCard(vpcd_card).certificate.public_key().verify(
        (tmp_path / "signature").read_bytes(), b"consent", padding.PKCS1v15(), hashes.SHA256()
    )


def wait_until(condition: Callable[[], bool], timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_kiosk_card_sim_serve_puts_the_card_in_pcscd(
    card_file: Path, pcscd: PrivatePcscd, start_cli: Callable[..., subprocess.Popen[str]]
) -> None:
    """As a technician does it: serve the card with the CLI, read it with the other CLI."""
    vpcd = ("--vpcd", f"127.0.0.1:{pcscd.vpcd_port}")
    sim = start_cli("kiosk-card-sim", "serve", "--card", str(card_file), *vpcd)
    with PcscReader(pcscd.reader_name) as reader:
        assert wait_until(reader.card_present), "the served card never reached pcscd"
        info = run_cli("kiosk-card", "info", "--reader", "pcsc", env=pcscd.environment())
        assert info.returncode == 0, info.stderr
        serial = f"{VirtualJpkiCard(card_file).certificate.serial_number:X}"
        assert f"Serial number:  {serial}" in info.stdout
        sim.terminate()
        assert reader.wait_for_removal(5)


def test_kiosk_card_sim_remove_after_pulls_the_card_mid_read(
    card_file: Path, pcscd: PrivatePcscd, start_cli: Callable[..., subprocess.Popen[str]]
) -> None:
    vpcd = ("--vpcd", f"127.0.0.1:{pcscd.vpcd_port}")
    sim = start_cli(
        "kiosk-card-sim", "serve", "--card", str(card_file), *vpcd, "--remove-after", "3"
    )
    with PcscReader(pcscd.reader_name) as reader:
        assert wait_until(reader.card_present)
        info = run_cli("kiosk-card", "info", "--reader", "pcsc", env=pcscd.environment())
        assert info.returncode == 1
        assert "removed" in info.stderr and "Keep the card on the reader" in info.stderr
        assert "Traceback" not in info.stderr
        out, _ = sim.communicate(timeout=10)
        assert sim.returncode == 0 and "Card removed after 3 APDUs" in out
        assert reader.wait_for_removal(5)


def test_no_card_on_the_reader_times_out_in_the_cli(pcscd: PrivatePcscd) -> None:
    result = run_cli(
        "kiosk-card", "info", "--reader", "pcsc", "--wait", "0.5", env=pcscd.environment()
    )
    assert result.returncode == 1
    assert "no card was placed on the reader in time" in result.stderr
    assert "Traceback" not in result.stderr
