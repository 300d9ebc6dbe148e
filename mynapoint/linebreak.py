"""Where a line of Japanese (or English) may break: the kiosk's labels that wrap, and the
slip (``receipts/raster.py``).

Kivy wraps text at spaces only, and cuts a "word" longer than the line wherever it must:
Japanese has no spaces, so a sentence is one long word, cut in the middle of a number
("数字1" / "4桁") or before a closing bracket, and a short Latin word before it is left
alone on its line. ``break_lines`` fills each line itself, as Japanese typesetting does:
between any two Japanese characters, never inside a Latin word or a number, never with
a closing bracket or small kana at the start of a line nor an opening bracket at its end
(a simple 禁則処理). Pure Python: ``measure`` gives a text's width in pixels.
"""

from __future__ import annotations

from collections.abc import Callable

# Not at the start of a line: closing brackets and punctuation, small kana, the long-vowel
# and iteration marks.
NO_LINE_START = frozenset(
    "、。，．・：；？！゛゜ー～〜…‥）〕］｝〉》」』】〙〗〟’”"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ々ゝゞヽヾ"
)
# Not at the end of a line: opening brackets.
NO_LINE_END = frozenset("（〔［｛〈《「『【〘〖〝‘“")

Measure = Callable[[str], float]


def units(text: str) -> list[str]:
    """The pieces a line may break between: a Latin word or number (ASCII without
    spaces) stays whole, a space is its own piece, any other character too; closing
    punctuation sticks to what comes before it, opening brackets to what follows."""
    pieces: list[str] = []
    word = ""
    for char in text:
        if char.isascii() and not char.isspace():
            word += char
            continue
        if word:
            pieces.append(word)
            word = ""
        pieces.append(char)
    if word:
        pieces.append(word)
    glued: list[str] = []
    opening = ""
    for piece in pieces:
        piece = opening + piece
        opening = ""
        if piece[-1] in NO_LINE_END:
            opening = piece
            continue
        if glued and piece[0] in NO_LINE_START and not glued[-1].isspace():
            glued[-1] += piece
            continue
        glued.append(piece)
    if opening:
        glued.append(opening)
    return glued


def _split_long(piece: str, width: float, measure: Measure) -> list[str]:
    """A piece wider than a line (a very long number), cut where it must be."""
    lines: list[str] = []
    line = ""
    for char in piece:
        if line and measure(line + char) > width:
            lines.append(line)
            line = ""
        line += char
    return [*lines, line] if line else lines


def break_paragraph(text: str, width: float, measure: Measure) -> list[str]:
    lines: list[str] = []
    line = ""
    for piece in units(text):
        if not line and piece.isspace():
            continue  # no line starts with a space
        if measure(line + piece) <= width:
            line += piece
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = "" if piece.isspace() else piece
        if measure(line) > width:
            *whole, line = _split_long(line, width, measure)
            lines.extend(whole)
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def break_lines(text: str, width: float, measure: Measure) -> str:
    """``text`` with a line break wherever a line is full (its own breaks kept)."""
    if width <= 0:
        return text
    return "\n".join(
        line
        for paragraph in text.split("\n")
        for line in break_paragraph(paragraph, width, measure)
    )
