"""The commands the kiosk's flow (``kiosk/procedure/flow.py``) gives: what the devices and the
grant service must do next. ``kiosk/shell/runner.py`` carries them out and answers with events.

Fields that hold secrets are left out of ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from kiosk.procedure.events import Language, Outcome

# --- Commands: for the runner -----------------------------------------------------------


class Command:
    """Something for the kiosk's parts to do; its result comes back as an event."""


@dataclass(frozen=True)
class WaitForCard(Command):
    pass


@dataclass(frozen=True)
class ReadCard(Command):
    pass


@dataclass(frozen=True)
class WatchPresence(Command):
    """Report the card's removal at any moment, until the session ends."""


@dataclass(frozen=True)
class VerifyPin(Command):
    pin: str = field(repr=False)


@dataclass(frozen=True)
class LookUpStatus(Command):
    pass


@dataclass(frozen=True)
class ProbeNetwork(Command):
    """Whether the grant service answers now (no card, nothing signed)."""


@dataclass(frozen=True)
class Reserve:
    pass


@dataclass(frozen=True)
class Apply:
    service_code: str
    payment_id: str = field(repr=False)
    security_code: str = field(repr=False)
    phone_last4: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Cancel:
    application_receipt_number: str
    reason: Literal["wrong_entry", "not_made_by_me"]


@dataclass(frozen=True)
class LinkService:
    """Link a library card (or another facility's user number) to the MyKey ID."""

    facility_code: str
    user_number: str = field(repr=False)


@dataclass(frozen=True)
class UnlinkService:
    """Unlink the card of one facility from the MyKey ID."""

    facility_code: str


@dataclass(frozen=True)
class SignAndSubmit(Command):
    """Sign each with the card (PIN verified), then submit in order: durable first."""

    items: tuple[Reserve | Apply | Cancel | LinkService | UnlinkService, ...]


@dataclass(frozen=True)
class IssueSlip(Command):
    outcomes: tuple[Outcome, ...]
    language: Language
    status_page: dict[str, Any] | None = None  # for a status slip


@dataclass(frozen=True)
class WatchForRemoval(Command):
    pass


@dataclass(frozen=True)
class ReportNotMe(Command):
    """Record for audit that the citizen says they did not make this application."""

    application_receipt_number: str
    cancelled: bool


@dataclass(frozen=True)
class AlertStaff(Command):
    reason: str


@dataclass(frozen=True)
class ReportCardLeft(Command):
    """A card was left on the reader (an alert for the operators, on every channel);
    ``call_staff``: the kiosk also calls the staff (a city hall's, who come to the kiosk)."""

    call_staff: bool


@dataclass(frozen=True)
class CheckTechnicianPin(Command):
    pin: str = field(repr=False)


@dataclass(frozen=True)
class RunTechnicianAction(Command):
    action: str


@dataclass(frozen=True)
class Wipe(Command):
    """The session ended: forget everything (the runner closes the card connection)."""


# --- The MyKey platform (city hall) ------------------------------------------------------------


@dataclass(frozen=True)
class LookUpPlatform(Command):
    """The card's municipal points, vouchers and links (signed by the card, online only)."""


@dataclass(frozen=True)
class IssueVoucher(Command):
    """Hold ``points`` of one municipality on a new voucher (online only). The same
    ``request_uuid`` is sent again on a retry, so a lost answer never holds points twice."""

    municipality_code: str
    points: int
    request_uuid: str


@dataclass(frozen=True)
class PrintVoucher(Command):
    voucher: dict[str, Any]
    language: Language


@dataclass(frozen=True)
class CancelVoucher(Command):
    """Cancel one of the citizen's unused vouchers (online only): its points go back. Asking
    again is safe: the service answers a second cancellation as it did the first."""

    number: str


@dataclass(frozen=True)
class Revoke(Command):
    """Revoke the MyKey ID for good: the citizen read, heard and confirmed it twice."""

    confirmations: int
