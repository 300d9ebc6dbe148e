"""Place the card: the reading guidance (keep it still, it can take more than 5 seconds,
not on metal, no cover), with a drawing of the card on the reader; for a child's
procedure, that it is the child's own card (and PIN)."""

from __future__ import annotations

from pathlib import Path

from kiosk import events as ev
from kiosk.flow import Step, View
from kiosk.screens.base import Action, Para, StandardScreen, load_kv


class PlaceCardScreen(StandardScreen):
    kind = "place_card"
    steps = (Step.PLACE_CARD,)

    def fill(self, view: View, same_step: bool) -> None:
        child = view.data.get("for_whom", "self") != "self"
        self.present(
            self.text("place_card.child" if child else "place_card.title"),
            [
                Para(self.text("for_whom.card_note"), "strong") if child else "",
                Para(self.text("place_card.tips"), "strong"),
            ],
            actions=[Action("button.quit", ev.Quit())],
        )


load_kv(Path(__file__).with_suffix(".kv"))
