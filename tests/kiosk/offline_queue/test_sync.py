"""The offline queue and its sync against a real grant-service process on loopback."""

from __future__ import annotations

import datetime as dt
import json

from kiosk.link.submit import Submitter
from tests.conftest import run_cli
from tests.support.kiosk_harness import KioskRig


def test_ten_submissions_while_the_service_is_down_are_accepted_once_when_it_is_back(
    kiosk_rig: KioskRig,
) -> None:
    """The issue's "done when", as a new user tries it: service stopped, ten submissions
    through the submit path, service started, ``kiosk-sync``, an empty queue."""
    kiosk_rig.service.stop()
    with Submitter.opened(kiosk_rig.settings) as submitter:
        results = [submitter.submit(kiosk_rig.envelope(submitter.store)) for _ in range(10)]
    assert [r.state for r in results] == ["pending"] * 10
    waiting = run_cli("kiosk-queue", "status", "--json", env=kiosk_rig.env)
    assert waiting.returncode == 3, waiting.stderr
    assert json.loads(waiting.stdout)["counts"]["pending"] == 10

    kiosk_rig.service.start()
    synced = run_cli("kiosk-sync", "--once", env=kiosk_rig.env)
    assert synced.returncode == 0, synced.stderr
    assert "10 accepted" in synced.stdout

    status = run_cli("kiosk-queue", "status", env=kiosk_rig.env)
    assert status.returncode == 0, status.stdout
    assert "unsent: 0 (the queue is empty" in status.stdout
    kiosk_rig.assert_exactly_once()


def test_online_submissions_are_confirmed_at_once(kiosk_rig: KioskRig) -> None:
    with Submitter.opened(kiosk_rig.settings) as submitter:
        reserved = submitter.submit(kiosk_rig.envelope(submitter.store))
        applied = submitter.submit(kiosk_rig.envelope(submitter.store, "application"))
        again = submitter.submit(kiosk_rig.envelope(submitter.store, "application"))
    assert (reserved.state, applied.state) == ("confirmed", "confirmed")
    assert (again.state, again.reason_code) == ("rejected", "ALREADY_APPLIED")


def test_a_refusal_for_a_wrong_kiosk_clock_settles_the_item_and_alerts_a_technician() -> None:
    """The service's final word stands (the citizen must do it again), and the kiosk's
    clock needs a look."""
    from kiosk.offline_queue.sync import judge_item

    now = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
    result = {"uuid": "u", "status": "rejected", "reason_code": "ENVELOPE_TIME_INCONSISTENT"}
    outcome, alert = judge_item(result, retry_at=now)
    assert outcome.state == "rejected"
    assert alert is not None and alert[0] == "ENVELOPE_TIME_INCONSISTENT"
    refused = {"uuid": "u", "status": "rejected", "reason_code": "MKCZ374E"}
    assert judge_item(refused, retry_at=now)[1] is None  # a rule's refusal is no fault
