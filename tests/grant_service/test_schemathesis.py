"""Property-based fuzzing of the published OpenAPI spec: no input makes a server error.

Schemathesis generates requests from ``/openapi.json`` (valid and invalid ones); each is
signed as an enrolled kiosk would sign it, so the fuzzing reaches past authentication
into body validation, the envelope checks and the rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from grant_service import credentials
from kiosk.devices.sim.test_ca import JpkiTestCa
from mynapoint.request_signing import sign_request
from tests.support.service_harness import FakeClock, Kiosk, ServiceEnv, service_env

pytestmark = pytest.mark.slow

TOKENS: dict[str, str] = {}
ROLE_OF_PATH = [
    ("/v1/points/", "operator"),
    ("/v1/jlis/", "jlis_feed"),
    ("/v1/mykeys/", "admin"),
    ("/v1/submissions/import", "admin"),
    ("/v1/devices/", "admin"),  # revoke; enroll and renew ignore it
]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceEnv, Kiosk]]:
    workdir = tmp_path_factory.mktemp("fuzz")
    ca = JpkiTestCa.create(workdir / "ca")
    environment = service_env(workdir, f"sqlite:///{workdir / 'fuzz.sqlite3'}", ca, FakeClock())
    service = next(environment)
    with service.sessions.begin() as session:
        for role, service_code in (("admin", None), ("operator", "paypay"), ("jlis_feed", None)):
            TOKENS[role] = credentials.create(
                session,
                service.audit_key,
                role,
                f"fuzz {role}",
                service.clock(),
                service_code=service_code,
            )
    yield service, service.kiosk()
    for _ in environment:
        pass


def test_no_request_makes_a_server_error(fuzzed: tuple[ServiceEnv, Kiosk]) -> None:
    # Hypothesis drives schemathesis' strategies directly: schemathesis' own pytest
    # plugin does not run under pytest 9 (it reads a private attribute pytest removed).
    service, kiosk = fuzzed
    schema = schemathesis.openapi.from_asgi("/openapi.json", service.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def no_server_error(case: schemathesis.Case) -> None:
            statuses.append(check_case(service, kiosk, case))

        no_server_error()
    # The fuzzing really ran, and got past authentication to the checks behind it.
    assert len(statuses) > 10 * len(operations)
    assert {200, 400} <= set(statuses) and statuses.count(401) < len(statuses) / 2


def check_case(service: ServiceEnv, kiosk: Kiosk, case: schemathesis.Case) -> int:
    request = case.as_transport_kwargs(base_url="http://127.0.0.1")
    url = urlsplit(request["url"])
    params = request.get("params") or {}
    path = url.path + (f"?{urlencode(params, doseq=True)}" if params else "")
    if "json" in request:
        body = json.dumps(request["json"]).encode()
    else:
        body = request.get("data") or b""
        body = body.encode() if isinstance(body, str) else body
    headers = {**(request.get("headers") or {}), "Content-Type": "application/json"}
    key, kiosk_id = kiosk.client.identity.key, kiosk.kiosk_id
    headers.update(sign_request(key, kiosk_id, request["method"], path, body, service.clock()))
    role = next((r for prefix, r in ROLE_OF_PATH if url.path.startswith(prefix)), None)
    if role is not None and "authorization" not in {h.lower() for h in headers}:
        headers["Authorization"] = f"Bearer {TOKENS[role]}"
    response = service.http.request(request["method"], path, content=body, headers=headers)
    assert response.status_code < 500, (request["method"], path, response.text[:300])
    if response.status_code >= 400 and response.headers.get("content-type") == "application/json":
        assert "reason_code" in response.json(), response.text[:300]
    return response.status_code


def test_the_spec_is_published(fuzzed: tuple[ServiceEnv, Kiosk], tmp_path: Path) -> None:
    spec = fuzzed[0].http.get("/openapi.json").json()
    assert spec["info"]["title"] == "Mynapoint grant service"
    for path in (
        "/v1/submissions",
        "/v1/submissions/batch",
        "/v1/devices/enroll",
        "/v1/payment-services",
        "/v1/status",
    ):
        assert path in spec["paths"]
    envelope_schemas = {"ReservationEnvelope", "ApplicationEnvelope", "CancellationEnvelope"}
    assert envelope_schemas <= set(spec["components"]["schemas"])
