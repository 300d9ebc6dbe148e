"""Typing the payment-service ID, its security code (masked) and, optionally, the last
four digits of a phone number: the service's own label and hint, the format error the
catalog gives, and the kiosk's own pads (no system keyboard).

Numbers only (the catalog's pattern says so, or a phone's digits): a digit pad beside the
texts (they scroll when they are longer than the room). Letters too: the letter pad
across the width (it needs all of it: ten keys of 20 mm a row) and most of the height, so
the hint comes in a message over the screen when the step starts, and so does a format
error.

Before the ID, a message over the screen says what must not be missed: a service that
needs registering with its operator first, and, for a guardian, that one account serves
one child only. The pad keeps what was typed while the step lasts (a format error can be
corrected) and forgets it when the step changes or the screen is left.

As it is typed, the ID shows in the groups its service shows it in (090-0000-0001), and
beside the entry a count says how many of how many (「3/11桁」): ``kiosk.procedure.entry_format``,
from the catalog's format of the service. Only the display: what is sent is what was
typed. The security code stays ● and is counted too; nothing typed is ever logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.core.text import Label as CoreLabel
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk import i18n
from kiosk.procedure import events as ev
from kiosk.procedure.entry_format import (
    PHONE_DIGITS,
    EntryFormat,
    code_format,
    digits_only,
    id_format,
)
from kiosk.procedure.flow import Step, View
from kiosk.ui.kit.labels import LocalizedLabel
from kiosk.ui.kit.pads import AlphaPad, DigitPad, EntryDisplay
from kiosk.ui.kit.style import load_kv, ui
from kiosk.ui.screens.base import Action, ButtonRow, FlowScreen, Para, ScrollingText

MAX_LENGTH = {Step.ENTER_ID: 24, Step.ENTER_CODE: 16, Step.ENTER_PHONE: 4,
              Step.ENTER_SERVICE_NUMBER: 32}  # fmt: skip


class EntryCount(LocalizedLabel):
    """Beside the entry: how many characters are typed, of how many (「3/11桁」). As wide
    as its ``widest`` text, so the entry box beside it keeps its width while typing."""

    widest = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name in ("widest", "font_size", "font_name"):
            self.fbind(name, self._fit)
        self._fit()

    def _fit(self, *_args: Any) -> None:
        probe = CoreLabel(font_size=self.font_size, font_name=self.font_name)
        self.width = max(probe.get_extents(self.widest)[0], self.texture_size[0]) + 1


# The buttons that move through the procedure (beside the pad); others ("skip") stay
# with the texts.
MOVES = ("button.back", "button.quit", "button.next")


class EntryScreen(FlowScreen):
    kind = "entry"
    # and a library card's number (the MyKey platform), typed or scanned
    steps = (Step.ENTER_ID, Step.ENTER_CODE, Step.ENTER_PHONE, Step.ENTER_SERVICE_NUMBER)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.pad: AlphaPad | None = None
        self.count: EntryCount | None = None  # beside the entry: how many of how many
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
        if step == Step.ENTER_SERVICE_NUMBER:
            facility = self.data.get("facility")
            name = facility.name(self.language) if facility is not None else ""
            return self.text("enter_service_number.title", name=name)
        return self.text("enter_phone.title")

    def _hint(self, step: Step) -> str:
        if step == Step.ENTER_ID:
            return self._service_text("id_hint")
        if step == Step.ENTER_CODE:
            return self._service_text("code_hint")
        if step == Step.ENTER_SERVICE_NUMBER:
            facility = self.data.get("facility")
            example = facility.number_example if facility is not None else ""
            return self.text("enter_service_number.hint", example=example)
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
        if step == Step.ENTER_SERVICE_NUMBER:
            return not digits_only(getattr(self.data.get("facility"), "number_pattern", None))
        return False

    def _format(self, step: Step) -> EntryFormat:
        """What the step's entry looks like: the service's ID or code format, or the
        phone's 4 digits."""
        service = self.data.get("service")
        if step == Step.ENTER_ID:
            return id_format(getattr(service, "id_pattern", None))
        if step == Step.ENTER_CODE:
            return code_format(getattr(service, "code_pattern", None))
        if step == Step.ENTER_SERVICE_NUMBER:
            return id_format(getattr(self.data.get("facility"), "number_pattern", None))
        return PHONE_DIGITS

    def _count_text(self, count: int) -> str:
        """「3/11桁」, 「3/10文字」; without a length in the format, 「3桁」."""
        assert self.view is not None
        entry = self._format(self.view.step)
        total = entry.length
        if entry.unit == "digits":
            if total is None:
                return self.text("entry.typed_digits", count=count)
            return self.text("entry.count_digits", count=count, total=total)
        if total is None:
            return self.text("entry.typed_characters", count=count)
        return self.text("entry.count_characters", count=count, total=total)

    def _actions(self, step: Step) -> list[Action]:
        actions = [Action("button.back", ev.Back()), Action("button.quit", ev.Quit())]
        if step == Step.ENTER_PHONE:
            actions.append(Action("button.skip", ev.PhoneTyped(None)))
        actions.append(Action("button.next", self.submit, primary=True))
        return actions

    # --- showing ---------------------------------------------------------------------------

    @property
    def compact(self) -> bool:
        """The letter pad takes the width and most of the height (ten keys of 20 mm a
        row): the texts do not fit beside it, so they come in a message over the screen
        when the step starts (and with a format error)."""
        return self.pad is not None and not isinstance(self.pad, DigitPad)

    def fill(self, view: View, same_step: bool) -> None:
        step = view.step
        service = getattr(view.data.get("service") or view.data.get("facility"), "code", None)
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
        self._typed_before = 0  # the old pad is emptied unseen
        if self.pad is not None:
            self.pad.wipe()
        kind = AlphaPad if self._letters(step) else DigitPad
        masked = step == Step.ENTER_CODE
        entry = self._format(step)
        self.pad = kind(
            max_length=MAX_LENGTH[step],
            masked=masked,
            shown_as=None if masked else entry.shown,  # in the service's groups
        )
        self.pad.bind(on_change=self._count)
        self.pad.bind(on_change=lambda pad: self.key_typed(int(pad.length)))

    def _count(self, *_args: Any) -> None:
        """The count beside the entry, after every key."""
        if self.pad is not None and self.count is not None and self.view is not None:
            typed = self._format(self.view.step).count(self.pad.value())
            self.count.text = self._count_text(typed)

    def _arrange(self) -> None:
        """Lay the screen out for its pad: the texts, the entry and its count, and the
        buttons beside a digit pad; the entry and the buttons above a letter pad. The
        title is in the screen's top row (``ids.title``)."""
        assert self.view is not None and self.pad is not None
        step = self.view.step
        self.ids.title.text = self._title(step)
        body: BoxLayout = self.ids.body
        body.clear_widgets()
        if self.pad.parent is not None:
            self.pad.parent.remove_widget(self.pad)
        display = EntryDisplay(pad=self.pad)
        self.count = EntryCount(widest=self._count_text(int(self.pad.max_length)))
        self._count()
        entry = BoxLayout(spacing=ui.spacing, size_hint_y=None)  # the entry and its count
        entry.add_widget(display)
        entry.add_widget(self.count)
        entry.bind(minimum_height=entry.setter("height"))  # its tallest part
        self.count.pos_hint = {"center_y": 0.5}
        if isinstance(self.pad, DigitPad):
            self._beside_digit_pad(step, entry)
        else:
            self._above_letter_pad(step, entry)
        self.ids.help.contact.text = self.help_text()

    def _beside_digit_pad(self, step: Step, entry: BoxLayout) -> None:
        """On the left the top row (stacked: the pad's column runs the full height), the
        texts (what fits; the rest scrolls), the entry and beside it any other choice
        ("skip"); on the right the pad, and under it back, stop and next, where the
        finger is."""
        texts = ScrollingText()
        texts.show([*self._guidance(step), Para(self._error_text(), "error")])
        moves = [a for a in self._actions(step) if a.key in MOVES]
        others = [a for a in self._actions(step) if a.key not in MOVES]
        if others:  # beside the entry (a 4-digit entry leaves the room)
            extra = ButtonRow(size_hint_x=None)
            extra.bind(minimum_width=extra.setter("width"))
            extra.show(others, self.run)
            entry.add_widget(extra)
        left = BoxLayout(orientation="vertical", spacing=ui.spacing)
        for widget in (texts, entry, BoxLayout()):
            left.add_widget(widget)
        self.move_top(left)
        self.trade_tools(None)
        buttons = ButtonRow()
        buttons.show(moves, self.run)
        right = BoxLayout(orientation="vertical", spacing=ui.spacing, size_hint_x=None)
        right.bind(minimum_width=right.setter("width"))
        for widget in (self.pad, buttons, BoxLayout()):
            right.add_widget(widget)
        row = BoxLayout(spacing=ui.spacing * 2)
        row.add_widget(left)
        row.add_widget(right)
        self.ids.body.add_widget(row)

    def _above_letter_pad(self, step: Step, entry: BoxLayout) -> None:
        """The letter pad takes the width: the buttons go up beside the title, the
        controls down beside the entry (each row keeps room for the other's words), and
        the pad pages its keys where four rows do not fit."""
        self.move_top(None)
        buttons = ButtonRow(size_hint_x=None)
        buttons.bind(minimum_width=buttons.setter("width"))
        buttons.show(self._actions(step), self.run)
        row = BoxLayout(spacing=ui.spacing * 2, size_hint_y=None)
        row.bind(minimum_height=row.setter("height"))  # the controls' two lines, or a key
        entry.pos_hint = {"center_y": 0.5}
        row.add_widget(entry)
        self.trade_tools(row, buttons)
        self.pad.paged = not self._four_rows_fit()
        body = self.ids.body
        body.add_widget(row)
        body.add_widget(self.pad)

    def _four_rows_fit(self) -> bool:
        """Whether the letter pad's four rows fit under the top row and the entry row,
        above the help bar (a 1920x1080 panel: yes; 1280x800: no, it pages)."""
        rows = 4 * ui.key_height + 3 * ui.spacing
        others = self.top_bar.height + ui.button_height + self.ids.help.height
        return rows + others + 6 * ui.spacing <= ui.window_size[1]

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
            Step.ENTER_SERVICE_NUMBER: ev.ServiceNumberTyped,
        }
        self.send(events[self.view.step](typed))

    def reset(self) -> None:
        self._typed_before = 0  # emptied unseen: nothing to say
        if self.pad is not None:
            self.pad.wipe()
        self._entry = None


load_kv(Path(__file__).with_suffix(".kv"))
