"""Who gets into the console: sign-in, lockout, sessions that end, cookies, CSRF, and no
page without a session."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from grant_service import credentials
from grant_service.console import auth
from grant_service.console.pages import PUBLIC_PATHS, router
from grant_service.console.rendering import SECURITY_HEADERS
from grant_service.credentials import token_digest
from grant_service.models import ConsoleSession, Device
from tests.grant_service.console.conftest import NAME, Console, audit_entries
from tests.support.paths import REPO
from tests.support.service_harness import ServiceEnv

REFUSED = "利用者名またはアクセスキーが正しくありません"
LOCKED = "までログインできません"


def cookie_header(response: object, name: str) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    (found,) = [h for h in headers if h.startswith(f"{name}=")]
    return found


def test_the_right_name_and_key_sign_in_and_only_the_session_hash_is_kept(
    browser: Console, key: str, service: ServiceEnv
) -> None:
    signed_in = browser.sign_in(NAME, key)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/console/fleet")
    cookie = cookie_header(signed_in, auth.SESSION_COOKIE)
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # no TLS in this service
    with service.sessions() as session:
        (row,) = session.scalars(select(ConsoleSession)).all()
    assert row.id_sha256 == token_digest(session_id) and row.label == NAME
    assert browser.get("/console/fleet").status_code == 200
    (entry,) = audit_entries(service)
    assert (entry.action, entry.subject, entry.outcome) == ("console.sign_in", NAME, "accepted")


@pytest.mark.parametrize("who", ["wrong key", "another name", "operator role", "revoked"])
def test_sign_in_is_refused_without_a_live_console_credential_of_that_name(
    browser: Console, key: str, service: ServiceEnv, who: str
) -> None:
    name, given = NAME, key
    if who == "wrong key":
        given = key[:-2] + "xx"
    elif who == "another name":
        name = "鈴木 一郎"
    elif who == "operator role":
        given = service.credential("operator", "paypay")
        name = "test operator"
    else:
        with service.sessions.begin() as session:
            credentials.revoke(session, service.audit_key, NAME, service.clock())
    refused = browser.sign_in(name, given)
    assert refused.status_code == 401 and REFUSED in refused.text
    assert auth.SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    assert browser.get("/console/fleet").status_code == 303
    (entry,) = audit_entries(service, "console.sign_in")
    assert (entry.subject, entry.outcome) == (name, "refused")
    assert given not in str([vars(e) for e in audit_entries(service, "")])


def test_revoking_the_credential_ends_its_sessions(console: Console, service: ServiceEnv) -> None:
    assert console.get("/console/fleet").status_code == 200
    with service.sessions.begin() as session:
        credentials.revoke(session, service.audit_key, NAME, service.clock())
    assert console.get("/console/fleet").status_code == 303


def test_the_command_makes_a_console_user_who_can_sign_in(
    browser: Console, service: ServiceEnv
) -> None:
    """docs/console.md's command, as written there."""
    command = '.venv/bin/grant-service credential create --role console --label "Sato Hanako"'
    made = subprocess.run(
        shlex.split(command), cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "GRANT_SERVICE_DATA_DIR": str(service.settings.data_dir),
             "GRANT_SERVICE_DATABASE_URL": service.settings.database_url},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert browser.sign_in("Sato Hanako", made.stdout.strip()).status_code == 303


def test_an_admin_credential_signs_in_too(browser: Console, service: ServiceEnv) -> None:
    admin_key = service.credential("admin")
    assert browser.sign_in("test admin", admin_key).status_code == 303
    assert "test admin" in browser.get("/console/fleet").text


