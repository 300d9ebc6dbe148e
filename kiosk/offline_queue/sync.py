"""Draining the queue to the grant service: batches, an answer per item, backoff.

An item leaves the queue's unsent states only on the service's answer for that item:

- ``accepted`` / ``rejected`` (a rule's final word, with the citizen-facing reason, which
  the citizen also finds on My Page by receipt number): settled, payload erased;
- ``pending`` (the service cannot decide now, e.g. an operator is down), ``409`` (being
  processed), connection errors and 5xx: tried again later, with exponential backoff and
  jitter;
- ``429``, and ``503`` with ``Retry-After``: the service is busy (its database is
  saturated). No item of that request, and no other batch of this sync, goes out before
  the time it asked for; jitter on top spreads the kiosks it told the same thing. Its load
  is not a kiosk fault, so no technician alert at once: the alert ``SERVICE_BUSY`` comes
  only when the service has answered busy without a break for ``busy_alert_after_seconds``
  (30 minutes), and goes with the next batch it takes;
- ``401``, ``403`` and "cannot verify now" (a stale CRL, an untrusted CA): kept pending
  too, and a technician alert is raised: none of them is the citizen's fault;
- an envelope the service calls malformed (it never should be): quarantined, reported.

When to try again: errors without a ``Retry-After`` back off exponentially with "equal"
jitter (see ``backoff_delay`` for why not "full"); a ``Retry-After`` is honoured, capped
at ``backoff_max_seconds``, with full jitter on top (see ``retry_after_delay``). A
technician's "drain now" overrides both, the service's pause included.

After a crash, items left ``sending`` are sent again once their lease ends; the service's
idempotency (the envelope's UUID) answers a repeat with the first result.

On a full disk the sync spends the queue's ballast (``ballast.py``) and sends in batches
as small as the room for their log, so the queue still drains.
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

from kiosk.link.enrollment import load_identity, service_client
from kiosk.link.service_client import Reply, ServiceClient
from kiosk.offline_queue.store import Outcome, QueueFull, QueueStore, ReadyItem, open_queue
from kiosk.settings import KioskSettings

log = logging.getLogger(__name__)

# Item outcomes that are the service's "not now", not a verdict.
ALERTING_REASONS = {
    "CRL_STALE": "the service cannot verify certificates now (its CRL is too old)",
    "CERT_UNTRUSTED": "the service does not trust this card's CA: check its configuration",
    "ENVELOPE_IN_FUTURE": "the kiosk's clock is ahead of the service's: check its time sync",
    # A final refusal, and still the kiosk's fault: its clock was wrong when it made it.
    "ENVELOPE_TIME_INCONSISTENT": "an envelope's time contradicted the kiosk's order or "
    "enrolment (its clock was wrong, or was set back): check its time sync",
}
# Errors that are not the envelope's fault: sent again later, never quarantined.
RETRYABLE_ERRORS = {"IN_FLIGHT", "CERT_UNTRUSTED", "ENVELOPE_IN_FUTURE"}
ALERTING_HTTP = {401: "DEVICE_AUTH", 403: "DEVICE_FORBIDDEN"}
# "Not now, come back later": the service's load, never an alert at once.
BUSY_HTTP = {429, 503}
BUSY_ALERT = "SERVICE_BUSY"
# Alerts a batch the service took clears. RATE_LIMITED: what earlier versions raised on 429.
CLEARED_BY_SUCCESS = (*ALERTING_HTTP.values(), BUSY_ALERT, "RATE_LIMITED")
# initial x 2**30 is far past any backoff_max_seconds, and a power past 2**1023 overflows
# a float: a kiosk offline for a few days makes a thousand attempts.
MAX_DOUBLINGS = 30


def judge_item(
    result: dict[str, Any] | None, *, retry_at: dt.datetime
) -> tuple[Outcome, tuple[str, str] | None]:
    """What the service's answer for one item means for the queue, and the technician
    alert it calls for (code, message), if any. The one place this is decided: the sync
    and the flow's online try both use it."""
    if not isinstance(result, dict) or "status" not in result:  # no answer for this item
        return Outcome("retry", error="no result for this item", retry_at=retry_at), None
    status, reason = result.get("status"), result.get("reason_code")
    alert = (reason, ALERTING_REASONS[reason]) if reason in ALERTING_REASONS else None
    if status in ("accepted", "rejected"):
        return Outcome(status, result=result), alert
    if status == "pending" or reason in RETRYABLE_ERRORS:
        return Outcome("retry", error=reason, retry_at=retry_at), alert
    refused = f"the service refused a queued envelope as {reason}; see kiosk-queue list"
    return (
        Outcome("quarantine", error=f"{reason}: {result.get('detail', '')}"[:500]),
        ("QUEUE_ITEM_REFUSED", refused),
    )


