"""The reporter: kiosk-sync's second loop (a thread beside the ``SyncLoop``) that sends the
kiosk's heartbeats and its pending alerts to the service, device-signed.

Every second it looks at the heartbeat's significant fields (``heartbeat.significant``):
a change goes out at once (at most one heartbeat per ``MIN_GAP_SECONDS``), otherwise one
goes every ``heartbeat_interval_seconds``. Each round also sends the alerts that are due.
An alert leaves the outbox only on the service's answer for its uuid; without one it is
tried again with the queue's backoff. With the network down nothing is lost: the alerts
wait, and the next heartbeat carries the state of that moment. A 401 (the kiosk revoked,
or its key not yet known) is logged; the alerts stay.

It writes to the queue's database only in short transactions of its own (never across a
request), and takes no lock of the sync's.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from kiosk.health.alerts import AlertOutbox, note_quarantined, note_queue
from kiosk.health.heartbeat import compose_heartbeat, significant
from kiosk.health.live_state import read_live_state
from kiosk.link.enrollment import load_identity, service_client
from kiosk.link.service_client import Reply, ServiceClient
from kiosk.offline_queue.store import QueueStore, open_queue
from kiosk.offline_queue.sync import backoff_delay
from kiosk.settings import KioskSettings
from mynapoint.dates import utc_now
from mynapoint.fleet import AlertBatch, Heartbeat

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
MIN_GAP_SECONDS = 5.0  # between two heartbeats sent for a change
BATCH = 500  # alerts per request (AlertBatch's maximum)
ANSWERED = ("recorded", "duplicate")
PRUNE_EVERY_ROUNDS = 3600


class Reporter:
    def __init__(
        self,
        settings: KioskSettings,
        store: QueueStore,
        client: ServiceClient,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self.clock = clock
        self.monotonic = monotonic
        self.outbox = AlertOutbox(store, clock=clock)
        # The kiosk's clock minus the service's, from the last heartbeat answered.
        self.clock_skew_seconds: float | None = None
        self._last_try: float | None = None  # monotonic time of the last heartbeat tried
        self._last_sent: tuple[Any, ...] | None = None  # significant fields last delivered
        self._refused: int | None = None  # the HTTP status last logged, not to log it again
        self._stop = threading.Event()
        self._rounds = 0

    @classmethod
    @contextmanager
    def opened(cls, settings: KioskSettings) -> Iterator[Reporter]:
        """The enrolled kiosk's reporter, with its own queue connection and HTTP client."""
        identity = load_identity(settings)
        store = open_queue(settings)
        client = service_client(settings, identity, timeout=settings.online_timeout_seconds * 3)
        try:
            yield cls(settings, store, client)
        finally:
            client.close()
            store.close()

    # --- the loop --------------------------------------------------------------------------

    def run(self) -> None:
        """Round after round, a second apart, until ``stop``."""
        while not self._stop.is_set():
            try:
                self.round()
            except Exception:  # a bad round (a locked or full disk) must not end the reporter
                log.exception("report round failed")
            self._stop.wait(TICK_SECONDS)

    def stop(self) -> None:
        """Safe from a signal handler: the loop ends after its current round."""
        self._stop.set()

    @contextmanager
    def running(self) -> Iterator[threading.Thread]:
        """The loop in a thread of its own for the block; stopped and joined after it."""
        thread = threading.Thread(target=self.run, name="reporter")
        thread.start()
        try:
            yield thread
        finally:
            self.stop()
            thread.join()

    def round(self) -> None:
        """Alerts due, a QUEUE_STUCK if the queue is, and a heartbeat if one is due."""
        status = self.store.status()
        stuck_after = dt.timedelta(minutes=self.settings.queue_stuck_alert_minutes)
        note_queue(self.outbox, status, self.clock(), stuck_after)
        if status.counts.get("quarantined"):
            note_quarantined(self.outbox)
        self.send_alerts()
        beat = self.heartbeat(status)
        if self._heartbeat_due(beat):
            self.send_heartbeat(beat)
        self._rounds += 1
        if self._rounds % PRUNE_EVERY_ROUNDS == 0:
            self.outbox.prune(dt.timedelta(days=self.settings.retention_days))

    def once(self) -> None:
        """``kiosk-sync --once``: the pending alerts (due or not) and one heartbeat."""
        note_quarantined(self.outbox)
        self.send_alerts(everything=True)
        self.send_heartbeat()

    # --- the heartbeat ---------------------------------------------------------------------

    def heartbeat(self, status: Any = None) -> Heartbeat:
        """The heartbeat of this moment."""
        now = self.clock()
        live = read_live_state(
            self.settings.live_state_file,
            interval_seconds=self.settings.heartbeat_interval_seconds,
            now=now,
        )
        return compose_heartbeat(
            self.settings,
            live,
            status if status is not None else self.store.status(),
            now=now,
            clock_skew_seconds=self.clock_skew_seconds,
        )

    def _heartbeat_due(self, beat: Heartbeat) -> bool:
        if self._last_try is None:
            return True
        waited = self.monotonic() - self._last_try
        if waited >= self.settings.heartbeat_interval_seconds:
            return True
        return significant(beat) != self._last_sent and waited >= MIN_GAP_SECONDS

    def send_heartbeat(self, beat: Heartbeat | None = None) -> bool:
        """Send ``beat`` (default: one made now); True when the service recorded it."""
        beat = beat or self.heartbeat()
        self._last_try = self.monotonic()
        sent_at = self.clock()
        try:
            reply = self.client.heartbeat(beat)
        except httpx.HTTPError as exc:
            log.debug("heartbeat not sent: %s", type(exc).__name__)
            return False
        if not self._answered(reply, "heartbeat"):
            return False
        answered_at = self.clock()
        self._measure_skew(reply, sent_at + (answered_at - sent_at) / 2)
        self._last_sent = significant(beat)
        return bool(reply.body.get("recorded", True)) if isinstance(reply.body, dict) else True

    def _measure_skew(self, reply: Reply, kiosk_time: dt.datetime) -> None:
        """The kiosk's clock minus the service's ``server_time`` (taken at the middle of the
        exchange: the request's two halves are about as long)."""
        body = reply.body if isinstance(reply.body, dict) else {}
        try:
            server_time = dt.datetime.fromisoformat(str(body["server_time"]))
        except (KeyError, ValueError):
            return
        if server_time.tzinfo is None:
            server_time = server_time.replace(tzinfo=dt.UTC)
        self.clock_skew_seconds = round((kiosk_time - server_time).total_seconds(), 3)

    # --- the alerts ------------------------------------------------------------------------

    def send_alerts(self, *, everything: bool = False) -> int:
        """Send the alerts due (``everything``: all pending, backoff or not); returns how
        many the service answered for."""
        answered = 0
        while due := self.outbox.due(BATCH, everything=everything):
            uuids = [alert.uuid for alert in due]
            try:
                reply = self.client.alerts(AlertBatch(alerts=due))
            except httpx.HTTPError as exc:
                log.info("%d alerts wait: cannot reach the service (%s)", len(due),
                         type(exc).__name__)  # fmt: skip
                self.outbox.retry_later(uuids, self._delay)
                break
            if not self._answered(reply, f"{len(due)} alerts"):
                self.outbox.retry_later(uuids, self._delay)
                break
            results = reply.body.get("results", []) if isinstance(reply.body, dict) else []
            done = {
                str(r.get("uuid"))
                for r in results
                if isinstance(r, dict) and r.get("outcome") in ANSWERED
            } & set(uuids)
            answered += self.outbox.mark_sent(done)
            left = [uuid for uuid in uuids if uuid not in done]
            if left:  # no answer for these: not sent, as far as the kiosk knows
                self.outbox.retry_later(left, self._delay)
                break
        return answered

    def _delay(self, attempts: int) -> float:
        return backoff_delay(
            attempts, self.settings.backoff_initial_seconds, self.settings.backoff_max_seconds
        )

    def _answered(self, reply: Reply, what: str) -> bool:
        """Whether the service took the request; a refusal is logged once per status."""
        if reply.status_code == 200:
            self._refused = None
            return True
        if reply.status_code != self._refused:
            self._refused = reply.status_code
            hint = " (is the kiosk revoked?)" if reply.status_code in (401, 403) else ""
            log.warning("%s not taken: the service answered %d%s; kept to send again",
                        what, reply.status_code, hint)  # fmt: skip
        return False
