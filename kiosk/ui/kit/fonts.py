"""Registers the kiosk's Japanese font as the font of every Kivy widget.

Kivy's default font has no kana or kanji (they render as boxes). The screens use Noto Sans
CJK JP from Debian's ``fonts-noto-cjk`` (the bootstrap and the kiosk image install it):
it has a real bold, so headings and warnings stand out by weight, not only by size. The
first face of Debian's ``.ttc`` collections is the Japanese one (``JP``), which is the one
SDL_ttf opens.

If the package is missing, the screens fall back to IPAex Gothic, which ships in
``receipts/fonts`` with its licence (the slip printer uses it): every character still
shows, but bold looks like regular, and a warning says so once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import receipts

log = logging.getLogger(__name__)

FONT_NAME = "KioskGothic"
NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
NOTO_REGULAR = NOTO_DIR / "NotoSansCJK-Regular.ttc"
NOTO_BOLD = NOTO_DIR / "NotoSansCJK-Bold.ttc"
FALLBACK_PATH = Path(receipts.__file__).resolve().parent / "fonts" / "ipaexg.ttf"


@dataclass(frozen=True)
class FontFiles:
    regular: Path
    bold: Path
    # The distance between two lines Kivy sets by itself, in em: the font's ascender plus
    # descender (Noto Sans CJK: 1.160 + 0.288). Kivy's ``line_height`` multiplies it, so
    # a spacing of N em is ``line_height = N / natural_line``.
    natural_line: float

    @property
    def has_bold(self) -> bool:
        return self.bold != self.regular


def font_files() -> FontFiles:
    """Noto Sans CJK JP, regular and bold, if installed; else IPAex Gothic (one weight)."""
    if NOTO_REGULAR.is_file() and NOTO_BOLD.is_file():
        return FontFiles(NOTO_REGULAR, NOTO_BOLD, natural_line=1.448)
    if not FALLBACK_PATH.is_file():
        raise FileNotFoundError(f"the kiosk font is missing: {FALLBACK_PATH}")
    return FontFiles(FALLBACK_PATH, FALLBACK_PATH, natural_line=1.0)


_warned = False


def register_fonts() -> str:
    """Register the font as ``FONT_NAME`` and as Kivy's default font name, so that every
    widget, ours or Kivy's, draws Japanese. Safe to call again. Returns ``FONT_NAME``."""
    global _warned
    from kivy.core.text import DEFAULT_FONT, LabelBase

    files = font_files()
    if not files.has_bold and not _warned:
        _warned = True
        log.warning("fonts-noto-cjk is not installed: the screens have no bold (IPAex Gothic)")
    for name in (FONT_NAME, DEFAULT_FONT):
        LabelBase.register(name, fn_regular=str(files.regular), fn_bold=str(files.bold))
    return FONT_NAME
