"""Draining the queue to the grant service: batches, an answer per item, backoff.

An item leaves the queue's unsent states only on the service's answer for that item:

- ``accepted`` / ``rejected`` (a rule's final word, with the citizen-facing reason, which
  the citizen also finds on My Page by receipt number): settled, payload erased;
- ``pending`` (the service cannot decide now, e.g. an operator is down), ``409`` (being
  processed), connection errors and 5xx: tried again later, with exponential backoff and
  jitter;
- ``401``, ``403``, ``429`` and "cannot verify now" (a stale CRL, an untrusted CA): kept
  pending too, and a technician alert is raised: none of them is the citizen's fault;
- an envelope the service calls malformed (it never should be): quarantined, reported.

After a crash, items left ``sending`` are sent again once their lease ends; the service's
idempotency (the envelope's UUID) answers a repeat with the first result.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from kiosk.enrollment import load_identity, service_client
from kiosk.offline_queue.store import Outcome, QueueFull, QueueStore, ReadyItem, open_queue
from kiosk.service_client import Reply, ServiceClient
from kiosk.settings import KioskSettings

log = logging.getLogger(__name__)

# Item outcomes that are the service's "not now", not a verdict.
ALERTING_REASONS = {
    "CRL_STALE": "the service cannot verify certificates now (its CRL is too old)",
    "CERT_UNTRUSTED": "the service does not trust this card's CA: check its configuration",
    "ENVELOPE_IN_FUTURE": "the kiosk's clock is ahead of the service's: check its time sync",
}
# Errors that are not the envelope's fault: sent again later, never quarantined.
RETRYABLE_ERRORS = {"IN_FLIGHT", "CERT_UNTRUSTED", "ENVELOPE_IN_FUTURE"}
ALERTING_HTTP = {401: "DEVICE_AUTH", 403: "DEVICE_FORBIDDEN", 429: "RATE_LIMITED"}


def judge_item(
    result: dict[str, Any] | None, *, retry_at: dt.datetime
) -> tuple[Outcome, tuple[str, str] | None]:
    """What the service's answer for one item means for the queue, and the technician
    alert it calls for (code, message), if any. The one place this is decided: the sync
    and the flow's online try both use it."""
    if not isinstance(result, dict) or "status" not in result:  # no answer for this item
        return Outcome("retry", error="no result for this item", retry_at=retry_at), None
    status, reason = result.get("status"), result.get("reason_code")
    if status in ("accepted", "rejected"):
        return Outcome(status, result=result), None
    alert = (reason, ALERTING_REASONS[reason]) if reason in ALERTING_REASONS else None
    if status == "pending" or reason in RETRYABLE_ERRORS:
        return Outcome("retry", error=reason, retry_at=retry_at), alert
    refused = f"the service refused a queued envelope as {reason}; see kiosk-queue list"
    return (
        Outcome("quarantine", error=f"{reason}: {result.get('detail', '')}"[:500]),
        ("QUEUE_ITEM_REFUSED", refused),
    )


