"""The kiosk's shared Kivy widgets: text, buttons, PIN and letter pads, countdown banner,
help bar, and the i18n hook that re-renders them when the language changes.

Screens are built from these; no widget knows about cards, payments or the flow. Sizes and
colours come from ``ui`` (a ``KioskUi``), which follows the window: call
``ui.follow_window(Window)`` once when the app starts. Texts come from a ``Translator``:
``ui.translator = Translator(messages)`` once, then give widgets a ``key``.

Importing this module registers the kiosk font and loads ``widgets.kv``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from kivy.event import EventDispatcher
from kivy.lang import Builder, global_idmap
from kivy.properties import (
    BooleanProperty,
    BoundedNumericProperty,
    ColorProperty,
    DictProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.catalog import kana
from kiosk.ui.kit import theme
from kiosk.ui.kit.fonts import FONT_NAME, font_files, register_fonts
from mynapoint.linebreak import break_lines

log = logging.getLogger(__name__)

MASK = "●"  # U+25CF, in IPAex Gothic

# The message keys the toolkit itself asks a Translator for (widgets take other keys as
# arguments where a screen may want its own wording). The kiosk's catalogue provides them.
MESSAGE_KEYS: dict[str, str] = {
    "pinpad.clear": "PIN pad key that empties the entry (訂正 / Clear)",
    "pinpad.ok": "PIN pad key that submits the PIN (確定 / OK)",
    "alphapad.backspace": "letter pad key that removes the last character (1文字消す / Erase one)",
    "alphapad.clear": "letter pad key that empties the entry: the PIN pad's word (訂正 / Clear)",
    "alphapad.digits": "paged letter pad key to the digits page (数字 / 123)",
    "alphapad.letters": "paged letter pad key to the letters page (ABC)",
    "kanapad.variant": "kana pad key that makes the last kana voiced or small (゛゜小)",
    "button.continue_session": "countdown banner button that asks for more time (続ける)",
    "button.call_staff": "help bar button that calls a member of staff",
}

DEFAULT_LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}


# --- i18n hook ---------------------------------------------------------------------------


class Translator(EventDispatcher):
    """Message lookup with an observable current language.

    ``messages`` maps a language code to ``{key: template}``; templates use ``str.format``
    fields (``"あと {seconds} 秒"``). Widgets bind to ``language`` and ask ``text()`` again
    when it changes. The kiosk's i18n module may pass its catalogue here, subclass this, or
    provide any EventDispatcher with a ``language`` property and the same methods.
    """

    language = StringProperty("ja")

    def __init__(
        self,
        messages: Mapping[str, Mapping[str, str]],
        language: str = "ja",
        *,
        fallback: str = "ja",
        names: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        if language not in messages:
            raise ValueError(f"no messages for language {language!r}")
        self.messages = {code: dict(table) for code, table in messages.items()}
        self.fallback = fallback
        self.names = {**DEFAULT_LANGUAGE_NAMES, **(names or {})}
        super().__init__(**kwargs)
        self.language = language

    @property
    def languages(self) -> list[str]:
        return list(self.messages)

    def text(self, key: str, /, **values: Any) -> str:
        """The message for ``key`` in the current language (else the fallback language,
        else the key itself, so a missing message shows instead of an empty button)."""
        template = self.messages.get(self.language, {}).get(key)
        if template is None:
            template = self.messages.get(self.fallback, {}).get(key)
        if template is None:
            # The key only: values may be personal.
            log.warning("no message for key %r in language %r", key, self.language)
            return key
        return template.format(**values) if values else template

    def name_of(self, language: str) -> str:
        """A language's name in that language ("English", "日本語")."""
        return self.names.get(language, language)

    def next_language(self) -> str:
        codes = self.languages
        return codes[(codes.index(self.language) + 1) % len(codes)]

    def switch(self, language: str | None = None) -> None:
        """Switch to ``language``, or to the next one in the catalogue's order."""
        language = language or self.next_language()
        if language not in self.messages:
            raise ValueError(f"no messages for language {language!r}")
        self.language = language


