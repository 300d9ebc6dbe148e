"""The fleet's rules as plain functions (``grant_service.fleet``): a kiosk's condition, the
console's reads (two queries for the whole fleet), what operators do with alerts (audited),
and the schema revision 0007 made matching the models. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import time
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from grant_service import audit, credentials, fleet
from grant_service.models import AuditEntry, Base, Device, FleetAlert, KioskStatus
from grant_service.refusals import Refused
from mynapoint.database import make_engine
from mynapoint.reasons import R
from tests.support.fleet_reports import alert_batch, alert_json, heartbeat
from tests.support.kiosk_harness import BIN
from tests.support.service_harness import ServiceEnv

NOW = dt.datetime(2026, 12, 20, 10, 0, tzinfo=dt.UTC)


def reported(**fields: Any) -> KioskStatus:
    """A healthy kiosk's status, heard from a moment ago (not stored)."""
    values: dict[str, Any] = {
        "kiosk_id": "kiosk-0001", "channel": "city_hall", "store_id": None, "store_name": "",
        "municipality": "千代田区", "app_version": "16.0.0", "state": "idle", "queue_depth": 0,
        "oldest_unsent_seconds": None, "quarantined": 0, "paper": "ok",
        "reader_present": True, "card_on_reader": False, "disk_free_bytes": 10**9,
        "interval_seconds": 60, "observed_at": NOW, "received_at": NOW - dt.timedelta(seconds=30),
    }  # fmt: skip
    return KioskStatus(**{**values, **fields})


SILENT = {"received_at": NOW - dt.timedelta(seconds=181)}
STUCK = {"oldest_unsent_seconds": 30 * 60 + 1}

# (device status, what it reported (None: never), open alerts) -> condition. Each row
# also holds what every condition after it would look for: the first that holds wins.
CONDITION_TABLE = [
    ("revoked", dict(SILENT, paper="out"), 2, "revoked"),
    ("active", None, 2, "never_seen"),
    ("active", dict(SILENT, paper="out", **STUCK), 2, "silent"),
    ("active", dict(paper="out", card_on_reader=True, **STUCK), 2, "paper_out"),
    ("active", dict(paper="near_end", **STUCK), 1, "alert"),
    ("active", dict(paper="near_end", **STUCK), 0, "queue_stuck"),
    ("active", {"oldest_unsent_seconds": 30 * 60}, 0, "ok"),  # at the limit: not yet
    ("active", {"paper": "near_end"}, 0, "warning"),
    ("active", {"paper": "offline"}, 0, "warning"),
    ("active", {"paper": "unknown"}, 0, "warning"),
    ("active", {"reader_present": False}, 0, "warning"),
    ("active", {"card_on_reader": True}, 0, "warning"),
    ("active", {"quarantined": 1}, 0, "warning"),
    ("active", {"state": "stopped"}, 0, "warning"),
    ("active", {"state": "in_use", "queue_depth": 40}, 0, "ok"),
    ("active", {"received_at": NOW - dt.timedelta(seconds=180)}, 0, "ok"),  # 3 intervals
]


@pytest.mark.parametrize(("device_status", "fields", "open_alerts", "expected"), CONDITION_TABLE)
def test_a_kiosks_condition_is_the_first_that_holds(
    device_status: str, fields: dict[str, Any] | None, open_alerts: int, expected: str
) -> None:
    status = None if fields is None else reported(**fields)
    assert fleet.condition_of(device_status, status, open_alerts, NOW) == expected


def test_conditions_are_ordered_by_attention() -> None:
    assert fleet.CONDITIONS[:3] == ("silent", "paper_out", "alert")
    assert fleet.CONDITIONS[-2:] == ("ok", "revoked")
    assert {row[3] for row in CONDITION_TABLE} == set(fleet.CONDITIONS)


def test_queue_stuck_after_is_the_callers() -> None:
    status = reported(oldest_unsent_seconds=11 * 60)
    assert fleet.condition_of("active", status, 0, NOW) == "ok"
    assert fleet.condition_of("active", status, 0, NOW, dt.timedelta(minutes=10)) == "queue_stuck"


