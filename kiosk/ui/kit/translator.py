"""Message lookup in a language that can change mid-session (``Translator``), the keys
the kit asks it for, and ``use_translator``, which makes one the default of every widget."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import StringProperty

from kiosk.ui.kit.style import ui

log = logging.getLogger(__name__)

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


def use_translator(translator: Translator) -> None:
    """Make ``translator`` the one every widget without its own uses."""
    ui.translator = translator