# --- Sizes and colours that follow the window --------------------------------------------


class KioskUi(EventDispatcher):
    """The theme as Kivy properties, for kv rules (``font_size: ui.body``), plus the
    process's current translator. One instance: ``ui``."""

    translator = ObjectProperty(None, allownone=True)
    font_name = StringProperty(FONT_NAME)
    window_size = ListProperty(list(theme.REFERENCE_SIZE))
    dpi = NumericProperty(theme.dpi_for(theme.REFERENCE_SIZE))

    # theme.Sizes, in px
    body = NumericProperty(0)
    heading = NumericProperty(0)
    button_text = NumericProperty(0)
    key_text = NumericProperty(0)
    mark = NumericProperty(0)
    touch_min = NumericProperty(0)
    button_height = NumericProperty(0)
    key_height = NumericProperty(0)
    key_width = NumericProperty(0)
    spacing = NumericProperty(0)
    border = NumericProperty(0)

    # Readable text: Kivy's line_height for lines theme.LINE_HEIGHT em apart (and for a
    # heading's tighter lines), and the widest a block of text may be.
    line_height = NumericProperty(theme.LINE_HEIGHT / font_files().natural_line)
    heading_line_height = NumericProperty(theme.HEADING_LINE_HEIGHT / font_files().natural_line)
    column_width = NumericProperty(0)
    # 1.0, or theme.LARGER_TEXT while a citizen has asked for larger text.
    text_scale = NumericProperty(1.0)

    # theme.Palette, as "<name>_color"
    background_color = ColorProperty()
    text_color = ColorProperty()
    surface_color = ColorProperty()
    accent_color = ColorProperty()
    accent_pressed_color = ColorProperty()
    text_on_accent_color = ColorProperty()
    border_color = ColorProperty()
    muted_color = ColorProperty()
    warning_color = ColorProperty()
    error_color = ColorProperty()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fixed_dpi: float | None = None
        self._diagonal: float | None = None
        self._followed: Any = None
        self.use_palette(theme.PALETTE)
        self.apply(theme.REFERENCE_SIZE)
        self.fbind("text_scale", lambda *_a: self.apply(tuple(self.window_size)))

    def use_palette(self, palette: theme.Palette) -> None:
        for name, colour in theme.palette_colours(palette).items():
            setattr(self, f"{name}_color", colour)

    def apply(self, size: tuple[int, int], dpi: float | None = None) -> theme.Sizes:
        """Set every size for a window of ``size`` px on a panel of ``dpi``."""
        dpi = dpi or self._fixed_dpi or theme.dpi_for(tuple(size), self._diagonal)
        sizes = theme.sizes_for(tuple(size), dpi, self.text_scale)
        for field in fields(sizes):
            setattr(self, field.name, getattr(sizes, field.name))
        self.column_width = theme.COLUMN_CHARACTERS * sizes.body
        self.dpi = dpi
        self.window_size = list(size)
        return sizes

    def follow_window(
        self, window: Any, dpi: float | None = None, diagonal_inches: float | None = None
    ) -> None:
        """Resize everything whenever ``window`` changes size. Give the panel's ``dpi`` or
        ``diagonal_inches`` if it is not one of ``theme.PANELS``."""
        self._fixed_dpi = dpi
        self._diagonal = diagonal_inches
        if self._followed is not None:
            self._followed.unbind(size=self._window_resized)
        self._followed = window
        window.bind(size=self._window_resized)
        window.clearcolor = self.background_color
        self.apply(window.size)

    def _window_resized(self, _window: Any, size: tuple[int, int]) -> None:
        self.apply(size)


ui = KioskUi()


def use_translator(translator: Translator) -> None:
    """Make ``translator`` the one every widget without its own uses."""
    ui.translator = translator


# --- Text --------------------------------------------------------------------------------


