"""The kiosk's buttons, at least 20 mm each way: primary, secondary, pad keys, and the
language switch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.properties import BooleanProperty, ObjectProperty
from kivy.uix.behaviors import ButtonBehavior

from kiosk.ui.kit.labels import LocalizedLabel
from kiosk.ui.kit.style import load_kv, ui


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


load_kv(Path(__file__).with_suffix(".kv"))
