"""The kiosk's heartbeats and alerts against a real ``grant-service serve`` on loopback:
device-signed, through the queue's database, nothing lost offline, nothing twice."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from grant_service.models import FleetAlert, KioskStatus
from kiosk.devices.sim.escpos_printer import LoopbackPrinter, PrinterState
from kiosk.health.alerts import AlertOutbox
from kiosk.health.live_state import LiveStateWriter
from kiosk.health.reporter import Reporter
from kiosk.offline_queue.sync import Syncer
from kiosk.procedure import commands as do
from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step
from mynapoint.database import make_engine, make_session_factory
from mynapoint.envelope import ReservationPayload, build_envelope
from mynapoint.fleet import AlertBatch, AlertKind
from tests.support.flow_harness import (
    CARD_PIN,
    PAYPAY_CODE,
    PAYPAY_ID,
    KioskUnderTest,
    issue_rig_card,
)
from tests.support.kiosk_harness import KioskRig, flip_a_bit
from tests.support.leaks import leaked, my_numbers_in


@pytest.fixture
def reporter(rig: KioskRig) -> Iterator[Reporter]:
    with Reporter.opened(rig.settings) as reporter:
        yield reporter


def on_service(rig: KioskRig, model: Any) -> list[Any]:
    """The service's rows of ``model`` (read from its database)."""
    engine = make_engine(rig.database_url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(model)))
    finally:
        engine.dispose()


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


# --- the heartbeat ---------------------------------------------------------------------------


def test_a_heartbeat_carries_the_queue_and_the_apps_state_to_the_service(
    rig: KioskRig, reporter: Reporter
) -> None:
    rig.queue(3)  # as the flow queues while offline
    LiveStateWriter(rig.settings.live_state_file).update(state="in_use", paper="near_end")
    beat = reporter.heartbeat()
    assert (beat.queue_depth, beat.state, beat.paper) == (3, "in_use", "near_end")
    assert beat.oldest_unsent_seconds is not None and 0 <= beat.oldest_unsent_seconds < 60
    assert beat.interval_seconds == 60 and beat.disk_free_bytes > 0
    assert reporter.send_heartbeat(beat)
    assert reporter.clock_skew_seconds is not None and abs(reporter.clock_skew_seconds) < 5

    [kept] = on_service(rig, KioskStatus)
    assert (kept.kiosk_id, kept.queue_depth, kept.state, kept.paper) == (
        rig.kiosk_id, 3, "in_use", "near_end",
    )  # fmt: skip


def test_an_app_that_stopped_refreshing_is_reported_stopped_with_paper_unknown(
    rig: KioskRig, reporter: Reporter
) -> None:
    LiveStateWriter(rig.settings.live_state_file).update(state="in_use", paper="ok")
    assert reporter.send_heartbeat()
    time.sleep(1.1)  # the next heartbeat is a newer one (whole seconds)
    stale = rig.settings.model_copy(update={"heartbeat_interval_seconds": 5})
    reporter.settings = stale
    live = json.loads(stale.live_state_file.read_text())
    live["updated_at"] = "2026-01-01T00:00:00+00:00"  # the app has not written since
    stale.live_state_file.write_text(json.dumps(live))
    beat = reporter.heartbeat()
    assert (beat.state, beat.paper) == ("stopped", "unknown")
    assert reporter.send_heartbeat(beat)
    [kept] = on_service(rig, KioskStatus)
    assert (kept.state, kept.paper) == ("stopped", "unknown")


# --- the alerts ------------------------------------------------------------------------------


def test_alerts_raised_offline_wait_and_reach_the_service_once_when_it_is_back(
    rig: KioskRig, reporter: Reporter
) -> None:
    outbox = AlertOutbox(reporter.store)
    rig.service.stop()
    raised = [outbox.raise_alert(AlertKind.STAFF_CALLED), outbox.raise_alert(AlertKind.CARD_LEFT)]
    assert reporter.send_alerts() == 0 and not reporter.send_heartbeat()
    assert outbox.pending() == 2 and outbox.due() == []  # backing off

    rig.service.start()
    reporter.once()
    assert outbox.pending() == 0
    kept = on_service(rig, FleetAlert)
    assert sorted(a.uuid for a in kept) == sorted(u for u in raised if u)
    assert {a.kind for a in kept} == {"staff_called", "card_left"}
    assert {a.kiosk_id for a in kept} == {rig.kiosk_id}


def test_a_resend_after_a_crash_between_send_and_mark_keeps_one_alert(
    rig: KioskRig, reporter: Reporter
) -> None:
    outbox = AlertOutbox(reporter.store)
    uuid = outbox.raise_alert(AlertKind.CARD_LEFT)
    # Sent, answered, and the kiosk died before it marked the alert sent.
    first = reporter.client.alerts(AlertBatch(alerts=outbox.due()))
    assert first.status_code == 200 and outbox.pending() == 1
    assert reporter.send_alerts() == 1  # the service answers "duplicate": sent now
    assert outbox.pending() == 0
    assert [a.uuid for a in on_service(rig, FleetAlert)] == [uuid]


