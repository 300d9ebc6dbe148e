"""The alert outbox on a real queue file: kept durably, raised as often as its rules say
and no more, and never an error for the citizen's procedure (no grant service needed)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from kiosk.health.alerts import AlertOutbox, note_paper, note_queue
from kiosk.offline_queue.store import QueueStatus, QueueStore
from mynapoint.fleet import AlertKind
from tests.support.service_harness import FakeClock

RECEIPT = "RA9C-A7HQ-J9JV"


@pytest.fixture
def outbox(store: QueueStore) -> AlertOutbox:
    return AlertOutbox(store)


def kinds(outbox: AlertOutbox) -> list[str]:
    return [alert.kind.value for alert in outbox.due(everything=True)]


def test_an_alert_survives_a_restart_until_the_service_answers_for_it(
    tmp_path: Path, store: QueueStore, outbox: AlertOutbox
) -> None:
    uuid = outbox.raise_alert(AlertKind.STAFF_CALLED, detail="help asked on the pin screen")
    store.close()
    reopened = QueueStore(tmp_path / "queue.sqlite3", store.cipher, clock=store.clock)
    try:
        again = AlertOutbox(reopened)
        [alert] = again.due()
        assert (alert.uuid, alert.detail) == (uuid, "help asked on the pin screen")
        assert again.mark_sent(["00000000-0000-4000-8000-000000000000"]) == 0  # not ours
        assert again.mark_sent([alert.uuid]) == 1
        assert again.due(everything=True) == [] and again.pending() == 0
    finally:
        reopened.close()


def test_every_staff_call_and_every_card_left_is_an_alert(outbox: AlertOutbox) -> None:
    for _ in range(2):
        assert outbox.raise_alert(AlertKind.STAFF_CALLED) is not None
        assert outbox.raise_alert(AlertKind.CARD_LEFT) is not None
    assert kinds(outbox) == ["staff_called", "card_left"] * 2


def test_paper_out_is_raised_once_until_paper_is_seen_again(outbox: AlertOutbox) -> None:
    note_paper(outbox, "out")
    note_paper(outbox, "out")
    note_paper(outbox, "offline")  # says nothing about the paper
    note_paper(outbox, "unknown")
    note_paper(outbox, "out")
    assert kinds(outbox) == ["paper_out"]
    note_paper(outbox, "ok")  # a new roll
    note_paper(outbox, "out")
    assert kinds(outbox) == ["paper_out", "paper_out"]


def test_a_stuck_queue_is_raised_once_and_again_only_after_it_moved(
    outbox: AlertOutbox, clock: FakeClock
) -> None:
    limit = dt.timedelta(minutes=30)

    def status(oldest_minutes: float | None) -> QueueStatus:
        oldest = None if oldest_minutes is None else clock() - dt.timedelta(minutes=oldest_minutes)
        return QueueStatus({"pending": 4}, oldest, None, None, None)

    note_queue(outbox, status(29), clock(), limit)
    assert kinds(outbox) == []
    note_queue(outbox, status(31), clock(), limit)
    note_queue(outbox, status(45), clock(), limit)
    assert kinds(outbox) == ["queue_stuck"]
    assert outbox.due()[0].detail == "4 unsent; the oldest has waited 31 min"
    note_queue(outbox, status(None), clock(), limit)  # drained
    note_queue(outbox, status(40), clock(), limit)
    assert kinds(outbox) == ["queue_stuck", "queue_stuck"]


def test_one_quarantined_alert_per_item_and_one_not_me_alert_per_report(
    outbox: AlertOutbox,
) -> None:
    assert outbox.raise_alert(AlertKind.QUARANTINED, receipt_number=RECEIPT, detail="MALFORMED")
    assert outbox.raise_alert(AlertKind.QUARANTINED, receipt_number=RECEIPT) is None
    other = "4NVC-G3DC-CP7S"
    assert outbox.raise_alert(AlertKind.QUARANTINED, receipt_number=other)
    assert outbox.raise_alert(AlertKind.NOT_ME_REPORT, receipt_number=other, detail="a name")
    assert outbox.raise_alert(AlertKind.NOT_ME_REPORT, receipt_number=other) is None
    alerts = outbox.due()
    assert [(a.kind.value, a.receipt_number) for a in alerts] == [
        ("quarantined", RECEIPT), ("quarantined", other), ("not_me_report", other),
    ]  # fmt: skip
    assert alerts[-1].detail == ""  # a "not me" report carries no detail, whatever is given


def test_a_failed_send_backs_off_and_a_due_alert_comes_back(
    outbox: AlertOutbox, clock: FakeClock
) -> None:
    uuid = outbox.raise_alert(AlertKind.CARD_LEFT)
    assert uuid is not None
    outbox.retry_later([uuid], lambda attempts: 10.0 * attempts)
    assert outbox.due() == [] and [a.uuid for a in outbox.due(everything=True)] == [uuid]
    clock.advance(seconds=11)
    assert [a.uuid for a in outbox.due()] == [uuid]


def test_an_alert_that_cannot_be_kept_is_logged_and_never_raises(
    tmp_path: Path, store: QueueStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A queue that cannot grow (its page cap reached, as on a full disk): the citizen's
    procedure goes on; the log says what was lost."""
    with sqlite3.connect(store.database) as raw:
        pages = raw.execute("PRAGMA page_count").fetchone()[0]
    full = QueueStore(store.database, store.cipher, max_pages=pages + 2, clock=store.clock)
    try:
        outbox = AlertOutbox(full)
        raised = [outbox.raise_alert(AlertKind.STAFF_CALLED, detail="x" * 200) for _ in range(60)]
        assert raised[0] is not None and raised[-1] is None
        assert "alert staff_called not kept" in caplog.text
        kept = sum(1 for uuid in raised if uuid is not None)
    finally:
        full.close()
    assert AlertOutbox(store).pending() == kept  # what was kept stays


def test_an_alert_with_a_malformed_receipt_number_is_refused_here_not_by_the_service(
    outbox: AlertOutbox, caplog: pytest.LogCaptureFixture
) -> None:
    assert outbox.raise_alert(AlertKind.NOT_ME_REPORT, receipt_number="not-a-receipt") is None
    assert outbox.pending() == 0 and "not raised" in caplog.text


def test_the_queue_migrations_make_exactly_the_tables_of_the_models(store: QueueStore) -> None:
    """Migration 0002 and ``models.py`` agree (a kiosk upgraded in the field gets the
    outbox the code expects)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from kiosk.offline_queue.models import Base

    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        assert compare_metadata(context, Base.metadata) == []
