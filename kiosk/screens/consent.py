"""Before the procedure: what the kiosk reads, what it keeps (where, and until when), the
fraud warning (seed 002 lines 235-241); agree or stop."""

from __future__ import annotations

from pathlib import Path

from kiosk import events as ev
from kiosk.flow import Step, View
from kiosk.screens.base import Action, Para, StandardScreen, load_kv


class ConsentScreen(StandardScreen):
    kind = "consent"
    steps = (Step.CONSENT,)

    def fill(self, view: View, same_step: bool) -> None:
        self.present(
            self.text("consent.title"),
            [
                self.text("consent.body"),
                self.text(
                    "consent.kept",
                    days=f"{self.context.retention_days:g}",
                    slips=self.context.slips_kept,
                ),
                Para(self.text("help.scam"), "strong"),
                self.text("consent.terms"),
            ],
            actions=[
                Action("button.quit", ev.Quit()),
                Action("button.agree", ev.Agree(), primary=True),
            ],
        )


load_kv(Path(__file__).with_suffix(".kv"))
