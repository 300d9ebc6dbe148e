"""The console's fixtures: a service with a console user, a browser-like client that
signs in through the form (cookies, CSRF tokens from the pages), and kiosks that report
over the real, device-signed API."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from grant_service import credentials
from grant_service.models import AuditEntry
from mynapoint.fleet import AlertBatch, KioskAlert
from tests.support.fleet_reports import heartbeat
from tests.support.service_harness import Kiosk, ServiceEnv

NAME = "佐藤 花子"  # a console user's name is the credential's label: any text
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Console:
    """One browser: its own cookies, following no redirects (tests look at each answer)."""

    env: ServiceEnv
    http: TestClient

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.http.get(path, follow_redirects=False, **options)

    def csrf(self, path: str = "/console/fleet") -> str:
        page = self.get(path)
        assert page.status_code == 200, page.text
        found = CSRF.search(page.text)
        assert found, "the page has no CSRF field"
        return found.group(1)

    def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True,
             page: str = "/console/fleet") -> httpx.Response:  # fmt: skip
        form = dict(data or {})
        if csrf:
            form["csrf"] = self.csrf(page)
        return self.http.post(path, data=form, follow_redirects=False)

    def sign_in(self, name: str, key: str) -> httpx.Response:
        token = self.csrf("/console/sign-in")
        return self.http.post(
            "/console/sign-in", data={"csrf": token, "name": name, "key": key},
            follow_redirects=False,
        )  # fmt: skip


@pytest.fixture
def key(service: ServiceEnv) -> str:
    """The access key of a console user called ``NAME``."""
    with service.sessions.begin() as session:
        return credentials.create(session, service.audit_key, "console", NAME, service.clock())


@pytest.fixture
def browser(service: ServiceEnv) -> Iterator[Console]:
    with TestClient(service.app, base_url="http://127.0.0.1") as http:
        yield Console(service, http)


@pytest.fixture
def console(browser: Console, key: str) -> Console:
    """A browser signed in as ``NAME``."""
    assert browser.sign_in(NAME, key).status_code == 303
    return browser


def report(kiosk: Kiosk, **fields: Any) -> None:
    reply = kiosk.client.heartbeat(heartbeat(kiosk.clock(), **fields))
    assert reply.status_code == 200, reply.body


def raise_alert(kiosk: Kiosk, kind: str = "paper_out", **fields: Any) -> str:
    alert = KioskAlert(uuid=str(uuid.uuid4()), kind=kind, raised_at=kiosk.clock(), **fields)  # type: ignore[arg-type]
    reply = kiosk.client.alerts(AlertBatch(alerts=[alert]))
    assert reply.status_code == 200, reply.body
    return alert.uuid


def audit_entries(service: ServiceEnv, action_prefix: str = "console.") -> list[AuditEntry]:
    with service.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.startswith(action_prefix))
                .order_by(AuditEntry.at, AuditEntry.chain, AuditEntry.seq)
            )
        )
