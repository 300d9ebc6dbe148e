"""How an entry shows while it is typed: a payment-service ID in groups, as the service
shows it (an ID that is a phone number as 090-0000-0001, a card's number 4 by 4), and how
many characters of how many ("11/11桁"), from the catalog's format of each service.

Only what is shown changes: what is submitted is what was typed (the flow hands it to the
catalog's ``check_id``, which drops the spaces and hyphens anyway). Pure functions; nothing
here keeps or logs what it is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mynapoint.payment_ids import normalise_payment_id

Unit = Literal["digits", "characters"]

GROUP = 4  # the longest group: a card's number is printed 4 by 4
PHONE_NUMBER_LENGTH = 11  # an ID of 11 digits is a mobile number (PayPay's): 090-0000-0001

# One element of a catalog pattern: an escape (\d), a class ([0-9A-Z]) or a literal
# character, with an optional quantifier ({4}, {2,3}, ?, *, +).
_ELEMENT = re.compile(
    r"(?:\\.|\[(?:\\.|[^\]\\])+\]|[^\\\[\](){}|?*+^$])"
    r"(?:\{(?P<low>\d+)(?P<comma>,(?P<high>\d*))?\}|(?P<loose>[?*+]))?"
)
_DIGITS = re.compile(r"(\\d(\{\d+(,\d*)?\}|[+*?])?)+")


def digits_only(pattern: str | None) -> bool:
    """Whether a catalog pattern (``^\\d{11}$``) accepts digits and nothing else."""
    if not pattern:
        return False
    return _DIGITS.fullmatch(pattern.removeprefix("^").removesuffix("$")) is not None


def pattern_length(pattern: str | None) -> int | None:
    """The one length a catalog pattern accepts (``^JE\\d{14}$``: 16), or None when it
    accepts several lengths, or is more than a row of characters (alternatives, groups)."""
    if not pattern:
        return None
    body = pattern.removeprefix("^").removesuffix("$")
    length, position = 0, 0
    while position < len(body):
        element = _ELEMENT.match(body, position)
        if element is None:
            return None
        low, comma, high = element["low"], element["comma"], element["high"]
        if element["loose"] or (comma and high != low):
            return None
        length += int(low) if low else 1
        position = element.end()
    return length or None


def groups_for(length: int) -> tuple[int, ...]:
    """Groups of at most 4, as even as possible, the longer ones last: 11 is 3-4-4 (a
    phone number), 16 is 4-4-4-4 (a card's number), 12 is 4-4-4, 13 is 3-3-3-4."""
    if length <= GROUP:
        return (length,)
    count = math.ceil(length / GROUP)
    size, longer = divmod(length, count)
    return (size,) * (count - longer) + (size + 1,) * longer


def _without_spaces(typed: str) -> str:
    return re.sub(r"\s", "", typed)


@dataclass(frozen=True)
class EntryFormat:
    """What one entry expects, for showing it: how many characters (None: the format
    does not say one number), counted in digits or characters, and the groups it shows in
    (none: as typed)."""

    length: int | None
    unit: Unit
    groups: tuple[int, ...] = ()
    separator: str = " "
    # What is counted and grouped: the typed text as the catalog compares it.
    comparable: Callable[[str], str] = _without_spaces

    def count(self, typed: str) -> int:
        """How many characters count: an ID's hyphens and spaces do not."""
        return len(self.comparable(typed))

    def shown(self, typed: str) -> str:
        """``typed`` in the format's groups; characters past the format's length make a
        group of their own (too many is then plain to see)."""
        if not self.groups:
            return typed
        value = self.comparable(typed)
        parts, start = [], 0
        for size in self.groups:
            if start >= len(value):
                break
            parts.append(value[start : start + size])
            start += size
        if start < len(value):
            parts.append(value[start:])
        return self.separator.join(parts)


def id_format(pattern: str | None) -> EntryFormat:
    """A payment-service ID, from its service's ``id_pattern``: in groups when the
    pattern gives one length; as typed (and counted without a total) when it does not."""
    unit: Unit = "digits" if digits_only(pattern) else "characters"
    length = pattern_length(pattern)
    if length is None:
        return EntryFormat(None, unit, comparable=normalise_payment_id)
    phone = unit == "digits" and length == PHONE_NUMBER_LENGTH
    return EntryFormat(
        length,
        unit,
        groups_for(length),
        separator="-" if phone else " ",
        comparable=normalise_payment_id,
    )


def code_format(pattern: str | None) -> EntryFormat:
    """A security code, from its service's ``code_pattern``: counted, never grouped
    (it shows as ● anyway)."""
    return EntryFormat(pattern_length(pattern), "digits" if digits_only(pattern) else "characters")


PHONE_DIGITS = EntryFormat(4, "digits")  # the last 4 digits of a phone number