def test_a_history_bucket_starts_on_its_boundary() -> None:
    moment = dt.datetime(2026, 12, 20, 10, 7, 59, 999_000, tzinfo=dt.UTC)
    assert fleet.bucket_start(moment, 5) == dt.datetime(2026, 12, 20, 10, 5, tzinfo=dt.UTC)
    assert fleet.bucket_start(moment, 60) == dt.datetime(2026, 12, 20, 10, 0, tzinfo=dt.UTC)


# --- the console's reads --------------------------------------------------------------------


def enrol(session: Session, count: int, *, channel: str = "city_hall", start: int = 0) -> None:
    """``count`` enrolled kiosks, kiosk-00000.. (no key: they only appear on the console)."""
    session.execute(
        insert(Device.__table__),
        [
            {
                "kiosk_id": f"kiosk-{start + i:05d}",
                "channel": channel,
                "status": "active",
                "certificate_pem": "-",
                "public_key_der": b"-",
                "certificate_serial": "1",
                "enrolled_at": NOW,
            }
            for i in range(count)
        ],
    )


def device(session: Session, kiosk_id: str) -> Device:
    found = session.scalar(select(Device).where(Device.kiosk_id == kiosk_id))
    assert found is not None
    return found


def report(session: Session, kiosk_id: str, at: dt.datetime = NOW, **fields: Any) -> bool:
    return fleet.record_heartbeat(
        session, device(session, kiosk_id), heartbeat(at, **fields), now=at, bucket_minutes=5
    )


def test_the_fleet_is_most_urgent_first_and_filtered(service: ServiceEnv) -> None:
    with service.sessions.begin() as session:
        enrol(session, 5)
        enrol(session, 1, channel="convenience_store", start=5)
        report(session, "kiosk-00000")
        report(session, "kiosk-00001", paper="out")
        report(session, "kiosk-00002", municipality="横浜市", store_id="S-7")
        report(session, "kiosk-00003", at=NOW - dt.timedelta(minutes=10))
        report(session, "kiosk-00005")
        fleet.record_alerts(
            session,
            device(session, "kiosk-00000"),
            alert_batch(alert_json("staff_called", NOW)),
            now=NOW,
        )
    with service.sessions() as session:
        rows = fleet.fleet(session, NOW)
        assert [(r.kiosk_id, r.condition, r.attention) for r in rows] == [
            ("kiosk-00003", "silent", 0),
            ("kiosk-00001", "paper_out", 1),
            ("kiosk-00000", "alert", 2),
            ("kiosk-00004", "never_seen", 5),
            ("kiosk-00002", "ok", 6),
            ("kiosk-00005", "ok", 6),
        ]
        assert rows[0].silent_for == dt.timedelta(minutes=10)
        assert rows[2].open_alerts == 1
        assert [r.kiosk_id for r in fleet.fleet(session, NOW, municipality="横浜市")] == [
            "kiosk-00002"
        ]
        assert [r.kiosk_id for r in fleet.fleet(session, NOW, store="S-7")] == ["kiosk-00002"]
        assert [r.kiosk_id for r in fleet.fleet(session, NOW, channel="convenience_store")] == [
            "kiosk-00005"
        ]
        assert [r.kiosk_id for r in fleet.fleet(session, NOW, condition="ok")] == [
            "kiosk-00002", "kiosk-00005"
        ]  # fmt: skip
        assert fleet.fleet_choices(session) == {
            "municipalities": ["千代田区", "横浜市"],
            "stores": ["S-0042", "S-7"],
            "channels": ["city_hall", "convenience_store"],
        }
        assert fleet.kiosk_row(session, "kiosk-99999", NOW) is None
        one = fleet.kiosk_row(session, "kiosk-00000", NOW)
    assert one is not None and one.status is not None
    assert dataclasses.replace(one, status=None) == dataclasses.replace(rows[2], status=None)
    assert one.status.store_name == "ローソン 市役所前店"  # readable: detached


def queries_while(session: Session, call: Any) -> tuple[Any, list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):  # not SQLite's BEGIN
            seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        return call(), seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


FLEET_SIZE = 5_000


