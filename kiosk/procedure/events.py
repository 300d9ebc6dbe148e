"""The events the kiosk's flow (``kiosk/procedure/flow.py``) understands: touches on the screens,
and the answers of the devices and the grant service (through ``kiosk/shell/runner.py``).

Fields that hold what a citizen typed are left out of ``repr``: an event in a log line
cannot carry a PIN, an ID or a security code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

Language = Literal["ja", "en"]
Purpose = Literal["apply", "my_page", "platform"]
ForWhomChoice = Literal["self", "child_under_15", "child_15_plus"]


# --- Events: from the screens ---------------------------------------------------------


class Event:
    """Something that happened: a touch on a screen, or a device's answer."""


@dataclass(frozen=True)
class ChooseLanguage(Event):
    language: Language


@dataclass(frozen=True)
class Start(Event):
    purpose: Purpose = "apply"


@dataclass(frozen=True)
class Agree(Event):
    pass


@dataclass(frozen=True)
class Back(Event):
    pass


@dataclass(frozen=True)
class Quit(Event):
    """The citizen ends the session ("やめる")."""


@dataclass(frozen=True)
class Continue(Event):
    """OK on a notice."""


@dataclass(frozen=True)
class ForWhom(Event):
    who: ForWhomChoice


@dataclass(frozen=True)
class TryAgain(Event):
    pass


@dataclass(frozen=True)
class PinTyped(Event):
    pin: str = field(repr=False)


@dataclass(frozen=True)
class Search(Event):
    text: str = ""
    kind: str | None = None


@dataclass(frozen=True)
class ChooseService(Event):
    code: str


@dataclass(frozen=True)
class ReservationOnly(Event):
    """Set the MyKey ID now, choose the service later."""


@dataclass(frozen=True)
class IdTyped(Event):
    text: str = field(repr=False)


@dataclass(frozen=True)
class CodeTyped(Event):
    text: str = field(repr=False)


@dataclass(frozen=True)
class PhoneTyped(Event):
    text: str | None = field(default=None, repr=False)  # None: skipped


@dataclass(frozen=True)
class Submit(Event):
    pass


@dataclass(frozen=True)
class StatusSlip(Event):
    pass


@dataclass(frozen=True)
class NotMe(Event):
    """The citizen asks to cancel the application shown: they did not make it, or they
    made it with a wrong ID or with someone else's account (seed 000 line 41)."""

    why: Literal["not_made_by_me", "wrong_entry"] = "not_made_by_me"


@dataclass(frozen=True)
class CancelApplication(Event):
    pass


@dataclass(frozen=True)
class CallStaff(Event):
    pass


@dataclass(frozen=True)
class CheckNetwork(Event):
    """Time to find out again whether the grant service answers (the app sends it on the
    start screen, which says when the network is down before anyone begins)."""


@dataclass(frozen=True)
class NetworkChecked(Event):
    up: bool


@dataclass(frozen=True)
class IdleTimeout(Event):
    pass


@dataclass(frozen=True)
class TechnicianGesture(Event):
    pass


@dataclass(frozen=True)
class TechnicianPinTyped(Event):
    pin: str = field(repr=False)


@dataclass(frozen=True)
class TechnicianAction(Event):
    action: Literal["device_status", "test_read", "test_print", "queue_status", "sync_now"]


# --- Events: from the devices (through the runner) -------------------------------------


@dataclass(frozen=True)
class CardPlaced(Event):
    pass


@dataclass(frozen=True)
class CardRead(Event):
    serial_hex: str
    not_before: dt.datetime
    not_after: dt.datetime
    tries_left: int
    certificate_der: bytes = field(repr=False, default=b"")


@dataclass(frozen=True)
class CardFailed(Event):
    """The read or a card operation failed: ``problem`` is the card layer's message key
    (``card.not_my_number_card``, ``card.removed``, ``card.error``, ``reader.missing``...)."""

    problem: str
    detail: str = ""


@dataclass(frozen=True)
class PinAccepted(Event):
    pass


@dataclass(frozen=True)
class PinRejected(Event):
    tries_left: int


@dataclass(frozen=True)
class PinLockedOut(Event):
    pass


@dataclass(frozen=True)
class StatusFound(Event):
    page: dict[str, Any]  # the service's My Page answer (grant_service/mypage.py)


