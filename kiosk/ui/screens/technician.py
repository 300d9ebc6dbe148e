"""Technician mode: its PIN (own pad, up to 8 digits), then the checks (devices, a test
read and print, the queue, "sync now") and their answers, in English, for the staff."""

from __future__ import annotations

from pathlib import Path

from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View
from kiosk.ui.kit import pads  # noqa: F401 (registers PinPad and PinDisplay for technician.kv)
from kiosk.ui.kit.buttons import SecondaryButton
from kiosk.ui.kit.style import load_kv
from kiosk.ui.screens.base import Action, FlowScreen, Para

CHECKS = ("device_status", "test_read", "test_print", "queue_status", "sync_now")


class TechnicianScreen(FlowScreen):
    kind = "technician"
    steps = (Step.TECHNICIAN_PIN, Step.TECHNICIAN)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for check in CHECKS:
            button = SecondaryButton(key=f"technician.{check}")
            button.bind(on_release=lambda _b, c=check: self.send(ev.TechnicianAction(c)))  # type: ignore[arg-type,misc]
            self.ids.checks.add_widget(button)
        self.faces = {  # strong references: ids are weak, and one face is off the tree
            Step.TECHNICIAN_PIN: self.ids.entry.__self__,
            Step.TECHNICIAN: self.ids.console.__self__,
        }
        self.ids.stage.remove_widget(self.ids.console)

    def fill(self, view: View, same_step: bool) -> None:
        pin_step = view.step == Step.TECHNICIAN_PIN
        face = self.faces[view.step]
        if face.parent is None:  # one face at a time: the other takes no room and no touch
            self.ids.stage.clear_widgets()
            self.ids.stage.add_widget(face)
        if pin_step:
            self.ids.title.text = self.text("technician_pin.title")
            wrong = (
                Para(self.text("technician_pin.wrong"), "error") if view.data.get("wrong") else ""
            )
            self.ids.texts.show([wrong])
        else:
            self.ids.title.text = self.text("technician.title")
            self.ids.texts.show([])
            self.ids.lines.text = "\n".join(view.data.get("lines") or ())
        actions = self.ids.pin_actions if pin_step else self.ids.console_actions
        actions.show([Action("button.back", ev.Back())], self.run)

    def pin_typed(self, pin: str) -> None:
        self.send(ev.TechnicianPinTyped(pin))

    def reset(self) -> None:
        self.ids.pad.wipe()


load_kv(Path(__file__).with_suffix(".kv"))