def test_failed_sign_ins_lock_the_name_even_for_the_right_key_until_the_lock_ends(
    make_service: object, tmp_path: Path
) -> None:
    service: ServiceEnv = make_service(console_lockout_failures=3, console_lockout_minutes=10)  # type: ignore[operator]
    with service.sessions.begin() as session:
        key = credentials.create(session, service.audit_key, "console", NAME, service.clock())
    browser = Console(service, service.http)  # type: ignore[arg-type]
    for _ in range(2):
        assert browser.sign_in(NAME, "not-the-key").status_code == 401
    third = browser.sign_in(NAME, "not-the-key")
    assert third.status_code == 429 and LOCKED in third.text
    locked = browser.sign_in(NAME, key)
    assert locked.status_code == 429 and LOCKED in locked.text
    until = (service.clock() + __import__("datetime").timedelta(minutes=10)).astimezone(
        __import__("mynapoint.dates", fromlist=["JST"]).JST
    )
    assert until.strftime("%Y-%m-%d %H:%M") in locked.text
    # A name nobody has gets the same page: the lock does not tell whether a name exists.
    for _ in range(3):
        browser.sign_in("nobody", "x")
    service.clock.advance(minutes=11)
    assert browser.sign_in(NAME, key).status_code == 303
    outcomes = [e.outcome for e in audit_entries(service, "console.sign_in") if e.subject == NAME]
    assert outcomes == ["refused", "refused", "locked", "locked", "accepted"]


def test_failed_sign_ins_from_one_address_lock_it_for_every_name(make_service: object) -> None:
    service: ServiceEnv = make_service(console_lockout_failures=3)  # type: ignore[operator]
    with service.sessions.begin() as session:
        key = credentials.create(session, service.audit_key, "console", NAME, service.clock())
    browser = Console(service, service.http)  # type: ignore[arg-type]
    for name in ("a", "b", "c"):  # three names, one address
        browser.sign_in(name, "guess")
    assert LOCKED in browser.sign_in(NAME, key).text


def test_a_session_ends_when_idle(make_service: object) -> None:
    service: ServiceEnv = make_service(console_idle_minutes=30)  # type: ignore[operator]
    browser = signed_in(service)
    service.clock.advance(minutes=20)
    assert browser.get("/console/fleet").status_code == 200  # used: the idle time restarts
    service.clock.advance(minutes=25)
    # The page's own refresh does not count as use.
    assert browser.get("/console/fleet?fragment=1").status_code == 200
    service.clock.advance(minutes=6)
    ended = browser.get("/console/fleet")
    assert (ended.status_code, ended.headers["location"]) == (303, "/console/sign-in?ended=1")
    with service.sessions() as session:
        assert session.scalars(select(ConsoleSession)).all() == []


def test_a_session_ends_after_its_hours_however_busy(make_service: object) -> None:
    service: ServiceEnv = make_service(console_idle_minutes=30, console_session_hours=2)  # type: ignore[operator]
    browser = signed_in(service)
    for _ in range(5):  # 100 minutes, used every 20
        service.clock.advance(minutes=20)
        assert browser.get("/console/fleet").status_code == 200
    service.clock.advance(minutes=20)
    assert browser.get("/console/fleet").status_code == 303
    token = auth.new_token()
    assert browser.http.post("/console/sign-out", data={"csrf": token}).status_code == 403


def test_the_cookie_is_secure_when_the_service_runs_with_tls(
    make_service: object, tmp_path: Path
) -> None:
    certificate = tmp_path / "cert.pem"
    certificate.write_text("not read by the console")
    service: ServiceEnv = make_service(tls_certfile=certificate)  # type: ignore[operator]
    with service.sessions.begin() as session:
        key = credentials.create(session, service.audit_key, "console", NAME, service.clock())
    # A browser sends a Secure cookie back over https only.
    with TestClient(service.app, base_url="https://127.0.0.1") as https:
        browser = Console(service, https)
        assert "Secure" in cookie_header(browser.get("/console/sign-in"), auth.SIGN_IN_CSRF_COOKIE)
        signed = browser.sign_in(NAME, key)
        assert "Secure" in cookie_header(signed, auth.SESSION_COOKIE)
        assert browser.get("/console/fleet").status_code == 200


