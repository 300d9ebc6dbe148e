"""The runner turns what the card answers into the events the flow decides on: driven
through the flow with the real parts (``tests/support/flow_harness.py``)."""

from __future__ import annotations

from pathlib import Path

from kiosk.devices import iso7816
from kiosk.devices.jpki import AUTH_PIN_TRIES
from kiosk.devices.sim.virtual_card import VirtualJpkiCard
from kiosk.procedure.flow import Step
from tests.support.flow_harness import KioskUnderTest, issue_rig_card
from tests.support.kiosk_harness import KioskRig


class PinVerifiedCard(VirtualJpkiCard):
    """Answers the PIN status with 9000, "verified already", as ISO 7816-4 allows: no
    count of tries (a JPKI card answers 63Cx, the count, even then)."""

    def process(self, raw: bytes) -> bytes:
        if raw == iso7816.verify_status().to_bytes():
            return bytes.fromhex("9000")
        return super().process(raw)


def test_a_card_that_gives_no_count_of_pin_tries_asks_the_pin_with_every_try_left(
    rig: KioskRig, tmp_path: Path
) -> None:
    card = issue_rig_card(tmp_path, "citizen")
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.reader.card = PinVerifiedCard(card)
        view = kiosk.up_to_pin()
        assert view.step == Step.PIN
        assert view.data == {"tries_left": AUTH_PIN_TRIES, "last_try": False}
