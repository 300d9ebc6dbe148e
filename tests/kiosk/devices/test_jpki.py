"""The JPKI layer over the in-process reader: what the kiosk asks of a card, and only that."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from kiosk.devices import errors, iso7816
from kiosk.devices.apdu import CommandAPDU, ResponseAPDU
from kiosk.devices.jpki import (
    CARD_FACE_AID,
    INPUT_HELPER_AID,
    JPKI_AID,
    JpkiCard,
    is_permitted,
)
from kiosk.devices.sim.loopback import VirtualReader
from kiosk.devices.sim.virtual_card import ForeignCard, RemoveAfter, VirtualJpkiCard
from kiosk.devices.transport import CardConnection
from tests.conftest import PIN, WRONG_PIN

Trace = list[tuple[CommandAPDU, ResponseAPDU]]


class WireTap(CardConnection):
    """Records the bytes that really cross the connection, below every check of ours."""

    def __init__(self, inner: CardConnection) -> None:
        self.inner = inner
        self.sent: list[bytes] = []

    def transmit(self, command: bytes) -> bytes:
        self.sent.append(command)
        return self.inner.transmit(command)

    def close(self) -> None:
        self.inner.close()


def open_card(card_file: Path, trace: Trace | None = None, **reader_options: object) -> JpkiCard:
    connection = VirtualReader(card_file, **reader_options).wait_for_card(1)  # type: ignore[arg-type]
    observers = [lambda c, r: trace.append((c, r))] if trace is not None else []
    return JpkiCard(connection, observers)


def full_session(card: JpkiCard, data: bytes = b"consent") -> bytes:
    card.read_certificate()
    card.read_ca_certificate()
    card.pin_status()
    card.verify_pin(PIN)
    return card.sign(data)


def test_reads_the_certificate_over_1500_bytes_in_blocks_of_at_most_256(card_file: Path) -> None:
    trace: Trace = []
    certificate = open_card(card_file, trace).read_certificate()
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert len(der) > 1500
    assert certificate == VirtualJpkiCard(card_file).certificate
    reads = [c for c, _ in trace if c.ins == 0xB0]
    offsets = [(c.p1 << 8) | c.p2 for c in reads]
    assert len(reads) == -(-len(der) // 256)  # exactly as many blocks as needed
    assert offsets == [256 * i for i in range(len(reads))]
    assert all(c.le is not None and c.le <= 256 for c in reads)


def test_the_certificate_chains_to_the_ca_certificate_on_the_card(card_file: Path) -> None:
    card = open_card(card_file)
    card.read_certificate().verify_directly_issued_by(card.read_ca_certificate())


def test_pin_status_verify_and_sign(card_file: Path) -> None:
    card = open_card(card_file)
    certificate = card.read_certificate()
    assert card.pin_status() == iso7816.PinStatus(tries_left=3, locked=False)
    card.verify_pin(PIN)
    signature = card.sign(b"I apply for Mynapoint")
    certificate.public_key().verify(
        signature, b"I apply for Mynapoint", padding.PKCS1v15(), hashes.SHA256()
    )


def test_signing_without_the_pin_is_refused_by_the_card(card_file: Path) -> None:
    with pytest.raises(errors.SecurityStatusNotSatisfied):
        open_card(card_file).sign(b"consent")


def test_the_wrong_pin_sequence_locks_the_card(card_file: Path) -> None:
    card = open_card(card_file)
    tries = []
    for _ in range(2):
        with pytest.raises(errors.WrongPin) as wrong:
            card.verify_pin(WRONG_PIN)
        tries.append(wrong.value.tries_left)
        assert card.pin_status().tries_left == wrong.value.tries_left
    assert tries == [2, 1]
    with pytest.raises(errors.PinLocked):
        card.verify_pin(WRONG_PIN)
    with pytest.raises(errors.PinLocked):
        card.verify_pin(PIN)  # even the right PIN, now
    assert card.pin_status() == iso7816.PinStatus(tries_left=0, locked=True)


def test_a_locked_card_stays_locked_across_restarts(card_file: Path) -> None:
    card = open_card(card_file)
    for _ in range(3):
        with pytest.raises((errors.WrongPin, errors.PinLocked)):
            card.verify_pin(WRONG_PIN)
    again = open_card(card_file)  # as after a kiosk restart
    assert again.pin_status().locked
    with pytest.raises(errors.PinLocked):
        again.verify_pin(PIN)


@pytest.mark.parametrize("pin", ["482", "48270", "48a7", "", "４８２７", "48 7"])
def test_a_pin_that_is_not_4_digits_never_reaches_the_card(card_file: Path, pin: str) -> None:
    trace: Trace = []
    card = open_card(card_file, trace)
    before = len(trace)
    with pytest.raises(errors.InvalidPinFormat):
        card.verify_pin(pin)
    assert len(trace) == before, "nothing was sent"
    assert VirtualJpkiCard(card_file).tries_left() == 3


def test_a_card_pulled_out_mid_read_is_a_clear_error(card_file: Path) -> None:
    # SELECT applet, SELECT EF, two blocks... then gone.
    card = open_card(card_file, removal=RemoveAfter(4))
    with pytest.raises(errors.CardRemoved) as removed:
        card.read_certificate()
    assert removed.value.message_key == "card.removed"


def test_a_card_pulled_out_mid_sign_is_a_clear_error(card_file: Path) -> None:
    trace: Trace = []
    probe = open_card(card_file, trace)
    probe.read_certificate()
    probe.verify_pin(PIN)
    apdus_before_sign = len(trace) + 1  # everything so far, then the key SELECT
    card = open_card(card_file, removal=RemoveAfter(apdus_before_sign))
    card.read_certificate()
    card.verify_pin(PIN)
    with pytest.raises(errors.CardRemoved):
        card.sign(b"consent")


def test_an_empty_certificate_file_is_a_protocol_error(card_file: Path) -> None:
    state = json.loads(card_file.read_text())
    state["auth_cert"] = base64.b64encode(b"").decode()  # a card whose EF was never written
    card_file.write_text(json.dumps(state))
    with pytest.raises(errors.CardProtocolError, match="DER"):
        open_card(card_file).read_certificate()


def test_a_card_that_is_not_a_my_number_card_is_told_apart() -> None:
    connection = VirtualReader(ForeignCard()).wait_for_card(1)
    with pytest.raises(errors.NotAJpkiCard) as foreign:
        JpkiCard(connection)
    assert foreign.value.message_key == "card.not_my_number_card"


def test_the_reader_reports_the_removal(card_file: Path) -> None:
    reader = VirtualReader(card_file)
    reader.wait_for_card(1)
    assert not reader.wait_for_removal(0.05)
    reader.remove()
    assert reader.wait_for_removal(0.05)
    with pytest.raises(errors.NoCard):
        reader.wait_for_card(0.05)


def test_a_t0_card_reads_the_same_through_get_response(card_file: Path) -> None:
    trace: Trace = []
    card = open_card(card_file, trace, t0=True)
    assert card.read_certificate() == VirtualJpkiCard(card_file).certificate
    card.verify_pin(PIN)
    assert len(card.sign(b"x")) == 256
    assert any(c.ins == 0xC0 for c, _ in trace), "GET RESPONSE was needed"


# --- Never the My Number ----------------------------------------------------------------


def test_every_apdu_of_a_session_on_the_wire_is_on_the_allow_list(card_file: Path) -> None:
    tap = WireTap(VirtualReader(card_file).wait_for_card(1))
    full_session(JpkiCard(tap))
    assert len(tap.sent) > 10
    refused = [raw.hex() for raw in tap.sent if not is_permitted(CommandAPDU.parse(raw))]
    assert refused == []
    assert tap.sent[0] == bytes.fromhex("00A4040C0A") + JPKI_AID


def test_the_allow_list_check_catches_a_session_that_reads_the_my_number(card_file: Path) -> None:
    """The check above can fail: here a session reads the My Number behind the layer's back."""
    tap = WireTap(VirtualReader(card_file).wait_for_card(1))
    full_session(JpkiCard(tap))
    answers = [
        tap.transmit(bytes.fromhex(raw))
        for raw in (
            "00A4040C0A" + INPUT_HELPER_AID.hex(),
            "00A4020C020011",
            "0020008004" + PIN.encode().hex(),
            "00A4020C020001",
            "00B0000011",
        )
    ]
    assert answers[-1][:3] == b"\xff\x40\x0c", "the My Number was read"
    refused = [raw for raw in tap.sent if not is_permitted(CommandAPDU.parse(raw))]
    assert bytes.fromhex("00A4040C0A") + INPUT_HELPER_AID in refused


@pytest.mark.parametrize(
    "command",
    [
        CommandAPDU(0x00, 0xA4, 0x04, 0x0C, INPUT_HELPER_AID),
        CommandAPDU(0x00, 0xA4, 0x04, 0x0C, CARD_FACE_AID),
        CommandAPDU(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("0001")),  # signature certificate
        CommandAPDU(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("001B")),  # signature PIN
        CommandAPDU(0x00, 0xB0, 0x81, 0x00, le=256),  # READ BINARY by short EF identifier
        CommandAPDU(0x00, 0xD6, 0x00, 0x00, b"\x00"),  # UPDATE BINARY
    ],
)
def test_the_layer_refuses_to_send_anything_else(card_file: Path, command: CommandAPDU) -> None:
    tap = WireTap(VirtualReader(card_file).wait_for_card(1))
    card = JpkiCard(tap)
    sent_before = len(tap.sent)
    assert not is_permitted(command)
    with pytest.raises(errors.ForbiddenCommand):
        card.channel.send(command)
    assert len(tap.sent) == sent_before
