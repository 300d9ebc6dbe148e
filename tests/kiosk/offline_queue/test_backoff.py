"""A busy grant service (429, or 503 with ``Retry-After``): the kiosk waits as asked.

A stand-in server on loopback sits in front of a real ``grant-service serve`` process:
while told to be busy it answers every request with a 429 or 503, a ``Retry-After`` and a
problem body (what the service answers when its database is saturated); otherwise it
forwards the request unchanged, so what the kiosk sends then is processed by the real
service, once. The kiosk's queues run on a fake clock: the tests step through the wait
instead of sleeping it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
import os
import random
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.link.enrollment import load_identity, service_client
from kiosk.link.service_client import ServiceClient, retry_after_seconds
from kiosk.link.submit import Submitter
from kiosk.offline_queue.cipher import PayloadCipher
from kiosk.offline_queue.store import QueueStore, open_queue
from kiosk.offline_queue.sync import (
    BUSY_ALERT,
    Syncer,
    SyncLoop,
    backoff_delay,
    retry_after_delay,
)
from kiosk.settings import KioskSettings
from mynapoint.envelope import ReservationPayload, build_envelope
from tests.support.kiosk_harness import BIN, KioskRig, make_card_and_ca, make_rig
from tests.support.service_harness import CARD_PIN, FakeClock, TestCard

BUSY_PROBLEM = {
    "reason_code": "SERVICE_BUSY",
    "message_ja": "ただいま混み合っています。受付は保留され、後ほど処理されます。",
    "message_en": "The service cannot take this right now; retry later.",
    "detail": "",
}


def http_date(moment: dt.datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(dt.UTC), usegmt=True)


# --- reading Retry-After and drawing the wait (no server needed) ------------------------

NOW = dt.datetime(1994, 11, 6, 8, 49, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 7.0),  # IMF-fixdate
        ("Sunday, 06-Nov-94 08:49:37 GMT", 7.0),  # obsolete RFC 850 form
        ("Sun Nov  6 08:49:37 1994", 7.0),  # obsolete asctime form (no zone: GMT)
        ("Sun, 06 Nov 1994 08:00:00 GMT", 0.0),  # a date past: no wait
        ("9" * 400, math.inf),  # absurd, but a number: the policy caps it
        ("5.5", None),  # not 1*DIGIT
        ("-1", None),
        ("+5", None),
        ("١٢", None),  # digits, but not ASCII ones
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_rfc_9110_says(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, now=NOW) == seconds


@pytest.mark.parametrize("asked", [0.0, 1.0, 5.0, 60.0, 86_400.0, math.inf])
def test_the_wait_is_never_shorter_than_asked_and_absurd_ones_are_capped(asked: float) -> None:
    rng = random.Random(asked)
    initial, maximum = 2.0, 300.0
    wait = min(asked, maximum)
    window = max(wait, initial)  # a first attempt
    delays = [retry_after_delay(asked, 1, initial, maximum, rng) for _ in range(500)]
    assert all(wait <= delay <= wait + window for delay in delays)
    # Full jitter: the whole window is used, not just its upper half.
    assert min(delays) < wait + 0.1 * window and max(delays) > wait + 0.9 * window


def test_a_kiosk_offline_for_days_still_computes_its_backoff() -> None:
    """Thousands of attempts (days of outage at 300 s) used to overflow a float."""
    assert 150.0 <= backoff_delay(5000, 2.0, 300.0) <= 300.0
    assert 5.0 <= retry_after_delay(5.0, 5000, 2.0, 300.0) <= 305.0


# --- the stand-in service -------------------------------------------------------------


@dataclass(frozen=True)
class Busy:
    """What the stand-in answers every request with while busy."""

    status: int = 503
    retry_after: str = "5"
    body: dict[str, Any] = field(default_factory=lambda: BUSY_PROBLEM)
    date: str | None = None  # the Date header; None: now; "": none at all


@dataclass(frozen=True)
class Seen:
    path: str
    uuids: list[str]
    answered_busy: bool


class StandIn(ThreadingHTTPServer):
    """Busy on demand, otherwise a plain relay to ``upstream``; it checks nothing."""

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _StandInHandler)
        self.upstream = upstream
        self.busy: Busy | None = None
        self.seen: list[Seen] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def uuids_sent(self, *, busy: bool | None = None) -> list[str]:
        return [u for s in self.seen if busy is None or s.answered_busy == busy for u in s.uuids]


class _StandInHandler(BaseHTTPRequestHandler):
    server: StandIn

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        busy = self.server.busy
        self.server.seen.append(Seen(self.path, _uuids(body), busy is not None))
        if busy is not None:
            self._answer_busy(busy)
        else:
            self._relay(body)

    def _answer_busy(self, busy: Busy) -> None:
        content = json.dumps(busy.body).encode()
        self.send_response_only(busy.status)
        if busy.date != "":
            self.send_header("Date", busy.date or self.date_time_string())
        self.send_header("Retry-After", busy.retry_after)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _relay(self, body: bytes) -> None:
        hop = {"host", "content-length", "connection"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in hop}
        reply = httpx.post(self.server.upstream + self.path, content=body, headers=headers)
        self.send_response(reply.status_code)
        for name in ("Content-Type", "Retry-After"):
            if name in reply.headers:
                self.send_header(name, reply.headers[name])
        self.send_header("Content-Length", str(len(reply.content)))
        self.end_headers()
        self.wfile.write(reply.content)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


def _uuids(body: bytes) -> list[str]:
    """The envelopes' UUIDs in a single or batch submission (for the tests' record)."""
    sent = json.loads(body or b"{}")
    items = sent.get("items", [sent])
    return [item["uuid"] for item in items if isinstance(item, dict) and "uuid" in item]


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("backoff")


@pytest.fixture(scope="module")
def rig(home: Path) -> Iterator[KioskRig]:
    """One enrolled kiosk and real service for the module (a rig takes seconds to make)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(home))  # where the card and its CA are made
        made = make_rig(home, make_card_and_ca())
    yield made
    made.service.stop()


