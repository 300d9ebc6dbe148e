"""Kana as the kiosk's search and its kana pad treat them.

The pad types plain kana (は, つ, や); one key turns the last one into its voiced, p-sound
or small form (は → ば → ぱ → は, つ → っ → づ → つ), as Japanese phones do. Search folds
every form back to the plain one (``plain``), so "へいへい" finds ペイペイ and a citizen who
never finds the ゛ key still finds the service; ``fold`` is text as search compares it.
"""

from __future__ import annotations

import re
import unicodedata

DAKUTEN, HANDAKUTEN = "\u3099", "\u309a"  # the combining voiced and p-sound marks

# The kana pad's table: a row head, and its kana (the gojūon order every pupil learns).
ROWS: dict[str, str] = {
    "あ": "あいうえお",
    "か": "かきくけこ",
    "さ": "さしすせそ",
    "た": "たちつてと",
    "な": "なにぬねの",
    "は": "はひふへほ",
    "ま": "まみむめも",
    "や": "やゆよ",
    "ら": "らりるれろ",
    "わ": "わをん",
}
LONG_VOWEL = "ー"

_SMALL = "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮ"
_LARGE = "あいうえおつやゆよわアイウエオツヤユヨワ"
_TO_LARGE = str.maketrans(_SMALL, _LARGE)
_TO_SMALL = str.maketrans(_LARGE, _SMALL)


def plain(text: str) -> str:
    """``text`` with voiced and p-sound marks taken off its kana, and small kana made
    large ("パッ" → "ハツ"); anything else unchanged."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if c not in DAKUTEN + HANDAKUTEN)
    return unicodedata.normalize("NFC", bare).translate(_TO_LARGE)


def _composed(char: str, mark: str) -> str | None:
    """``char`` with ``mark``, if Unicode has that as one character (か → が; not あ)."""
    joined = unicodedata.normalize("NFC", char + mark)
    return joined if len(joined) == 1 else None


def variants(char: str) -> list[str]:
    """The forms the ゛゜小 key cycles through, plain first: は → [は, ば, ぱ]; つ → [つ, っ,
    づ]; あ → [あ, ぁ]; ん → [ん]."""
    base = plain(char)
    forms = [base]
    small = base.translate(_TO_SMALL)
    if small != base:
        forms.append(small)
    for mark in (DAKUTEN, HANDAKUTEN):
        voiced = _composed(base, mark)
        if voiced is not None:
            forms.append(voiced)
    return forms


def next_variant(char: str) -> str:
    """The form after ``char`` in its cycle (back to plain after the last)."""
    forms = variants(char)
    if char not in forms:
        return char
    return forms[(forms.index(char) + 1) % len(forms)]


def fold(text: str) -> str:
    """Text as search compares it: NFKC (full-width Latin and half-width kana folded),
    case-folded, kana plain (no voiced marks, none small: ``plain``), hiragana as
    katakana, without spaces and separators."""
    folded = plain(unicodedata.normalize("NFKC", text).casefold())
    folded = "".join(
        chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" or c in "\u309d\u309e" else c
        for c in folded
    )
    return re.sub(r"[\s・･\-‐‑–—_.]", "", folded)
