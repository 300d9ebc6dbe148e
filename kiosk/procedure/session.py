"""One citizen's session: what the kiosk holds about them, in memory only, and the idle
timer that ends a session nobody is using.

Nothing here is written to disk or logged. ``wipe()`` drops every reference the session
holds (Python cannot overwrite a ``str`` in place, so "wiping" means nothing here keeps
the PIN digits, the IDs or the security code alive; the PIN itself never reaches the
session: it goes from the PIN pad to the card in one command). The ``repr`` of a
session hides the secrets, so an accidental log line cannot carry them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from mynapoint.payment_ids import last4

if TYPE_CHECKING:
    from kiosk.procedure.commands import Apply
    from kiosk.procedure.events import CardRead, Outcome

# WCAG 2.2.1 (Timing Adjustable): warn at least 20 seconds before the end, and let one
# simple action extend the time.
WARNING_SECONDS = 20.0


@dataclass
class Session:
    language: Literal["ja", "en"] = "ja"
    purpose: Literal["apply", "my_page", "platform"] = "apply"
    for_whom: Literal["self", "child_under_15", "child_15_plus"] = "self"
    card: CardRead | None = None
    card_removed: bool = False
    online: bool | None = None  # None: not asked yet
    status_page: dict[str, Any] | None = field(default=None, repr=False)
    reserved: bool = False
    mykey_id: str | None = field(default=None, repr=False)
    service_code: str | None = None
    payment_id: str | None = field(default=None, repr=False)
    security_code: str | None = field(default=None, repr=False)
    phone_last4: str | None = field(default=None, repr=False)
    outcomes: tuple[Outcome, ...] = ()
    # A cancellation asked for on this kiosk: which application, and why.
    cancel_receipt: str | None = None
    cancel_reason: Literal["not_made_by_me", "wrong_entry"] | None = None
    # The MyKey platform: the card's page, the voucher being made, the card being linked.
    platform_page: dict[str, Any] | None = field(default=None, repr=False)
    voucher_municipality: str | None = None
    voucher_points: int | None = None
    voucher_request: str | None = None  # the request's uuid: a retry sends the same
    voucher_to_cancel: str | None = None  # the number of the unused voucher chosen
    facility_code: str | None = None
    service_number: str | None = field(default=None, repr=False)

    @property
    def payment_id_last4(self) -> str | None:
        return last4(self.payment_id) if self.payment_id else None

    def application(self) -> Apply:
        from kiosk.procedure.commands import Apply

        assert self.service_code and self.payment_id and self.security_code
        return Apply(self.service_code, self.payment_id, self.security_code, self.phone_last4)

    def wipe_secrets(self) -> None:
        """Forget what was typed (the idle timeout on an entry screen)."""
        self.payment_id = self.security_code = self.phone_last4 = None
        self.service_number = None

    def wipe(self) -> None:
        """Forget everything: the session is over."""
        fresh = Session()
        for each in fields(self):
            setattr(self, each.name, getattr(fresh, each.name))


class IdleTimer:
    """Counts down a session's idle time: a touch restarts it; the last ``WARNING_SECONDS``
    show a visible countdown that one touch extends.

    ``tick(now)`` says what to show: ``None`` (nothing), the seconds left (the warning),
    or ``0`` (time is up: end the session). Times are ``time.monotonic()`` seconds.
    """

    def __init__(self, timeout: float, now: float) -> None:
        if timeout <= WARNING_SECONDS:
            raise ValueError(f"the idle timeout must be longer than {WARNING_SECONDS:g} s")
        self.timeout = timeout
        self.last_touch = now

    def touch(self, now: float) -> None:
        self.last_touch = now

    def left(self, now: float) -> float:
        return max(0.0, self.timeout - (now - self.last_touch))

    def tick(self, now: float) -> int | None:
        left = self.left(now)
        if left <= 0:
            return 0
        if left <= WARNING_SECONDS:
            return max(1, int(left + 0.999))  # whole seconds, never "0" while time is left
        return None