def test_five_thousand_kiosks_take_two_queries_and_little_time(service: ServiceEnv) -> None:
    with service.sessions.begin() as session:
        enrol(session, FLEET_SIZE)
        healthy = reported()
        values = {c.key: getattr(healthy, c.key) for c in KioskStatus.__table__.columns}
        statuses = [
            {**values, "kiosk_id": f"kiosk-{i:05d}", "paper": ("ok", "out")[i % 2]}
            for i in range(0, FLEET_SIZE, 2)  # half of them reported
        ]
        session.execute(insert(KioskStatus.__table__), statuses)
        for i in range(0, FLEET_SIZE, 7):
            fleet.record_alerts(
                session,
                device(session, f"kiosk-{i:05d}"),
                alert_batch(alert_json("card_left", NOW)),
                now=NOW,
            )
    with service.sessions() as session:
        rows, queries = queries_while(session, lambda: fleet.fleet(session, NOW))
        took = min(timed(lambda: fleet.fleet(session, NOW)) for _ in range(3))
    assert len(queries) == 2, queries
    assert len(rows) == FLEET_SIZE
    assert sum(r.open_alerts for r in rows) == len(range(0, FLEET_SIZE, 7))
    assert [r.attention for r in rows] == sorted(r.attention for r in rows)
    # The fleet page's budget is 300 ms; reading takes a fraction of it (the best of three
    # runs: the machine is shared).
    assert took < 0.3, f"fleet() took {took * 1000:.0f} ms for {FLEET_SIZE} kiosks"


# --- what operators do with alerts ----------------------------------------------------------


def raise_alerts(service: ServiceEnv, *kinds: str) -> list[int]:
    with service.sessions.begin() as session:
        enrol(session, 1)
        batch = alert_batch(*(alert_json(kind, NOW + dt.timedelta(seconds=i))
                              for i, kind in enumerate(kinds)))  # fmt: skip
        fleet.record_alerts(session, device(session, "kiosk-00000"), batch, now=NOW)
        return list(session.scalars(select(FleetAlert.id).order_by(FleetAlert.id)))


def audit_trail(service: ServiceEnv) -> list[tuple[str, str, str | None]]:
    with service.sessions() as session:
        entries = session.execute(
            select(AuditEntry.action, AuditEntry.subject, AuditEntry.kiosk_id)
            .where(AuditEntry.action.like("alert.%"))
            .order_by(AuditEntry.at, AuditEntry.seq)
        )
        return [tuple(entry) for entry in entries]


def test_an_alert_is_acknowledged_then_resolved_and_both_are_audited(
    service: ServiceEnv,
) -> None:
    (alert_id,) = raise_alerts(service, "staff_called")
    later = NOW + dt.timedelta(minutes=3)
    with service.sessions.begin() as session:
        acknowledged = fleet.acknowledge(session, service.audit_key, alert_id, "佐藤", later)
    assert (acknowledged.state, acknowledged.acknowledged_by) == ("acknowledged", "佐藤")
    with service.sessions.begin() as session:
        resolved = fleet.resolve(session, service.audit_key, alert_id, "鈴木", later)
    assert (resolved.state, resolved.resolved_by, resolved.resolved_at) == (
        "resolved", "鈴木", later
    )  # fmt: skip
    assert audit_trail(service) == [
        ("alert.acknowledge", f"staff_called:{alert_id} by 佐藤", "kiosk-00000"),
        ("alert.resolve", f"staff_called:{alert_id} by 鈴木", "kiosk-00000"),
    ]
    with service.sessions() as session:
        assert audit.verify(session, service.audit_key).ok
        assert fleet.alerts(session) == []
        assert [a.id for a in fleet.alerts(session, state="resolved")] == [alert_id]


def test_an_open_alert_can_be_resolved_at_once(service: ServiceEnv) -> None:
    (alert_id,) = raise_alerts(service, "paper_out")
    with service.sessions.begin() as session:
        fleet.resolve(session, service.audit_key, alert_id, "佐藤", NOW)
    assert [action for action, _, _ in audit_trail(service)] == ["alert.resolve"]


