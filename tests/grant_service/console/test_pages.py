"""What the console's pages show and do, with kiosks reporting over the real API."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from grant_service import people
from grant_service.console.pages import PAGE_SIZE
from grant_service.models import Device, EnrollmentToken, FleetAlert
from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.service_client import ServiceClient
from tests.grant_service.console.conftest import NAME, Console, audit_entries, raise_alert, report
from tests.support.fleet_reports import heartbeat
from tests.support.service_harness import Kiosk, ServiceEnv, jlis_entry


def rows_of(html: str) -> list[str]:
    body = html.split('<tbody id="fleet-rows">', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<th scope="row"><a href="/console/kiosks/([^"]+)"', body)


def test_the_fleet_page_puts_the_kiosks_needing_attention_first(
    console: Console, service: ServiceEnv
) -> None:
    quiet, fine, paperless = service.kiosk(), service.kiosk(), service.kiosk()
    service.kiosk()  # enrolled, never reported
    report(quiet, queue_depth=7)
    service.clock.advance(minutes=4)  # three intervals of 60 s: quiet is silent now
    report(fine)
    report(paperless, paper="out")
    page = console.get("/console/fleet")
    assert page.status_code == 200 and '<html lang="ja">' in page.text
    assert rows_of(page.text) == ["kiosk-0001", "kiosk-0003", "kiosk-0004", "kiosk-0002"]
    silent_row = page.text.split("kiosk-0001</a>")[1].split("</tr>")[0]
    assert "4分間 応答なし" in silent_row and 'class="asof"' in silent_row
    as_of = (service.clock() - dt.timedelta(minutes=4)).astimezone(
        dt.timezone(dt.timedelta(hours=9))
    )
    assert f"{as_of:%Y-%m-%d %H:%M} 時点" in silent_row  # its figures: then, not now
    assert '<tr class="stale">' in page.text
    summary = page.text.split('id="fleet-summary"')[1].split("</ul>")[0]
    for condition, count in (("応答なし", 1), ("用紙切れ", 1), ("未受信", 1), ("正常", 1)):
        assert f"{condition}</span> <strong>{count}</strong>" in summary
    only_paper = console.get("/console/fleet?condition=paper_out")
    assert rows_of(only_paper.text) == ["kiosk-0003"]
    fragment = console.get("/console/fleet?fragment=1")
    assert fragment.headers["X-Console-Fragment"] == "fleet" and "<html" not in fragment.text
    assert rows_of(fragment.text) == rows_of(page.text)


def test_the_fleet_page_pages_by_200(console: Console, service: ServiceEnv) -> None:
    with service.sessions.begin() as session:  # enrolled rows, as enrollment leaves them
        for number in range(PAGE_SIZE + 1):
            session.add(
                Device(
                    kiosk_id=f"k-{number:04d}", channel="convenience_store", status="active",
                    certificate_pem="", public_key_der=b"", certificate_serial=str(number),
                    enrolled_at=service.clock(),
                )
            )  # fmt: skip
    first = console.get("/console/fleet")
    assert len(rows_of(first.text)) == PAGE_SIZE and "1 / 2 ページ（201 台）" in first.text
    second = console.get("/console/fleet?page=2")
    assert rows_of(second.text) == [f"k-{PAGE_SIZE:04d}"]


def test_the_kiosk_page_shows_its_state_charts_and_alerts(
    console: Console, service: ServiceEnv
) -> None:
    kiosk = service.kiosk()
    for depth in (0, 5, 12):
        report(kiosk, queue_depth=depth, oldest_unsent_seconds=depth * 60 or None)
        service.clock.advance(minutes=5)
    report(kiosk, paper="out", queue_depth=2)
    raise_alert(kiosk, "card_left")
    page = console.get(f"/console/kiosks/{kiosk.kiosk_id}")
    assert page.status_code == 200
    assert page.text.count('role="img"') == 6  # 24 h and 7 d: queue, lag, paper
    assert "<title>未送信の件数 (直近24時間)</title>" in page.text
    assert "カードの置き忘れ" in page.text and "用紙切れ" in page.text
    assert f'action="/console/kiosks/{kiosk.kiosk_id}/enrollment-token"' in page.text
    assert console.get("/console/kiosks/no-such-kiosk").status_code == 404


def test_revoking_a_kiosk_asks_first_and_is_audited_with_the_users_name(
    console: Console, service: ServiceEnv
) -> None:
    kiosk = service.kiosk()
    confirm = console.get(f"/console/kiosks/{kiosk.kiosk_id}/revoke")
    assert "を失効させますか" in confirm.text
    done = console.post(f"/console/kiosks/{kiosk.kiosk_id}/revoke", page=confirm.url.path)
    assert done.status_code == 303
    assert "を失効させました" in console.get(done.headers["location"]).text
    with service.sessions() as session:
        device = session.scalars(select(Device).where(Device.kiosk_id == kiosk.kiosk_id)).one()
    assert device.status == "revoked"
    assert report_status(kiosk) == 401  # the kiosk is out
    (entry,) = audit_entries(service, "console.device_revoke")
    assert entry.subject == f"{NAME}:{kiosk.kiosk_id}"


def report_status(kiosk: Kiosk) -> int:
    return int(kiosk.client.heartbeat(heartbeat(kiosk.clock())).status_code)


def test_an_enrollment_token_is_shown_once_and_enrolls_the_kiosk(
    console: Console, service: ServiceEnv
) -> None:
    fleet_page = console.get("/console/fleet").text
    assert 'action="/console/enrollment-token"' in fleet_page  # a new kiosk's, on the fleet page
    issued = console.post(
        "/console/enrollment-token",
        {"kiosk_id": "kiosk-new-01", "channel": "convenience_store", "hours": "24"},
    )
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code class="token">([^<]+)</code>', issued.text).group(1)  # type: ignore[union-attr]
    assert token not in str(issued.url)
    expires = service.clock() + dt.timedelta(hours=24)
    assert f"{expires.astimezone(dt.timezone(dt.timedelta(hours=9))):%Y-%m-%d %H:%M}" in issued.text
    with service.sessions() as session:
        (row,) = session.scalars(select(EnrollmentToken)).all()
    assert row.token_sha256 != token and row.channel == "convenience_store"
    assert all(token not in str(vars(e)) for e in audit_entries(service, ""))
    client = ServiceClient(
        "http://127.0.0.1", DeviceIdentity.generate("kiosk-new-01"), http=service.http,
        clock=service.clock,
    )  # fmt: skip
    assert client.enroll(token).status_code == 200
    later = console.get("/console/kiosks/kiosk-new-01")
    assert later.status_code == 200 and token not in later.text
    assert console.post(
        "/console/kiosks/kiosk-new-01/enrollment-token", {"channel": "moon", "hours": "24"}
    ).status_code == 400  # fmt: skip
    assert console.post(
        "/console/enrollment-token", {"kiosk_id": "../x", "channel": "city_hall", "hours": "24"}
    ).status_code == 400  # fmt: skip
    (entry,) = audit_entries(service, "console.enrollment_token")
    assert entry.subject == f"{NAME}:kiosk-new-01"


def test_alerts_are_acknowledged_and_resolved_in_the_users_name(
    console: Console, service: ServiceEnv
) -> None:
    kiosk = service.kiosk()
    raise_alert(kiosk, "staff_called")
    page = console.get("/console/alerts")
    assert "係員呼び出し" in page.text
    alert_id = re.search(r"/console/alerts/(\d+)/acknowledge", page.text).group(1)  # type: ignore[union-attr]
    assert console.post(f"/console/alerts/{alert_id}/acknowledge").status_code == 303
    acknowledged = console.get("/console/alerts")
    assert f"{NAME}（" in acknowledged.text and "/acknowledge" not in acknowledged.text
    assert console.post(f"/console/alerts/{alert_id}/resolve").status_code == 303
    assert "係員呼び出し" not in console.get("/console/alerts").text
    resolved = console.get("/console/alerts?state=resolved")
    assert "係員呼び出し" in resolved.text and "解決: " + NAME in resolved.text
    with service.sessions() as session:
        alert = session.get(FleetAlert, int(alert_id))
    assert alert is not None and (alert.acknowledged_by, alert.resolved_by) == (NAME, NAME)
    assert console.post("/console/alerts/999999/resolve").status_code == 404


def test_the_programme_page_shows_reservations_applications_and_suspensions(
    console: Console, service: ServiceEnv
) -> None:
    kiosk = service.kiosk()
    mykey_id = kiosk.reserve(service.card()).body["result"]["mykey_id"]
    assert kiosk.apply(service.card()).status_code in (200, 422)
    with service.sessions.begin() as session:
        people.suspend(session, service.audit_key, mykey_id, "leaked MyKey ID", service.clock())
    page = console.get("/console/programme")
    assert page.status_code == 200
    assert "1 件（上限 40,000,000 件の 0.00%）" in page.text
    assert "<title>マイキーIDの累計と上限</title>" in page.text
    suspended = page.text.split("利用停止中のマイキーID")[1]
    assert mykey_id in suspended and "leaked MyKey ID" in suspended


def test_a_conflict_is_resolved_from_the_page(console: Console, service: ServiceEnv) -> None:
    kiosk, lost, renewed = service.kiosk(), service.card(), service.card()
    old_id = kiosk.reserve(lost).body["result"]["mykey_id"]
    kiosk.reserve(renewed)
    feed = service.as_role(service.credential("jlis_feed"))
    reply = service.http.post(
        "/v1/jlis/reissues", json={"entries": [jlis_entry(lost, renewed)]}, headers=feed
    )
    conflict_id = reply.json()["results"][0]["conflict_id"]
    page = console.get("/console/conflicts")
    assert f"#{conflict_id}" in page.text and old_id in page.text
    path = f"/console/conflicts/{conflict_id}/resolve"
    assert console.post(path, {"keep": "sideways"}).status_code == 400
    done = console.post(path, {"keep": "old"})
    assert done.status_code == 303
    assert f"番号 {conflict_id} を解決しました" in console.get(done.headers["location"]).text
    with service.sessions() as session:
        assert people.open_conflicts(session) == []
    assert kiosk.reserve(renewed).body["result"]["mykey_id"] == old_id
    (entry,) = audit_entries(service, "console.conflict_resolve")
    assert entry.subject == f"{NAME}:{conflict_id}:{old_id}"
    assert console.post(path, {"keep": "old"}).status_code == 404  # once only


def test_the_language_switch_is_kept_in_the_session(console: Console, service: ServiceEnv) -> None:
    switched = console.post(
        "/console/language", {"language": "en", "back": "/console/alerts?state=resolved"}
    )
    assert switched.headers["location"] == "/console/alerts?state=resolved"
    page = console.get("/console/fleet")
    assert '<html lang="en">' in page.text and "Kiosks by condition" in page.text
    away = console.post("/console/language", {"language": "ja", "back": "https://evil.example/"})
    assert away.headers["location"] == "/console/fleet"  # never off the console
    assert '<html lang="ja">' in console.get("/console/fleet").text
