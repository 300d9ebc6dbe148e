"""The start screen: what the kiosk does, and the two ways in (apply, or check one's
status); at city hall, which counter handles a locked PIN or a certificate. The
technician's gesture is the app's (an invisible corner), not this screen's."""

from __future__ import annotations

from pathlib import Path

from kiosk import events as ev
from kiosk.flow import Step, View
from kiosk.screens.base import Action, StandardScreen, load_kv


class WelcomeScreen(StandardScreen):
    kind = "welcome"
    steps = (Step.WELCOME,)

    def fill(self, view: View, same_step: bool) -> None:
        self.present(
            self.text("welcome.title"),
            [
                self.text("welcome.body"),
                self.context.counter_line(self.language) if self.context.city_hall else "",
            ],
            choices=[
                Action("button.start", ev.Start("apply"), primary=True),
                Action("button.my_page", ev.Start("my_page")),
            ],
        )


load_kv(Path(__file__).with_suffix(".kv"))
