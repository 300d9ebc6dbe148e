"""Receipt numbers: what the citizen keeps on the slip, reads aloud and types later.

Twelve characters from an alphabet without look-alikes (no 0/O, 1/I/L), e.g.
``K7QM-3XPA-9TRD``: eleven random ones (54 bits) and a check character. The check is a
weighted sum modulo 31 (the alphabet's size, a prime) with weights 1 to 11: any single
wrong character and any swap of two neighbours changes it, so a mistyped number is told
apart from one the service does not know.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PATTERN = r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$"


def check_character(body: str) -> str:
    """The check character of the first eleven characters."""
    return ALPHABET[sum(i * ALPHABET.index(c) for i, c in enumerate(body, start=1)) % 31]


def _grouped(chars: str) -> str:
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def new_receipt_number() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(11))
    return _grouped(body + check_character(body))


def is_valid(number: str) -> bool:
    """Well formed, and its check character matches."""
    if not re.fullmatch(PATTERN, number):
        return False
    chars = number.replace("-", "")
    return check_character(chars[:11]) == chars[11]


def normalise(typed: str) -> str | None:
    """A number as a citizen or a technician types it (full-width, lower case, without
    or with other separators) in its printed form; ``None`` if it is not a valid one."""
    chars = re.sub(r"[\s\-‐－ー―]", "", unicodedata.normalize("NFKC", typed)).upper()
    if len(chars) != 12:
        return None
    number = _grouped(chars)
    return number if is_valid(number) else None