def backoff_window(attempts: int, initial: float, maximum: float) -> float:
    """1, 2, 4... times ``initial``, at most ``maximum``."""
    return min(maximum, initial * 2.0 ** min(MAX_DOUBLINGS, max(0, attempts - 1)))


def backoff_delay(
    attempts: int, initial: float, maximum: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff for errors without ``Retry-After``, drawn from the upper half
    of the window ("equal jitter").

    Not full jitter, for the first try after an outage either: these errors mostly mean
    that the network or the service is down, and each kiosk drew its own delays through
    the outage, so after a few tries the region's schedules have drifted apart and the
    first tries after it arrive at about one per kiosk per mean delay. The upper half has
    the longer mean (3/4 of the window, not 1/2): fewer tries against a dead service, and
    fewer arriving each second when it is back. Full jitter helps where kiosks are in step,
    which is when the service tells them all the same ``Retry-After`` (see
    ``retry_after_delay``); a surge on reconnection is met by exactly that.
    """
    return backoff_window(attempts, initial, maximum) * (rng or random).uniform(0.5, 1.0)


def retry_after_delay(
    asked: float, attempts: int, initial: float, maximum: float, rng: random.Random | None = None
) -> float:
    """The wait a busy service asked for, then full jitter over a window as long as that
    wait (longer when the backoff for ``attempts`` is).

    Never earlier than asked. Full jitter, because the service tells every kiosk coming
    back at once the same thing: a thousand kiosks told "Retry-After: 5" come back over
    5 s to 10 s, not all at 5 s. If the service is still busy, the window grows with the
    attempts (as the backoff does), up to ``maximum``. An absurd wait (a day, a year) is
    capped at ``maximum``: the sync tries again then, and is told again if need be.
    """
    wait = min(asked, maximum)
    window = max(wait, backoff_window(attempts, initial, maximum))
    return wait + (rng or random).uniform(0.0, window)


def is_busy(reply: Reply, now: dt.datetime) -> bool:
    """A 429, or a 503 with a usable ``Retry-After``: the service's "come back later". (A
    503 without it, from a proxy say, is a 5xx like the others.)"""
    return reply.status_code == 429 or (
        reply.status_code in BUSY_HTTP and reply.retry_after(now) is not None
    )


def retry_delay(
    reply: Reply | None,
    attempts: int,
    settings: KioskSettings,
    now: dt.datetime,
    rng: random.Random | None = None,
) -> float:
    """Seconds until an item is tried again after ``reply`` (None: no answer at all)."""
    initial, maximum = settings.backoff_initial_seconds, settings.backoff_max_seconds
    asked = reply.retry_after(now) if reply is not None and is_busy(reply, now) else None
    if asked is None:
        return backoff_delay(attempts, initial, maximum, rng)
    return retry_after_delay(asked, attempts, initial, maximum, rng)


def busy_error(reply: Reply) -> str:
    body = reply.body if isinstance(reply.body, dict) else {}
    reason = body.get("reason_code") or "no reason given"
    return f"the service is busy: it answered {reply.status_code} ({reason})"


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
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.settings = settings
        self.clock = clock or store.clock
        self.rng = rng
        self.batch_size = settings.sync_batch_size
        # Nothing is sent before this: the time a busy service asked for, plus jitter.
        # Kept in memory: the one sync of the kiosk is the one that sends in bulk.
        self.resume_at: dt.datetime | None = None
        # When the service's unbroken run of busy answers began (for its alert).
        self.busy_since: dt.datetime | None = None

    @classmethod
    @contextmanager
    def opened(cls, settings: KioskSettings) -> Iterator[Syncer]:
        """The enrolled kiosk's sync (``NotEnrolled`` if it is not); the caller holds the
        sync lock."""
        identity = load_identity(settings)
        store = open_queue(settings, sending=True)
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

    def retry_at(self, attempts: int, reply: Reply | None = None) -> dt.datetime:
        now = self.clock()
        delay = retry_delay(reply, attempts, self.settings, now, self.rng)
        return now + dt.timedelta(seconds=delay)

    @property
    def paused(self) -> bool:
        """Whether the service asked for quiet until a time still to come."""
        return self.resume_at is not None and self.clock() < self.resume_at

    def due_now(self) -> int:
        """Everything pending due now, the service's pause included (a technician's "drain
        now": one kiosk, on purpose, is no stampede)."""
        self.resume_at = None
        return self.store.due_now()

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
        if self.paused:  # a busy service asked for quiet: new items wait too
            return report
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
        if not keep_going():
            return []
        # On a nearly full disk, batches as small as the room for their log.
        return self.store.claim_ready(min(self.batch_size, self.store.items_with_room()),
                                      self.lease)  # fmt: skip

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
        if is_busy(reply, self.clock()):
            return self._busy(ready, reply, report)
        if reply.status_code != 200:
            code = ALERTING_HTTP.get(reply.status_code)
            if code is not None:
                detail = (
                    (reply.body or {}).get("detail", "") if isinstance(reply.body, dict) else ""
                )
                self.store.raise_alert(code, f"the service answered {reply.status_code}: {detail}")
            return self._failed(ready, report, f"the service answered {reply.status_code}")
        self.busy_since = None
        results = reply.body.get("results", []) if isinstance(reply.body, dict) else []
        by_uuid = {r.get("uuid"): r for r in results if isinstance(r, dict)}
        outcomes = [
            (item.id, self._outcome(item, by_uuid.get(item.uuid), report)) for item in ready
        ]
        self.store.record(outcomes, sync_succeeded=True, clear_alerts=CLEARED_BY_SUCCESS)
        replayed = sum(1 for result in by_uuid.values() if result.get("replayed") is True)
        if replayed:
            # Sent before, but the answer was lost (a cut link, a service that died after
            # committing): the service answers from its record, and nothing counts twice.
            log.info("sync: %d of %d items answered as replays (the service had them)",
                     replayed, len(ready))  # fmt: skip
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

    def _busy(self, ready: list[ReadyItem], reply: Reply, report: DrainReport) -> bool:
        """The service is busy: its items, and every other, wait for the time it asked for
        (plus jitter); a technician is called only when it lasts."""
        now = self.clock()
        self.resume_at = self.retry_at(max(item.attempts for item in ready), reply)
        self.busy_since = self.busy_since or now
        error = f"{busy_error(reply)}; next try at {self.resume_at:%H:%M:%S} UTC"
        lasting = dt.timedelta(seconds=self.settings.busy_alert_after_seconds)
        if now - self.busy_since >= lasting:
            self.store.raise_alert(
                BUSY_ALERT,
                f"the service has answered busy since {self.busy_since:%Y-%m-%d %H:%M} UTC; "
                "items wait (nothing to fix on the kiosk: check the service's load)",
            )
        return self._failed(ready, report, error, at=self.resume_at)

    def _failed(
        self,
        ready: list[ReadyItem],
        report: DrainReport,
        error: str,
        at: dt.datetime | None = None,
    ) -> bool:
        log.warning("sync: %s; %d items wait", error, len(ready))
        at = at or self.retry_at(max(item.attempts for item in ready))
        self._retry_all(ready, report, error, at=at)
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
    stops pinging and gets restarted. While a busy service's pause lasts, a round sends
    nothing (``Syncer.paused``). ``stop`` and ``drain_now`` are safe to call from signal
    handlers.
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
                    self.syncer.due_now()
                report = self.syncer.drain(
                    keep_going=lambda: not self._stopping, on_batch=self.on_batch
                )
                if rounds % self.PRUNE_EVERY_ROUNDS == 0:
                    pruned = store.prune(retention)
                    if pruned:
                        log.info("sync: pruned %d acknowledged items", pruned)
                store.refill_ballast()  # spent on a full disk: back once there is room
            except QueueFull as exc:  # sending needs to write too: wait for room
                log.error("sync: %s", exc.detail)
            except Exception:  # a bad round must not end the daemon: report it, go on
                log.exception("sync round failed")
            else:
                self.on_round(report)
            rounds += 1
            self._wake.wait(self.syncer.settings.sync_interval_seconds)
            self._wake.clear()
