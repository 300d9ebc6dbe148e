"""A citizen who has applied already: the service chosen (it cannot be changed), a status
slip, and the two ways to ask for a cancellation (seed 000 line 41): "I typed it wrong or
used someone else's service", and "I did not make this application". Either says where to
cancel it (at a city-hall terminal, the same day, cancelling it here), then the result."""

from __future__ import annotations

from pathlib import Path

from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View
from kiosk.ui.kit.style import load_kv
from kiosk.ui.screens.base import Action, Para, StandardScreen


class AlreadyAppliedScreen(StandardScreen):
    kind = "already_applied"
    steps = (Step.ALREADY_APPLIED, Step.NOT_ME, Step.CANCELLED)

    def fill(self, view: View, same_step: bool) -> None:
        fill_step = {
            Step.ALREADY_APPLIED: self._already_applied,
            Step.NOT_ME: self._not_me,
            Step.CANCELLED: self._cancelled,
        }[view.step]
        fill_step(view.data)

    def _service(self, data: dict) -> str:
        return str(data.get(f"service_name_{self.language}") or data.get("service_code") or "")

    def _already_applied(self, data: dict) -> None:
        body = self.text(
            "already_applied.body",
            service=self._service(data),
            last4=data.get("account_last4") or "----",
            receipt=data.get("receipt_number") or "-",
        )
        self.present(
            self.text("already_applied.title"),
            [
                Para(body, "strong"),
                self.text("already_applied.no_change"),
                self.text("already_applied.mistake"),
            ],
            choices=[
                Action("button.wrong_entry", ev.NotMe("wrong_entry")),
                Action("button.not_me", ev.NotMe("not_made_by_me")),
            ],
            actions=[
                Action("button.status_slip", ev.StatusSlip()),
                Action("button.finish", ev.Continue(), primary=True),
            ],
        )

    def _not_me(self, data: dict) -> None:
        receipt = self.text("not_me.receipt", receipt=data.get("receipt_number") or "-")
        reported = data.get("why", "not_made_by_me") == "not_made_by_me"
        title = self.text("not_me.title" if reported else "wrong_entry.title")
        if data.get("cancellable_here"):
            self.present(
                title,
                [
                    receipt,
                    Para(self.text("not_me.cancellable"), "strong"),
                    self.text("not_me.in_app"),
                ],
                choices=[Action("button.cancel_application", ev.CancelApplication(), primary=True)],
                actions=[
                    Action("button.back", ev.Back()),
                    Action("button.finish", ev.Continue()),
                ],
            )
            return
        where = (
            "not_me.convenience_store"
            if data.get("channel") != "city_hall"
            else ("not_me.too_late")
        )
        self.present(
            title,
            [
                receipt,
                Para(self.text(where), "strong"),
                self.text("not_me.in_app"),
                self.text("not_me.will_record") if reported else "",
            ],
            actions=[
                Action("button.back", ev.Back()),
                Action("button.finish", ev.Continue(), primary=True),
            ],
        )

    def _cancelled(self, data: dict) -> None:
        receipt = self.text("not_me.receipt", receipt=data.get("receipt_number") or "-")
        self.present(
            self.text("cancelled.title"),
            [receipt, Para(self.text("cancelled.body"), "strong")],
            choices=[Action("button.apply_again", ev.Continue(), primary=True)],
            actions=[Action("button.quit", ev.Quit())],
        )


load_kv(Path(__file__).with_suffix(".kv"))
