"""The card's PIN: the tries left shown before typing, a loud warning when one is left,
"wrong PIN" after a mistake, which PIN it is and what to do if it is forgotten, the
kiosk's own PIN pad (masked digits, no system keyboard) with the ● boxes beside it.

OK on the pad sends ``PinTyped``; the pad forgets the digits before it does, and again
whenever the screen is left or the step changes."""

from __future__ import annotations

from pathlib import Path

from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View
from kiosk.ui.kit import pads  # noqa: F401 (registers PinPad and PinDisplay for pin.kv)
from kiosk.ui.kit.style import load_kv
from kiosk.ui.screens.base import Action, FlowScreen, Para


class PinScreen(FlowScreen):
    kind = "pin"
    steps = (Step.PIN,)

    def fill(self, view: View, same_step: bool) -> None:
        data = view.data
        paragraphs: list[Para | str] = []
        if data.get("wrong"):
            paragraphs.append(Para(self.text("pin.wrong"), "error"))
        if data.get("last_try"):
            paragraphs.append(Para(self.text("pin.last_try"), "alert"))
        else:
            paragraphs.append(
                Para(self.text("pin.tries", tries=data.get("tries_left", "?")), "strong")
            )
        # Which PIN (not the signature password), and what to do without it (seed 000
        # line 177): before the first wrong try, not after the third.
        paragraphs += [self.text("pin.which"), self.text("help.forgotten_pin")]
        self.ids.title.text = self.text("pin.title")
        self.ids.texts.show(paragraphs)
        self.ids.actions.show([Action("button.quit", ev.Quit())], self.run)

    def pin_typed(self, pin: str) -> None:
        """The pad's OK: it is empty again already."""
        self.send(ev.PinTyped(pin))

    def reset(self) -> None:
        self._typed_before = 0  # emptied unseen: nothing to say
        self.ids.pad.wipe()


load_kv(Path(__file__).with_suffix(".kv"))
