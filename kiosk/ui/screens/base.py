"""What every kiosk screen shares: ``FlowScreen``, filled from the flow's ``View`` and
sending the flow's events, and the pieces screens are laid out with.

A screen holds no rule of the procedure: ``show(view)`` shows the step's data, a touch
``send``s an event, and the flow decides what comes next (``kiosk/procedure/flow.py``). A screen
may serve several steps (the notice screen serves ten); ``show`` is called again on the
same step when its data changes (a format error, another language), and ``reset`` runs
when the step changes or the screen is left, so a pad never keeps what was typed.

Every screen has, at the bottom, the help bar: the contact line, "help" (a message over
the screen: a forgotten PIN, a lost card, the own-name rule, the fraud warning, every
contact number, and at city hall the counter to visit; the step stays), the language
switch (sends ``ChooseLanguage``; the app makes the translator follow ``view.language``)
and on city-hall terminals a "call staff" button (``CallStaff``).

Texts come from ``kiosk.i18n`` in the view's language. Labels with a ``key`` follow the
translator by themselves; texts built here (with names from the catalog, dates) are
built again by ``show``, which the app calls on every change, the language included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from kiosk import i18n
from kiosk.procedure import events as ev
from kiosk.procedure.flow import TECHNICIAN_STEPS, Step, View
from kiosk.procedure.progress import progress_of
from kiosk.slip.archive import KEEP as SLIPS_KEPT
from kiosk.ui.kit import theme
from kiosk.ui.kit.bars import HelpBar
from kiosk.ui.kit.buttons import KioskButton, PrimaryButton, SecondaryButton
from kiosk.ui.kit.labels import BodyLabel
from kiosk.ui.kit.style import load_kv, ui
from receipts.model import Contact

Tone = Literal["body", "strong", "error", "alert", "muted"]


# --- What a screen knows besides its view ---------------------------------------------------


class VoiceControls(Protocol):
    """What the screens ask of the kiosk's voice (``kiosk.voice.guide.VoiceGuide``)."""

    muted: bool

    def repeat(self) -> None: ...

    def set_muted(self, muted: bool) -> None: ...

    def typed(self, count: int) -> None: ...


