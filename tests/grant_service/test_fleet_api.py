"""Kiosks' heartbeats and alerts over HTTP: device-signed, kept once, never overwritten by
an older report; read back as the console reads them (``grant_service.fleet``). Every
test runs on SQLite and PostgreSQL; the last one sends from two service processes at once
(PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from grant_service import devices, fleet
from grant_service.models import FleetAlert, KioskStatus, KioskStatusPoint
from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.service_client import Reply, ServiceClient
from mynapoint.request_signing import sign_request
from tests.support.fleet_reports import (
    HEARTBEAT_PATH,
    alert_json,
    heartbeat_json,
    send_alerts,
    send_heartbeat,
)
from tests.support.service_cluster import at_once, running_cluster
from tests.support.service_harness import ServiceEnv


def reason(reply: Reply) -> tuple[int, str]:
    return reply.status_code, reply.body.get("reason_code")


def status_of(service: ServiceEnv, kiosk_id: str) -> KioskStatus | None:
    with service.sessions() as session:
        return session.get(KioskStatus, kiosk_id)


def points_of(service: ServiceEnv, kiosk_id: str) -> list[tuple[dt.datetime, int]]:
    with service.sessions() as session:
        rows = session.execute(
            select(KioskStatusPoint.bucket_start, KioskStatusPoint.queue_depth)
            .where(KioskStatusPoint.kiosk_id == kiosk_id)
            .order_by(KioskStatusPoint.bucket_start)
        )
        return [(start, depth) for start, depth in rows]


def alert_rows(service: ServiceEnv) -> list[tuple[str, str, str]]:
    with service.sessions() as session:
        rows = session.execute(
            select(FleetAlert.uuid, FleetAlert.kind, FleetAlert.state).order_by(FleetAlert.id)
        )
        return [tuple(row) for row in rows]


def fleet_row(service: ServiceEnv, kiosk_id: str) -> fleet.KioskRow:
    with service.sessions() as session:
        row = fleet.kiosk_row(session, kiosk_id, service.clock())
    assert row is not None
    return row


# --- heartbeats -------------------------------------------------------------------------


def test_a_heartbeat_is_recorded_and_read_back_through_fleet(service: ServiceEnv) -> None:
    kiosk = service.kiosk(channel="convenience_store")
    now = service.clock()
    reply = send_heartbeat(kiosk.client, heartbeat_json(now, queue_depth=3, state="in_use"))
    assert reply.status_code == 200, reply.body
    assert reply.body["recorded"] is True
    assert dt.datetime.fromisoformat(reply.body["server_time"]) == now
    with service.sessions() as session:
        rows = fleet.fleet(session, now)
    assert [(r.kiosk_id, r.channel, r.device_status, r.condition) for r in rows] == [
        (kiosk.kiosk_id, "convenience_store", "active", "ok")
    ]
    status = rows[0].status
    assert status is not None  # detached: readable after the session ended
    assert (status.state, status.queue_depth, status.municipality, status.store_id) == (
        "in_use", 3, "千代田区", "S-0042"
    )  # fmt: skip
    assert (status.observed_at, status.received_at, rows[0].silent_for) == (now, now, None)
    bucket = fleet.bucket_start(now, service.settings.fleet_history_bucket_minutes)
    assert points_of(service, kiosk.kiosk_id) == [(bucket, 3)]


def test_the_channel_is_the_enrollments_never_the_kiosks(service: ServiceEnv) -> None:
    kiosk = service.kiosk(channel="city_hall")
    beat = {**heartbeat_json(service.clock()), "channel": "convenience_store"}
    refused = send_heartbeat(kiosk.client, beat)
    assert reason(refused) == (400, "MALFORMED")  # not a field of a heartbeat
    assert send_heartbeat(kiosk.client, heartbeat_json(service.clock())).status_code == 200
    assert fleet_row(service, kiosk.kiosk_id).channel == "city_hall"
    status = status_of(service, kiosk.kiosk_id)
    assert status is not None and status.channel == "city_hall"


def test_an_unsigned_or_badly_signed_heartbeat_is_401(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    beat = heartbeat_json(service.clock())
    unsigned = service.http.post(HEARTBEAT_PATH, json=beat)
    assert (unsigned.status_code, unsigned.json()["reason_code"]) == (
        401, "REQUEST_SIGNATURE_INVALID"
    )  # fmt: skip
    impostor = ServiceClient(
        "http://127.0.0.1", DeviceIdentity.generate(kiosk.kiosk_id), http=service.http,
        clock=service.clock,
    )  # fmt: skip
    assert reason(send_heartbeat(impostor, beat)) == (401, "REQUEST_SIGNATURE_INVALID")
    assert status_of(service, kiosk.kiosk_id) is None
    assert fleet_row(service, kiosk.kiosk_id).condition == "never_seen"


def test_a_replayed_heartbeat_request_is_refused_and_changes_nothing(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    beat = heartbeat_json(service.clock())
    body = json.dumps(beat).encode()
    headers = sign_request(
        kiosk.client.identity.key, kiosk.kiosk_id, "POST", HEARTBEAT_PATH, body, service.clock()
    )
    headers["Content-Type"] = "application/json"
    first = service.http.post(HEARTBEAT_PATH, content=body, headers=headers)
    assert first.json()["recorded"] is True
    received = service.clock()
    service.clock.advance(seconds=20)
    again = service.http.post(HEARTBEAT_PATH, content=body, headers=headers)
    assert (again.status_code, again.json()["reason_code"]) == (401, "REQUEST_REPLAYED")
    status = status_of(service, kiosk.kiosk_id)
    assert status is not None and status.received_at == received


def test_a_heartbeat_request_with_a_stale_time_is_refused(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    kiosk.client.clock = lambda: service.clock() - dt.timedelta(minutes=6)
    refused = send_heartbeat(kiosk.client, heartbeat_json(service.clock()))
    assert reason(refused) == (401, "REQUEST_SIGNATURE_INVALID")
    assert "clock" in refused.body["detail"]
    assert status_of(service, kiosk.kiosk_id) is None


def test_an_older_heartbeat_after_a_newer_one_changes_nothing(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    newer_at = service.clock()
    older_at = newer_at - dt.timedelta(seconds=30)
    assert send_heartbeat(kiosk.client, heartbeat_json(newer_at, queue_depth=5)).body == {
        "recorded": True, "server_time": newer_at.isoformat().replace("+00:00", "Z")
    }  # fmt: skip
    service.clock.advance(seconds=10)
    late = send_heartbeat(kiosk.client, heartbeat_json(older_at, queue_depth=9, paper="out"))
    assert (late.status_code, late.body["recorded"]) == (200, False)
    same = send_heartbeat(kiosk.client, heartbeat_json(newer_at, queue_depth=7))  # sent twice
    assert same.body["recorded"] is False
    status = status_of(service, kiosk.kiosk_id)
    assert status is not None
    assert (status.observed_at, status.queue_depth, status.paper, status.received_at) == (
        newer_at, 5, "ok", newer_at
    )  # fmt: skip
    assert [depth for _, depth in points_of(service, kiosk.kiosk_id)] == [5]


def test_a_kiosk_whose_clock_stepped_back_is_heard_once_its_last_heartbeat_is_old(
    service: ServiceEnv,
) -> None:
    """A kiosk's clock ran 4 minutes fast, then NTP set it right: its heartbeats now say
    an earlier time than the one kept. A minute after the last one arrived, a new one is
    later in fact and is kept: the kiosk is not shown silent until its clock catches up."""
    kiosk = service.kiosk()
    fast = service.clock() + dt.timedelta(minutes=4)
    assert send_heartbeat(kiosk.client, heartbeat_json(fast)).body["recorded"] is True
    service.clock.advance(seconds=30)  # inside the window two requests may overlap
    early = send_heartbeat(kiosk.client, heartbeat_json(service.clock(), paper="out"))
    assert early.body["recorded"] is False
    service.clock.advance(seconds=60)
    stepped_back = send_heartbeat(kiosk.client, heartbeat_json(service.clock(), paper="out"))
    assert stepped_back.body["recorded"] is True
    row = fleet_row(service, kiosk.kiosk_id)
    assert (row.condition, row.silent_for) == ("paper_out", None)
    assert row.status.observed_at == service.clock()


def test_the_latest_heartbeat_of_a_bucket_is_its_history_point(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    minutes = service.settings.fleet_history_bucket_minutes
    start = fleet.bucket_start(service.clock(), minutes) + dt.timedelta(minutes=minutes)
    service.clock.now = start + dt.timedelta(seconds=10)
    for depth in (1, 2, 3):  # three heartbeats in one bucket, one in the next
        beat = heartbeat_json(service.clock(), queue_depth=depth)
        assert send_heartbeat(kiosk.client, beat).body["recorded"] is True
        service.clock.advance(seconds=60)
    service.clock.now = start + dt.timedelta(minutes=minutes, seconds=5)
    send_heartbeat(kiosk.client, heartbeat_json(service.clock(), queue_depth=4))
    later_bucket = start + dt.timedelta(minutes=minutes)
    assert points_of(service, kiosk.kiosk_id) == [(start, 3), (later_bucket, 4)]
    with service.sessions() as session:
        history = fleet.history(session, kiosk.kiosk_id, since=later_bucket)
    assert [(p.bucket_start, p.queue_depth) for p in history] == [(later_bucket, 4)]


def test_history_older_than_its_days_is_pruned(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    long_ago = service.clock()
    send_heartbeat(kiosk.client, heartbeat_json(long_ago, queue_depth=1))
    service.clock.advance(days=service.settings.fleet_history_days, minutes=10)
    service.app.state.service.history_sweep.every_seconds = 0  # due on every heartbeat
    send_heartbeat(kiosk.client, heartbeat_json(service.clock(), queue_depth=2))
    assert [depth for _, depth in points_of(service, kiosk.kiosk_id)] == [2]


def test_a_heartbeat_from_the_future_is_refused(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    skew = service.settings.clock_skew_seconds
    ahead = service.clock() + dt.timedelta(seconds=skew + 1)
    refused = send_heartbeat(kiosk.client, heartbeat_json(ahead))
    assert reason(refused) == (422, "HEARTBEAT_IN_FUTURE")
    assert status_of(service, kiosk.kiosk_id) is None
    within = service.clock() + dt.timedelta(seconds=skew)
    assert send_heartbeat(kiosk.client, heartbeat_json(within)).body["recorded"] is True


def test_a_revoked_kiosk_is_401_and_shown_as_revoked(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    assert send_heartbeat(kiosk.client, heartbeat_json(service.clock())).status_code == 200
    with service.sessions.begin() as session:
        devices.revoke(session, service.audit_key, kiosk.kiosk_id, now=service.clock())
    service.clock.advance(seconds=30)
    refused = send_heartbeat(kiosk.client, heartbeat_json(service.clock()))
    assert reason(refused) == (401, "DEVICE_REVOKED")
    assert reason(send_alerts(kiosk.client, alert_json("staff_called", service.clock()))) == (
        401, "DEVICE_REVOKED"
    )  # fmt: skip
    row = fleet_row(service, kiosk.kiosk_id)
    assert (row.condition, row.device_status) == ("revoked", "revoked")
    assert alert_rows(service) == []


def test_a_kiosk_silent_past_three_intervals_is_silent(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    send_heartbeat(kiosk.client, heartbeat_json(service.clock(), interval_seconds=60))
    service.clock.advance(seconds=180)
    on_time = fleet_row(service, kiosk.kiosk_id)
    assert (on_time.condition, on_time.silent_for) == ("ok", None)
    service.clock.advance(seconds=1)
    silent = fleet_row(service, kiosk.kiosk_id)
    assert (silent.condition, silent.silent_for) == ("silent", dt.timedelta(seconds=181))
    assert silent.attention == 0


@pytest.mark.parametrize(
    "field",
    [
        {"disk_free_bytes": 2**63},
        {"disk_free_bytes": 2**70},
        {"oldest_unsent_seconds": 2**31},
        {"clock_skew_seconds": float("nan")},
        {"clock_skew_seconds": float("inf")},
    ],
)
def test_a_number_the_service_cannot_keep_is_a_4xx_not_a_500(
    service: ServiceEnv, field: dict[str, float]
) -> None:
    kiosk = service.kiosk()
    beat = {**heartbeat_json(service.clock()), **field}
    reply = send_heartbeat(kiosk.client, beat)
    assert reason(reply) == (400, "MALFORMED")
    assert status_of(service, kiosk.kiosk_id) is None


# --- alerts -----------------------------------------------------------------------------


def test_an_alert_batch_is_recorded_once(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    batch = [
        alert_json("staff_called", service.clock()),
        alert_json("card_left", service.clock(), detail="reader 1"),
        alert_json("not_me_report", service.clock(), receipt_number="RA9C-A7HQ-J9JV"),
    ]
    first = send_alerts(kiosk.client, *batch)
    assert first.status_code == 200, first.body
    assert [r["outcome"] for r in first.body["results"]] == ["recorded"] * 3
    assert [r["uuid"] for r in first.body["results"]] == [a["uuid"] for a in batch]
    again = send_alerts(kiosk.client, *batch)
    assert [r["outcome"] for r in again.body["results"]] == ["duplicate"] * 3
    assert alert_rows(service) == [(a["uuid"], a["kind"], "open") for a in batch]
    row = fleet_row(service, kiosk.kiosk_id)
    assert row.open_alerts == 3


def test_the_same_uuid_from_another_kiosk_is_another_alert(service: ServiceEnv) -> None:
    one, other = service.kiosk(), service.kiosk()
    alert = alert_json("paper_out", service.clock())
    for kiosk in (one, other):
        assert send_alerts(kiosk.client, alert).body["results"][0]["outcome"] == "recorded"
    assert len(alert_rows(service)) == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "fire"},
        {"uuid": "not-a-uuid"},
        {"raised_at": "2026-12-20T10:00:00"},  # no offset
        {"detail": "x" * 201},
        {"receipt_number": "12345"},
        {"pin": "1234"},  # no such field
    ],
)
def test_a_malformed_alert_refuses_the_batch_and_nothing_is_kept(
    service: ServiceEnv, bad: dict[str, str]
) -> None:
    kiosk = service.kiosk()
    good = alert_json("staff_called", service.clock())
    reply = send_alerts(kiosk.client, good, {**alert_json("card_left", service.clock()), **bad})
    assert reason(reply) == (400, "MALFORMED")
    assert "1234" not in reply.body["detail"]
    assert alert_rows(service) == []


@pytest.mark.parametrize(
    "fields", [{"detail": "山田太郎さん"}, {}], ids=["with a detail", "without a receipt number"]
)
def test_a_not_me_report_is_its_receipt_number_and_time_only(
    service: ServiceEnv, fields: dict[str, str]
) -> None:
    kiosk = service.kiosk()
    good = alert_json("staff_called", service.clock())
    report = alert_json("not_me_report", service.clock(), **fields)
    if "detail" in fields:
        report["receipt_number"] = "RA9C-A7HQ-J9JV"
    reply = send_alerts(kiosk.client, good, report)
    assert reason(reply) == (422, "ALERT_INVALID")
    assert "山田" not in json.dumps(reply.body, ensure_ascii=False)
    assert alert_rows(service) == []


# --- two service processes at once (PostgreSQL) --------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_processes_take_one_kiosks_reports_at_once(service: ServiceEnv, tmp_path: Path) -> None:
    """The same alert batch and heartbeats of one kiosk, sent at the same instant to two
    processes, eight times over: no 500, one row per alert, the newest heartbeat kept."""
    kiosk = service.kiosk()
    now = dt.datetime.now(dt.UTC)  # the processes run on the real clock
    batch = [alert_json("staff_called", now), alert_json("card_left", now)]
    beats = [heartbeat_json(now + dt.timedelta(milliseconds=i), queue_depth=i) for i in range(8)]
    with running_cluster(service, tmp_path) as cluster:
        clients = [cluster.client(kiosk, i) for i in range(8)]
        calls = [lambda c=c: send_alerts(c, *batch) for c in clients]
        calls += [
            lambda c=c, b=b: send_heartbeat(c, b) for c, b in zip(clients, beats, strict=True)
        ]
        replies = at_once(calls)
    assert all(isinstance(r, Reply) and r.status_code == 200 for r in replies), replies
    outcomes = [r["outcome"] for reply in replies[:8] for r in reply.body["results"]]  # type: ignore[union-attr]
    assert sorted(outcomes) == ["duplicate"] * 14 + ["recorded"] * 2
    assert sorted(alert_rows(service)) == sorted((a["uuid"], a["kind"], "open") for a in batch)
    status = status_of(service, kiosk.kiosk_id)
    assert status is not None and status.queue_depth == 7
    with service.sessions() as session:
        points = session.scalar(select(func.count()).select_from(KioskStatusPoint))
    minutes = service.settings.fleet_history_bucket_minutes
    observed = (dt.datetime.fromisoformat(str(beat["observed_at"])) for beat in beats)
    assert points == len({fleet.bucket_start(moment, minutes) for moment in observed})
