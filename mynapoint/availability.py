"""Whether a payment service can be chosen at a kiosk: the one rule the kiosk (to say so
before anything is typed, ``kiosk.catalog.queries.Catalog.availability``) and the grant
service (to refuse, ``grant_service.rules.check_available``) share.

Kiosks are Mynapoint procedure spots, on one of two channels: a convenience store's
multi-copier or a city hall's terminal (the service knows a kiosk's channel from its
enrolment, never from what the kiosk says). A service cannot be chosen at any kiosk when
only its own app takes applications (seed 000 line 223), or when the programme's ID and
code for it are the card's number and security code (a public terminal never takes both);
some services not at convenience stores (seed 000 line 224); and none before its own
first day (seed 001 line 19).

The reasons that last come first, then the first day: a citizen told "from 1 October" must
not be told on 1 October that the service is never taken here.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Literal, Protocol

Channel = Literal["convenience_store", "city_hall"]


class Unavailable(Enum):
    """Why a service cannot be chosen; the values are the grant service's reason codes
    for the same refusals (``mynapoint.reasons``)."""

    APP_ONLY = "SERVICE_APP_ONLY"
    CARD_CREDENTIALS = "SERVICE_CARD_CREDENTIALS"
    NOT_AT_CONVENIENCE_STORE = "SERVICE_NOT_AT_CONVENIENCE_STORE"
    NOT_YET_SELECTABLE = "SERVICE_NOT_YET_SELECTABLE"


class Offered(Protocol):
    """What the rule reads of a service: its published flags and first day (the kiosk's
    catalog entry and the service's row both have them)."""

    @property
    def app_only(self) -> bool: ...
    @property
    def card_credentials(self) -> bool: ...
    @property
    def not_at_convenience_store(self) -> bool: ...
    @property
    def selectable_from(self) -> dt.date: ...


def unavailable(service: Offered, *, channel: str, day: dt.date) -> Unavailable | None:
    """Why ``service`` cannot be chosen on ``channel`` on ``day`` (a Japan date), the
    first reason in the order above; None when it can."""
    if service.app_only:
        return Unavailable.APP_ONLY
    if service.card_credentials:
        return Unavailable.CARD_CREDENTIALS
    if channel == "convenience_store" and service.not_at_convenience_store:
        return Unavailable.NOT_AT_CONVENIENCE_STORE
    if day < service.selectable_from:
        return Unavailable.NOT_YET_SELECTABLE
    return None
