"""Labels whose text is a message key in the current language (re-rendered when it
changes, wrapped where Japanese lines break), and the mixin that hands a composite
widget's translator on to the labels it built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.properties import DictProperty, ObjectProperty, StringProperty
from kivy.uix.label import Label

from kiosk.ui.kit.style import load_kv, ui
from mynapoint.linebreak import break_lines


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


class TranslatedChildren:
    """Hands a composite widget's ``translator`` on to the labels it built."""

    keys: dict[str, LocalizedLabel]

    def _relabel(self, name: str, _widget: Any, message_key: str) -> None:
        """A new message key for the ``name`` key (a pad's CLEAR...), from a ``*_key`` property."""
        self.keys[name].key = message_key

    def _pass_translator(self, *_args: Any) -> None:
        for child in self.walk(restrict=True):  # type: ignore[attr-defined]
            if child is not self and isinstance(child, LocalizedLabel):
                child.translator = self.translator  # type: ignore[attr-defined]


load_kv(Path(__file__).with_suffix(".kv"))
