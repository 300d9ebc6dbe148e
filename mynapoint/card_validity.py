"""When a card's user-authentication certificate may be used: the one rule the kiosk
(to tell the citizen before anything is signed) and the grant service (to refuse) share.

After a renewal or a re-issue, procedures are possible only 24 hours after the new
certificate was issued (DOMAIN.md, "Certificate validity"; seeds 000 and 002); an
expired certificate cannot be used at all (a reservation made earlier stays valid).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

RENEWAL_WAIT = dt.timedelta(hours=24)

Validity = Literal["usable", "expired", "not_yet_valid", "too_recent"]


def usable_from(not_before: dt.datetime) -> dt.datetime:
    """The first moment a certificate issued at ``not_before`` may be used."""
    return not_before + RENEWAL_WAIT


def validity(not_before: dt.datetime, not_after: dt.datetime, at: dt.datetime) -> Validity:
    if at > not_after:
        return "expired"
    if at < not_before:
        return "not_yet_valid"
    if at < usable_from(not_before):
        return "too_recent"
    return "usable"
