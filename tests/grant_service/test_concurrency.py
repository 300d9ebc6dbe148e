"""The budget cap is exact under concurrency: many kiosks, many workers, one counter.

2,000 distinct certificates reserve at once from 64 client processes over HTTP, against
``grant-service serve --workers 4`` on PostgreSQL, with a cap of 500: exactly 500 MyKey
IDs exist afterwards, and every other reservation was refused as closed.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import func, select

from grant_service import budget
from grant_service.models import CardCertificate, MyKey
from kiosk.devices.sim.test_ca import JpkiTestCa, new_rsa_key
from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.service_client import ServiceClient
from mynapoint.database import make_engine, make_session_factory
from mynapoint.envelope import ReservationPayload, build_envelope
from tests.conftest import run_cli
from tests.grant_service.test_e2e import running_service

pytestmark = pytest.mark.slow


def _submit_all(args: tuple[str, str, str, list[dict]]) -> list[tuple[int, str | None]]:  # type: ignore[type-arg]
    """One client process: its own HTTP connection, the shared device key."""
    url, kiosk_id, key_pem, envelopes = args
    from mynapoint.envelope import parse_envelope

    key = serialization.load_pem_private_key(key_pem.encode(), None)
    client = ServiceClient(url, DeviceIdentity(kiosk_id, key), timeout=300)  # type: ignore[arg-type]
    outcomes = []
    for raw in envelopes:
        envelope = parse_envelope(raw)
        for attempt in range(3):
            try:
                reply = client.submit(envelope)
                break
            except httpx.TransportError:
                # A kept-alive connection the server closed as it was reused (a loaded
                # machine stretches that race): sent again, as a kiosk does; a processed
                # envelope is answered from the service's record.
                if attempt == 2:
                    raise
        outcomes.append((reply.status_code, reply.body.get("reason_code")))
    client.close()
    return outcomes


@pytest.mark.parametrize(
    ("backend", "cap", "people", "clients"),
    [("postgresql", 500, 2000, 64), ("sqlite", 50, 200, 16)],
)
def test_the_budget_cap_is_exact_under_concurrency(
    backend: str,
    cap: int,
    people: int,
    clients: int,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    private_data_home: Path,
) -> None:
    if backend == "postgresql":
        database_url = request.getfixturevalue("postgres").create_database("budget")
    else:
        database_url = f"sqlite:///{tmp_path / 'budget.sqlite3'}"
    ca = JpkiTestCa.create(tmp_path / "ca")
    # Distinct certificates (a person is an issuer + serial), one key to keep it quick.
    key = new_rsa_key()
    certificates = [ca.issue(key).public_bytes(serialization.Encoding.DER) for _ in range(people)]
    env = {
        "GRANT_SERVICE_DATABASE_URL": database_url,
        "GRANT_SERVICE_RESERVATION_CAP": str(cap),
        "GRANT_SERVICE_TRUSTED_CA_FILES": json.dumps([str(ca.directory / "ca-cert.pem")]),
    }
    assert run_cli("grant-service", "migrate", env=env).returncode == 0
    assert (
        run_cli("grant-service", "import-crl", str(ca.directory / "crl.der"), env=env).returncode
        == 0
    )
    kiosk = ("--kiosk-id", "kiosk-load", "--channel", "convenience_store")
    token = run_cli("grant-service", "enrollment-token", *kiosk, env=env).stdout.strip()
    with running_service("--workers", "4", env=env) as (url, _output):
        identity = DeviceIdentity.generate("kiosk-load")
        enrolling = ServiceClient(url, identity)
        assert enrolling.enroll(token).status_code == 200
        enrolling.close()

        def sign(data: bytes) -> bytes:
            return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

        envelopes = [
            build_envelope(
                ReservationPayload(terms_version="2020-07"),
                kiosk_id="kiosk-load",
                sequence=i,
                certificate_der=certificate,
                sign=sign,
            ).to_json()
            for i, certificate in enumerate(certificates)
        ]
        key_pem = identity.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        chunks = [(url, "kiosk-load", key_pem, envelopes[i::clients]) for i in range(clients)]
        with multiprocessing.get_context("fork").Pool(clients) as pool:
            outcomes = [o for chunk in pool.map(_submit_all, chunks) for o in chunk]

        status = ServiceClient(url, identity).status().body
    accepted = [o for o in outcomes if o[0] == 200]
    closed = [o for o in outcomes if o == (422, "RESERVATIONS_CLOSED")]
    assert (len(accepted), len(closed)) == (cap, people - cap), set(outcomes)
    assert status["reservations_open"] is False
    sessions = make_session_factory(make_engine(database_url))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(MyKey)) == cap
        assert session.scalar(select(func.count()).select_from(CardCertificate)) == cap
        assert budget.issued(session) == cap
    sessions.kw["bind"].dispose()
    assert base64  # the envelopes above carry base64 certificates and signatures
