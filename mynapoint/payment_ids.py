"""Payment-service IDs as operators compare them, and as far as anything may show them.

The full ID is sent to the service once, inside the encrypted envelope; anywhere else
(the slip, the screen, My Page, the service's answers) only its last four characters
appear, taken from the normalised form so that every place shows the same four.
"""

from __future__ import annotations

import re
import unicodedata

SHOWN_CHARACTERS = 4


def normalise_payment_id(raw: str) -> str:
    """The ID as operators compare it: full-width folded, spaces and hyphens dropped,
    upper case (kiosk keyboards and citizens write the same ID in many ways)."""
    folded = unicodedata.normalize("NFKC", raw)
    # Hyphen look-alikes: hyphens and dashes, the minus sign (Japanese input methods
    # give it for "－"), the horizontal bar and the katakana prolonged sound mark.
    return re.sub(r"[\s\-‐‑–—―−ー]", "", folded).upper()


def last4(raw: str) -> str:
    """The only part of a payment-service ID that may be shown or printed."""
    return normalise_payment_id(raw)[-SHOWN_CHARACTERS:]
