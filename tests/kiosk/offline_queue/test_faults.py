"""The queue's sync and the flow's online try over a bad network, against a real service.

A ``FaultProxy`` sits between the kiosk and a real ``grant-service serve`` process: it
drops answers the service has given, resets connections, holds answers past the kiosk's
timeout, cuts them mid-body, refuses connections. Whatever it does, every envelope is
processed once by the service (a later send is a replay of the first answer) and settled
on the kiosk: none lost, none twice. Each test also checks that its fault did happen.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from kiosk.link.fault_proxy import Fault, FaultProxy
from kiosk.link.submit import Submitter
from kiosk.offline_queue.sync import Syncer
from kiosk.settings import KioskSettings
from tests.conftest import run_cli
from tests.support.kiosk_harness import KioskRig, make_card_and_ca, make_rig

FAULTS = [fault for fault in Fault if fault is not Fault.PASS]
# Faults that act after the service has answered: the kiosk sees a failure for a request
# the service processed, and the next send is a replay.
AFTER_PROCESSING = {Fault.DROP_RESPONSE, Fault.DELAY, Fault.CUT_MID_BODY}
CLIENT_TIMEOUT = 1.0  # the kiosk's; a DELAY holds answers far longer
FIRST = ("submission.reservation", "accepted")
REPLAY = ("submission.reservation.replay", "accepted")


@pytest.fixture(scope="module")
def proxied_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KioskRig]:
    """One kiosk and service for the module (a rig takes seconds to make), the kiosk
    talking to the service through a fault proxy."""
    home = tmp_path_factory.mktemp("faults")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(home))  # where the card and its CA are made
        rig = make_rig(
            home,
            make_card_and_ca(),
            via_proxy=True,
            online_timeout_seconds=CLIENT_TIMEOUT,
            sync_timeout_seconds=CLIENT_TIMEOUT,
        )
    assert rig.proxy is not None
    rig.proxy.delay_seconds = 30 * CLIENT_TIMEOUT
    yield rig
    rig.proxy.stop()
    rig.service.stop()


@pytest.fixture
def rig(proxied_rig: KioskRig) -> Iterator[KioskRig]:
    """The module's rig with an empty queue, a passing proxy and fresh counters."""
    proxy = proxy_of(proxied_rig)
    proxy.fault, proxy.keep_alive = Fault.PASS, True
    drain_until_empty(proxied_rig)
    proxy.fired.clear()
    yield proxied_rig
    proxy.fault, proxy.keep_alive = Fault.PASS, True


def proxy_of(rig: KioskRig) -> FaultProxy:
    assert rig.proxy is not None
    return rig.proxy


def drain_until_empty(
    rig: KioskRig, settings: KioskSettings | None = None, within: float = 30
) -> int:
    """Drain, backoff or not, until nothing is unsent; the number of drains it took."""
    deadline = time.monotonic() + within
    drains = 0
    with Syncer.opened(settings or rig.settings) as syncer:
        while syncer.store.status().unsent:
            assert time.monotonic() < deadline, f"still unsent: {syncer.store.status().counts}"
            syncer.store.due_now()
            syncer.drain()
            drains += 1
    return drains


def assert_seen_as_failure(rig: KioskRig, uuids: list[str], fault: Fault) -> None:
    """The kiosk holds the items as unsent; the service processed them exactly when the
    fault acts after its answer (and never saw them otherwise)."""
    states, events = rig.kiosk_states(), rig.service_events()
    assert {states[uuid] for uuid in uuids} == {"pending"}
    if fault in AFTER_PROCESSING:
        assert all(events[uuid] == [FIRST] for uuid in uuids), {u: events[u] for u in uuids}
    else:
        assert not any(uuid in events for uuid in uuids), {u: events[u] for u in uuids}


