"""When a card's user-authentication certificate may be used: the one rule the kiosk
(to tell the citizen before anything is signed) and the grant service (to refuse) share.
Whether a certificate is a renewal only the service knows (J-LIS tells it): the kiosk
judges the dates, and learns of the 24-hour wait from the service's status answer.

After a renewal or a re-issue, procedures are possible only 24 hours after the new
certificate was issued (DOMAIN.md, "Certificate validity"; seed 002: «電子証明書の更新手続き
をした場合は、更新完了の24時間経過後からマイナポイントの予約・申し込みが可能»); a card's
first certificate may be used at once. An expired certificate cannot be used at all (a
reservation made earlier stays valid).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

RENEWAL_WAIT = dt.timedelta(hours=24)

Validity = Literal["usable", "expired", "not_yet_valid", "too_recent"]


def usable_from(not_before: dt.datetime) -> dt.datetime:
    """The first moment a renewed certificate issued at ``not_before`` may be used."""
    return not_before + RENEWAL_WAIT


def validity(
    not_before: dt.datetime, not_after: dt.datetime, at: dt.datetime, *, renewal: bool
) -> Validity:
    """``renewal``: the certificate renews or replaces an earlier one (the grant service
    knows from the J-LIS feed; a kiosk cannot tell, and passes False: it never tells a
    new card's holder that the certificate was "just renewed")."""
    if at > not_after:
        return "expired"
    if at < not_before:
        return "not_yet_valid"
    if renewal and at < usable_from(not_before):
        return "too_recent"
    return "usable"
