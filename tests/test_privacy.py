"""The PIN goes to the card and nowhere else: not in any log line, on any transport."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kiosk.devices.jpki import JpkiCard
from kiosk.devices.sim.loopback import VirtualReader
from kiosk.devices.sim.virtual_card import VirtualJpkiCard
from kiosk.devices.transport import CardReader
from tests.conftest import PIN, WRONG_PIN


def pin_forms(pin: str) -> list[str]:
    """Every way a PIN could leak into text: digits, hex of the ASCII, spaced hex."""
    raw = pin.encode()
    return [pin, raw.hex(), raw.hex(" "), raw.hex().upper(), raw.hex(" ").upper()]


@contextmanager
def reader_for(
    transport: str, card_file: Path, request: pytest.FixtureRequest
) -> Iterator[CardReader]:
    if transport == "virtual":
        yield VirtualReader(card_file)
    elif transport == "pcsc":
        from kiosk.devices.pcsc import PcscReader

        request.getfixturevalue("insert_vpcd")(VirtualJpkiCard(card_file))
        with PcscReader() as reader:
            yield reader
    else:
        from kiosk.devices.nfc import NfcReader

        sim = request.getfixturevalue("nfc_field")(VirtualJpkiCard(card_file))
        with NfcReader(sim.reader_path) as reader:
            yield reader


@pytest.mark.parametrize("transport", ["virtual", "pcsc", "nfc"])
def test_no_log_line_carries_the_pin(
    transport: str,
    card_file: Path,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # the most talkative setting a technician could choose
    with (
        reader_for(transport, card_file, request) as reader,
        reader.wait_for_card(5) as connection,
    ):
        card = JpkiCard(connection)
        card.read_certificate()
        with pytest.raises(Exception, match="wrong PIN") as wrong:
            card.verify_pin(WRONG_PIN)
        card.verify_pin(PIN)
        card.sign(b"consent")
    text = "\n".join(record.getMessage() for record in caplog.records) + str(wrong.value)
    assert text.count("<4 secret bytes>") == 2, "both VERIFY commands were logged, masked"
    for form in pin_forms(PIN) + pin_forms(WRONG_PIN):
        assert form not in text


def test_errors_never_carry_the_pin(card_file: Path) -> None:
    card = JpkiCard(VirtualReader(card_file).wait_for_card(1))
    caught: list[Exception] = []
    for pin in (WRONG_PIN, "48271", "48a7"):
        try:
            card.verify_pin(pin)
        except Exception as error:
            caught.append(error)
    assert len(caught) == 3
    for error in caught:
        text = f"{error!s} {error!r} {getattr(error, 'detail', '')}"
        for form in [*pin_forms(WRONG_PIN), "48271", "48a7"]:
            assert form not in text