class LocalizedLabel(Label):
    """A Label whose ``text`` is ``translator.text(key, **values)``, kept up to date when
    the key, the values or the language change. With no ``key``, ``text`` is left alone
    (digits, names typed by the citizen)."""

    key = StringProperty("")
    values = DictProperty({})
    # This widget's own translator; None means ``ui.translator``.
    translator = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs: Any) -> None:
        self._listening_to: Any = None
        super().__init__(**kwargs)
        self.fbind("key", self.translate)
        self.fbind("values", self.translate)
        self.fbind("translator", self._follow_translator)
        # bind() (not fbind) keeps a weak reference: a dropped screen's labels can be freed.
        ui.bind(translator=self._follow_translator)
        self._follow_translator()

    @property
    def current_translator(self) -> Any:
        return self.translator or ui.translator

    def _follow_translator(self, *_args: Any) -> None:
        translator = self.current_translator
        if translator is not self._listening_to:
            if self._listening_to is not None:
                self._listening_to.unbind(language=self.translate)
            if translator is not None:
                translator.bind(language=self.translate)
            self._listening_to = translator
        self.translate()

    def translate(self, *_args: Any) -> None:
        translator = self.current_translator
        if self.key and translator is not None:
            self.text = translator.text(self.key, **self.values)

    def texture_update(self, *args: Any) -> None:
        """A label that wraps to its width breaks Japanese lines where Japanese breaks
        them (``mynapoint/linebreak.py``), not only at spaces as Kivy does. ``text`` stays
        as it is."""
        width = self.text_size[0]
        core = self._label
        if width and self.text and not self.markup and not self.text.isascii():
            core.resolve_font_name()
            left, _top, right, _bottom = core.options["padding"]
            core.text = break_lines(
                self.text, int(width - left - right), lambda text: core.get_extents(text)[0]
            )
        super().texture_update(*args)


class BodyLabel(LocalizedLabel):
    """Running text: body size, wraps to its width, as tall as its text."""


class HeadingLabel(LocalizedLabel):
    """A screen's title."""


# --- Buttons -----------------------------------------------------------------------------


class KioskButton(ButtonBehavior, LocalizedLabel):
    """A single-line button at least 20 mm each way. Act on ``on_release`` (a finger that
    slides off cancels). ``fit_text=True`` sizes its width to its label."""

    fit_text = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fbind("texture_size", self._fit)
        self.fbind("fit_text", self._fit)
        ui.bind(touch_min=self._fit, spacing=self._fit)
        self._fit()

    def _fit(self, *_args: Any) -> None:
        if self.fit_text:
            self.size_hint_x = None
            self.width = max(ui.touch_min, self.texture_size[0] + 4 * ui.spacing)


class PrimaryButton(KioskButton):
    """The one action a screen wants next: filled with the accent colour."""


class SecondaryButton(KioskButton):
    """Other actions (back, cancel): outlined in the accent colour."""


class PadKey(KioskButton):
    """A key of the PIN pad or the letter pad."""


class DigitKey(PadKey):
    """A digit key of the PIN pad: larger figures."""


class LanguageButton(SecondaryButton):
    """Switches the language: shows the name of the language a tap switches to, in that
    language ("English" while in Japanese, "日本語" while in English): the translator's
    ``name_of()``, or ``text(key)`` if a ``key`` is given (e.g. "button.language").

    A tap switches the translator, or, if ``switcher`` is set, calls ``switcher(language)``
    instead (an app whose language lives elsewhere, e.g. in the kiosk's flow, switches it
    there and lets the translator follow)."""

    switcher = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("fit_text", True)
        super().__init__(**kwargs)

    def translate(self, *_args: Any) -> None:
        translator = self.current_translator
        if translator is not None and self.key:
            self.text = translator.text(self.key, **self.values)
        elif translator is not None:
            self.text = translator.name_of(translator.next_language())

    def on_release(self) -> None:
        translator = self.current_translator
        if translator is None:
            return
        if self.switcher is not None:
            self.switcher(translator.next_language())
        else:
            translator.switch()


# --- Pads --------------------------------------------------------------------------------

CLEAR = "clear"
OK = "ok"
BACKSPACE = "backspace"
# Fixed, never shuffled: the phone layout Japanese ATMs and card terminals use.
PIN_LAYOUT = ("1", "2", "3", "4", "5", "6", "7", "8", "9", CLEAR, "0", OK)