@dataclass(frozen=True)
class ScreenContext:
    """The kiosk as the screens see it: where events go, and what is the same for every
    citizen (the channel, the catalog's names, the help texts)."""

    send: Callable[[ev.Event], None]
    channel: str = "convenience_store"
    catalog: Any = None  # kiosk.catalog.Catalog: names and notices of the services
    counter_ja: str = "市区町村のマイナンバーカード窓口"
    counter_en: str = "the My Number Card counter of your municipal office"
    contact_hours_ja: str = Contact().hours_ja
    contact_hours_en: str = Contact().hours_en
    retention_days: float = 30.0  # KioskSettings.retention_days: results kept on the kiosk
    slips_kept: int = SLIPS_KEPT  # slips archived for reprints
    voice: VoiceControls | None = None  # None: a kiosk without a voice (no sound controls)

    @classmethod
    def of(cls, kiosk: Any, send: Callable[[ev.Event], None] | None = None) -> ScreenContext:
        """The context of an assembled ``kiosk.shell.assembly.Kiosk``."""
        settings = kiosk.settings
        return cls(
            send=send or kiosk.dispatcher.send,
            channel=kiosk.flow.channel,
            catalog=kiosk.catalog,
            counter_ja=settings.counter_ja,
            counter_en=settings.counter_en,
            contact_hours_ja=settings.contact_hours_ja,
            contact_hours_en=settings.contact_hours_en,
            retention_days=settings.retention_days,
        )

    @property
    def city_hall(self) -> bool:
        return self.channel == "city_hall"

    def counter(self, language: str) -> str:
        return self.counter_ja if language == "ja" else self.counter_en

    def contact_bar_line(self, language: str) -> str:
        """The help bar's line: the number to call. The hours and the full wording are in
        "help" (page 2) and on the slip: with them the line took four lines of larger text
        on a 10-inch panel, beside the bar's three buttons."""
        contact = Contact()
        return i18n.text("help.contact_bar", language, phone=contact.phone,  # type: ignore[arg-type]
                         option=contact.option)  # fmt: skip

    def contact_line(self, language: str) -> str:
        contact = Contact()
        hours = self.contact_hours_ja if language == "ja" else self.contact_hours_en
        return i18n.text(
            "help.contact",
            language,
            phone=contact.phone,  # type: ignore[arg-type]
            option=contact.option,
            hours=hours,
        )

    def help_pages(self, language: str) -> list[list[Para]]:
        """What "help" shows, in pages that fit a small panel: the questions a citizen at a
        kiosk cannot ask anyone (seed 000 lines 177, 298, 243, 235, 44-45), then the fraud
        warning (seed 002 lines 235-241) and every number to call (seed 000 lines 26-28,
        seed 001 line 42; seed 004 #1022 for a leaked MyKey ID)."""
        contact = Contact()

        def say(key: str, **values: Any) -> str:
            return i18n.text(key, language, **values)  # type: ignore[arg-type]

        own_name = i18n.sentences(
            language,  # type: ignore[arg-type]
            say("help.own_name"),
            say("help.own_name_child"),
            say("for_whom.one_child_rule"),
        )
        counter = [Para(self.counter_line(language), "strong")] if self.city_hall else []
        return [
            [
                *counter,
                Para(say("help.forgotten_pin")),
                Para(say("help.lost_card")),
                Para(own_name),
                Para(say("help.in_app")),
            ],
            [
                Para(say("help.scam"), "strong"),
                Para(self.contact_line(language)),
                Para(say("help.other_numbers", navi=contact.navi_dial, paid=contact.ordinary)),
                Para(say("help.mykey_leak")),
            ],
        ]

    def counter_line(self, language: str) -> str:
        return i18n.text("help.counter", language, counter=self.counter(language))  # type: ignore[arg-type]

    def service_name(self, code: str | None, language: str) -> str:
        service = self.catalog.get(code) if self.catalog is not None and code else None
        if service is None:
            return code or ""
        return str(service.name_ja if language == "ja" else service.name_en)


# --- Dates, as the citizen reads them ---------------------------------------------------------


