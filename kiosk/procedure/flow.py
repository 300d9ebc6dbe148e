"""The citizen's procedure at the kiosk, as a state machine: no Kivy, no I/O.

Screens and devices send **events** (``flow.handle(event)``); the flow moves to its next
**step** and answers the **commands** the kiosk must carry out (read the card, verify the
PIN, look up the status, submit, print...). ``kiosk/shell/runner.py`` carries them out with the
real parts, in the background, and sends their results back as events. Everything the
screen shows comes from ``flow.view``: the step and its data. So every path can be
tested here, with or without the real parts, and a screen holds no rule.

The order follows the official convenience-store procedure (consent, card, terms,
service, ID and security code) with the card's PIN early, because the status lookup
(is a MyKey ID set? has this person applied?) is signed by the card:

    welcome -> consent -> for whom -> place card -> reading -> PIN -> checking
      -> (already applied | reservations closed | offline notice) -> choose service
      -> ID -> security code -> phone (optional) -> confirm -> submitting -> slip
      -> take the card -> welcome

A step never waits on a device by itself: while a command runs, the step says so
(``reading``, ``verifying``, ``checking``, ``submitting``, ``slip``) and the next event
moves it on. A second "submit" cannot submit twice: once the flow has left ``confirm``
the event is ignored (Kivy can deliver duplicate touches).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from kiosk.procedure import commands as do
from kiosk.procedure import events as ev
from kiosk.procedure.platform_steps import PlatformSteps
from kiosk.procedure.session import Session
from kiosk.procedure.steps import BUSY, STAYS_WITHOUT_CARD, WITH_CARD
from kiosk.procedure.steps import TECHNICIAN_STEPS as TECHNICIAN_STEPS  # re-exported
from kiosk.procedure.steps import Step as Step  # re-exported: screens know steps by the flow
from mynapoint import card_validity
from mynapoint.dates import JST
from mynapoint.platform_catalog import PACKAGED_PLATFORM_CATALOG, PlatformCatalog
from mynapoint.reasons import R

if TYPE_CHECKING:
    from kiosk.settings import ReaderLocation

log = logging.getLogger(__name__)

Channel = Literal["convenience_store", "city_hall"]

# Refusals the citizen can fix by typing again (the ID or the security code): the
# service's equivalent of the official MKCZ374E "the application was not completed".
CORRECTABLE = {reason.value.code for reason in (R.PAYMENT_ID_REJECTED, R.ACCOUNT_ALREADY_USED)}
# Refusals typing again cannot fix: the citizen must first register with the payment
# service itself (seed 001 line 18), then apply again; the screen says so, and where.
REGISTER_FIRST = R.PRE_REGISTRATION_REQUIRED.value.code
# A renewed certificate's first 24 hours: the service knows it is a renewal (J-LIS).
TOO_RECENT = R.CERT_TOO_RECENT.value.code


def shown_services(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The CHOOSE_SERVICE view's entries (``{"service", "availability"}``) as the list
    shows them: all of them, or those a search or a kind found, in its order."""
    entries = list(data.get("services") or [])
    shown = data.get("shown")
    if shown is None:
        return entries
    order = {code: index for index, code in enumerate(shown)}
    found = [e for e in entries if e["service"].code in order]
    return sorted(found, key=lambda e: order[e["service"].code])


# --- The flow ---------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """What the current screen shows."""

    step: Step
    language: ev.Language
    data: dict[str, Any]
    purpose: str = "apply"  # or "my_page": which procedure (the step bar counts its stages)