def assert_settled_once(rig: KioskRig, uuids: list[str], fault: Fault) -> None:
    rig.assert_exactly_once(uuids)
    events = rig.service_events()
    expected = sorted([FIRST, REPLAY] if fault in AFTER_PROCESSING else [FIRST])
    assert all(sorted(events[uuid]) == expected for uuid in uuids), {u: events[u] for u in uuids}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fault", list(Fault), ids=[fault.name for fault in Fault])
def test_the_proxy_does_what_each_fault_says(rig: KioskRig, fault: Fault) -> None:
    """What a client sees of each fault, on the service's health check."""
    proxy = proxy_of(rig)
    proxy.fault = fault
    with httpx.Client(base_url=proxy.url, timeout=0.5) as client:
        if fault is Fault.PASS:
            assert client.get("/healthz").json() == {"status": "ok"}
        elif fault is Fault.DROP_RESPONSE:  # a clean close, no answer
            with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
                client.get("/healthz")
        elif fault is Fault.RESET:  # a reset, not a clean close
            with pytest.raises(httpx.ReadError):
                client.get("/healthz")
        elif fault is Fault.DELAY:
            with pytest.raises(httpx.ReadTimeout):
                client.get("/healthz")
        elif fault is Fault.CUT_MID_BODY:  # the head, half the body
            with client.stream("GET", "/healthz") as response:
                assert response.status_code == 200
                with pytest.raises(httpx.RemoteProtocolError, match="7 bytes, expected 15"):
                    response.read()
        else:  # REFUSE: closed at once (a reset when the request was already there)
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
                client.get("/healthz")
    assert proxy.fired[fault] == 1 or fault is Fault.PASS  # PASS counts when a relay ends
    assert proxy.upstream_errors == 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_a_batch_lost_to_a_fault_is_sent_again_and_accepted_once(
    rig: KioskRig, fault: Fault, caplog: pytest.LogCaptureFixture
) -> None:
    uuids = [envelope.uuid for envelope in rig.queue(5)]
    proxy = proxy_of(rig)
    proxy.fault = fault
    with Syncer.opened(rig.settings) as syncer:
        report = syncer.drain()
    assert (report.sent, report.settled, report.retrying) == (5, 0, 5)
    assert len(report.errors) == 1 and "cannot reach the service" in report.errors[0]
    assert proxy.fired[fault] == 1
    assert_seen_as_failure(rig, uuids, fault)

    proxy.fault = Fault.PASS
    with caplog.at_level(logging.INFO, logger="kiosk.offline_queue.sync"):
        drain_until_empty(rig)
    assert proxy.fired[fault] == 1
    assert_settled_once(rig, uuids, fault)
    # The journal says when the service answered from its record.
    replays = [r.getMessage() for r in caplog.records if "answered as replays" in r.getMessage()]
    assert replays == (["sync: 5 of 5 items answered as replays (the service had them)"]
                       if fault in AFTER_PROCESSING else [])  # fmt: skip


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_an_online_try_lost_to_a_fault_is_pending_then_accepted_once(
    rig: KioskRig, fault: Fault
) -> None:
    proxy = proxy_of(rig)
    proxy.fault = fault
    with Submitter.opened(rig.settings) as submitter:
        envelope = rig.envelope(submitter.store)
        started = time.monotonic()
        submitted = submitter.submit(envelope)
        took = time.monotonic() - started
    # The citizen is told "pending" (with the receipt number), within the kiosk's timeout.
    assert (submitted.state, submitted.receipt_number) == ("pending", envelope.receipt_number)
    assert took < CLIENT_TIMEOUT + 1
    assert proxy.fired[fault] == 1
    assert_seen_as_failure(rig, [envelope.uuid], fault)

    proxy.fault = Fault.PASS
    drain_until_empty(rig)
    assert_settled_once(rig, [envelope.uuid], fault)