@pytest.fixture(scope="module")
def other_card(rig: KioskRig, home: Path) -> TestCard:
    """Another citizen's card, of the rig's test CA: its items do not queue behind the
    rig card's, so only the service's pause can hold them back."""
    path = home / "other-card.json"
    issue = [str(BIN / "kiosk-card-sim"), "issue", "--card", str(path), "--pin", CARD_PIN]
    issued = subprocess.run(
        issue,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "XDG_DATA_HOME": str(home)},
    )
    assert issued.returncode == 0, issued.stderr
    return TestCard(path)


@pytest.fixture(scope="module")
def stand_in(rig: KioskRig) -> Iterator[StandIn]:
    server = StandIn(rig.service.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@dataclass
class Kiosk:
    """The rig's kiosk talking to the stand-in, its queue on a fake clock."""

    rig: KioskRig
    settings: KioskSettings
    clock: FakeClock
    store: QueueStore
    client: ServiceClient

    def queue(self, count: int, card: TestCard | None = None) -> list[str]:
        """``count`` envelopes queued as the flow does offline (of the rig's card, or
        ``card``'s)."""
        envelopes = [
            self.rig.envelope(self.store)
            if card is None
            else build_envelope(
                ReservationPayload(terms_version="2020-07"),
                kiosk_id=self.rig.kiosk_id,
                sequence=self.store.next_sequence(),
                certificate_der=card.certificate_der,
                sign=card.sign,
            )
            for _ in range(count)
        ]
        for envelope in envelopes:
            self.store.enqueue(envelope)
        return [envelope.uuid for envelope in envelopes]

    def syncer(self) -> Syncer:
        return Syncer(self.store, self.client, self.settings)

    def next_attempts(self) -> dict[str, dt.datetime]:
        return {row.uuid: row.next_attempt_at for row in self.store.items(("pending",))}


@pytest.fixture
def kiosk(rig: KioskRig, stand_in: StandIn) -> Iterator[Kiosk]:
    """Production's backoff settings (the rig's are tiny, and would cap every wait)."""
    settings = rig.settings.model_copy(
        update={
            "service_url": stand_in.url,
            "backoff_initial_seconds": 2.0,
            "backoff_max_seconds": 300.0,
            "sync_interval_seconds": 0.05,
        }
    )
    clock = FakeClock()
    store = open_queue(settings, clock=clock)
    client = service_client(settings, load_identity(settings), timeout=10)
    stand_in.busy, stand_in.seen = None, []
    assert store.status().unsent == 0, "a test before left items unsent"
    try:
        yield Kiosk(rig, settings, clock, store, client)
    finally:
        stand_in.busy = None
        store.due_now()
        Syncer(store, client, settings).drain()  # what a failed test left: not the next's
        client.close()
        store.close()


def until(condition: Callable[[], bool], within: float = 10) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- the sync ---------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_busy_batch_is_not_sent_again_before_retry_after_then_is_accepted_once(
    kiosk: Kiosk, stand_in: StandIn, other_card: TestCard
) -> None:
    stand_in.busy = Busy(retry_after="5")
    told_at = kiosk.clock()
    uuids = kiosk.queue(5)
    syncer = kiosk.syncer()
    report = syncer.drain()
    assert (report.sent, report.settled, report.retrying) == (5, 0, 5)
    assert "busy" in report.errors[0] and "SERVICE_BUSY" in report.errors[0]
    assert stand_in.uuids_sent(busy=True) == uuids
    assert syncer.resume_at is not None
    assert told_at + dt.timedelta(seconds=5) <= syncer.resume_at
    assert set(kiosk.next_attempts().values()) == {syncer.resume_at}

    # From now on the stand-in would pass anything on: nothing goes before the time,
    # not even another card's item, queued during the wait and due at once.
    stand_in.busy = None
    later = kiosk.queue(1, other_card)
    while kiosk.clock() + dt.timedelta(seconds=0.5) < syncer.resume_at:
        kiosk.clock.advance(seconds=0.5)
        assert syncer.drain().sent == 0
    assert len(stand_in.seen) == 1

    kiosk.clock.now = syncer.resume_at
    report = syncer.drain()
    assert (report.sent, report.accepted) == (6, 6)
    assert sorted(stand_in.uuids_sent(busy=False)) == sorted(uuids + later)  # each once
    kiosk.rig.assert_exactly_once(uuids + later)
    assert kiosk.store.status().last_error is None


@pytest.mark.timeout(120)
def test_kiosks_told_the_same_retry_after_come_back_spread_out(
    rig: KioskRig, kiosk: Kiosk, stand_in: StandIn, tmp_path: Path
) -> None:
    """50 kiosks (queues) told "Retry-After: 5" at the same moment: none is back before
    5 s, and they come back over the following seconds, not all at once."""
    stand_in.busy = Busy(retry_after="5")
    clock = FakeClock()
    told_at = clock()
    stores = [
        QueueStore(
            tmp_path / f"kiosk-{i}" / "queue.sqlite3",
            PayloadCipher.load_or_create(tmp_path / f"kiosk-{i}" / "queue.key"),
            clock=clock,
        )
        for i in range(50)
    ]
    try:
        syncers = [Syncer(store, kiosk.client, kiosk.settings) for store in stores]
        for store in stores:
            store.enqueue(rig.envelope(store))
        for syncer in syncers:
            assert syncer.drain().retrying == 1
        assert len(stand_in.seen) == 50

        # Step through the next 11 s, every kiosk still waiting draining at each step
        # (the stand-in still busy): when does each come back?
        back: list[dt.timedelta] = []
        waiting = list(syncers)
        while waiting and clock() < told_at + dt.timedelta(seconds=11):
            clock.advance(seconds=0.1)
            for syncer in [syncer for syncer in waiting if syncer.drain().sent]:
                back.append(clock() - told_at)
                waiting.remove(syncer)
        assert not waiting and len(stand_in.seen) == 100  # each once more, seen by the server
        assert min(back) >= dt.timedelta(seconds=5)
        assert max(back) <= dt.timedelta(seconds=10.1)
        assert max(back) - min(back) >= dt.timedelta(seconds=2.5), sorted(back)
        assert len(set(back)) >= 15, sorted(back)  # not a few bunches either
    finally:
        for store in stores:
            store.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("with_date", [True, False], ids=["service-date", "kiosk-clock"])
def test_an_http_date_retry_after_is_honoured(
    kiosk: Kiosk, stand_in: StandIn, with_date: bool
) -> None:
    """An HTTP-date is read against the answer's Date (the service's clock) when there is
    one: the kiosk's clock, an hour behind here, does not make it wait an hour more."""
    eight = dt.timedelta(seconds=8)
    if with_date:
        kiosk.clock.advance(hours=-1)
        service_now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        stand_in.busy = Busy(
            date=http_date(service_now), retry_after=http_date(service_now + eight)
        )
    else:
        stand_in.busy = Busy(date="", retry_after=http_date(kiosk.clock() + eight))
    told_at = kiosk.clock()
    uuids = kiosk.queue(2)
    syncer = kiosk.syncer()
    assert syncer.drain().retrying == 2
    assert syncer.resume_at is not None
    waited = syncer.resume_at - told_at
    assert eight <= waited <= 2 * eight

    stand_in.busy = None
    kiosk.clock.now = syncer.resume_at - dt.timedelta(seconds=0.01)
    assert syncer.drain().sent == 0
    kiosk.clock.now = syncer.resume_at
    assert syncer.drain().accepted == 2
    kiosk.rig.assert_exactly_once(uuids)


@pytest.mark.timeout(60)
def test_the_sync_loop_stays_quiet_until_the_time_a_busy_service_asked_for(
    kiosk: Kiosk, stand_in: StandIn, other_card: TestCard
) -> None:
    """The daemon's loop wakes every ``sync_interval_seconds`` (0.05 s here) but sends
    nothing while the service's wait lasts; then it drains everything, once."""
    stand_in.busy = Busy(retry_after="30")
    uuids = kiosk.queue(3)
    syncer = kiosk.syncer()
    rounds: list[int] = []
    loop = SyncLoop(syncer, on_round=lambda report: rounds.append(report.sent))
    runner = threading.Thread(target=loop.run)
    runner.start()
    try:
        until(lambda: len(stand_in.seen) == 1)
        stand_in.busy = None  # it would pass anything from now on
        uuids += kiosk.queue(1, other_card)  # due at once, and of another card
        until(lambda: len(rounds) >= 20)  # about 20 rounds of 0.05 s
        assert len(stand_in.seen) == 1 and set(rounds[1:]) == {0}

        assert syncer.resume_at is not None
        kiosk.clock.now = syncer.resume_at
        until(lambda: kiosk.store.status().unsent == 0)
    finally:
        loop.stop()
        runner.join(10)
    assert len(stand_in.seen) == 2
    kiosk.rig.assert_exactly_once(uuids)


@pytest.mark.timeout(60)
def test_a_busy_service_raises_an_alert_only_when_it_lasts(kiosk: Kiosk, stand_in: StandIn) -> None:
    """No technician alert for the service's load at once (it is no kiosk fault); one
    when it has answered busy without a break for ``busy_alert_after_seconds`` (30
    minutes); it goes when the service takes a batch again."""
    stand_in.busy = Busy(status=429, retry_after="300")
    began = kiosk.clock()
    uuids = kiosk.queue(2)
    syncer = kiosk.syncer()
    lasting = dt.timedelta(seconds=kiosk.settings.busy_alert_after_seconds)
    busy_answers = 0
    while kiosk.clock() - began < lasting:
        assert kiosk.store.status().alerts == [], f"alert after {kiosk.clock() - began}"
        assert syncer.drain().retrying == 2
        busy_answers += 1
        assert syncer.resume_at is not None
        kiosk.clock.now = syncer.resume_at
    assert busy_answers >= 3  # 300 s and more each: several answers before the alert
    assert syncer.drain().retrying == 2
    assert [alert.code for alert in kiosk.store.status().alerts] == [BUSY_ALERT]

    stand_in.busy = None
    kiosk.clock.now = syncer.resume_at
    assert syncer.drain().accepted == 2
    assert kiosk.store.status().alerts == []
    kiosk.rig.assert_exactly_once(uuids)


# --- the online submit ------------------------------------------------------------------

ITEM_PENDING = {
    "status": "pending",
    "http_status": 503,
    "reason_code": "OPERATOR_UNAVAILABLE",
    "message_en": "The payment operator cannot answer right now; the item stays pending.",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "busy",
    [Busy(503, "60"), Busy(503, "60", ITEM_PENDING), Busy(429, "60")],
    ids=["503-busy", "503-item-pending", "429-busy"],
)
def test_an_online_submit_told_to_wait_is_pending_and_not_sent_before_that(
    kiosk: Kiosk, stand_in: StandIn, busy: Busy
) -> None:
    stand_in.busy = busy
    submitter = Submitter(kiosk.store, kiosk.client, kiosk.settings)
    envelope = kiosk.rig.envelope(kiosk.store)
    told_at = kiosk.clock()
    submitted = submitter.submit(envelope)
    assert (submitted.state, submitted.receipt_number) == ("pending", envelope.receipt_number)
    assert stand_in.uuids_sent() == [envelope.uuid]
    next_attempt = kiosk.next_attempts()[envelope.uuid]
    assert told_at + dt.timedelta(seconds=60) <= next_attempt <= told_at + dt.timedelta(seconds=120)
    assert kiosk.store.status().alerts == []  # the service's load: no technician called

    stand_in.busy = None
    syncer = kiosk.syncer()
    kiosk.clock.now = next_attempt - dt.timedelta(seconds=0.01)
    assert syncer.drain().sent == 0
    kiosk.clock.now = next_attempt
    assert syncer.drain().accepted == 1
    assert stand_in.uuids_sent() == [envelope.uuid] * 2
    kiosk.rig.assert_exactly_once([envelope.uuid])