def test_a_quarantined_item_raises_one_quarantined_alert_by_receipt_number(
    rig: KioskRig, reporter: Reporter
) -> None:
    store = rig.store()
    try:  # an envelope the service cannot take as it is: another kiosk's
        envelope = build_envelope(
            ReservationPayload(terms_version="2020-07"), kiosk_id="kiosk-9999",
            sequence=store.next_sequence(), certificate_der=rig.card.certificate_der,
            sign=rig.card.sign,
        )  # fmt: skip
        store.enqueue(envelope)
    finally:
        store.close()
    with Syncer.opened(rig.settings) as syncer:
        assert syncer.drain().quarantined == 1
        syncer.store.retry(envelope.receipt_number)
        assert syncer.drain().quarantined == 1  # quarantined again: no second alert
    reporter.once()
    [alert] = on_service(rig, FleetAlert)
    assert (alert.kind, alert.receipt_number, alert.detail) == (
        "quarantined", envelope.receipt_number, "KIOSK_MISMATCH",
    )  # fmt: skip


def test_a_row_the_kiosk_cannot_read_is_a_quarantined_alert_too(
    rig: KioskRig, reporter: Reporter
) -> None:
    """Quarantined by the kiosk's own store (a flipped bit on the disk), not by an answer
    of the service: the console hears of it all the same, with the reason code only."""
    [envelope] = rig.queue(1)
    flip_a_bit(rig.settings.queue_database, envelope.uuid)
    with Syncer.opened(rig.settings) as syncer:
        assert syncer.drain().sent == 0  # the store quarantined it while claiming
    reporter.round()
    reporter.round()  # once per item, however many rounds see it
    reporter.once()
    [alert] = on_service(rig, FleetAlert)
    assert (alert.kind, alert.receipt_number, alert.detail) == (
        "quarantined", envelope.receipt_number, "QUEUE_ROW_UNREADABLE",
    )  # fmt: skip


# --- through the kiosk's runner ----------------------------------------------------------------


def test_a_call_for_staff_and_a_not_me_report_reach_the_console_and_carry_no_secrets(
    rig: KioskRig, reporter: Reporter, tmp_path: Path
) -> None:
    """A citizen applies (PIN, payment ID, security code), calls staff on the slip screen
    and reports an application; what reaches the service holds none of their data."""
    card = issue_rig_card(tmp_path, "citizen")
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_service()
        live = json.loads(rig.settings.live_state_file.read_text())
        assert (live["state"], live["card_on_reader"]) == ("in_use", True)
        kiosk.apply()
        assert kiosk.step == Step.SLIP
        receipt = next(o.receipt_number for o in kiosk.data["outcomes"] if o.kind == "application")
        kiosk.send(ev.CallStaff())
        list(kiosk.runner.run(do.ReportNotMe(receipt, cancelled=False)))
        beat = reporter.heartbeat()
        alerts = reporter.outbox.due()
        reporter.once()
    kept = {a.kind: a for a in on_service(rig, FleetAlert)}
    assert kept["staff_called"].detail == "help asked on the slip screen"
    not_me = kept["not_me_report"]
    assert (not_me.receipt_number, not_me.detail) == (receipt, "")
    assert not_me.raised_at is not None

    sent = [beat.model_dump(mode="json"), AlertBatch(alerts=alerts).model_dump(mode="json")]
    texts = list(strings_in(sent))
    certificate = base64.b64encode(rig.card.certificate_der).decode()
    anywhere = (PAYPAY_ID, PAYPAY_ID.replace("-", ""), certificate[:40], rig.card.serial_hex)
    assert not [s for s in anywhere for text in texts if s in text]
    # The short ones, standing on their own: a random UUID holds "4827" once in 65,536
    # places (tests/support/leaks.py).
    assert not [s for s in (CARD_PIN, PAYPAY_CODE) for text in texts if leaked(text, [s])]
    assert not [text for text in texts if my_numbers_in(text)]  # no My Number


# --- kiosk-sync ---------------------------------------------------------------------------------


def test_kiosk_sync_sends_heartbeats_and_alerts_and_stops_cleanly_on_sigterm(
    rig: KioskRig,
) -> None:
    store = rig.store()
    try:
        AlertOutbox(store).raise_alert(AlertKind.PAPER_OUT, detail="out of paper")
    finally:
        store.close()
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "kiosk-sync")], env={**rig.env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (on_service(rig, FleetAlert) and on_service(rig, KioskStatus)):
            assert daemon.poll() is None, daemon.communicate()[0]
            assert time.monotonic() < deadline, "nothing reached the service"
            time.sleep(0.2)
        [status] = on_service(rig, KioskStatus)
        assert status.state == "stopped"  # no kiosk app runs here
    finally:
        daemon.send_signal(signal.SIGTERM)
        output = daemon.communicate(timeout=20)[0]
    assert daemon.returncode == 0, output
    assert "kiosk-sync stopped" in output


def test_an_idle_kiosk_out_of_paper_raises_paper_out_once_until_a_new_roll(
    rig: KioskRig, tmp_path: Path
) -> None:
    card = issue_rig_card(tmp_path, "citizen")
    with (
        LoopbackPrinter(port=0, state=PrinterState.PAPER_OUT) as printer,
        KioskUnderTest.build(
            rig, card, printer_backend="network", printer_port=printer.port
        ) as kiosk,
    ):
        kiosk.runner.tend_live_state()  # at start, idle: the printer is asked
        kiosk.runner.check_paper()  # and again later: still out, no second alert
        live = json.loads(rig.settings.live_state_file.read_text())
        assert (live["state"], live["paper"]) == ("idle", "out")
        printer.state = PrinterState.OK  # a new roll
        kiosk.runner.check_paper()
        printer.state = PrinterState.PAPER_OUT
        kiosk.runner.check_paper()
        alerts = kiosk.runner.alerts.due()
    assert [a.kind for a in alerts] == [AlertKind.PAPER_OUT, AlertKind.PAPER_OUT]