class _TranslatedChildren:
    """Hands a composite widget's ``translator`` on to the labels it built."""

    keys: dict[str, PadKey]

    def _relabel(self, name: str, _widget: Any, message_key: str) -> None:
        """A new message key for the ``name`` key (e.g. CLEAR), from a ``*_key`` property."""
        self.keys[name].key = message_key

    def _pass_translator(self, *_args: Any) -> None:
        for child in self.walk(restrict=True):  # type: ignore[attr-defined]
            if child is not self and isinstance(child, LocalizedLabel):
                child.translator = self.translator  # type: ignore[attr-defined]


class PinPad(_TranslatedChildren, GridLayout):
    """The PIN pad: ten digits, 訂正 (clear) and 確定 (OK); never a system keyboard.

    The digits live only in a Python list (``wipe()`` empties it); the widget tree and
    its properties know only how many there are (``length``), which a ``PinDisplay``
    shows as ●. Digits past ``max_length`` are ignored. OK is enabled from ``min_length``
    digits (default: ``max_length``); it empties the pad, then dispatches
    ``on_ok(pad, pin)``. Nothing here logs a digit.
    """

    translator = ObjectProperty(None, allownone=True)
    max_length = BoundedNumericProperty(4, min=1)
    min_length = NumericProperty(None, allownone=True)
    length = NumericProperty(0)
    clear_key = StringProperty("pinpad.clear")
    ok_key = StringProperty("pinpad.ok")

    __events__ = ("on_ok", "on_change")

    def __init__(self, **kwargs: Any) -> None:
        self._digits: list[str] = []
        self.keys: dict[str, PadKey] = {}
        super().__init__(**kwargs)
        for name in PIN_LAYOUT:
            if name == CLEAR:
                key: PadKey = PadKey(key=self.clear_key, on_release=lambda _key: self.clear())
            elif name == OK:
                key = PrimaryButton(key=self.ok_key, on_release=lambda _key: self.submit())
            else:
                key = DigitKey(text=name, on_release=self._digit_released)
            self.keys[name] = key
            self.add_widget(key)
        self.fbind("clear_key", self._relabel, CLEAR)
        self.fbind("ok_key", self._relabel, OK)
        self.fbind("translator", self._pass_translator)
        self.fbind("length", self._update_ok)
        self.fbind("min_length", self._update_ok)
        self.fbind("max_length", self._update_ok)
        self._pass_translator()
        self._update_ok()

    @property
    def required_length(self) -> int:
        return int(self.max_length if self.min_length is None else self.min_length)

    def _digit_released(self, key: PadKey) -> None:
        if len(self._digits) < self.max_length:
            self._digits.append(key.text)
            self._changed()

    def _update_ok(self, *_args: Any) -> None:
        self.keys[OK].disabled = self.length < self.required_length

    def _changed(self) -> None:
        self.length = len(self._digits)
        self.dispatch("on_change")

    def clear(self) -> None:
        """The 訂正 key: start the entry again."""
        self.wipe()

    def wipe(self) -> None:
        """Forget every digit: overwrite the list's slots, then empty it."""
        for index in range(len(self._digits)):
            self._digits[index] = ""
        self._digits.clear()
        self._changed()

    def submit(self) -> None:
        """The 確定 key: hand the PIN to ``on_ok`` once there are enough digits."""
        if len(self._digits) < self.required_length:
            return
        pin = "".join(self._digits)
        self.wipe()
        self.dispatch("on_ok", pin)

    def on_ok(self, pin: str) -> None:
        pass

    def on_change(self) -> None:
        pass


class PinSlot(Label):
    """One box of a PinDisplay: empty, or ● once a digit is in."""


