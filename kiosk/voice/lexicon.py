"""Text as it is to be heard: readings for the terms the dictionary gets wrong, and no
symbol a synthesiser would read out or trip on.

Open JTalk reads what it is given; a term it reads wrongly is given in katakana instead
(``READINGS``). ``tests/kiosk/voice/test_scripts.py`` checks every term of the scripts with
``pyopenjtalk.g2p(..., kana=True)``: right by itself, or right through this table.
Measured with Debian's naist-jdic: the programme's terms (申込, マイキーID, 暗証番号,
電子証明書...) are read right as they are; what it gets wrong is Latin letters (a receipt
number's K is left unread) and brand names (PayPay is spelled out letter by letter), which
come from ``LETTERS`` and from the catalog's own kana reading of each service.
"""

from __future__ import annotations

import re

# Term -> what Open JTalk must be given to say it right (in katakana). Longest first, so a
# term inside a longer one is not replaced on its own.
READINGS: dict[str, str] = {
    "PIN": "ピン",
}
# The letters of a receipt number (no I, L or O: receipt_numbers' alphabet has none).
LETTERS: dict[str, str] = {
    "A": "エー", "B": "ビー", "C": "シー", "D": "ディー", "E": "イー", "F": "エフ",
    "G": "ジー", "H": "エイチ", "J": "ジェー", "K": "ケー", "M": "エム", "N": "エヌ",
    "P": "ピー", "Q": "キュー", "R": "アール", "S": "エス", "T": "ティー", "U": "ユー",
    "V": "ブイ", "W": "ダブリュー", "X": "エックス", "Y": "ワイ", "Z": "ゼット",
}  # fmt: skip

# Symbols a synthesiser reads out, or stumbles on: a pause, or words.
_PAUSES = re.compile(r"[（）()「」『』【】・：:／/]+")
_SPOKEN = {"〜": "から", "~": "から", "%": "パーセント", "＆": "と", "&": "と"}
_SPOKEN_EN = {"%": " percent", "&": " and ", "~": " to "}


def for_the_ear(text: str, language: str) -> str:
    """``text`` as the synthesiser must be given it."""
    if language == "ja":
        for term in sorted(READINGS, key=len, reverse=True):
            text = text.replace(term, READINGS[term])
        for symbol, words in _SPOKEN.items():
            text = text.replace(symbol, words)
        text = _PAUSES.sub("、", text)
        return re.sub(r"、+", "、", text).strip("、")
    for symbol, words in _SPOKEN_EN.items():
        text = text.replace(symbol, words)
    return re.sub(r"\s+", " ", _PAUSES.sub(", ", text)).strip(" ,")


def spelled(code: str, language: str) -> str:
    """A receipt number read a character at a time, with a pause between its groups
    (``K7QM-3XPA-9TRZ``: "K, 7, Q, M. 3, X, P, A. ...")."""
    groups = [group for group in code.split("-") if group]
    if language == "ja":
        return "。".join("、".join(LETTERS.get(c, c) for c in group) for group in groups) + "。"
    return ". ".join(", ".join(group) for group in groups) + "."
