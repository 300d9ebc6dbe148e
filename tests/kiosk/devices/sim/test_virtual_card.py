"""The virtual card answers raw APDUs as a JPKI card does: files, status words, PIN counter."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from kiosk.devices.jpki import INPUT_HELPER_AID, JPKI_AID, digest_info_sha256
from kiosk.devices.sim.virtual_card import VirtualJpkiCard, my_number_check_digit, random_my_number
from tests.conftest import PIN, WRONG_PIN

SELECT_JPKI = "00A4040C0A" + JPKI_AID.hex()
SELECT_HELPER = "00A4040C0A" + INPUT_HELPER_AID.hex()


def send(card: VirtualJpkiCard, apdu_hex: str) -> tuple[bytes, int]:
    response = card.process(bytes.fromhex(apdu_hex))
    return response[:-2], int.from_bytes(response[-2:], "big")


def select_ef(fid: str) -> str:
    return "00A4020C02" + fid


def verify(pin: str) -> str:
    return "0020008004" + pin.encode().hex()


def sign(data: bytes) -> str:
    digest_info = digest_info_sha256(data)
    return f"802A0080{len(digest_info):02X}{digest_info.hex()}00"


@pytest.fixture
def card(card_file: Path) -> VirtualJpkiCard:
    return VirtualJpkiCard(card_file)


def test_unknown_application_and_unknown_file_answer_6a82(card: VirtualJpkiCard) -> None:
    assert send(card, "00A4040C0AD392F000260100000099")[1] == 0x6A82
    assert send(card, select_ef("000A"))[1] == 0x6A82  # no applet selected yet
    send(card, SELECT_JPKI)
    assert send(card, select_ef("1234"))[1] == 0x6A82


def test_unsupported_instruction_and_class(card: VirtualJpkiCard) -> None:
    send(card, SELECT_JPKI)
    assert send(card, "00CA000000")[1] == 0x6D00  # GET DATA: not on this card
    assert send(card, "B0B0000004")[1] == 0x6E00


def test_wrong_lengths_answer_6700(card: VirtualJpkiCard) -> None:
    send(card, SELECT_JPKI)
    assert send(card, "00A4020C03000A00")[1] == 0x6700  # a 3-byte file identifier
    assert send(card, "00A4040C05D392F000")[1] == 0x6700  # Lc disagrees with the data
    send(card, select_ef("0018"))
    assert send(card, "00200080033132")[1] == 0x6700  # malformed


def test_a_pin_of_wrong_length_costs_no_try(card: VirtualJpkiCard) -> None:
    send(card, SELECT_JPKI)
    send(card, select_ef("0018"))
    assert send(card, "0020008003" + b"482".hex())[1] == 0x6700
    assert send(card, "00200080")[1] == 0x63C3


def test_signing_before_verify_answers_6982(card: VirtualJpkiCard) -> None:
    send(card, SELECT_JPKI)
    send(card, select_ef("0017"))
    assert send(card, sign(b"consent"))[1] == 0x6982


def test_pin_and_key_files_cannot_be_read(card: VirtualJpkiCard) -> None:
    send(card, SELECT_JPKI)
    for fid in ("0018", "0017"):
        send(card, select_ef(fid))
        assert send(card, "00B0000004")[1] == 0x6981


def test_a_single_read_binary_truncates_the_certificate(card: VirtualJpkiCard) -> None:
    """Why the kiosk reads in blocks: the EF is larger than 256 bytes and than the cert."""
    send(card, SELECT_JPKI)
    send(card, select_ef("000A"))
    first, status = send(card, "00B0000000")
    assert status == 0x9000 and len(first) == 256
    declared = int.from_bytes(first[2:4], "big") + 4
    assert declared > 1500, "test certificates are as large as real ones"
    with pytest.raises(ValueError):
        x509.load_der_x509_certificate(first)
    assert send(card, "00B0100000")[1] == 0x6B00  # offset 4096 is beyond the EF


def test_reading_past_the_end_returns_what_is_left_with_6282(card: VirtualJpkiCard) -> None:
    send(card, SELECT_JPKI)
    send(card, select_ef("000A"))
    data, status = send(card, "00B007F000")  # offset 2032 of a 2048-byte EF, Le 256
    assert (len(data), status) == (16, 0x6282)


def test_verify_then_sign_gives_a_deterministic_pkcs1_signature(card: VirtualJpkiCard) -> None:
    send(card, SELECT_JPKI)
    send(card, select_ef("0018"))
    assert send(card, verify(PIN))[1] == 0x9000
    send(card, select_ef("0017"))
    first, status = send(card, sign(b"consent"))
    assert status == 0x9000 and len(first) == 256
    assert send(card, sign(b"consent"))[0] == first
    card.certificate.public_key().verify(first, b"consent", padding.PKCS1v15(), hashes.SHA256())


def test_the_status_query_answers_63cx_and_costs_nothing(card: VirtualJpkiCard) -> None:
    send(card, SELECT_JPKI)
    send(card, select_ef("0018"))
    for _ in range(5):
        assert send(card, "00200080")[1] == 0x63C3


def test_three_wrong_pins_lock_and_the_lock_survives_a_restart(card_file: Path) -> None:
    card = VirtualJpkiCard(card_file)
    send(card, SELECT_JPKI)
    send(card, select_ef("0018"))
    answers = [send(card, verify(WRONG_PIN))[1] for _ in range(3)]
    assert answers == [0x63C2, 0x63C1, 0x63C0]
    assert send(card, verify(PIN))[1] == 0x6984
    restarted = VirtualJpkiCard(card_file)  # a new process reading the same card
    send(restarted, SELECT_JPKI)
    send(restarted, select_ef("0018"))
    assert send(restarted, "00200080")[1] == 0x6984
    assert send(restarted, verify(PIN))[1] == 0x6984
    assert restarted.tries_left() == 0


def test_a_correct_pin_restores_the_tries(card_file: Path) -> None:
    card = VirtualJpkiCard(card_file)
    send(card, SELECT_JPKI)
    send(card, select_ef("0018"))
    send(card, verify(WRONG_PIN))
    assert send(card, verify(PIN))[1] == 0x9000
    assert VirtualJpkiCard(card_file).tries_left() == 3


def test_the_try_is_spent_on_disk_before_the_pin_is_compared(card_file: Path) -> None:
    """Pulling the card while it checks a PIN must not give the try back."""
    card = VirtualJpkiCard(card_file)
    send(card, SELECT_JPKI)
    send(card, select_ef("0018"))
    seen: list[int] = []
    original = card._set_tries

    def spy(pin: str, tries: int) -> None:
        seen.append(VirtualJpkiCard(card_file).tries_left())
        original(pin, tries)
        seen.append(VirtualJpkiCard(card_file).tries_left())

    card._set_tries = spy  # type: ignore[method-assign]
    send(card, verify(WRONG_PIN))
    assert seen == [3, 2]


def test_power_cycle_and_application_change_forget_the_verified_pin(card: VirtualJpkiCard) -> None:
    send(card, SELECT_JPKI)
    send(card, select_ef("0018"))
    send(card, verify(PIN))
    card.power_on()
    send(card, SELECT_JPKI)
    send(card, select_ef("0017"))
    assert send(card, sign(b"x"))[1] == 0x6982
    send(card, select_ef("0018"))
    send(card, verify(PIN))
    send(card, SELECT_HELPER)
    send(card, SELECT_JPKI)
    send(card, select_ef("0017"))
    assert send(card, sign(b"x"))[1] == 0x6982


def test_the_input_helper_applet_really_holds_a_my_number(card: VirtualJpkiCard) -> None:
    """The card is faithful, so a kiosk that selected this applet could read the number:
    the allow-list tests in test_jpki.py are what stop that."""
    assert send(card, SELECT_HELPER)[1] == 0x9000
    send(card, select_ef("0001"))
    assert send(card, "00B0000011")[1] == 0x6982  # PIN first
    send(card, select_ef("0011"))
    assert send(card, verify(PIN))[1] == 0x9000
    send(card, select_ef("0001"))
    data, status = send(card, "00B0000011")
    assert status in (0x9000, 0x6282)
    assert data[:3] == b"\xff\x40\x0c" and data[3:15].isdigit()


def test_the_signature_side_needs_its_own_password(card: VirtualJpkiCard) -> None:
    send(card, SELECT_JPKI)
    send(card, select_ef("0001"))  # digital-signature certificate: names the holder
    assert send(card, "00B0000004")[1] == 0x6982
    send(card, select_ef("001B"))
    assert send(card, "00200080")[1] == 0x63C5


def test_t0_mode_answers_61xx_and_6cxx(card_file: Path) -> None:
    card = VirtualJpkiCard(card_file, t0=True)
    send(card, SELECT_JPKI)
    send(card, select_ef("000A"))
    assert send(card, "00B0000004") == (b"", 0x6104)
    data, status = send(card, "00C0000004")
    assert status == 0x9000 and data[:2] == b"\x30\x82"
    assert send(card, "00B007F000")[1] == 0x6C10  # only 16 bytes left: "ask for 16"


def test_fake_my_numbers_have_a_valid_check_digit() -> None:
    assert my_number_check_digit("12345678901") == 8  # the usual published example
    number = random_my_number()
    assert len(number) == 12 and number.isdigit()
    assert int(number[11]) == my_number_check_digit(number[:11])