class PinDisplay(BoxLayout):
    """``pad.max_length`` boxes, the first ``pad.length`` holding ●. Knows no digit."""

    pad = ObjectProperty(None, allownone=True)
    slots = ListProperty([])

    def __init__(self, **kwargs: Any) -> None:
        self._watched: Any = None
        super().__init__(**kwargs)
        self.fbind("pad", self._watch_pad)
        self._watch_pad()

    def _watch_pad(self, *_args: Any) -> None:
        if self._watched is not None:
            self._watched.unbind(length=self._refresh, max_length=self._refresh)
        self._watched = self.pad
        if self.pad is not None:
            self.pad.bind(length=self._refresh, max_length=self._refresh)
        self._refresh()

    def _refresh(self, *_args: Any) -> None:
        count = int(self.pad.max_length) if self.pad is not None else 0
        if len(self.slots) != count:
            self.clear_widgets()
            self.slots = [PinSlot() for _ in range(count)]
            for slot in self.slots:
                self.add_widget(slot)
        filled = int(self.pad.length) if self.pad is not None else 0
        for index, slot in enumerate(self.slots):
            slot.text = MASK if index < filled else ""

    @property
    def shown(self) -> str:
        """What the boxes show, e.g. "●●" (empty boxes are left out)."""
        return "".join(slot.text for slot in self.slots)


ALPHA_ROWS: tuple[tuple[str, ...], ...] = (
    tuple("1234567890"),
    tuple("ABCDEFGHIJ"),
    tuple("KLMNOPQRST"),
    (*"UVWXYZ-", BACKSPACE, CLEAR),
)
ALPHA_COLUMNS = 10  # width of a row, in key widths (backspace and clear are 1.5 wide)
SWITCH = "switch"  # the paged pad's key to the other page (数字 / ABC)
GAP = ""  # an empty place in a row
# Three rows, two pages: the letter pad where four rows of 20 mm keys leave no room (a
# 1280x800 panel). The letters first: most IDs with letters start with them (JE..., TEST).
ALPHA_PAGES: dict[str, tuple[tuple[str, ...], ...]] = {
    "letters": (tuple("ABCDEFGHIJ"), tuple("KLMNOPQRST"), (*"UVWXYZ", SWITCH, BACKSPACE, CLEAR)),
    "digits": (tuple("1234567890"), ("-", *[GAP] * 9), (*[GAP] * 6, SWITCH, BACKSPACE, CLEAR)),
}  # fmt: skip


