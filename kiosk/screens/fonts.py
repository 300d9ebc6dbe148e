"""Registers the bundled Japanese font (IPAex Gothic) as the font of every Kivy widget.

Kivy's default font has no kana or kanji (they render as boxes), and the kiosk must not
depend on the fonts a machine happens to have. The font ships in ``receipts/fonts`` with
its licence; the slip printer uses the same file.
"""

from __future__ import annotations

from pathlib import Path

import receipts

FONT_NAME = "KioskGothic"
FONT_PATH = Path(receipts.__file__).resolve().parent / "fonts" / "ipaexg.ttf"


def register_fonts() -> str:
    """Register the font as ``FONT_NAME`` and as Kivy's default font name, so that every
    widget, ours or Kivy's, draws Japanese. Safe to call again. Returns ``FONT_NAME``."""
    from kivy.core.text import DEFAULT_FONT, LabelBase

    if not FONT_PATH.is_file():
        raise FileNotFoundError(f"the kiosk font is missing: {FONT_PATH}")
    for name in (FONT_NAME, DEFAULT_FONT):
        # IPAex Gothic has one weight: bold and italic use the same file.
        LabelBase.register(name, fn_regular=str(FONT_PATH))
    return FONT_NAME
