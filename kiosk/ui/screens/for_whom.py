"""Whose procedure: one's own, or a child's (the guardian places the child's card)."""

from __future__ import annotations

from pathlib import Path

from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View
from kiosk.ui.kit.style import load_kv
from kiosk.ui.screens.base import Action, StandardScreen


class ForWhomScreen(StandardScreen):
    kind = "for_whom"
    steps = (Step.FOR_WHOM,)

    def fill(self, view: View, same_step: bool) -> None:
        self.present(
            self.text("for_whom.title"),
            [],
            choices=[
                Action("for_whom.self", ev.ForWhom("self"), primary=True),
                Action("for_whom.child_under_15", ev.ForWhom("child_under_15")),
                Action("for_whom.child_15_plus", ev.ForWhom("child_15_plus")),
            ],
            actions=[Action("button.back", ev.Back()), Action("button.quit", ev.Quit())],
        )


load_kv(Path(__file__).with_suffix(".kv"))