class AlphaPad(_TranslatedChildren, BoxLayout):
    """A letter pad for payment-service IDs and security codes: 0-9, A-Z (alphabetical, as
    Japanese kiosks order letters), hyphen, backspace and clear, in four rows of ten.

    The characters live only in a Python list; ``value()`` returns them, ``wipe()``
    forgets them. ``shown`` is what an ``EntryDisplay`` shows: the text (through
    ``shown_as``, if given: e.g. in groups), or ● per character when ``masked`` (security
    codes). Characters past ``max_length`` are ignored.
    """

    translator = ObjectProperty(None, allownone=True)
    max_length = BoundedNumericProperty(20, min=1)
    masked = BooleanProperty(False)
    length = NumericProperty(0)
    shown = StringProperty("")
    # How the typed text shows, e.g. in groups ("090-0000-0001"); None: as typed. Only the
    # display: ``value()`` stays what was typed.
    shown_as = ObjectProperty(None, allownone=True)
    backspace_key = StringProperty("alphapad.backspace")
    clear_key = StringProperty("alphapad.clear")
    # Three rows and two pages (``ALPHA_PAGES``) instead of four rows: set by a screen
    # that has no room for four. ``page`` is the one shown.
    paged = BooleanProperty(False)
    page = OptionProperty("letters", options=list(ALPHA_PAGES))

    __events__ = ("on_change",)

    ROWS: tuple[tuple[str, ...], ...] = ALPHA_ROWS
    EDIT_KEY_WIDTH = 1.5  # backspace and clear, in key widths
    CHAR_KEY: type[PadKey] = PadKey

    def __init__(self, **kwargs: Any) -> None:
        self._chars: list[str] = []
        self.keys: dict[str, PadKey] = {}
        super().__init__(**kwargs)
        self._build_rows()
        self.fbind("paged", self._build_rows)
        self.fbind("page", self._build_rows)
        self.fbind("backspace_key", self._relabel, BACKSPACE)
        self.fbind("clear_key", self._relabel, CLEAR)
        self.fbind("translator", self._pass_translator)
        self.fbind("masked", self._changed)
        self.fbind("shown_as", self._changed)
        self._pass_translator()

    def _build_rows(self, *_args: Any) -> None:
        self.clear_widgets()
        self.keys.clear()
        for names in ALPHA_PAGES[self.page] if self.paged else self.ROWS:
            self.add_widget(self._row(names))
        self._pass_translator()

    def switch_page(self) -> None:
        self.page = "digits" if self.page == "letters" else "letters"

    def _row(self, names: tuple[str, ...]) -> AlphaRow:
        row = AlphaRow()
        for name in names:
            if name == GAP:
                row.add_widget(Widget())
            elif name == SWITCH:
                other = "alphapad.digits" if self.page == "letters" else "alphapad.letters"
                key = PadKey(key=other)
                key.bind(on_release=lambda _key: self.switch_page())
                self.keys[name] = key
                row.add_widget(key)
            elif name in (BACKSPACE, CLEAR):
                row.add_widget(self._edit_key(name))
            else:
                key = self.CHAR_KEY(text=name, on_release=self._char_released)
                self.keys[name] = key
                row.add_widget(key)
        return row

    def _edit_key(self, name: str) -> PadKey:
        """Backspace or clear."""
        if name == BACKSPACE:
            key = PadKey(key=self.backspace_key, size_hint_x=self.EDIT_KEY_WIDTH)
            key.bind(on_release=lambda _key: self.backspace())
        else:
            key = PadKey(key=self.clear_key, size_hint_x=self.EDIT_KEY_WIDTH)
            key.bind(on_release=lambda _key: self.wipe())
        self.keys[name] = key
        return key

    def load(self, text: str) -> None:
        """Start from ``text`` (what another pad typed), cut to ``max_length``."""
        self.wipe()
        self._chars.extend(text[: int(self.max_length)])
        self._changed()

    def _char_released(self, key: PadKey) -> None:
        if len(self._chars) < self.max_length:
            self._chars.append(key.text)
            self._changed()

    def _changed(self, *_args: Any) -> None:
        self.length = len(self._chars)
        text = "".join(self._chars)
        if self.masked:
            self.shown = MASK * self.length
        else:
            self.shown = self.shown_as(text) if self.shown_as is not None else text
        self.dispatch("on_change")

    def value(self) -> str:
        """What was typed."""
        return "".join(self._chars)

    def backspace(self) -> None:
        if self._chars:
            self._chars[-1] = ""
            self._chars.pop()
            self._changed()

    def wipe(self) -> None:
        """Forget every character: overwrite the list's slots, then empty it."""
        for index in range(len(self._chars)):
            self._chars[index] = ""
        self._chars.clear()
        self._changed()

    def on_change(self) -> None:
        pass


class AlphaRow(BoxLayout):
    """One row of an AlphaPad."""


DIGIT_ROWS: tuple[tuple[str, ...], ...] = (
    ("1", "2", "3"),
    ("4", "5", "6"),
    ("7", "8", "9"),
    (CLEAR, "0", BACKSPACE),
)


class DigitPad(AlphaPad):
    """An AlphaPad with digits only, in the PIN pad's phone layout (clear, 0, backspace on
    the last row): for IDs, security codes and phone digits that are numbers only. Its text
    shows in an ``EntryDisplay`` like the letter pad's.

    At least as wide as the PIN pad, and wider when the edit keys' words need it: a word
    fills at most ``LABEL_SHARE`` of its key, in any language and type size."""

    ROWS = DIGIT_ROWS
    EDIT_KEY_WIDTH = 1.5
    CHAR_KEY = DigitKey
    LABEL_SHARE = 0.75

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name in (CLEAR, BACKSPACE):
            self.keys[name].fbind("texture_size", self._fit_width)
        ui.bind(key_width=self._fit_width, spacing=self._fit_width)
        self._fit_width()

    def _fit_width(self, *_args: Any) -> None:
        row = self.ROWS[-1]
        units = sum(self.EDIT_KEY_WIDTH if n in (CLEAR, BACKSPACE) else 1 for n in row)
        gaps = (len(row) - 1) * ui.spacing
        words = max(self.keys[n].texture_size[0] for n in (CLEAR, BACKSPACE))
        edit_key = words / self.LABEL_SHARE
        pin_pad = 3 * ui.key_width + 2 * ui.spacing
        self.width = max(pin_pad, edit_key * units / self.EDIT_KEY_WIDTH + gaps)


