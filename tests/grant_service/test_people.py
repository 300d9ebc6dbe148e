"""Suspended MyKey IDs, re-issued cards, and the queue of link conflicts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from grant_service import people
from mynapoint.envelope import format_time
from tests.conftest import run_cli
from tests.support.service_harness import MY_SECRET_IDS, PAYPAY_ID, ServiceEnv, TestCard, jlis_entry


def reason(reply: object) -> str:
    return reply.body.get("reason_code")  # type: ignore[attr-defined]


def suspend(service: ServiceEnv, mykey_id: str, action: str = "suspend") -> object:
    admin = service.as_role(service.credential("admin"))
    body = {"reason": "leaked MyKey ID reported"} if action == "suspend" else None
    return service.http.post(f"/v1/mykeys/{mykey_id}/{action}", json=body, headers=admin)


def test_a_suspended_mykey_id_is_refused_everywhere_until_reinstated(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    mykey_id = kiosk.reserve(card).body["result"]["mykey_id"]
    assert suspend(service, mykey_id).json() == {"mykey_id": mykey_id, "status": "suspended"}  # type: ignore[attr-defined]
    for refused in (kiosk.reserve(card), kiosk.apply(card), kiosk.my_page(card)):
        assert (refused.status_code, reason(refused)) == (422, "MYKEY_SUSPENDED")
        assert "利用が停止されています" in refused.body["message_ja"]
        assert "マイキープラットフォーム" in refused.body["message_ja"]  # seed 004 #1022
    suspend(service, mykey_id, "reinstate")
    assert kiosk.apply(card).status_code == 200


def test_suspension_needs_an_admin_token(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    mykey_id = kiosk.reserve(card).body["result"]["mykey_id"]
    operator = service.as_role(service.credential("operator", "paypay"))
    denied = service.http.post(
        f"/v1/mykeys/{mykey_id}/suspend", json={"reason": "x"}, headers=operator
    )
    assert denied.status_code == 401


# --- re-issued cards ------------------------------------------------------------------


def feed(service: ServiceEnv, old: TestCard, new: TestCard) -> dict:  # type: ignore[type-arg]
    token = service.as_role(service.credential("jlis_feed"))
    entry = jlis_entry(old, new)
    reply = service.http.post("/v1/jlis/reissues", json={"entries": [entry]}, headers=token)
    assert reply.status_code == 200, reply.text
    return reply.json()["results"][0]


def test_a_reissued_card_carries_the_mykey_id_the_application_and_the_points(
    service: ServiceEnv,
) -> None:
    kiosk, lost = service.kiosk(), service.card()
    mykey_id = kiosk.reserve(lost).body["result"]["mykey_id"]
    assert kiosk.apply(lost).status_code == 200
    operator = service.as_role(service.credential("operator", "paypay"))
    charge = {
        "tx_id": "before-loss",
        "service_code": "paypay",
        "payment_id": PAYPAY_ID,
        "kind": "charge",
        "amount_yen": 4000,
        "occurred_at": format_time(service.clock() + dt.timedelta(minutes=1)),
    }
    service.http.post("/v1/points/transactions", json={"transactions": [charge]}, headers=operator)
    renewed = service.card()
    assert feed(service, lost, renewed) == {
        "new_serial_hex": renewed.serial_hex,
        "old_serial_hex": lost.serial_hex,
        "outcome": "linked",
        "mykey_id": mykey_id,
    }
    assert feed(service, lost, renewed)["outcome"] == "already_linked"  # idempotent
    again = kiosk.reserve(renewed).body["result"]
    assert again == {"mykey_id": mykey_id, "already_reserved": True}
    assert reason(kiosk.apply(renewed, "waon", MY_SECRET_IDS["waon"][0])) == "ALREADY_APPLIED"
    page = kiosk.my_page(renewed).body
    assert page["application"]["state"] == "active"
    assert page["points"] == {"counted_yen": 4000, "points": 1000}


def test_a_card_that_never_reserved_has_nothing_to_carry(service: ServiceEnv) -> None:
    assert feed(service, service.card(), service.card())["outcome"] == "nothing_to_link"


def test_two_mykey_ids_for_one_person_go_to_an_operator(service: ServiceEnv) -> None:
    kiosk, lost, renewed = service.kiosk(), service.card(), service.card()
    old_id = kiosk.reserve(lost).body["result"]["mykey_id"]
    assert kiosk.apply(lost).status_code == 200
    new_id = kiosk.reserve(renewed).body["result"]["mykey_id"]  # before J-LIS linked it
    result = feed(service, lost, renewed)
    assert result["outcome"] == "conflict" and result["conflict_id"]
    # Until an operator decides, the newer MyKey ID is held: nothing can be granted twice.
    assert reason(kiosk.apply(renewed, "waon", MY_SECRET_IDS["waon"][0])) == "MYKEY_SUSPENDED"
    with service.sessions.begin() as session:
        (conflict,) = people.open_conflicts(session)
        assert (conflict.old_mykey_id, conflict.new_mykey_id) == (old_id, new_id)
        people.resolve_conflict(session, service.audit_key, conflict.id, "old", service.clock())
    assert kiosk.reserve(renewed).body["result"] == {"mykey_id": old_id, "already_reserved": True}
    assert kiosk.my_page(renewed).body["application"]["state"] == "active"
    with service.sessions.begin() as session:
        assert people.open_conflicts(session) == []


def test_the_feed_refuses_a_certificate_not_from_the_jpki_ca(
    service: ServiceEnv, tmp_path: Path
) -> None:
    from kiosk.devices.sim.test_ca import JpkiTestCa
    from kiosk.devices.sim.virtual_card import issue_card

    foreign_ca = JpkiTestCa.create(tmp_path / "foreign")
    issue_card(foreign_ca, tmp_path / "foreign.json", pin="4827")
    kiosk, lost = service.kiosk(), service.card()
    kiosk.reserve(lost)
    result = feed(service, lost, TestCard(tmp_path / "foreign.json"))
    assert (result["outcome"], result["reason_code"]) == ("error", "CERT_UNTRUSTED")


def test_the_operator_commands(service: ServiceEnv) -> None:
    kiosk, lost, renewed = service.kiosk(), service.card(), service.card()
    kiosk.reserve(lost)
    kiosk.reserve(renewed)
    conflict_id = feed(service, lost, renewed)["conflict_id"]
    env = {"GRANT_SERVICE_DATA_DIR": str(service.settings.data_dir)}
    database = ["--database-url", service.settings.database_url]
    listed = run_cli("grant-service", "conflicts", *database, env=env)
    assert f"#{conflict_id}" in listed.stdout and "(held)" in listed.stdout
    resolved = run_cli(
        "grant-service", "resolve-conflict", str(conflict_id), "--keep", "new", *database, env=env
    )
    assert resolved.returncode == 0, resolved.stderr
    assert "No open conflicts" in run_cli("grant-service", "conflicts", *database, env=env).stdout
    mykey_id = kiosk.reserve(renewed).body["result"]["mykey_id"]
    suspended = run_cli(
        "grant-service", "suspend", mykey_id, "--reason", "misuse", *database, env=env
    )
    assert suspended.returncode == 0, suspended.stderr
    assert reason(kiosk.reserve(renewed)) == "MYKEY_SUSPENDED"
    assert run_cli("grant-service", "reinstate", mykey_id, *database, env=env).returncode == 0
    assert kiosk.reserve(renewed).status_code == 200
    # Every card of the merged ID now belongs to the kept one.
    assert kiosk.reserve(lost).body["result"]["mykey_id"] == mykey_id
    report = run_cli("grant-service", "report", *database, env=env)
    assert report.returncode == 0 and "Reservations (MyKey IDs issued): 2" in report.stdout
