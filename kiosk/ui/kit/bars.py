"""The bars laid across a screen: the countdown banner ("あと N 秒") and the help bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.properties import (
    BooleanProperty,
    DictProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk.ui.kit.buttons import LanguageButton, SecondaryButton
from kiosk.ui.kit.labels import BodyLabel, TranslatedChildren
from kiosk.ui.kit.style import load_kv, ui


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


class HelpBar(TranslatedChildren, BoxLayout):
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


load_kv(Path(__file__).with_suffix(".kv"))