VARIANT = "variant"


class KanaRowKey(PadKey):
    """A row of the kana table (あ行, か行...): shows that row's kana on the pad."""

    chosen = BooleanProperty(False)


class KanaPad(AlphaPad):
    """A kana pad, for names by their reading: the ten rows of the kana table (あ行 to
    わ行) as tabs, and under them the chosen row's kana, ー, the ゛゜小 key (the last kana
    voiced, p-sound or small, in turn: ``kiosk.catalog.kana.next_variant``), backspace and clear.
    Two rows of keys: it fits a 1280x800 panel with 20 mm keys, where the whole 50-key
    table would not. Same text, ``value()`` and ``wipe()`` as the letter pad."""

    variant_key = StringProperty("kanapad.variant")
    ROWS = ()  # built below: the tabs, then the chosen row

    def __init__(self, **kwargs: Any) -> None:
        self.tabs: dict[str, KanaRowKey] = {}
        self.kana_row = AlphaRow()
        super().__init__(**kwargs)
        tab_row = AlphaRow()
        for head in kana.ROWS:
            tab = KanaRowKey(text=f"{head}行")
            tab.bind(on_release=lambda _tab, h=head: self.show_row(h))
            self.tabs[head] = tab
            tab_row.add_widget(tab)
        self.add_widget(tab_row)
        self.add_widget(self.kana_row)
        self.fbind("variant_key", self._relabel, VARIANT)
        self.show_row("あ")

    @property
    def row_shown(self) -> str:
        return next(head for head, tab in self.tabs.items() if tab.chosen)

    def show_row(self, head: str) -> None:
        """The kana of row ``head`` in the table's five places (や and わ keep gaps)."""
        for name, tab in self.tabs.items():
            tab.chosen = name == head
        for name in [n for n in self.keys if len(n) == 1]:  # the last row's kana
            del self.keys[name]
        self.kana_row.clear_widgets()
        letters = kana.ROWS[head]
        places = letters if len(letters) == 5 else f"{letters[0]} {letters[1]} {letters[2]}"
        for name in places:
            if name == " ":
                self.kana_row.add_widget(Widget())  # a gap of the table
                continue
            key = self.CHAR_KEY(text=name, on_release=self._char_released)
            self.keys[name] = key
            self.kana_row.add_widget(key)
        long_vowel = self.CHAR_KEY(text=kana.LONG_VOWEL, on_release=self._char_released)
        self.keys[kana.LONG_VOWEL] = long_vowel
        self.kana_row.add_widget(long_vowel)
        variant = PadKey(key=self.variant_key, on_release=lambda _key: self.vary_last())
        self.keys[VARIANT] = variant
        self.kana_row.add_widget(variant)
        for name in (BACKSPACE, CLEAR):
            self.kana_row.add_widget(self._edit_key(name))
        self._pass_translator()

    def vary_last(self) -> None:
        """The ゛゜小 key: the last kana's next form (は → ば → ぱ → は)."""
        if self._chars:
            self._chars[-1] = kana.next_variant(self._chars[-1])
            self._changed()


