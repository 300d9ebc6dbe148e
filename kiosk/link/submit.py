"""The submit path the kiosk's flow uses: online if the service answers quickly, queued
otherwise; the envelope is always committed to the queue first.

The envelope goes into the durable queue (as being sent), then to the service with a
short timeout. An answer settles the queued item; no answer (or "not now") leaves it for
the sync daemon, and the citizen gets a *pending* result with the receipt number. The
slip is printed after ``submit`` returns, so always after that commit. When an earlier
item of the same card is still queued, the new one waits behind it (a card's items reach
the service in order) and is not tried online.

A busy service (429, or 503 with ``Retry-After``; also a 503 "pending" item result) gets
its wait: the item is not sent again before that time, plus jitter (see
``kiosk.offline_queue.sync.retry_after_delay``), and no technician alert is raised (the
sync calls one if it lasts).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from kiosk.link.enrollment import load_identity, service_client
from kiosk.link.service_client import Reply, ServiceClient
from kiosk.offline_queue.store import Outcome, QueueFull, QueueStore, card_of, open_queue
from kiosk.offline_queue.sync import ALERTING_HTTP, busy_error, is_busy, judge_item, retry_delay
from kiosk.settings import KioskSettings
from mynapoint.envelope import Envelope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    """What the citizen is told: confirmed, refused (with the reason), or pending."""

    state: Literal["confirmed", "rejected", "pending"]
    receipt_number: str
    result: dict[str, Any] | None = None  # the service's answer, when there is one

    @property
    def confirmed(self) -> bool:
        return self.state == "confirmed"

    @property
    def reason_code(self) -> str | None:
        return (self.result or {}).get("reason_code")


class Submitter:
    def __init__(self, store: QueueStore, client: ServiceClient, settings: KioskSettings) -> None:
        self.store = store
        self.client = client
        self.settings = settings

    @classmethod
    @contextmanager
    def opened(cls, settings: KioskSettings) -> Iterator[Submitter]:
        """The enrolled kiosk's submit path (``NotEnrolled`` if it is not)."""
        identity = load_identity(settings)
        store = open_queue(settings)
        client = service_client(settings, identity)
        try:
            yield cls(store, client, settings)
        finally:
            client.close()
            store.close()

    @property
    def kiosk_id(self) -> str:
        return self.client.identity.kiosk_id

    def next_sequence(self) -> int:
        return self.store.next_sequence()

    def submit(self, envelope: Envelope) -> Submitted:
        """Commit ``envelope`` durably (``QueueFull`` if the kiosk cannot), then try it."""
        pending = Submitted("pending", envelope.receipt_number)
        if self.store.has_unsent_for_card(card_of(envelope)):
            self.store.enqueue(envelope)
            return pending
        # httpx applies the timeout to connecting, writing and reading in turn: 3 x.
        lease = dt.timedelta(seconds=3 * self.settings.online_timeout_seconds + 5)
        item_id = self.store.enqueue(envelope, lease=lease)
        try:
            reply = self.client.submit(envelope)
        except httpx.HTTPError as exc:
            error = f"online try failed: {type(exc).__name__}"
            retry_at = self._retry_at(None)
            self.store.record([(item_id, Outcome("retry", error=error, retry_at=retry_at))])
            return pending
        if reply.status_code in ALERTING_HTTP:
            self.store.raise_alert(
                ALERTING_HTTP[reply.status_code], f"the service answered {reply.status_code}"
            )
        outcome, alert = self._judge(reply)
        try:
            self.store.record([(item_id, outcome)])
            if alert is not None:
                self.store.raise_alert(*alert)
        except QueueFull:  # the envelope itself is safe: the sync settles it later
            log.warning("submit: cannot record the answer for %s", envelope.receipt_number)
        if outcome.state == "accepted":
            return Submitted("confirmed", envelope.receipt_number, outcome.result)
        if outcome.state == "rejected":
            return Submitted("rejected", envelope.receipt_number, outcome.result)
        return pending

    def _retry_at(self, reply: Reply | None) -> dt.datetime:
        """When the sync tries the item again: after the wait a busy service asked for, from
        when it said so; otherwise after the first backoff."""
        now = self.store.clock()
        return now + dt.timedelta(seconds=retry_delay(reply, 1, self.settings, now))

    def _judge(self, reply: Reply) -> tuple[Outcome, tuple[str, str] | None]:
        retry_at = self._retry_at(reply)
        body = reply.body if isinstance(reply.body, dict) else {}
        if "status" not in body and is_busy(reply, self.store.clock()):  # a problem body
            return Outcome("retry", error=busy_error(reply), retry_at=retry_at), None
        return judge_item(reply.body, retry_at=retry_at)
