"""Every word the kiosk's screens show, in Japanese (first) and English.

``text(key, language, **values)`` looks a key up and fills its ``{placeholders}``. The
two tables hold the same keys (a test checks it); a missing key is an error in tests
and shows the key itself on a kiosk, so a forgotten text never stops a citizen.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from kiosk.i18n import en, ja

log = logging.getLogger(__name__)

Language = Literal["ja", "en"]
LANGUAGES: tuple[Language, ...] = ("ja", "en")
TABLES: dict[str, dict[str, str]] = {"ja": ja.MESSAGES, "en": en.MESSAGES}


def sentences(language: Language, *parts: str) -> str:
    """Sentences run together: with no space in Japanese, one space in English."""
    return ("" if language == "ja" else " ").join(part for part in parts if part)


def text(key: str, language: Language = "ja", **values: Any) -> str:
    table = TABLES[language]
    if key not in table:
        log.error("no %s text for %r", language, key)
        return key
    return table[key].format(**values) if values else table[key]