def backoff_delay(
    attempts: int, initial: float, maximum: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter: 1, 2, 4... times ``initial`` (at most ``maximum``),
    each drawn from the upper half so that kiosks back from an outage spread out."""
    base = min(maximum, initial * 2 ** max(0, attempts - 1))
    return base * (rng or random).uniform(0.5, 1.0)


@dataclass
class DrainReport:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    retrying: int = 0
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def settled(self) -> int:
        return self.accepted + self.rejected


class Syncer:
    def __init__(
        self,
        store: QueueStore,
        client: ServiceClient,
        settings: KioskSettings,
        *,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.settings = settings
        self.clock = clock or store.clock
        self.batch_size = settings.sync_batch_size

    @classmethod
    @contextmanager
    def opened(cls, settings: KioskSettings) -> Iterator[Syncer]:
        """The enrolled kiosk's sync (``NotEnrolled`` if it is not); the caller holds the
        sync lock."""
        identity = load_identity(settings)
        store = open_queue(settings)
        client = service_client(settings, identity, timeout=settings.sync_timeout_seconds)
        try:
            yield cls(store, client, settings)
        finally:
            client.close()
            store.close()

    @property
    def lease(self) -> dt.timedelta:
        # Longer than a batch request can take (httpx times connecting, writing and
        # reading in turn); a crashed sync's items come back at its next start anyway.
        return dt.timedelta(seconds=3 * self.settings.sync_timeout_seconds + 5)

    def retry_at(self, attempts: int) -> dt.datetime:
        delay = backoff_delay(
            attempts, self.settings.backoff_initial_seconds, self.settings.backoff_max_seconds
        )
        return self.clock() + dt.timedelta(seconds=delay)

    def drain(
        self,
        *,
        keep_going: Callable[[], bool] = lambda: True,
        on_batch: Callable[[DrainReport], None] | None = None,
    ) -> DrainReport:
        """Send what is due, batch after batch, until nothing is due, the service cannot
        be reached, or ``keep_going`` says stop.

        Two batches overlap: while the service works on one, the next is claimed; while
        the answers to one are recorded, the next is on its way. The order of a card's
        items holds: a card with an item in flight has its later items wait.
        """
        report = DrainReport()
        ready = self._claim(keep_going)
        if not ready:
            return report
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-post") as poster:
            posting: Future[Reply | httpx.HTTPError] | None = poster.submit(self._post, ready)
            while ready and posting is not None:
                following = self._claim(keep_going)  # while the service works
                reply = posting.result()
                posting = None
                if following and isinstance(reply, Reply) and reply.status_code == 200:
                    posting = poster.submit(self._post, following)  # goes out while...
                else:
                    self.store.release(following)
                    following = []
                delivered = self._settle(ready, reply, report)  # ...this is recorded
                if on_batch is not None:
                    on_batch(report)
                if not delivered:  # (nothing else was sent: see above)
                    break
                if posting is None:  # nothing was due in time, or the batch was halved
                    following = self._claim(keep_going)
                    posting = poster.submit(self._post, following) if following else None
                ready = following
        return report

    def _claim(self, keep_going: Callable[[], bool]) -> list[ReadyItem]:
        return self.store.claim_ready(self.batch_size, self.lease) if keep_going() else []

    def _post(self, ready: list[ReadyItem]) -> Reply | httpx.HTTPError:
        """One batch request (in the poster thread); a transport error is returned."""
        try:
            return self.client.submit_batch([item.envelope for item in ready])
        except httpx.HTTPError as exc:
            return exc

    def _settle(
        self, ready: list[ReadyItem], reply: Reply | httpx.HTTPError, report: DrainReport
    ) -> bool:
        """Record the service's answer for each item of a batch; False when the service
        could not take the batch (stop for now)."""
        report.sent += len(ready)
        if isinstance(reply, httpx.HTTPError):
            return self._failed(ready, report, f"cannot reach the service: {type(reply).__name__}")
        if reply.status_code == 413 and len(ready) > 1:  # too big for the service: halve
            self.batch_size = max(1, len(ready) // 2)
            self._retry_all(ready, report, "batch too large", at=self.clock())
            return True
        if reply.status_code != 200:
            code = ALERTING_HTTP.get(reply.status_code)
            if code is not None:
                detail = (
                    (reply.body or {}).get("detail", "") if isinstance(reply.body, dict) else ""
                )
                self.store.raise_alert(code, f"the service answered {reply.status_code}: {detail}")
            return self._failed(ready, report, f"the service answered {reply.status_code}")
        results = reply.body.get("results", []) if isinstance(reply.body, dict) else []
        by_uuid = {r.get("uuid"): r for r in results if isinstance(r, dict)}
        outcomes = [
            (item.id, self._outcome(item, by_uuid.get(item.uuid), report)) for item in ready
        ]
        self.store.record(outcomes, sync_succeeded=True, clear_alerts=ALERTING_HTTP.values())
        return True

    def _outcome(
        self, item: ReadyItem, result: dict[str, Any] | None, report: DrainReport
    ) -> Outcome:
        outcome, alert = judge_item(result, retry_at=self.retry_at(item.attempts))
        if alert is not None:
            self.store.raise_alert(*alert)
        if outcome.state == "accepted":
            report.accepted += 1
        elif outcome.state == "rejected":
            report.rejected += 1
        elif outcome.state == "retry":
            report.retrying += 1
        else:
            report.quarantined += 1
        return outcome

    def _failed(self, ready: list[ReadyItem], report: DrainReport, error: str) -> bool:
        log.warning("sync: %s; %d items wait", error, len(ready))
        attempts = max(item.attempts for item in ready)
        self._retry_all(ready, report, error, at=self.retry_at(attempts))
        self.store.record_sync(success=False, error=error)
        report.errors.append(error)
        return False

    def _retry_all(
        self, ready: list[ReadyItem], report: DrainReport, error: str, at: dt.datetime
    ) -> None:
        report.retrying += len(ready)
        self.store.record([(item.id, Outcome("retry", error=error, retry_at=at)) for item in ready])


class SyncLoop:
    """The daemon's loop: drain, prune now and then, wait, until stopped.

    ``on_batch`` is called after every batch, ``on_round`` after every round that worked
    (the daemon pings systemd's watchdog from both): a loop stuck on a dead database
    stops pinging and gets restarted. ``stop`` and ``drain_now`` are safe to call from
    signal handlers.
    """

    PRUNE_EVERY_ROUNDS = 100

    def __init__(
        self,
        syncer: Syncer,
        *,
        on_batch: Callable[[DrainReport], None] | None = None,
        on_round: Callable[[DrainReport], None] | None = None,
    ) -> None:
        self.syncer = syncer
        self.on_batch = on_batch
        self.on_round = on_round or (lambda report: None)
        self._wake = threading.Event()
        self._stopping = False
        self._hurry = False

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def drain_now(self) -> None:
        """Send everything pending now, backoff or not (a technician asked)."""
        self._hurry = True
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def run(self) -> None:
        store = self.syncer.store
        released = store.release_sync_leases()
        if released:
            log.info("sync: %d items a previous run left in flight are sent again", released)
        retention = dt.timedelta(days=self.syncer.settings.retention_days)
        rounds = 0
        while not self._stopping:
            try:
                if self._hurry:
                    self._hurry = False
                    store.due_now()
                report = self.syncer.drain(
                    keep_going=lambda: not self._stopping, on_batch=self.on_batch
                )
                if rounds % self.PRUNE_EVERY_ROUNDS == 0:
                    pruned = store.prune(retention)
                    if pruned:
                        log.info("sync: pruned %d acknowledged items", pruned)
            except QueueFull as exc:  # sending needs to write too: wait for room
                log.error("sync: %s", exc.detail)
            except Exception:  # a bad round must not end the daemon: report it, go on
                log.exception("sync round failed")
            else:
                self.on_round(report)
            rounds += 1
            self._wake.wait(self.syncer.settings.sync_interval_seconds)
            self._wake.clear()
