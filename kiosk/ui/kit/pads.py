"""The on-screen pads, the kiosk's only keyboards (PIN, letters, digits, kana), and the
displays of what was typed on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.properties import (
    BooleanProperty,
    BoundedNumericProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.catalog import kana
from kiosk.ui.kit.buttons import DigitKey, PadKey, PrimaryButton
from kiosk.ui.kit.labels import TranslatedChildren
from kiosk.ui.kit.style import load_kv, ui

MASK = "●"  # U+25CF, in IPAex Gothic
CLEAR = "clear"
OK = "ok"
BACKSPACE = "backspace"
# Fixed, never shuffled: the phone layout Japanese ATMs and card terminals use.
PIN_LAYOUT = ("1", "2", "3", "4", "5", "6", "7", "8", "9", CLEAR, "0", OK)


def forget(typed: list[str]) -> None:
    """Forget what was typed (a PIN, a security code): overwrite the list's slots, then
    empty it, so no copy of the entry stays behind in it."""
    for index in range(len(typed)):
        typed[index] = ""
    typed.clear()


class PinPad(TranslatedChildren, GridLayout):
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
        """Forget every digit."""
        forget(self._digits)
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


class AlphaPad(TranslatedChildren, BoxLayout):
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
        """Forget every character."""
        forget(self._chars)
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


load_kv(Path(__file__).with_suffix(".kv"))