class Flow:
    def __init__(
        self,
        *,
        channel: Channel,
        catalog: Any,
        clock: Any = None,
        reader_location: ReaderLocation | None = None,
        platform: PlatformCatalog | None = None,
    ) -> None:
        """``catalog``: ``kiosk.catalog.queries.Catalog`` (search, availability, ID checks);
        ``clock``: returns the aware current time; ``reader_location``: where the card
        reader is (``KioskSettings.reader_location``), for the place-card step's words,
        drawing and script (None: not said); ``platform``: the MyKey platform's
        municipalities and facilities (the last one fetched; the packaged one by default)."""
        self.channel = channel
        self.reader_location = reader_location
        self.catalog = catalog
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.step = Step.WELCOME
        self.session = Session()
        self.data: dict[str, Any] = {}
        # Whether the grant service answered when last asked (None: not asked yet); the
        # start screen says so, before anyone begins.
        self.network_up: bool | None = None
        self._blocked_by_card = False  # a card left on the reader blocks new sessions
        self.platform = PlatformSteps(
            self, platform or PlatformCatalog.from_file(PACKAGED_PLATFORM_CATALOG)
        )
        self._handlers = {**self._step_handlers(), **self.platform.handlers()}

    # --- public -------------------------------------------------------------------------

    @property
    def view(self) -> View:
        data = dict(self.data)
        if self.step == Step.WELCOME:
            data["online"] = self.network_up
        return View(self.step, self.session.language, data, self.session.purpose)

    @property
    def idle_allowed(self) -> bool:
        """Whether the idle timeout may end the session now."""
        return self.step not in BUSY | {Step.WELCOME, Step.CARD_LEFT, Step.TAKE_CARD}

    def handle(self, event: ev.Event) -> list[do.Command]:
        """Move on from ``event``; the commands to carry out, in order."""
        if isinstance(event, ev.ChooseLanguage):
            self.session.language = event.language  # any step: the screen re-renders
            return []
        if isinstance(event, ev.NetworkChecked):
            self.network_up = event.up
            return []
        if isinstance(event, ev.CheckNetwork):
            return [do.ProbeNetwork()] if self.step == Step.WELCOME else []
        if isinstance(event, ev.CallStaff):
            return [do.AlertStaff(f"help asked on the {self.step} screen")]
        if isinstance(event, ev.IdleTimeout):
            return self._timeout()
        if isinstance(event, ev.Trouble):
            return self._trouble(event)
        if isinstance(event, ev.CardRemoved) and self.step not in (Step.TAKE_CARD, Step.CARD_LEFT):
            return self._removed_mid_procedure()
        handler = self._handlers.get(self.step)
        commands = handler(event) if handler else None
        if commands is None:
            log.debug("%s: %s ignored", self.step, type(event).__name__)
            return []
        return commands

    # --- moving -------------------------------------------------------------------------

    def _go(self, step: Step, **data: Any) -> None:
        self.step = step
        self.data = data

    def _end(self) -> list[do.Command]:
        """Leave the procedure: through "take your card" if one may be on the reader."""
        if (self.step in WITH_CARD or self.session.card is not None) and not (
            self.session.card_removed
        ):
            self._go(Step.TAKE_CARD)
            return [do.WatchForRemoval()]
        return self._restart()

    def _restart(self) -> list[do.Command]:
        language: ev.Language = "ja"  # the next citizen starts in Japanese
        self.session.wipe()
        self.session.language = language
        self._go(Step.WELCOME)
        return [do.Wipe()]

    def _timeout(self) -> list[do.Command]:
        if not self.idle_allowed:
            return []
        log.info("session ended by the idle timeout on the %s screen", self.step)
        self.session.wipe_secrets()
        return self._end()

    def _trouble(self, event: ev.Trouble) -> list[do.Command]:
        log.error("kiosk trouble in %s on the %s screen: %s", event.command, self.step,
                  event.detail)  # fmt: skip
        if self.step in BUSY or (self.step == Step.SLIP and self.data.get("printing")):
            self._go(Step.NOTICE, problem="kiosk.trouble")
        return [do.AlertStaff(f"kiosk trouble: {event.command}: {event.detail}")]

    def _removed_mid_procedure(self) -> list[do.Command]:
        if self.step not in WITH_CARD:
            return []
        self.session.card_removed = True
        if self.step in (Step.READING, Step.VERIFYING):
            return self._card_problem(ev.CardFailed("card.removed", "taken away while read"))
        if self.step in STAYS_WITHOUT_CARD:
            return []  # the notice stays; ending it needs no "take your card"
        if self.step == Step.REFUSED and self.session.outcomes:
            return self._slip(self.session.outcomes)  # no correction without the card
        self.session.wipe()
        self._go(Step.CARD_REMOVED)
        return [do.Wipe()]

    # --- the steps: each answers the events it understands; None = ignored --------------

    def _step_handlers(self) -> dict[Step, Callable[[ev.Event], list[do.Command] | None]]:
        """Each step's handler. A step missing here ignores every event."""
        return {
            Step.WELCOME: self._on_welcome,
            Step.CONSENT: self._on_consent,
            Step.FOR_WHOM: self._on_for_whom,
            Step.PLACE_CARD: self._on_place_card,
            Step.READING: self._on_reading,
            Step.CARD_PROBLEM: self._on_card_problem,
            Step.CERT_EXPIRED: self._notice_ends,
            Step.CERT_TOO_RECENT: self._notice_ends,
            Step.PIN: self._on_pin,
            Step.VERIFYING: self._on_verifying,
            Step.PIN_LOCKED: self._notice_ends,
            Step.CHECKING: self._on_checking,
            Step.OFFLINE_NOTICE: self._on_offline_notice,
            Step.ALREADY_APPLIED: self._on_already_applied,
            Step.NOT_ME: self._on_not_me,
            Step.CANCELLED: self._on_cancelled,
            Step.RESERVATIONS_CLOSED: self._notice_ends,
            Step.NOTICE: self._notice_ends,
            Step.CHOOSE_SERVICE: self._on_choose_service,
            Step.ENTER_ID: self._on_enter_id,
            Step.ENTER_CODE: self._on_enter_code,
            Step.ENTER_PHONE: self._on_enter_phone,
            Step.CONFIRM: self._on_confirm,
            Step.SUBMITTING: self._on_submitting,
            Step.REFUSED: self._on_refused,
            Step.SLIP: self._on_slip,
            Step.MY_PAGE: self._on_my_page,
            Step.TAKE_CARD: self._on_take_card,
            Step.CARD_LEFT: self._on_card_left,
            Step.CARD_REMOVED: self._on_card_removed,
            Step.TECHNICIAN_PIN: self._on_technician_pin,
            Step.TECHNICIAN: self._on_technician,
        }

    def _on_welcome(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Start) and not self._blocked_by_card:
            self.session.purpose = event.purpose
            if event.purpose == "platform":
                return self.platform.start()
            self._go(Step.CONSENT, purpose=event.purpose)
            return []
        if isinstance(event, ev.TechnicianGesture):
            self._go(Step.TECHNICIAN_PIN)
            return []
        return None

    def _on_consent(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Agree):
            if self.session.purpose == "my_page":
                return self._place_card()
            self._go(Step.FOR_WHOM)
            return []
        if isinstance(event, ev.Back | ev.Quit):
            return self._restart()
        return None

    def _on_for_whom(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.ForWhom):
            self.session.for_whom = event.who
            return self._place_card()
        if isinstance(event, ev.Back):
            self._go(Step.CONSENT, purpose=self.session.purpose)
            return []
        if isinstance(event, ev.Quit):
            return self._restart()
        return None

    def _place_card(self) -> list[do.Command]:
        self._go(Step.PLACE_CARD, for_whom=self.session.for_whom, reader=self.reader_location)
        return [do.WaitForCard()]

    def _on_place_card(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.CardPlaced):
            self.session.card_removed = False
            self._go(Step.READING)
            return [do.ReadCard(), do.WatchPresence()]
        if isinstance(event, ev.CardFailed):
            return self._card_problem(event)
        if isinstance(event, ev.Back | ev.Quit):
            return self._restart()
        return None

    def _card_problem(self, event: ev.CardFailed) -> list[do.Command]:
        log.info("card problem: %s (%s)", event.problem, event.detail)
        self._go(Step.CARD_PROBLEM, problem=event.problem)
        return []

    def _on_reading(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.CardFailed):
            return self._card_problem(event)
        if not isinstance(event, ev.CardRead):
            return None
        self.session.card = event
        # Whether the certificate is a renewal (the 24-hour wait) only the service knows,
        # from J-LIS: it says so when the status is looked up (``_on_checking``).
        state = card_validity.validity(
            event.not_before, event.not_after, self.clock(), renewal=False
        )
        if state == "expired":
            self._go(Step.CERT_EXPIRED, expired_on=event.not_after)
        elif state == "not_yet_valid":  # this kiosk's clock, or the card's, is wrong
            reason = R.CERT_NOT_YET_VALID.value
            self._go(Step.NOTICE, reason_code=reason.code, message_ja=reason.message_ja,
                     message_en=reason.message_en)  # fmt: skip
        elif event.tries_left <= 0:
            self._go(Step.PIN_LOCKED)
        else:
            self._go(Step.PIN, tries_left=event.tries_left, last_try=event.tries_left == 1)
        return []

    def _on_card_problem(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.TryAgain):
            self.session.card = None
            return self._place_card()
        if isinstance(event, ev.Quit | ev.Continue):
            return self._end()
        return None

    def _notice_ends(self, event: ev.Event) -> list[do.Command] | None:
        """The notices that only end the session (certificate dates, locked PIN,
        reservations closed, a refusal or problem to read)."""
        return self._end() if isinstance(event, ev.Continue | ev.Quit) else None

    def _on_pin(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.PinTyped):
            self._go(Step.VERIFYING, tries_left=self.data.get("tries_left"))
            return [do.VerifyPin(event.pin)]
        if isinstance(event, ev.Quit | ev.Back):
            return self._end()
        return None

    def _on_verifying(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.PinAccepted):
            self._go(Step.CHECKING)
            if self.session.purpose == "platform":
                return [do.LookUpPlatform()]
            return [do.LookUpStatus()]
        if isinstance(event, ev.PinRejected):
            self._go(Step.PIN, tries_left=event.tries_left, last_try=event.tries_left == 1,
                     wrong=True)  # fmt: skip
            return []
        if isinstance(event, ev.PinLockedOut):
            self._go(Step.PIN_LOCKED)
            return []
        if isinstance(event, ev.CardFailed):
            return self._card_problem(event)
        return None

    def _on_checking(self, event: ev.Event) -> list[do.Command] | None:
        if self.session.purpose == "platform" and (answer := self.platform.looked_up(event)):
            return answer
        if isinstance(event, ev.StatusFound):
            return self._status_found(event.page)
        if isinstance(event, ev.StatusUnavailable):
            self.session.online = self.network_up = False
            self._go(Step.OFFLINE_NOTICE, purpose=self.session.purpose)
            return []
        if isinstance(event, ev.StatusRefused) and event.reason_code == TOO_RECENT:
            assert self.session.card is not None
            usable_from = card_validity.usable_from(self.session.card.not_before)
            self._go(Step.CERT_TOO_RECENT, usable_from=usable_from)
            return []
        if isinstance(event, ev.StatusRefused):
            self._go(Step.NOTICE, reason_code=event.reason_code,
                     message_ja=event.message_ja, message_en=event.message_en)  # fmt: skip
            return []
        if isinstance(event, ev.CardFailed):
            return self._card_problem(event)
        return None

    def _status_found(self, page: dict[str, Any]) -> list[do.Command]:
        self.session.online = self.network_up = True
        self.session.status_page = page
        reservation, application = page.get("reservation", {}), page.get("application", {})
        self.session.reserved = bool(reservation.get("reserved"))
        self.session.mykey_id = reservation.get("mykey_id")
        if self.session.purpose == "my_page":
            self._go(Step.MY_PAGE, page=page)
            return []
        if application.get("state") == "active":
            self._go(Step.ALREADY_APPLIED, **self._application_facts(application))
            return []
        if not self.session.reserved and not page.get("reservations_open", True):
            self._go(Step.RESERVATIONS_CLOSED)
            return []
        return self._choose_service()

    def _application_facts(self, application: dict[str, Any]) -> dict[str, Any]:
        code = application.get("service_code", "")
        service = self.catalog.get(code)
        return {
            "service_code": code,
            "service_name_ja": service.name_ja if service else code,
            "service_name_en": service.name_en if service else code,
            "account_last4": application.get("account_last4"),
            "receipt_number": application.get("receipt_number"),
            "applied_at": application.get("applied_at"),
            "cancellable_here": bool(application.get("cancellable_here")),
            "channel": self.channel,
        }

    def _on_offline_notice(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Continue):
            if self.session.purpose == "my_page":
                return self._end()  # status needs the network
            return self._choose_service()
        if isinstance(event, ev.Quit | ev.Back):
            return self._end()
        return None

    # --- already applied, "I did not apply", cancellation ------------------------------

    def _on_already_applied(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.StatusSlip):
            return self._slip((), status_page=self.session.status_page)
        if isinstance(event, ev.NotMe):
            self._go(Step.NOT_ME, **{**self.data, "why": event.why})
            return []
        if isinstance(event, ev.Quit | ev.Continue):
            return self._end()
        return None

    def _on_not_me(self, event: ev.Event) -> list[do.Command] | None:
        receipt = self.data.get("receipt_number") or ""
        why = self.data.get("why", "not_made_by_me")
        if isinstance(event, ev.CancelApplication) and self.data.get("cancellable_here"):
            self.session.cancel_receipt, self.session.cancel_reason = receipt, why
            self._go(Step.SUBMITTING, cancelling=True)
            return [do.SignAndSubmit((do.Cancel(receipt, why),))]
        if isinstance(event, ev.Quit | ev.Continue):
            # Not cancelled here: the screen said where to go today; "I did not make it"
            # is also recorded (it deserves an audit flag), a typing mistake is not.
            reports = [do.ReportNotMe(receipt, cancelled=False)] if why == "not_made_by_me" else []
            return [*reports, *self._end()]
        if isinstance(event, ev.Back):
            facts = {k: v for k, v in self.data.items() if k != "why"}
            self._go(Step.ALREADY_APPLIED, **facts)
            return []
        return None

    def _on_cancelled(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Continue):  # apply again, today
            return self._choose_service()
        if isinstance(event, ev.Quit):
            return self._end()
        return None

    # --- choosing and entering ----------------------------------------------------------

    def _today(self) -> dt.date:
        return self.clock().astimezone(JST).date()  # the programme's days are Japan's

    def _choose_service(self, **extra: Any) -> list[do.Command]:
        today = self._today()
        services = [
            {"service": s, "availability": self.catalog.availability(s, self.channel, today)}
            for s in self.catalog.services
        ]
        self._go(Step.CHOOSE_SERVICE, services=services, reserved=self.session.reserved,
                 online=self.session.online, search="", kind=None, **extra)  # fmt: skip
        return []

    def _on_choose_service(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Search):
            found = self.catalog.search(event.text) if event.text else self.catalog.services
            if event.kind:
                found = [s for s in found if s.kind == event.kind]
            shown = [s.code for s in found]  # the search's order: names that start with it first
            self.data = {**self.data, "search": event.text, "kind": event.kind, "shown": shown}
            return []
        if isinstance(event, ev.ChooseService):
            service = self.catalog.get(event.code)
            if service is None:
                return []
            availability = self.catalog.availability(service, self.channel, self._today())
            if not availability.available:
                self.data = {**self.data, "unavailable": event.code}
                return []
            self.session.service_code = service.code
            return self._enter_id()
        if isinstance(event, ev.ReservationOnly) and not self.session.reserved:
            self.session.service_code = None
            return self._confirm()
        if isinstance(event, ev.Quit | ev.Back):
            return self._end()
        return None

    def _service(self) -> Any:
        return self.catalog.get(self.session.service_code)

    def _enter_id(self, **extra: Any) -> list[do.Command]:
        service = self._service()
        self._go(Step.ENTER_ID, service=service, for_whom=self.session.for_whom,
                 pre_registration=service.pre_registration, **extra)  # fmt: skip
        return []

    def _on_enter_id(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.IdTyped):
            checked = self.catalog.check_id(self._service(), event.text)
            if not checked.ok:
                self.data = {**self.data, "error": checked.error}
                return []
            self.session.payment_id = checked.value
            self._go(Step.ENTER_CODE, service=self._service())
            return []
        if isinstance(event, ev.Back):
            self.session.payment_id = None
            return self._choose_service()
        if isinstance(event, ev.Quit):
            return self._end()
        return None

    def _on_enter_code(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.CodeTyped):
            checked = self.catalog.check_code(self._service(), event.text)
            if not checked.ok:
                self.data = {**self.data, "error": checked.error}
                return []
            self.session.security_code = checked.value
            self._go(Step.ENTER_PHONE)
            return []
        if isinstance(event, ev.Back):
            self.session.security_code = None
            return self._enter_id()
        if isinstance(event, ev.Quit):
            return self._end()
        return None

    def _on_enter_phone(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.PhoneTyped):
            digits = (event.text or "").strip()
            if digits and not (len(digits) == 4 and digits.isascii() and digits.isdigit()):
                self.data = {"error": "phone.format"}
                return []
            self.session.phone_last4 = digits or None
            return self._confirm()
        if isinstance(event, ev.Back):
            self._go(Step.ENTER_CODE, service=self._service())
            return []
        if isinstance(event, ev.Quit):
            return self._end()
        return None

    def _confirm(self) -> list[do.Command]:
        service = self._service() if self.session.service_code else None
        self._go(
            Step.CONFIRM,
            reserve=not self.session.reserved,
            service=service,
            account_last4=self.session.payment_id_last4,
            for_whom=self.session.for_whom,
            online=self.session.online,
        )
        return []

    def _on_confirm(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.Submit):
            items: list[do.Reserve | do.Apply] = [] if self.session.reserved else [do.Reserve()]
            if self.session.service_code:
                items.append(self.session.application())
            self._go(Step.SUBMITTING)
            return [do.SignAndSubmit(tuple(items))]
        if isinstance(event, ev.Back):
            if self.session.service_code is None:
                return self._choose_service()
            self._go(Step.ENTER_PHONE)
            return []
        if isinstance(event, ev.Quit):
            return self._end()
        return None

    # --- submitting, the slip, the end ----------------------------------------------------

    def _on_submitting(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.CardFailed):
            return self._card_problem(event)
        if not isinstance(event, ev.Submitted):
            return None
        outcomes = event.outcomes
        if self.session.purpose == "platform":  # a library card linked
            self.session.outcomes += outcomes
            return self.platform.submitted(outcomes)
        for outcome in outcomes:
            if outcome.kind == "reservation" and outcome.state != "rejected":
                self.session.reserved = True  # not submitted again after a correction
                mykey = ((outcome.result or {}).get("result") or {}).get("mykey_id")
                self.session.mykey_id = mykey or self.session.mykey_id
        self.session.outcomes += outcomes
        cancellation = next((o for o in outcomes if o.kind == "cancellation"), None)
        if cancellation is not None:
            return self._cancelled(cancellation)
        refused = next(
            (o for o in outcomes if o.kind == "application" and o.state == "rejected"), None
        )
        if refused is not None and refused.reason_code in CORRECTABLE:
            self.session.security_code = None  # typed again, never kept
            self._go(Step.REFUSED, correctable=True, **self._refusal(refused))
            return []
        if refused is not None and refused.reason_code == REGISTER_FIRST:
            self.session.wipe_secrets()  # nothing to type again here
            self._go(Step.REFUSED, correctable=False, service=self._service(),
                     **self._refusal(refused))  # fmt: skip
            return []
        return self._slip(self.session.outcomes)

    def _refusal(self, outcome: ev.Outcome) -> dict[str, Any]:
        result = outcome.result or {}
        return {
            "reason_code": outcome.reason_code,
            "message_ja": result.get("message_ja", ""),
            "message_en": result.get("message_en", ""),
            "receipt_number": outcome.receipt_number,
        }

    def _cancelled(self, outcome: ev.Outcome) -> list[do.Command]:
        receipt = self.session.cancel_receipt or ""
        reported = self.session.cancel_reason == "not_made_by_me"
        if outcome.state == "confirmed":
            self._go(Step.CANCELLED, receipt_number=outcome.receipt_number)
            return [do.ReportNotMe(receipt, cancelled=True)] if reported else []
        self._go(Step.NOTICE, **self._refusal(outcome))
        return [do.ReportNotMe(receipt, cancelled=False)] if reported else []

    def _on_refused(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.TryAgain) and self.data.get("correctable"):
            # correct the ID (kept) and type the code again
            return self._enter_id(retry=True)
        if isinstance(event, ev.Quit | ev.Continue):
            return self._slip(self.session.outcomes)  # what was done still gets its slip
        return None

    def _slip(
        self, outcomes: tuple[ev.Outcome, ...], status_page: dict[str, Any] | None = None
    ) -> list[do.Command]:
        if not outcomes and status_page is None:
            return self._end()
        self._go(Step.SLIP, printing=True, outcomes=outcomes)
        return [do.IssueSlip(outcomes, self.session.language, status_page)]

    def _on_slip(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.SlipIssued):
            self.data = {**self.data, "printing": False, "printed": event.printed,
                         "problem": event.problem, "tell_staff": event.tell_staff,
                         "image": event.image}  # fmt: skip
            if event.tell_staff:
                return [do.AlertStaff(f"slip printer: {event.problem or 'paper near end'}")]
            return []
        if isinstance(event, ev.Continue | ev.Quit) and not self.data.get("printing"):
            return self._end()
        return None

    def _on_my_page(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.StatusSlip):
            return self._slip((), status_page=self.session.status_page)
        return self._notice_ends(event)

    def _on_take_card(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.CardRemoved):
            self._blocked_by_card = False
            return self._restart()
        if isinstance(event, ev.CardLeftTooLong):
            self.session.wipe()
            self._go(Step.CARD_LEFT, channel=self.channel)
            if self.channel == "city_hall":
                return [do.ReportCardLeft(call_staff=True)]
            self._blocked_by_card = True  # no new session until it is taken
            return [do.ReportCardLeft(call_staff=False)]
        return None

    def _on_card_left(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.CardRemoved):
            self._blocked_by_card = False
            return self._restart()
        return None

    def _on_card_removed(self, event: ev.Event) -> list[do.Command] | None:
        return self._restart() if isinstance(event, ev.Continue | ev.Quit) else None

    # --- technician mode ------------------------------------------------------------------

    def _on_technician_pin(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.TechnicianPinTyped):
            return [do.CheckTechnicianPin(event.pin)]
        if isinstance(event, ev.TechnicianResult):  # the PIN was right
            self._go(Step.TECHNICIAN, lines=event.lines)
            return []
        if isinstance(event, ev.TechnicianPinWrong):
            self.data = {"wrong": True}
            return []
        if isinstance(event, ev.Quit | ev.Back):
            return self._restart()
        return None

    def _on_technician(self, event: ev.Event) -> list[do.Command] | None:
        if isinstance(event, ev.TechnicianAction):
            return [do.RunTechnicianAction(event.action)]
        if isinstance(event, ev.TechnicianResult):
            self.data = {**self.data, "lines": event.lines}
            return []
        if isinstance(event, ev.Quit | ev.Back):
            return self._restart()
        return None