class EntryDisplay(Label):
    """Shows an AlphaPad's ``shown`` text in an outlined box (its pad may be given later)."""

    pad = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs: Any) -> None:
        self._watched: Any = None
        super().__init__(**kwargs)
        self.fbind("pad", self._watch_pad)
        self._watch_pad()

    def _watch_pad(self, *_args: Any) -> None:
        if self._watched is not None:
            self._watched.unbind(shown=self._refresh)
        self._watched = self.pad
        if self.pad is not None:
            self.pad.bind(shown=self._refresh)
        self._refresh()

    def _refresh(self, *_args: Any) -> None:
        self.text = self.pad.shown if self.pad is not None else ""


# --- Banner and help bar -----------------------------------------------------------------


class CountdownBanner(ButtonBehavior, BoxLayout):
    """A warning in the style of "あと N 秒", with a 続ける / Continue button.

    The screen owns the timer: it sets ``seconds`` and listens to ``on_extend``, which one
    tap anywhere on the banner (or its button) dispatches. The message is
    ``translator.text(key, seconds=seconds, **values)``.
    """

    translator = ObjectProperty(None, allownone=True)
    key = StringProperty("")
    values = DictProperty({})
    seconds = NumericProperty(0)
    continue_key = StringProperty("button.continue_session")

    __events__ = ("on_extend",)

    def on_release(self) -> None:
        self.dispatch("on_extend")

    def on_extend(self) -> None:
        pass


class HelpBar(_TranslatedChildren, BoxLayout):
    """The bottom bar of every screen: a contact line, "help" (``on_help``), and optionally
    a "call staff" button (``on_call_staff``) and the language switch."""

    translator = ObjectProperty(None, allownone=True)
    key = StringProperty("")
    values = DictProperty({})
    call_key = StringProperty("button.call_staff")
    help_key = StringProperty("button.help")
    language_key = StringProperty("")  # see LanguageButton
    show_call_button = BooleanProperty(False)
    show_language_button = BooleanProperty(True)

    # Passed to the language button (see LanguageButton.switcher).
    language_switcher = ObjectProperty(None, allownone=True)

    __events__ = ("on_call_staff", "on_help")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # A footer, not a block to read through: tighter lines keep the bar low.
        self.contact = BodyLabel(
            key=self.key,
            values=self.values,
            pos_hint={"center_y": 0.5},
            line_height=ui.heading_line_height,
        )
        self.call_button = SecondaryButton(key=self.call_key, fit_text=True)
        self.call_button.bind(on_release=lambda _button: self.dispatch("on_call_staff"))
        self.help_button = SecondaryButton(key=self.help_key, fit_text=True)
        self.help_button.bind(on_release=lambda _button: self.dispatch("on_help"))
        self.fbind("help_key", lambda *_a: setattr(self.help_button, "key", self.help_key))
        self.language_button = LanguageButton(key=self.language_key)
        self.fbind("key", lambda *_a: setattr(self.contact, "key", self.key))
        self.fbind("values", lambda *_a: setattr(self.contact, "values", dict(self.values)))
        self.fbind("call_key", lambda *_a: setattr(self.call_button, "key", self.call_key))
        self.fbind(
            "language_key", lambda *_a: setattr(self.language_button, "key", self.language_key)
        )
        self.language_button.switcher = self.language_switcher
        self.fbind(
            "language_switcher",
            lambda *_a: setattr(self.language_button, "switcher", self.language_switcher),
        )
        self.fbind("show_call_button", self._arrange)
        self.fbind("show_language_button", self._arrange)
        self.fbind("translator", self._pass_translator)
        self._arrange()

    def _arrange(self, *_args: Any) -> None:
        self.clear_widgets()
        self.add_widget(self.contact)
        self.add_widget(self.help_button)
        if self.show_call_button:
            self.add_widget(self.call_button)
        if self.show_language_button:
            self.add_widget(self.language_button)
        self._pass_translator()

    def on_call_staff(self) -> None:
        pass

    def on_help(self) -> None:
        pass


# --- Set-up on import --------------------------------------------------------------------

KV_FILE = Path(__file__).with_name("widgets.kv")

register_fonts()
# kv rules read sizes and colours as `ui.<name>` (an #:import of this module would be circular).
global_idmap["ui"] = ui
if str(KV_FILE) not in Builder.files:
    Builder.load_file(str(KV_FILE))