def parse_time(value: Any) -> dt.datetime | None:
    """A datetime from the service's ISO text (or a datetime already)."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


# --- Pieces of a screen -----------------------------------------------------------------------


@dataclass(frozen=True)
class Para:
    """A paragraph of a screen: its text and how loud it is."""

    text: str
    tone: Tone = "body"


@dataclass(frozen=True)
class Action:
    """A button: its message key, and the event it sends (or what it does on the screen)."""

    key: str
    do: ev.Event | Callable[[], None]
    primary: bool = False
    values: dict[str, Any] = field(default_factory=dict)


class StrongText(BodyLabel):
    """A paragraph that must not be missed: larger than the body, smaller than the title."""


class ErrorText(BodyLabel):
    """A mistake to correct: in the error colour."""


class AlertText(BodyLabel):
    """A loud warning: large, in the error colour, on the warning background, framed."""


class MutedText(BodyLabel):
    """Secondary information."""


_TONES: dict[str, type[BodyLabel]] = {
    "body": BodyLabel,
    "strong": StrongText,
    "error": ErrorText,
    "alert": AlertText,
    "muted": MutedText,
}


class TextBlock(BoxLayout):
    """Paragraphs, one under the other, as tall as they need."""

    def show(self, paragraphs: Sequence[Para | str]) -> None:
        self.clear_widgets()
        for paragraph in paragraphs:
            para = Para(paragraph) if isinstance(paragraph, str) else paragraph
            if para.text:
                self.add_widget(_TONES[para.tone](text=para.text))

    @property
    def texts(self) -> list[str]:
        return [child.text for child in reversed(self.children)]


class ScrollingText(BoxLayout):
    """Paragraphs (a ``TextBlock``) as tall as they need, up to the room the screen has
    left for them; beyond it they scroll: by dragging, or with 「上へ」「下へ」 buttons
    beside the text (20 mm, for a hand that cannot drag), shown only when there is more
    to see. Readable line spacing and large type make some screens taller than a small
    panel: nothing is cut off, it scrolls."""

    overflows = BooleanProperty(False)
    share = NumericProperty(1.0)  # of the parent's width, at most (beside other parts)
    arrows_width = NumericProperty(0)  # the "up" and "down" buttons' column (kv)
    tall = BooleanProperty(True)  # room for "up" above "down" (kv)

    def __init__(self, **kwargs: Any) -> None:
        self._watched: list[Widget] = []
        super().__init__(**kwargs)

    def on_kv_post(self, _base_widget: Any) -> None:
        """The kv rule has run (a child of a screen's rule gets it after ``__init__``)."""
        self.fbind("parent", self._watch_siblings)
        self.ids.content.fbind("height", self._fit)
        self._watch_siblings()

    def show(self, paragraphs: Sequence[Para | str]) -> None:
        self.ids.block.show(paragraphs)
        self.ids.scroll.scroll_y = 1  # new text: from its start

    @property
    def texts(self) -> list[str]:
        return self.ids.block.texts

    def scroll_by(self, pages: float) -> None:
        """Move by ``pages`` of the visible height (negative: up)."""
        scroll = self.ids.scroll
        hidden = self.ids.content.height - scroll.height
        if hidden > 0:
            step = pages * scroll.height * 0.8 / hidden
            scroll.scroll_y = min(1.0, max(0.0, scroll.scroll_y - step))

    def _watch_siblings(self, *_args: Any) -> None:
        """Follow the parent's height and every sibling's (they come and go)."""
        for widget in self._watched:
            widget.funbind("height", self._fit)
            widget.funbind("children", self._watch_siblings)
        parent = self.parent
        self._watched = [parent, *parent.children] if parent is not None else []
        for widget in self._watched:
            widget.fbind("height", self._fit)
        if parent is not None:
            parent.fbind("children", self._watch_siblings)
        self._fit()

    def room(self) -> float:
        """The height the parent layout has left for this block."""
        parent = self.parent
        if parent is None:
            return float(self.ids.content.height)
        _left, top, _right, bottom = getattr(parent, "padding", (0, 0, 0, 0))
        room = parent.height - top - bottom
        if getattr(parent, "orientation", "") == "vertical":
            others = [c for c in parent.children if c is not self]
            room -= sum(c.height for c in others if c.size_hint_y is None)
            room -= parent.spacing * len(others)
        return max(0.0, room)

    def _fit(self, *_args: Any) -> None:
        needed = self.ids.content.height
        # Room for at least the "up" and "down" buttons, side by side, when it scrolls.
        height = min(needed, max(self.room(), ui.button_height))
        if abs(self.height - height) > 0.5:
            self.height = height
        self.overflows = needed > height + 1


class ButtonRow(BoxLayout):
    """A row of buttons: the secondary ones (back, stop) on the left, the primary one on
    the right, each as wide as its label."""

    def show(self, actions: Sequence[Action], run: Callable[[Action], None]) -> None:
        self.clear_widgets()
        secondary = [a for a in actions if not a.primary]
        primary = [a for a in actions if a.primary]
        for action in secondary:
            self.add_widget(_button(action, run, fit=True))
        self.add_widget(Widget())
        for action in primary:
            self.add_widget(_button(action, run, fit=True))


class ChoiceList(BoxLayout):
    """Large full-width buttons, one per line: the choices of a screen (for whom, what to
    do). Empty, it takes no room."""

    def show(self, actions: Sequence[Action], run: Callable[[Action], None]) -> None:
        self.clear_widgets()
        for action in actions:
            self.add_widget(_button(action, run, fit=False))


def _button(action: Action, run: Callable[[Action], None], *, fit: bool) -> KioskButton:
    kind = PrimaryButton if action.primary else SecondaryButton
    button = kind(key=action.key, values=action.values, fit_text=fit)
    button.bind(on_release=lambda _button: run(action))
    return button


class ScreenFrame(BoxLayout):
    """A screen's column: padding, spacing, the parts from top to bottom."""


class ToolButton(SecondaryButton):
    """A control of the top row: two short lines, taller than 20 mm when larger text
    needs it."""


class ScreenTop(BoxLayout):
    """The top row of every screen: on the left where the citizen is in the procedure
    (「3/8 暗証番号」, ``kiosk.procedure.progress``) above the screen's title; on the right the
    controls every screen has: larger text, and on a kiosk with a voice "listen again" and
    sound off or on. ``FlowScreen`` builds it and moves the title into it."""

    # The controls under the title, not beside it (a screen whose column is narrow).
    stacked = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.larger = ToolButton(fit_text=True)
        self.repeat = ToolButton(key="button.listen_again", fit_text=True)
        self.sound = ToolButton(fit_text=True)
        for button in (self.larger, self.repeat, self.sound):
            self.ids.tools.add_widget(button)
        for part in (self.ids.left, self.ids.tools, self.ids.stand_in):
            part.fbind("height", self._measure)
        self.ids.tools.fbind("parent", self._measure)
        self.fbind("stacked", self._measure)
        self.fbind("spacing", self._measure)
        self._measure()

    def _measure(self, *_args: Any) -> None:
        """The title's column and, beside or under it, the controls (while they are here:
        a screen may lend them, ``FlowScreen.trade_tools``) or what stands in for them."""
        tools, stand_in = self.ids.tools, self.ids.stand_in
        right = max(tools.height if tools.parent is self else 0,
                    stand_in.height if stand_in.children else 0)  # fmt: skip
        left = self.ids.left.height
        self.height = left + self.spacing + right if self.stacked else max(left, right)

    def show_tools(self, *, larger: bool, voice: bool, muted: bool) -> None:
        """The labels say what a touch does next (「文字を大きく」 or 「文字をもとに戻す」)."""
        self.larger.key = "button.normal_text" if larger else "button.larger_text"
        self.sound.key = "button.sound_on" if muted else "button.sound_off"
        tools = self.ids.tools
        for button in (self.repeat, self.sound):
            if voice and button.parent is None:
                tools.add_widget(button)
            elif not voice and button.parent is not None:
                tools.remove_widget(button)

    @property
    def progress_text(self) -> str:
        return str(self.ids.progress.text)


class InfoPanel(BoxLayout):
    """A message over the whole screen, closed by its button: the step stays the same. It
    takes every touch while it is open (nothing under it can be pressed)."""

    def __init__(
        self,
        title: str,
        paragraphs: Sequence[Para | str],
        button_key: str,
        on_close: Callable[[], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ids.title.text = title
        self.ids.texts.show(paragraphs)
        self.ids.actions.show([Action(button_key, on_close, primary=True)], lambda a: a.do())

    def on_touch_down(self, touch: Any) -> bool:
        super().on_touch_down(touch)
        return True

    def on_touch_move(self, touch: Any) -> bool:
        super().on_touch_move(touch)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        super().on_touch_up(touch)
        return True


# --- The screen -------------------------------------------------------------------------------


class FlowScreen(Screen):
    """A screen of the procedure: ``show(view)`` fills it, a touch ``send``s an event.

    Subclasses set ``kind`` (the screen's name) and ``steps`` (the steps it serves), and
    implement ``fill(view, same_step)``; a screen with a pad implements ``reset`` (wipe it).
    Their kv rule has a ``HelpBar`` with ``id: help``.
    """

    kind: ClassVar[str] = ""
    steps: ClassVar[tuple[Step, ...]] = ()

    language = StringProperty("ja")
    step = StringProperty("")

    def __init__(self, context: ScreenContext, **kwargs: Any) -> None:
        self.context = context
        self.view: View | None = None
        self.panel: InfoPanel | None = None
        self._typed_before = 0  # digits on the pad at the last key (key_typed)
        super().__init__(name=self.kind, **kwargs)
        bar: HelpBar = self.ids.help
        bar.key = ""  # its text is built here: contact line, and the counter at city hall
        bar.language_key = "button.language"
        bar.language_switcher = self.switch_language
        bar.show_call_button = True  # on every screen, at every kiosk
        bar.bind(on_call_staff=lambda _bar: self.call_staff())
        bar.bind(on_help=lambda _bar: self.show_help())
        self.top_bar = self._build_top()
        # A bound method, not a lambda: ``ui`` lives for the process, and bind() keeps a
        # method weakly but a lambda (and the screen it holds) for ever.
        ui.bind(text_scale=self._text_scale_changed)

    def _build_top(self) -> ScreenTop:
        """The top row, first in the screen's frame. The title (or the row it stands in)
        moves into it, under the step bar: the controls take no room of their own. A
        screen that builds its title in code keeps it where it is."""
        frame = self.ids.help.parent
        top = ScreenTop()
        slot = self.ids.get("top_slot")  # a screen may want it in one column of its own
        heading = self.ids.get("title")
        if slot is not None:
            top.stacked = True
            place, heading = slot, (heading if heading.parent is slot else None)
        else:
            place = frame
            while heading is not None and heading.parent is not frame:
                heading = heading.parent
        if heading is not None:
            place.remove_widget(heading)
            top.ids.left.add_widget(heading)
        place.add_widget(top, index=len(place.children))
        top.larger.bind(on_release=lambda _b: self.toggle_larger_text())
        top.repeat.bind(on_release=lambda _b: self.listen_again())
        top.sound.bind(on_release=lambda _b: self.toggle_sound())
        return top

    # --- the view ------------------------------------------------------------------------

    def show(self, view: View) -> None:
        """Fill the screen from ``view`` (a new step, new data, or another language)."""
        same_step = self.view is not None and self.view.step == view.step
        if not same_step:
            self.reset()
            self.close_panel()
        self.view = view
        self.language = view.language
        self.step = view.step.value
        self.ids.help.contact.text = self.help_text()
        self._show_progress(view)
        self._show_tools()
        self.fill(view, same_step)

    def move_top(self, parent: Widget | None = None) -> None:
        """Put the top row first in ``parent``, stacked (a column beside a pad that runs
        the full height, as on the PIN screen); None: back across the screen's frame."""
        top = self.top_bar
        frame = self.ids.help.parent
        place = parent if parent is not None else frame
        if top.parent is not place:
            if top.parent is not None:
                top.parent.remove_widget(top)
            place.add_widget(top, index=len(place.children))
        top.stacked = parent is not None

    def trade_tools(self, holder: Widget | None, stand_in: Widget | None = None) -> None:
        """Lend the controls to ``holder`` (a row further down), with ``stand_in`` in
        their place in the top row (the letter-pad screen: its buttons leave the title a
        line of its own); None: the controls back in the top row."""
        top = self.top_bar
        tools, place = top.ids.tools, top.ids.stand_in
        if tools.parent is not None:
            tools.parent.remove_widget(tools)
        for child in list(place.children):
            place.remove_widget(child)
        if holder is None:
            top.add_widget(tools)  # last: on the right
        else:
            holder.add_widget(tools)
            if stand_in is not None:
                place.add_widget(stand_in)

    def _show_progress(self, view: View) -> None:
        progress = progress_of(view.step, view.purpose)
        line = ""
        if progress is not None:
            stage = self.text(f"progress.{progress.stage}")
            line = self.text("progress.line", number=progress.number, total=progress.total,
                             stage=stage)  # fmt: skip
        self.top_bar.ids.progress.text = line

    def _text_scale_changed(self, *_args: Any) -> None:
        self._show_tools()

    def _show_tools(self) -> None:
        voice = self.context.voice
        citizen = self.view is None or self.view.step not in TECHNICIAN_STEPS
        self.top_bar.ids.tools.opacity = 1 if citizen else 0
        self.top_bar.ids.tools.disabled = not citizen
        self.top_bar.show_tools(
            larger=ui.text_scale != 1.0,
            voice=voice is not None,
            muted=bool(voice is not None and voice.muted),
        )

    def fill(self, view: View, same_step: bool) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget what was typed on this screen (subclasses with a pad)."""

    def leave(self) -> None:
        """The app shows another screen: forget what was typed, close any message."""
        self.reset()
        self.close_panel()
        self.view = None

    @property
    def data(self) -> dict[str, Any]:
        return self.view.data if self.view is not None else {}

    # --- touches -------------------------------------------------------------------------

    def send(self, event: ev.Event) -> None:
        self.context.send(event)

    def run(self, action: Action) -> None:
        if isinstance(action.do, ev.Event):
            self.send(action.do)
        else:
            action.do()

    def switch_language(self, language: str) -> None:
        self.send(ev.ChooseLanguage(language))  # type: ignore[arg-type]

    def show_help(self, page: int = 0) -> None:
        """Help over the screen, a page at a time: the step stays."""
        self.open_pages("help.title", self.context.help_pages(self.language), page)

    def open_pages(
        self, title_key: str, pages: Sequence[Sequence[Para | str]], page: int = 0
    ) -> None:
        """Messages over the screen, one page at a time ("next", then "OK"); the title
        ``title_key`` is given the page and the number of pages."""
        last = page == len(pages) - 1
        self.open_panel(
            self.text(title_key, page=page + 1, pages=len(pages)),
            pages[page],
            "button.ok" if last else "button.next",
            then=None if last else (lambda: self.open_pages(title_key, pages, page + 1)),
        )

    def call_staff(self) -> None:
        self.send(ev.CallStaff())
        self.open_panel(self.text("help.staff_called"), [self.text("help.staff_called_body")])

    def toggle_larger_text(self) -> None:
        """「文字を大きく」: every screen's text 25 % bigger, until the session ends (the
        app puts it back on the start screen)."""
        ui.text_scale = 1.0 if ui.text_scale != 1.0 else theme.LARGER_TEXT

    def key_typed(self, count: int) -> None:
        """A key of a pad: the voice says how many digits there are now, never which;
        a pad emptied after it held some says it was cleared. (A pad that is set up or
        emptied unseen says nothing: ``_typed_before`` starts at 0.)"""
        before, self._typed_before = self._typed_before, count
        if self.context.voice is not None and (count or before):
            self.context.voice.typed(count)

    def listen_again(self) -> None:
        if self.context.voice is not None:
            self.context.voice.repeat()

    def toggle_sound(self) -> None:
        voice = self.context.voice
        if voice is not None:
            voice.set_muted(not voice.muted)
            self._show_tools()

    # --- helpers -------------------------------------------------------------------------

    def text(self, key: str, **values: Any) -> str:
        return i18n.text(key, self.language, **values)  # type: ignore[arg-type]

    def help_text(self) -> str:
        """The help bar's line: where to call. (The city-hall counter is on the start
        screen, in "help", and on the notices it concerns: the bar keeps room for
        "help", "call staff" and the language on a 1280-pixel panel.)"""
        return self.context.contact_bar_line(self.language)

    def open_panel(
        self,
        title: str,
        paragraphs: Sequence[Para | str],
        button_key: str = "button.ok",
        then: Callable[[], None] | None = None,
    ) -> InfoPanel:
        """A message over the screen until its button is pressed (then ``then()``)."""
        self.close_panel()

        def close() -> None:
            self.close_panel()
            if then is not None:
                then()

        self.panel = InfoPanel(title, paragraphs, button_key, close)
        self.add_widget(self.panel)
        return self.panel

    def close_panel(self) -> None:
        if self.panel is not None:
            self.remove_widget(self.panel)
            self.panel = None


class StandardScreen(FlowScreen):
    """The usual layout: a heading, paragraphs, large choices, a row of buttons, the help
    bar. Its kv rule has ``HeadingLabel`` ``title``, ``TextBlock`` ``texts``, ``ChoiceList``
    ``choices`` and ``ButtonRow`` ``actions``; ``fill`` calls ``present``."""

    def present(
        self,
        title: str,
        paragraphs: Sequence[Para | str] = (),
        choices: Sequence[Action] = (),
        actions: Sequence[Action] = (),
    ) -> None:
        self.ids.title.text = title
        self.ids.texts.show(paragraphs)
        # a screen without a ChoiceList of its own has its choices scroll with its text
        choice_list = self.ids.get("choices")
        if choice_list is None:
            choice_list = self.ids.texts.ids.choices
        choice_list.show(choices, self.run)
        self.ids.actions.show(actions, self.run)


load_kv(Path(__file__).with_suffix(".kv"))
