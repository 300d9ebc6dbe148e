"""While a command runs (reading the card, checking the PIN, asking the service, sending):
what is happening, and to leave the card where it is. No button: the flow moves on when
the answer comes."""

from __future__ import annotations

from pathlib import Path

from kiosk.procedure.flow import Step, View
from kiosk.ui.kit.style import load_kv
from kiosk.ui.screens.base import Para, StandardScreen

TITLES = {
    Step.READING: "reading.title",
    Step.VERIFYING: "verifying.title",
    Step.CHECKING: "checking.title",
    Step.SUBMITTING: "submitting.title",
    Step.ISSUING: "issuing.title",
    Step.REVOKING: "revoking.title",
    Step.CANCELLING_VOUCHER: "cancelling_voucher.title",
}


class BusyScreen(StandardScreen):
    kind = "busy"
    steps = tuple(TITLES)

    def fill(self, view: View, same_step: bool) -> None:
        keep = "reading.body" if view.step == Step.READING else "busy.keep_card"
        self.present(
            self.text(TITLES[view.step]),
            [Para(self.text(keep), "strong"), self.text("busy.wait")],
        )


load_kv(Path(__file__).with_suffix(".kv"))