def signed_in(service: ServiceEnv) -> Console:
    with service.sessions.begin() as session:
        key = credentials.create(session, service.audit_key, "console", NAME, service.clock())
    browser = Console(service, service.http)  # type: ignore[arg-type]
    assert browser.sign_in(NAME, key).status_code == 303
    return browser


def test_sign_in_without_its_pre_session_token_is_refused(
    browser: Console, key: str, service: ServiceEnv
) -> None:
    browser.get("/console/sign-in")  # the cookie is set, the field is missing
    refused = browser.http.post("/console/sign-in", data={"name": NAME, "key": key})
    assert refused.status_code == 403
    forged = browser.http.post(
        "/console/sign-in", data={"name": NAME, "key": key, "csrf": "forged"}
    )
    assert forged.status_code == 403
    with service.sessions() as session:
        assert session.scalars(select(ConsoleSession)).all() == []


def test_a_post_without_the_session_csrf_token_changes_nothing(
    console: Console, service: ServiceEnv
) -> None:
    kiosk = service.kiosk()
    path = f"/console/kiosks/{kiosk.kiosk_id}/revoke"
    for form in ({}, {"csrf": "not-the-token"}):
        refused = console.http.post(path, data=form, follow_redirects=False)
        assert refused.status_code == 403 and "何も変更していません" in refused.text
    with service.sessions() as session:
        device = session.scalars(select(Device).where(Device.kiosk_id == kiosk.kiosk_id)).one()
    assert device.status == "active"
    assert audit_entries(service, "console.device_revoke") == []


def test_sign_out_ends_the_session(console: Console, service: ServiceEnv) -> None:
    out = console.post("/console/sign-out")
    assert (out.status_code, out.headers["location"]) == (303, "/console/sign-in?done=signed_out")
    assert console.get("/console/fleet").status_code == 303
    with service.sessions() as session:
        assert session.scalars(select(ConsoleSession)).all() == []
    assert [e.action for e in audit_entries(service)] == ["console.sign_in", "console.sign_out"]


def _console_routes() -> list[tuple[str, str]]:
    routes = []
    for route in router.routes:
        assert isinstance(route, APIRoute)
        path = route.path.replace("{kiosk_id}", "kiosk-0001")
        path = re.sub(r"\{[^}]+\}", "1", path)
        routes += [(method, path) for method in route.methods if route.path not in PUBLIC_PATHS]
    return routes


def test_no_console_route_answers_without_a_session(browser: Console, service: ServiceEnv) -> None:
    routes = _console_routes()
    assert {"GET", "POST"} <= {method for method, _ in routes} and len(routes) >= 12
    service.kiosk()  # kiosk-0001, so that a route answering would have something to show
    for method, path in routes:
        if method == "GET":
            answer = browser.get(path)
            assert (answer.status_code, answer.headers.get("location")) == (
                303, "/console/sign-in"
            ), path  # fmt: skip
        else:
            answer = browser.http.post(path, data={"csrf": "x", "keep": "old"})
            assert answer.status_code == 403, path
    # ... nor with a session id that is not one.
    browser.http.cookies.set(auth.SESSION_COOKIE, auth.new_token(), path="/console")
    assert browser.get("/console/fleet").status_code == 303


def test_every_console_answer_carries_the_security_headers(
    console: Console, browser: Console
) -> None:
    answers = [
        console.get("/console/fleet"),
        console.get("/console/static/console.css"),
        console.get("/console/kiosks/none-such"),
        console.http.post("/console/sign-out", data={}),
        console.get("/console/sign-in"),
    ]
    assert [a.status_code for a in answers] == [200, 200, 404, 403, 200]
    for answer in answers:
        for header, value in SECURITY_HEADERS.items():
            assert answer.headers[header] == value
    assert "script-src 'self'" in SECURITY_HEADERS["Content-Security-Policy"]
    assert "unsafe-inline" not in SECURITY_HEADERS["Content-Security-Policy"]
    assert "<script>" not in answers[0].text and " style=" not in answers[0].text