@pytest.mark.timeout(90)
def test_a_random_mix_of_faults_loses_nothing_and_duplicates_nothing(rig: KioskRig) -> None:
    """200 envelopes drained in batches of 10, each request on a connection of its own
    with a fault drawn from a seeded schedule (``FAULT_SEED`` replays one)."""
    seed = int(os.environ.get("FAULT_SEED", random.randrange(2**32)))
    print(f"fault schedule seed: {seed} (FAULT_SEED={seed} replays it)")
    rng = random.Random(seed)
    # Every fault at least once early on (a fault that never fires tests nothing), then a
    # random draw; DELAY is rarer, each costs the kiosk's timeout.
    kinds = [Fault.PASS, *FAULTS]
    weights = [10, 2, 2, 1, 2, 2]
    opening = [*FAULTS, *[Fault.PASS] * len(FAULTS)]
    rng.shuffle(opening)
    plan = opening + rng.choices(kinds, weights, k=500)
    proxy = proxy_of(rig)
    first = proxy.connections + 1
    proxy.keep_alive = False
    proxy.fault = lambda number: plan[(number - first) % len(plan)]

    uuids = [envelope.uuid for envelope in rig.queue(200)]
    drains = drain_until_empty(rig, rig.settings.model_copy(update={"sync_batch_size": 10}))
    fired = dict(proxy.fired)
    counts = ", ".join(f"{fault.name} {fired.get(fault, 0)}" for fault in Fault)
    print(f"{proxy.connections - first + 1} connections, {drains} drains; fired: {counts}")

    assert set(fired) == set(Fault), f"seed {seed}: not every fault fired: {fired}"
    rig.assert_exactly_once(uuids)
    events = rig.service_events()
    replays = sum(events[uuid].count(REPLAY) for uuid in uuids)
    # Each batch answered by the service but not by the kiosk is sent again: a replay each.
    assert replays >= sum(fired[fault] for fault in AFTER_PROCESSING), f"seed {seed}"


def queue_status(rig: KioskRig) -> dict[str, object]:
    status = run_cli("kiosk-queue", "status", "--json", env=rig.env)
    assert status.returncode in (0, 3), status.stderr
    result: dict[str, object] = json.loads(status.stdout)
    return result


@pytest.mark.timeout(90)
def test_the_sync_daemon_drains_what_waited_through_an_outage_once_the_service_is_back(
    kiosk_rig: KioskRig, start_cli: Callable[..., subprocess.Popen[str]]
) -> None:
    """The service is down while citizens submit; ``kiosk-sync`` runs throughout, backing
    off; the service comes back and the queue empties with nobody touching the kiosk."""
    kiosk_rig.service.stop()
    daemon = start_cli("kiosk-sync", env=kiosk_rig.env)
    unsent = []
    with Submitter.opened(kiosk_rig.settings) as submitter:
        for _ in range(3):
            for _ in range(4):
                submitted = submitter.submit(kiosk_rig.envelope(submitter.store))
                assert submitted.state == "pending"
            unsent.append(queue_status(kiosk_rig)["unsent"])
    assert unsent == [4, 8, 12]

    # The daemon keeps trying, and failing, while the service is down.
    deadline = time.monotonic() + 10
    while "cannot reach the service" not in str(queue_status(kiosk_rig)["last_error"]):
        assert time.monotonic() < deadline, "the daemon did not try to send"
        time.sleep(0.1)
    time.sleep(1)  # a few rounds of backing off
    assert daemon.poll() is None, daemon.communicate()
    assert queue_status(kiosk_rig)["unsent"] == 12

    kiosk_rig.service.start()
    back = time.monotonic()
    while (status := queue_status(kiosk_rig))["unsent"]:
        assert time.monotonic() - back < 20, f"not drained: {status}"
        time.sleep(0.1)
    assert status["last_error"] is None and status["last_success_at"] is not None

    daemon.send_signal(signal.SIGTERM)
    _, errors = daemon.communicate(timeout=10)
    assert daemon.returncode == 0, errors
    assert "kiosk-sync stopped" in errors
    kiosk_rig.assert_exactly_once()
