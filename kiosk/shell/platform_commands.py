"""The MyKey platform's commands (``kiosk/procedure/platform_steps.py``), carried out with
the card, the grant service and the printer: the ``Runner`` has them as its own.

Each request is signed by the card over a fresh challenge of the service. A voucher's
request is signed once and, when its answer is lost, sent again as it was: the service
answers a retry from the voucher it made, so points are never held twice, and a voucher
is printed only from the service's answer.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

from kiosk.devices import errors
from kiosk.health.live_state import paper_state
from kiosk.link.service_client import Reply
from kiosk.procedure import commands as do
from kiosk.procedure import events as ev
from kiosk.procedure.platform_steps import OFFLINE
from mynapoint.platform_requests import (
    REVOCATION_TERMS_VERSION,
    BalancesQuery,
    Revocation,
    VoucherCancel,
    VoucherIssue,
    signed_request,
)
from receipts.voucher import VoucherSlip

if TYPE_CHECKING:
    from kiosk.shell.parts import KioskParts
    from mynapoint.fleet import PaperState

log = logging.getLogger(__name__)

ISSUE_ATTEMPTS = 3  # the same signed request: the service answers a retry from its record
# A cancellation is asked afresh each time (a new challenge, signed again): the service
# answers a second cancellation of the same voucher as it answered the first.
CANCEL_ATTEMPTS = 3


class NoAnswer(Exception):
    """The service could not be reached, or answered with a server error."""


class PlatformCommands:
    """Mixed into ``Runner``: ``run`` finds these by the command's name. What they use of
    the runner is declared here, and is the runner's."""

    parts: KioskParts
    _certificate_der: bytes
    _printer: threading.Lock

    def _sign(self, data: bytes) -> bytes:
        raise NotImplementedError  # the runner's: the card, PIN verified

    def _note_paper(self, paper: PaperState) -> None:
        raise NotImplementedError  # the runner's

    def _platform_request(self, kind: type[Any], **fields: Any) -> Any:
        client = self.parts.client
        if client is None:
            raise NoAnswer("the kiosk is not enrolled")
        challenge = client.challenge()
        if challenge.status_code != 200:
            raise NoAnswer(f"HTTP {challenge.status_code}")
        return signed_request(
            kind, certificate_der=self._certificate_der, sign=self._sign,
            challenge=challenge.body["challenge"], kiosk_id=client.identity.kiosk_id, **fields,
        )  # fmt: skip

    def _send(self, request: Any) -> Reply:
        assert self.parts.client is not None
        reply = self.parts.client.platform(request)
        if reply.status_code >= 500 or not isinstance(reply.body, dict):
            raise NoAnswer(f"HTTP {reply.status_code}")
        return reply

    def _look_up_platform(self, command: do.LookUpPlatform) -> Iterator[ev.Event]:
        try:
            reply = self._send(self._platform_request(BalancesQuery))
        except (httpx.HTTPError, NoAnswer) as exc:
            yield ev.PlatformUnavailable(f"{type(exc).__name__}: {exc}")
            return
        except errors.CardError as problem:
            yield ev.CardFailed(problem.message_key, problem.detail)
            return
        if reply.status_code == 200:
            yield ev.PlatformFound(reply.body)
        else:
            code, message_ja, message_en = _refusal(reply)
            yield ev.PlatformRefused(code or "UNKNOWN", message_ja, message_en)

    def _issue_voucher(self, command: do.IssueVoucher) -> Iterator[ev.Event]:
        try:
            request = self._platform_request(
                VoucherIssue, request_uuid=command.request_uuid,
                municipality_code=command.municipality_code, points=command.points,
            )  # fmt: skip
        except (httpx.HTTPError, NoAnswer):
            yield ev.VoucherNotIssued(unknown=False, reason_code=OFFLINE)  # nothing was sent
            return
        except errors.CardError as problem:
            yield ev.CardFailed(problem.message_key, problem.detail)
            return
        for attempt in range(1, ISSUE_ATTEMPTS + 1):
            try:
                reply = self._send(request)
                break
            except (httpx.HTTPError, NoAnswer) as exc:
                log.warning("voucher request: no answer (%s, attempt %d)", type(exc).__name__,
                            attempt)  # fmt: skip
        else:
            # It may have reached the service: then the voucher is on the citizen's page.
            yield ev.VoucherNotIssued(unknown=True)
            return
        if reply.status_code == 200:
            yield ev.VoucherIssued(reply.body)
        else:
            yield ev.VoucherNotIssued(*_refusal(reply))

    def _print_voucher(self, command: do.PrintVoucher) -> Iterator[ev.Event]:
        voucher = command.voucher
        slip = VoucherSlip(
            language=command.language, issued_at=dt.datetime.fromisoformat(voucher["issued_at"]),
            store_name=self.parts.settings.store_name, kiosk_id=self.parts.submitter.kiosk_id,
            municipality_code=voucher["municipality_code"],
            municipality_name_ja=voucher["municipality_name_ja"],
            municipality_name_en=voucher["municipality_name_en"],
            points=voucher["points"], number=voucher["number"],
            expires_on=dt.date.fromisoformat(voucher["expires_on"]), code=voucher["code"],
        )  # fmt: skip
        with self._printer:
            issued = self.parts.slips.print_voucher(slip)
        self._note_paper(paper_state(issued.status, issued.problem))
        problem = issued.problem.message_key if issued.problem else None
        yield ev.SlipIssued(issued.printed, problem, issued.tell_staff, issued.image)

    def _cancel_voucher(self, command: do.CancelVoucher) -> Iterator[ev.Event]:
        sent = False
        for attempt in range(1, CANCEL_ATTEMPTS + 1):
            try:
                request = self._platform_request(VoucherCancel, voucher_number=command.number)
            except (httpx.HTTPError, NoAnswer) as exc:
                log.warning("voucher cancellation: no challenge (%s, attempt %d)",
                            type(exc).__name__, attempt)  # fmt: skip
                continue
            except errors.CardError as problem:
                yield ev.CardFailed(problem.message_key, problem.detail)
                return
            try:
                sent = True
                reply = self._send(request)
                break
            except (httpx.HTTPError, NoAnswer) as exc:
                log.warning("voucher cancellation: no answer (%s, attempt %d)",
                            type(exc).__name__, attempt)  # fmt: skip
        else:
            # Sent and not answered: it may be cancelled (the page says, next time).
            yield ev.VoucherNotCancelled(unknown=True) if sent else ev.VoucherNotCancelled(OFFLINE)
            return
        if reply.status_code != 200:
            yield ev.VoucherNotCancelled(*_refusal(reply))
            return
        yield ev.VoucherCancelled(reply.body, self._page_again())

    def _page_again(self) -> dict[str, Any] | None:
        """The citizen's page after a change, or None if the service did not answer."""
        try:
            reply = self._send(self._platform_request(BalancesQuery))
        except (httpx.HTTPError, NoAnswer, errors.CardError) as exc:
            log.warning("the platform's page, asked again: %s", type(exc).__name__)
            return None
        return reply.body if reply.status_code == 200 else None

    def _revoke(self, command: do.Revoke) -> Iterator[ev.Event]:
        try:
            reply = self._send(self._platform_request(
                Revocation, terms_version=REVOCATION_TERMS_VERSION,
                confirmations=command.confirmations,
            ))  # fmt: skip
        except (httpx.HTTPError, NoAnswer):
            yield ev.RevocationFailed(OFFLINE)
            return
        except errors.CardError as problem:
            yield ev.CardFailed(problem.message_key, problem.detail)
            return
        if reply.status_code == 200:
            yield ev.Revoked(reply.body)
        else:
            yield ev.RevocationFailed(*_refusal(reply))


def _refusal(reply: Reply) -> tuple[str | None, str, str]:
    """A refusal's reason code and its words in both languages (the service's problem body)."""
    body = reply.body
    return body.get("reason_code"), body.get("message_ja", ""), body.get("message_en", "")