def refusal(service: ServiceEnv, step: Any, alert_id: int) -> R:
    with pytest.raises(Refused) as refused, service.sessions.begin() as session:
        step(session, service.audit_key, alert_id, "佐藤", NOW)
    return refused.value.reason


def test_a_wrong_alert_is_404_and_a_step_taken_twice_is_409(service: ServiceEnv) -> None:
    (alert_id,) = raise_alerts(service, "staff_called")
    assert refusal(service, fleet.acknowledge, alert_id + 100) is R.ALERT_NOT_FOUND
    assert R.ALERT_NOT_FOUND.value.http_status == 404
    with service.sessions.begin() as session:
        fleet.acknowledge(session, service.audit_key, alert_id, "佐藤", NOW)
    assert refusal(service, fleet.acknowledge, alert_id) is R.ALERT_ALREADY_HANDLED
    with service.sessions.begin() as session:
        fleet.resolve(session, service.audit_key, alert_id, "佐藤", NOW)
    assert refusal(service, fleet.resolve, alert_id) is R.ALERT_ALREADY_HANDLED
    assert refusal(service, fleet.acknowledge, alert_id) is R.ALERT_ALREADY_HANDLED
    assert R.ALERT_ALREADY_HANDLED.value.http_status == 409
    assert len(audit_trail(service)) == 2  # the refused steps wrote nothing


def test_alerts_are_listed_newest_first_by_state_and_kiosk(service: ServiceEnv) -> None:
    first, second, third = raise_alerts(service, "staff_called", "card_left", "paper_out")
    with service.sessions.begin() as session:
        fleet.acknowledge(session, service.audit_key, second, "佐藤", NOW)
        fleet.resolve(session, service.audit_key, third, "佐藤", NOW)
    with service.sessions() as session:
        assert [a.id for a in fleet.alerts(session)] == [first]
        assert [a.id for a in fleet.alerts(session, state="unresolved")] == [second, first]
        assert [a.id for a in fleet.alerts(session, state=None)] == [third, second, first]
        assert [a.id for a in fleet.alerts(session, state=None, limit=1)] == [third]
        assert fleet.alerts(session, state=None, kiosk_id="kiosk-00001") == []
        with pytest.raises(ValueError, match="state must be one of"):
            fleet.alerts(session, state="closed")


def test_a_heartbeat_ahead_of_the_skew_is_refused_before_anything_is_written(
    service: ServiceEnv,
) -> None:
    with pytest.raises(Refused) as refused, service.sessions.begin() as session:
        enrol(session, 1)
        report(session, "kiosk-00000")  # recorded, then rolled back with the refusal
        ahead = heartbeat(NOW + dt.timedelta(seconds=61))
        fleet.record_heartbeat(
            session, device(session, "kiosk-00000"), ahead, now=NOW, bucket_minutes=5,
            skew=dt.timedelta(seconds=60),
        )  # fmt: skip
    assert refused.value.reason is R.HEARTBEAT_IN_FUTURE


# --- the schema -----------------------------------------------------------------------------


def test_the_migrated_schema_is_the_models(service: ServiceEnv) -> None:
    """Revision 0007 (and every one before) made the tables exactly as models.py declares."""
    engine = make_engine(service.settings.database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
            tables = set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert differences == []
    assert {"kiosk_status", "kiosk_status_history", "fleet_alerts", "console_sessions",
            "console_sign_in_failures"} <= tables  # fmt: skip


def test_a_console_credential_is_made_like_the_others(service: ServiceEnv) -> None:
    """``grant-service credential create --role console``: the console's sign-in key, good
    for the console only."""
    made = subprocess.run(
        [str(BIN / "grant-service"), "credential", "create", "--role", "console",
         "--label", "佐藤", "--database-url", service.settings.database_url],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "GRANT_SERVICE_DATA_DIR": str(service.settings.data_dir)},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    bearer = f"Bearer {made.stdout.strip()}"
    with service.sessions() as session:
        caller = credentials.authenticate(session, bearer, "console")
        assert (caller.role, caller.label) == ("console", "佐藤")
        with pytest.raises(Refused):
            credentials.authenticate(session, bearer, "admin")
