"""Typing the payment-service ID, its security code (masked) and, optionally, the last
four digits of a phone number: the service's own label and hint, the format error the
catalog gives, and the kiosk's own pads (no system keyboard).

Numbers only (the catalog's pattern says so, or a phone's digits): a digit pad beside the
texts. Letters too: the letter pad across the width (it needs all of it: ten keys of
20 mm a row); on a small panel the texts then do not fit beside it, so the hint comes in
a message over the screen when the step starts, and so does a format error.

Before the ID, a message over the screen says what must not be missed: a service that
needs registering with its operator first, and, for a guardian, that one account serves
one child only. The pad keeps what was typed while the step lasts (a format error can be
corrected) and forgets it when the step changes or the screen is left.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from kivy.factory import Factory
from kivy.uix.boxlayout import BoxLayout

from kiosk import events as ev
from kiosk import i18n
from kiosk.flow import Step, View
from kiosk.screens.base import (
    Action,
    ButtonRow,
    FlowScreen,
    Para,
    TextBlock,
    load_kv,
)
from kiosk.screens.widgets import AlphaPad, BodyLabel, DigitPad, EntryDisplay, ui

MAX_LENGTH = {Step.ENTER_ID: 24, Step.ENTER_CODE: 16, Step.ENTER_PHONE: 4}
_DIGITS = re.compile(r"(\\d(\{\d+(,\d*)?\}|[+*?])?)+")


def digits_only(pattern: str | None) -> bool:
    """Whether a catalog pattern (``^\\d{11}$``) accepts digits and nothing else."""
    if not pattern:
        return False
    return _DIGITS.fullmatch(pattern.removeprefix("^").removesuffix("$")) is not None


class EntryScreen(FlowScreen):
    kind = "entry"
    steps = (Step.ENTER_ID, Step.ENTER_CODE, Step.ENTER_PHONE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.pad: AlphaPad | None = None
        self._entry: tuple[Step, str | None] | None = None  # what the pad is for
        self._error_shown: Any = None
        super().__init__(*args, **kwargs)
        ui.bind(window_size=self._window_resized)

    # --- what the step asks for -----------------------------------------------------------

    def _service_text(self, name: str) -> str:
        service = self.data.get("service")
        label = getattr(service, name, None) if service is not None else None
        return label.text(self.language) if label is not None else ""

    def _title(self, step: Step) -> str:
        if step == Step.ENTER_ID:
            return self.text("enter_id.title", label=self._service_text("id_label"))
        if step == Step.ENTER_CODE:
            return self.text("enter_code.title", label=self._service_text("code_label"))
        return self.text("enter_phone.title")

    def _hint(self, step: Step) -> str:
        if step == Step.ENTER_ID:
            return self._service_text("id_hint")
        if step == Step.ENTER_CODE:
            return self._service_text("code_hint")
        return self.text("enter_phone.body")

    def _guidance(self, step: Step) -> list[Para | str]:
        """The hint, and before the ID is typed the own-name rule (seed 000 lines 243,
        235): a family member's or a friend's account is refused."""
        guidance: list[Para | str] = [self._hint(step)]
        if step == Step.ENTER_ID:
            child = self.data.get("for_whom", "self") != "self"
            rule = i18n.sentences(
                self.language,  # type: ignore[arg-type]
                self.text("help.own_name"),
                self.text("help.own_name_child") if child else "",
            )
            guidance.append(Para(rule, "strong"))
        return guidance

    def _error_text(self) -> str:
        error = self.data.get("error")
        if error is None:
            return ""
        if isinstance(error, str):
            return self.text(error)  # a key of the flow's own (the phone's format)
        return str(error.text(self.language))  # the catalog's message

    def _notes(self, step: Step) -> list[str]:
        """What must be read before typing the ID."""
        if step != Step.ENTER_ID:
            return []
        notes = []
        service = self.data.get("service")
        catalog = self.context.catalog
        if self.data.get("pre_registration") and service is not None:
            notice = catalog.pre_registration_notice(service) if catalog is not None else None
            notes.append(
                notice.text(self.language) if notice else self.text("enter_id.pre_registration")
            )
        if self.data.get("for_whom", "self") != "self":
            notes.append(self.text("for_whom.one_child_rule"))
        return notes

    def _letters(self, step: Step) -> bool:
        service = self.data.get("service")
        if step == Step.ENTER_ID:
            return not digits_only(getattr(service, "id_pattern", None))
        if step == Step.ENTER_CODE:
            return not digits_only(getattr(service, "code_pattern", None))
        return False

    def _actions(self, step: Step) -> list[Action]:
        actions = [Action("button.back", ev.Back()), Action("button.quit", ev.Quit())]
        if step == Step.ENTER_PHONE:
            actions.append(Action("button.skip", ev.PhoneTyped(None)))
        actions.append(Action("button.next", self.submit, primary=True))
        return actions

    # --- showing ---------------------------------------------------------------------------

    @property
    def compact(self) -> bool:
        """The letter pad leaves no room for the texts beside it (a 1280x800 panel)."""
        if self.pad is None or isinstance(self.pad, DigitPad):
            return False
        pad_height = 4 * ui.key_height + 3 * ui.spacing
        return bool(ui.window_size[1] - pad_height < 4.5 * ui.touch_min)

    def fill(self, view: View, same_step: bool) -> None:
        step = view.step
        service = getattr(view.data.get("service"), "code", None)
        fresh = not same_step or self._entry != (step, service)
        if fresh:  # a new entry: a new pad, and what must be read first
            self._new_pad(step)
            self._entry = (step, service)
        self._arrange()
        if fresh:
            self._error_shown = None
            notes = self._notes(step)
            guidance = self._guidance(step) if self.compact else []
            if notes or guidance:
                self.open_panel(self._title(step), [*(Para(n, "strong") for n in notes), *guidance])
        error = view.data.get("error")
        if self.compact and error is not None and error is not self._error_shown:
            self.open_panel(
                self._title(step), [Para(self._error_text(), "error"), self._hint(step)]
            )
        self._error_shown = error

    def _new_pad(self, step: Step) -> None:
        if self.pad is not None:
            self.pad.wipe()
        kind = AlphaPad if self._letters(step) else DigitPad
        self.pad = kind(max_length=MAX_LENGTH[step], masked=step == Step.ENTER_CODE)

    def _arrange(self) -> None:
        """Lay the screen out for its pad and the window: beside, above, or compact."""
        assert self.view is not None and self.pad is not None
        step = self.view.step
        body: BoxLayout = self.ids.body
        body.clear_widgets()
        body.spacing = ui.spacing
        if self.pad.parent is not None:
            self.pad.parent.remove_widget(self.pad)
        display = EntryDisplay(pad=self.pad)
        actions = ButtonRow()
        actions.show(self._actions(step), self.run)
        texts = TextBlock()
        texts.show([*self._guidance(step), Para(self._error_text(), "error")])
        if isinstance(self.pad, DigitPad):
            body.add_widget(Factory.ScreenTitle(text=self._title(step)))
            row = BoxLayout(spacing=ui.spacing * 2)
            left = BoxLayout(orientation="vertical", spacing=ui.spacing * 2)
            for widget in (texts, display, BoxLayout(), actions):
                left.add_widget(widget)
            right = BoxLayout(orientation="vertical", size_hint_x=None)
            right.bind(minimum_width=right.setter("width"))
            right.add_widget(self.pad)
            right.add_widget(BoxLayout())
            row.add_widget(left)
            row.add_widget(right)
            body.add_widget(row)
        elif not self.compact:
            body.add_widget(Factory.ScreenTitle(text=self._title(step)))
            body.add_widget(texts)
            body.add_widget(BoxLayout())
            row = BoxLayout(spacing=ui.spacing * 2, size_hint_y=None, height=ui.button_height)
            row.add_widget(display)
            display.pos_hint = {"center_y": 0.5}
            actions.size_hint_x = None
            actions.bind(minimum_width=actions.setter("width"))
            row.add_widget(actions)
            body.add_widget(row)
            body.add_widget(self.pad)
        else:  # every pixel counts: no gap but a small one, the help in one paragraph
            body.spacing = ui.spacing / 3
            row = BoxLayout(spacing=ui.spacing * 2, size_hint_y=None)
            title = BodyLabel(text=self._title(step))
            row.add_widget(title)
            title.pos_hint = {"center_y": 0.5}
            display.pos_hint = {"center_y": 0.5}
            row.add_widget(display)
            actions.size_hint_x = None
            actions.bind(minimum_width=actions.setter("width"))
            row.add_widget(actions)
            row.height = max(ui.button_height, title.height)
            title.bind(height=lambda _t, h: setattr(row, "height", max(ui.button_height, h)))
            body.add_widget(row)
            body.add_widget(self.pad)
        self.ids.help.contact.text = self.help_text()

    def _window_resized(self, *_args: Any) -> None:
        if self.view is not None and self.parent is not None:
            self._arrange()

    # --- touches ---------------------------------------------------------------------------

    def submit(self) -> None:
        """次へ: hand what was typed to the flow (the pad keeps it until the step changes:
        a format error can be corrected)."""
        assert self.view is not None and self.pad is not None
        typed = self.pad.value()
        events = {
            Step.ENTER_ID: ev.IdTyped,
            Step.ENTER_CODE: ev.CodeTyped,
            Step.ENTER_PHONE: ev.PhoneTyped,
        }
        self.send(events[self.view.step](typed))

    def reset(self) -> None:
        if self.pad is not None:
            self.pad.wipe()
        self._entry = None


load_kv(Path(__file__).with_suffix(".kv"))
