"""APDU encoding (cases 1-4, short form) and status words as typed errors."""

from __future__ import annotations

import pytest

from kiosk.devices import errors
from kiosk.devices.apdu import CommandAPDU, MalformedAPDU, ResponseAPDU, status_error


@pytest.mark.parametrize(
    ("command", "encoded"),
    [
        (CommandAPDU(0x00, 0x20, 0x00, 0x80), "00200080"),  # case 1
        (CommandAPDU(0x00, 0xB0, 0x01, 0x00, le=256), "00B0010000"),  # case 2, Le 256 -> 00
        (CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=4), "00B0000004"),
        (CommandAPDU(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("000A")), "00A4020C02000A"),  # case 3
        (CommandAPDU(0x80, 0x2A, 0x00, 0x80, b"\x01\x02", le=256), "802A0080020102" + "00"),
    ],
)
def test_commands_encode_in_short_form_and_parse_back(command: CommandAPDU, encoded: str) -> None:
    assert command.to_bytes().hex().upper() == encoded
    assert CommandAPDU.parse(bytes.fromhex(encoded)) == command


def test_the_four_cases_are_told_apart() -> None:
    assert CommandAPDU(0, 0x20, 0, 0x80).case == 1
    assert CommandAPDU(0, 0xB0, 0, 0, le=1).case == 2
    assert CommandAPDU(0, 0x20, 0, 0x80, b"1234").case == 3
    assert CommandAPDU(0x80, 0x2A, 0, 0x80, b"x", le=256).case == 4


@pytest.mark.parametrize(
    "raw",
    [
        "00A404",  # shorter than a header
        "00A4040C05D392F0",  # Lc says 5, 3 bytes follow
        "00B00000000100",  # extended length (Lc = 00 then two bytes)
    ],
)
def test_malformed_commands_are_refused(raw: str) -> None:
    with pytest.raises(MalformedAPDU):
        CommandAPDU.parse(bytes.fromhex(raw))


def test_short_apdus_cannot_carry_more_than_255_bytes_or_ask_for_more_than_256() -> None:
    with pytest.raises(ValueError, match="255"):
        CommandAPDU(0, 0xD6, 0, 0, bytes(256))
    with pytest.raises(ValueError, match="256"):
        CommandAPDU(0, 0xB0, 0, 0, le=257)


def test_a_secret_data_field_is_masked_when_described() -> None:
    verify = CommandAPDU(0x00, 0x20, 0x00, 0x80, b"4827", secret=True)
    shown = verify.describe()
    assert shown == "00 20 00 80 04 <4 secret bytes>"
    assert "34 38 32 37" not in shown and "4827" not in shown


@pytest.mark.parametrize(
    ("sw", "error_type"),
    [
        (0x6982, errors.SecurityStatusNotSatisfied),
        (0x6984, errors.PinLocked),
        (0x6983, errors.PinLocked),
        (0x63C0, errors.PinLocked),
        (0x6A82, errors.FileNotFound),
        (0x6700, errors.WrongLength),
        (0x6D00, errors.InstructionNotSupported),
        (0x6E00, errors.ClassNotSupported),
        (0x6A86, errors.IncorrectParameters),
        (0x6F00, errors.CardStatusError),
    ],
)
def test_status_words_become_typed_errors(sw: int, error_type: type) -> None:
    error = status_error(sw)
    assert type(error) is error_type
    assert error.sw == sw
    assert f"{sw:04X}" in error.detail


def test_63cx_is_a_wrong_pin_with_the_tries_left() -> None:
    error = status_error(0x63C2)
    assert isinstance(error, errors.WrongPin)
    assert error.tries_left == 2
    assert error.message_key == "card.pin.wrong"


def test_locked_pin_tells_where_to_go() -> None:
    assert "municipal office" in status_error(0x6984).detail


def test_response_check_returns_data_or_raises() -> None:
    assert ResponseAPDU.parse(bytes.fromhex("01029000")).check() == b"\x01\x02"
    assert ResponseAPDU.parse(bytes.fromhex("01026282")).check(allow=(0x6282,)) == b"\x01\x02"
    with pytest.raises(errors.FileNotFound):
        ResponseAPDU.parse(bytes.fromhex("6A82")).check()
    with pytest.raises(errors.CardProtocolError):
        ResponseAPDU.parse(b"\x90")
