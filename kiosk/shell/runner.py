"""Carries out the flow's commands with the kiosk's real parts: the card reader, the
grant service (through the submit path and its client), the slip printer.

``run(command)`` yields the events that answer a command, as they happen: most yield
one; waiting for the card to be taken yields "left too long" and later "removed". It
blocks while a device works, so the app calls it from a worker thread and hands each
event back to the flow on the main thread; tests call it directly.

The card connection lives from "card placed" until ``Wipe``: the PIN is verified once
and the card signs the status query and the submissions on the same connection. The PIN
arrives in ``VerifyPin`` and goes to the card; nothing here keeps it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization

from kiosk.devices import errors
from kiosk.devices.jpki import AUTH_PIN_TRIES, JpkiCard
from kiosk.devices.printer import PrinterError
from kiosk.devices.transport import CardConnection
from kiosk.health.alerts import AlertOutbox, note_paper
from kiosk.health.live_state import LiveStateWriter, activity_of, paper_state
from kiosk.link.submit import Submitted
from kiosk.procedure import commands as do
from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step
from kiosk.shell.parts import KioskParts
from kiosk.shell.platform_commands import PlatformCommands
from kiosk.slip.builder import procedure_for, slip_for, status_procedure
from kiosk.technician.checks import printer_status, run_check, version_line
from kiosk.technician.pin import pin_matches
from mynapoint.envelope import (
    ApplicationPayload,
    CancellationPayload,
    Envelope,
    Payload,
    ReservationPayload,
    ServiceLinkPayload,
    ServiceUnlinkPayload,
    build_envelope,
)
from mynapoint.fleet import AlertKind, PaperState
from mynapoint.mypage import build_status_query

log = logging.getLogger(__name__)

TERMS_VERSION = "2020-07"
POLL = 0.25  # how often a wait for the card looks whether it was cancelled
STAFF_CALLED = "STAFF_CALLED"  # the alert code of a call for staff
PAPER_CHECK_SECONDS = 300.0  # how often an idle kiosk asks its printer about the paper


class Runner(PlatformCommands):
    def __init__(self, parts: KioskParts) -> None:
        self.parts = parts
        self._connection: CardConnection | None = None
        self._card: JpkiCard | None = None
        self._certificate_der = b""
        self._envelopes: dict[str, Envelope] = {}  # this session's, by receipt number
        self._cancelled = threading.Event()  # stops a wait for a card
        # Each watch for the card's removal belongs to one placing of the card: a new
        # placing, the "take your card" wait or the session's end retire the old one.
        self._watch = 0
        # For the operators: alerts (kept in the queue's database), and the live state
        # kiosk-sync reads for its heartbeat.
        self.alerts = AlertOutbox(parts.submitter.store, clock=parts.clock)
        self.live = LiveStateWriter(parts.settings.live_state_file, clock=parts.clock)
        self._printer = threading.Lock()  # a slip, or a status request: one at a time
        self._paper_asked_at: float | None = None

    # --- public -------------------------------------------------------------------------

    def run(self, command: do.Command) -> Iterator[ev.Event]:
        handler: Callable[[Any], Iterator[ev.Event]] = getattr(
            self, "_" + _snake(type(command).__name__)
        )  # WaitForCard -> _wait_for_card
        yield from handler(command)

    def note_step(self, step: Step) -> None:
        """The flow moved to ``step`` (the live state says idle, in use or technician)."""
        self.live.update(state=activity_of(step))

    def tend_live_state(self) -> None:
        """Refresh the live state; an idle kiosk also asks its printer about the paper, at
        start and every ``PAPER_CHECK_SECONDS`` (from the app's ``Refresher`` thread)."""
        self.live.refresh()
        due = self._paper_asked_at is None or (
            time.monotonic() - self._paper_asked_at >= PAPER_CHECK_SECONDS
        )
        if due and self.live.current.state == "idle":
            self.check_paper()

    def check_paper(self) -> None:
        """Ask the printer now, unless it is printing (the next check will)."""
        if not self._printer.acquire(blocking=False):
            return
        try:
            self._paper_asked_at = time.monotonic()
            try:
                paper = paper_state(printer_status(self.parts.slips.printer), None)
            except PrinterError as problem:
                paper = paper_state(problem.status, problem)
        finally:
            self._printer.release()
        self._note_paper(paper)

    def _note_paper(self, paper: PaperState) -> None:
        self.live.update(paper=paper)
        note_paper(self.alerts, paper)

    def cancel_waits(self) -> None:
        """Stop waiting for a card, or for its removal (the session ended)."""
        self._cancelled.set()
        self._watch += 1

    # --- the card -----------------------------------------------------------------------

    def _wait_for_card(self, command: do.WaitForCard) -> Iterator[ev.Event]:
        self._cancelled.clear()
        self._watch += 1
        self._drop_card()  # a card placed again: a new connection
        while not self._cancelled.is_set():
            try:
                self._connection = self.parts.reader.wait_for_card(POLL)
            except errors.NoCard:
                self.live.update(reader_present=True)
                continue
            except errors.CardError as problem:
                if isinstance(problem, errors.NoReader | errors.ReaderServiceUnavailable):
                    self.live.update(reader_present=False)
                yield ev.CardFailed(problem.message_key, problem.detail)
                return
            self.live.update(reader_present=True, card_on_reader=True)
            yield ev.CardPlaced()
            return

    def _read_card(self, command: do.ReadCard) -> Iterator[ev.Event]:
        if self._connection is None:
            yield ev.CardFailed("card.absent", "no card connection")
            return
        try:
            self._card = JpkiCard(self._connection)
            certificate = self._card.read_certificate()
            status = self._card.pin_status()
        except errors.CardError as problem:
            self._drop_card()
            yield ev.CardFailed(problem.message_key, problem.detail)
            return
        self._certificate_der = certificate.public_bytes(serialization.Encoding.DER)
        # No count (9000: the PIN is verified already): a right PIN resets the count to full.
        tries = AUTH_PIN_TRIES if status.tries_left is None else status.tries_left
        yield ev.CardRead(
            serial_hex=f"{certificate.serial_number:X}",
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            tries_left=tries,
            certificate_der=self._certificate_der,
        )

    def _verify_pin(self, command: do.VerifyPin) -> Iterator[ev.Event]:
        card = self._card
        if card is None:
            yield ev.CardFailed("card.absent", "no card")
            return
        try:
            card.verify_pin(command.pin)
        except errors.WrongPin as wrong:
            yield ev.PinRejected(wrong.tries_left)
        except errors.PinLocked:
            yield ev.PinLockedOut()
        except errors.CardError as problem:
            yield ev.CardFailed(problem.message_key, problem.detail)
        else:
            yield ev.PinAccepted()

    def _sign(self, data: bytes) -> bytes:
        if self._card is None:
            raise errors.CardRemoved()
        return self._card.sign(data)

    def _watch_presence(self, command: do.WatchPresence) -> Iterator[ev.Event]:
        mine = self._watch
        while mine == self._watch:
            if self.parts.reader.wait_for_removal(POLL):
                self.live.update(card_on_reader=False)
                if mine == self._watch:
                    yield ev.CardRemoved()
                return

    def _watch_for_removal(self, command: do.WatchForRemoval) -> Iterator[ev.Event]:
        self._watch += 1  # this wait reports the removal now
        mine = self._watch
        self._drop_card()
        left_after = time.monotonic() + self.parts.settings.card_left_seconds
        told = False
        while mine == self._watch:
            if self.parts.reader.wait_for_removal(POLL):
                self.live.update(card_on_reader=False)
                yield ev.CardRemoved()
                return
            if not told and time.monotonic() > left_after:
                told = True
                yield ev.CardLeftTooLong()

    def _drop_card(self) -> None:
        self._card = None
        if self._connection is not None:
            with contextlib.suppress(errors.CardError):  # the card is gone already
                self._connection.close()
            self._connection = None

    # --- the grant service ----------------------------------------------------------------

    def _probe_network(self, command: do.ProbeNetwork) -> Iterator[ev.Event]:
        client = self.parts.client
        try:
            up = client is not None and client.status().status_code == 200
        except httpx.HTTPError:
            up = False
        yield ev.NetworkChecked(up)

    def _look_up_status(self, command: do.LookUpStatus) -> Iterator[ev.Event]:
        client = self.parts.client
        if client is None:
            yield ev.StatusUnavailable("the kiosk is not enrolled")
            return
        try:
            challenge = client.challenge()
            if challenge.status_code != 200:
                yield self._status_problem(challenge.status_code, challenge.body)
                return
            query = build_status_query(
                challenge.body["challenge"],
                kiosk_id=client.identity.kiosk_id,
                certificate_der=self._certificate_der,
                sign=self._sign,
            )
            reply = client.card_status(query)
        except httpx.HTTPError as exc:
            yield ev.StatusUnavailable(f"{type(exc).__name__}: {exc}")
            return
        except errors.CardError as problem:
            yield ev.CardFailed(problem.message_key, problem.detail)
            return
        if reply.status_code == 200:
            yield ev.StatusFound(reply.body)
        else:
            yield self._status_problem(reply.status_code, reply.body)

    @staticmethod
    def _status_problem(status: int, body: Any) -> ev.Event:
        body = body if isinstance(body, dict) else {}
        if status >= 500 or "reason_code" not in body:
            return ev.StatusUnavailable(f"HTTP {status}")
        return ev.StatusRefused(
            body["reason_code"], body.get("message_ja", ""), body.get("message_en", "")
        )

    def _sign_and_submit(self, command: do.SignAndSubmit) -> Iterator[ev.Event]:
        submitter = self.parts.submitter
        try:
            envelopes = [self._envelope(item) for item in command.items]  # the card signs all
        except errors.CardError as problem:
            yield ev.CardFailed(problem.message_key, problem.detail)
            return
        outcomes: list[ev.Outcome] = []
        for envelope in envelopes:
            answer = submitter.submit(envelope)  # durable before it is sent
            self._envelopes[envelope.receipt_number] = envelope
            outcomes.append(
                ev.Outcome(envelope.kind, answer.state, answer.receipt_number, answer.result)
            )
            if envelope.kind == "reservation" and answer.state == "rejected":
                break  # no application without a MyKey ID (it was signed, never sent)
        yield ev.Submitted(tuple(outcomes))

    def _envelope(
        self, item: do.Reserve | do.Apply | do.Cancel | do.LinkService | do.UnlinkService
    ) -> Envelope:
        payload: Payload
        if isinstance(item, do.LinkService):
            payload = ServiceLinkPayload(
                facility_code=item.facility_code, user_number=item.user_number
            )
        elif isinstance(item, do.UnlinkService):
            payload = ServiceUnlinkPayload(facility_code=item.facility_code)
        elif isinstance(item, do.Reserve):
            payload = ReservationPayload(terms_version=TERMS_VERSION)
        elif isinstance(item, do.Apply):
            payload = ApplicationPayload(
                service_code=item.service_code,
                payment_id=item.payment_id,
                security_code=item.security_code,
                phone_last4=item.phone_last4,
            )
        else:
            payload = CancellationPayload(
                application_receipt_number=item.application_receipt_number, reason=item.reason
            )
        return build_envelope(
            payload,
            kiosk_id=self.parts.submitter.kiosk_id,
            sequence=self.parts.submitter.next_sequence(),
            certificate_der=self._certificate_der,
            sign=self._sign,
            now=self.parts.clock(),
        )

    # --- the slip -------------------------------------------------------------------------

    def _issue_slip(self, command: do.IssueSlip) -> Iterator[ev.Event]:
        terms = self.parts.slip_terms()
        procedures = [
            procedure_for(self._envelopes[o.receipt_number], _submitted(o), terms)
            for o in command.outcomes
            if o.receipt_number in self._envelopes
        ]
        if command.status_page is not None:
            procedures.append(status_procedure(command.status_page, terms))
        kiosk_id = self.parts.submitter.kiosk_id
        slip = slip_for(
            procedures,
            self.parts.settings,
            language=command.language,
            kiosk_id=kiosk_id,
            now=self.parts.clock(),
            terms=terms,
        )
        with self._printer:
            issued = self.parts.slips.issue(slip)  # archived first: a technician can reprint
        self._note_paper(paper_state(issued.status, issued.problem))
        problem = issued.problem.message_key if issued.problem else None
        yield ev.SlipIssued(issued.printed, problem, issued.tell_staff, issued.image)

    # --- staff, audit, end ------------------------------------------------------------------

    def _report_not_me(self, command: do.ReportNotMe) -> Iterator[ev.Event]:
        """Kept on the kiosk, beside its queue: the receipt number only, no personal data."""
        record = {
            "at": self.parts.clock().isoformat(),
            "kiosk_id": self.parts.submitter.kiosk_id,
            "what": "citizen says they did not make this application",
            "application_receipt_number": command.application_receipt_number,
            "cancelled_here": command.cancelled,
        }
        path = self.parts.settings.data_dir / "not-me-reports.jsonl"
        with path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        log.warning(
            "citizen reports an application they did not make: %s (cancelled: %s)",
            command.application_receipt_number,
            command.cancelled,
        )
        # To the operators too: the receipt number and the time, nothing else.
        self.alerts.raise_alert(
            AlertKind.NOT_ME_REPORT, receipt_number=command.application_receipt_number
        )
        yield from ()

    def _alert_staff(self, command: do.AlertStaff) -> Iterator[ev.Event]:
        """In the log, and in the kiosk's alert record (``kiosk-queue status`` shows it;
        the fleet view will): one alert, counted, with the latest reason."""
        log.warning("STAFF CALLED: %s", command.reason)
        self.parts.submitter.store.raise_alert(STAFF_CALLED, command.reason)
        self.alerts.raise_alert(AlertKind.STAFF_CALLED, detail=_headline(command.reason))
        yield from ()

    def _report_card_left(self, command: do.ReportCardLeft) -> Iterator[ev.Event]:
        """One CARD_LEFT alert per card left; a city hall's staff are called as well."""
        reason = "a card was left on the reader"
        if command.call_staff:
            log.warning("STAFF CALLED: %s", reason)
            self.parts.submitter.store.raise_alert(STAFF_CALLED, reason)
        else:
            log.warning("%s: new sessions wait until it is taken", reason)
        self.alerts.raise_alert(AlertKind.CARD_LEFT, detail=reason)
        yield from ()

    def _check_technician_pin(self, command: do.CheckTechnicianPin) -> Iterator[ev.Event]:
        if pin_matches(command.pin, self.parts.settings.technician_pin_hash):
            log.info("technician mode opened")
            yield ev.TechnicianResult((version_line(),))
        else:
            log.warning("wrong technician PIN")
            time.sleep(1.0)  # slows guessing at the screen
            yield ev.TechnicianPinWrong()

    def _run_technician_action(self, command: do.RunTechnicianAction) -> Iterator[ev.Event]:
        yield ev.TechnicianResult(tuple(run_check(command.action, self.parts)))

    def _wipe(self, command: do.Wipe) -> Iterator[ev.Event]:
        self.cancel_waits()
        self._drop_card()
        self._certificate_der = b""
        self._envelopes.clear()
        yield from ()


def _headline(reason: str) -> str:
    """A staff call's reason as the operators see it: up to its second colon ("kiosk
    trouble: VerifyPin"), since an error's own text may quote what was typed."""
    return ": ".join(reason.split(": ")[:2])


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _submitted(outcome: ev.Outcome) -> Submitted:
    return Submitted(outcome.state, outcome.receipt_number, outcome.result)