@dataclass(frozen=True)
class StatusUnavailable(Event):
    detail: str = ""


@dataclass(frozen=True)
class StatusRefused(Event):
    reason_code: str
    message_ja: str
    message_en: str


@dataclass(frozen=True)
class Outcome:
    """One submission's result, as ``kiosk.link.submit.Submitted`` gives it."""

    kind: Literal["reservation", "application", "cancellation", "service_link", "service_unlink"]
    state: Literal["confirmed", "rejected", "pending"]
    receipt_number: str
    result: dict[str, Any] | None = None

    @property
    def reason_code(self) -> str | None:
        return (self.result or {}).get("reason_code")


@dataclass(frozen=True)
class Submitted(Event):
    outcomes: tuple[Outcome, ...]


@dataclass(frozen=True)
class SlipIssued(Event):
    printed: bool
    problem: str | None = None  # the printer's message key when not printed
    tell_staff: bool = False
    image: Any = field(default=None, repr=False)  # the slip (PIL image): shown when not printed


@dataclass(frozen=True)
class CardRemoved(Event):
    pass


@dataclass(frozen=True)
class CardLeftTooLong(Event):
    pass


@dataclass(frozen=True)
class TechnicianPinWrong(Event):
    pass


@dataclass(frozen=True)
class TechnicianResult(Event):
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Trouble(Event):
    """A command failed in a way the flow did not foresee (a bug, a full disk): the
    citizen is told to ask the staff, and staff are called."""

    command: str
    detail: str = ""


# --- The MyKey platform (city hall): points, vouchers, library cards, revocation ------------


@dataclass(frozen=True)
class ChooseAction(Event):
    """On the platform's page: print a voucher, cancel an unused one, link a library card,
    unlink one, or revoke the MyKey ID."""

    action: Literal["voucher", "cancel_voucher", "link", "unlink", "revoke"]


@dataclass(frozen=True)
class ChooseMunicipality(Event):
    code: str


@dataclass(frozen=True)
class ChooseVoucher(Event):
    """One of the citizen's unused vouchers (its number), to cancel."""

    number: str


@dataclass(frozen=True)
class PointsTyped(Event):
    text: str


@dataclass(frozen=True)
class ChooseFacility(Event):
    code: str


@dataclass(frozen=True)
class ServiceNumberTyped(Event):
    """A library card's number, typed on the pad."""

    text: str = field(repr=False)


@dataclass(frozen=True)
class BarcodeScanned(Event):
    """A card's barcode, read by the kiosk's scanner (``kiosk/devices/barcode_scanner.py``)."""

    text: str = field(repr=False)


@dataclass(frozen=True)
class PlatformFound(Event):
    page: dict[str, Any]  # the service's answer (grant_service/mykey_platform.py page)


@dataclass(frozen=True)
class PlatformUnavailable(Event):
    detail: str = ""


@dataclass(frozen=True)
class PlatformRefused(Event):
    reason_code: str
    message_ja: str
    message_en: str


@dataclass(frozen=True)
class VoucherIssued(Event):
    voucher: dict[str, Any]  # number, municipality, points, expiry, the signed code


@dataclass(frozen=True)
class PlatformRequestFailed(Event):
    """A request to the platform that did not go through: refused (a reason, with the
    service's words), nothing sent (``OFFLINE``), or sent with no answer (``unknown``)."""

    reason_code: str | None = None
    message_ja: str = ""
    message_en: str = ""
    unknown: bool = False


@dataclass(frozen=True)
class VoucherNotIssued(PlatformRequestFailed):
    """No voucher. With no answer the points may have been held: the voucher then shows on
    the citizen's page, to cancel."""


@dataclass(frozen=True)
class VoucherCancelled(Event):
    """The service cancelled the voucher (or had: ``result["already"]``); ``page`` is the
    citizen's page asked again afterwards (None when that second question got no answer)."""

    result: dict[str, Any]  # number, state, points_returned, municipality_code, already
    page: dict[str, Any] | None = None


@dataclass(frozen=True)
class VoucherNotCancelled(PlatformRequestFailed):
    """Not cancelled. With no answer it may be: the page says, next time."""


@dataclass(frozen=True)
class Revoked(Event):
    result: dict[str, Any]


@dataclass(frozen=True)
class RevocationFailed(Event):
    reason_code: str | None = None
    message_ja: str = ""
    message_en: str = ""
