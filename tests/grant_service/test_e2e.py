"""The service as a new user meets it: ``grant-service serve`` on an empty database, real
HTTP, a kiosk enrolled with a technician's token, a virtual card's reservation and
application with real signatures."""

from __future__ import annotations

import datetime as dt
import ipaddress
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.service_client import InsecureServiceUrl, ServiceClient
from mynapoint import devpaths
from mynapoint.envelope import ApplicationPayload, ReservationPayload, build_envelope, format_time
from tests.conftest import run_cli
from tests.support.kiosk_harness import GrantServiceProcess, free_port, make_card_and_ca, running
from tests.support.service_harness import TestCard

DEMO_PAYPAY_ID, DEMO_CODE = "090-0000-0001", "1234"  # from the packaged operator registry


@contextmanager
def running_service(
    *args: str, env: dict[str, str] | None = None, ca_file: Path | None = None
) -> Iterator[tuple[str, list[str]]]:
    """``grant-service serve`` in a subprocess; yields its URL and, afterwards, its output."""
    output: list[str] = []
    with tempfile.TemporaryDirectory() as directory:
        service = GrantServiceProcess(Path(directory) / "log", *args, env=env, ca_file=ca_file)
        try:
            with running(service):
                yield service.url, output
        finally:
            output.extend(service.output().splitlines())


def enroll(url: str, database_args: list[str], channel: str = "city_hall") -> ServiceClient:
    kiosk = ("--kiosk-id", "kiosk-e2e", "--channel", channel)
    token = run_cli("grant-service", "enrollment-token", *kiosk, *database_args)
    assert token.returncode == 0, token.stderr
    client = ServiceClient(url, DeviceIdentity.generate("kiosk-e2e"))
    reply = client.enroll(token.stdout.strip())
    assert reply.status_code == 200, reply.body
    return client


def reserve_and_apply(client: ServiceClient, card: TestCard) -> tuple[dict, dict]:  # type: ignore[type-arg]
    common = {"kiosk_id": "kiosk-e2e", "certificate_der": card.certificate_der, "sign": card.sign}
    reservation = build_envelope(ReservationPayload(terms_version="2020-07"), sequence=1, **common)
    payload = ApplicationPayload(
        service_code="paypay", payment_id=DEMO_PAYPAY_ID, security_code=DEMO_CODE
    )
    application = build_envelope(payload, sequence=2, **common)
    reserved, applied = client.submit(reservation), client.submit(application)
    assert reserved.status_code == 200, reserved.body
    assert applied.status_code == 200, applied.body
    return reserved.body, applied.body


NEW_EDITION = {"GRANT_SERVICE_APPLICATION_DEADLINE": "2099-12-31"}


def test_serve_on_an_empty_sqlite_file_end_to_end(private_data_home: Path) -> None:
    card = make_card_and_ca()
    database = devpaths.grant_service_dir() / "grant-service.sqlite3"
    assert not database.exists()
    with running_service(env=NEW_EDITION) as (url, output):
        assert database.exists()
        crl = run_cli("grant-service", "import-crl", str(devpaths.test_ca_dir() / "crl.der"))
        assert crl.returncode == 0, crl.stderr
        client = enroll(url, [])
        reserved, applied = reserve_and_apply(client, card)
        assert applied["result"]["mykey_id"] == reserved["result"]["mykey_id"]
        spec = httpx.get(f"{url}/openapi.json").json()
        assert "/v1/submissions/batch" in spec["paths"]
    log = "\n".join(output)
    assert "Grant service on http://127.0.0.1" in log
    for secret in (DEMO_CODE + '"', DEMO_PAYPAY_ID, "09000000001"):
        assert secret not in log
    assert run_cli("grant-service", "audit-verify").returncode == 0


def test_serve_on_postgresql_end_to_end(postgres, private_data_home: Path) -> None:  # type: ignore[no-untyped-def]
    card = make_card_and_ca()
    url_db = postgres.create_database("e2e")
    database_args = ["--database-url", url_db]
    with running_service(*database_args, env=NEW_EDITION) as (url, _output):
        crl = run_cli(
            "grant-service", "import-crl", str(devpaths.test_ca_dir() / "crl.der"), *database_args
        )
        assert crl.returncode == 0, crl.stderr
        reserve_and_apply(enroll(url, database_args), card)


def test_plain_http_is_refused_off_loopback() -> None:
    anywhere = "0.0.0.0"  # noqa: S104 - the point: it must be refused without TLS
    result = run_cli("grant-service", "serve", "--host", anywhere, "--port", str(free_port()))
    assert result.returncode != 0
    assert "TLS" in result.stderr and "Traceback" not in result.stderr


def test_the_kiosk_refuses_plain_http_off_loopback() -> None:
    identity = DeviceIdentity.generate("kiosk-e2e")
    with pytest.raises(InsecureServiceUrl):
        ServiceClient("http://grant.example.jp", identity)
    for url in ("http://127.0.0.1:8700", "http://localhost:8700", "https://grant.example.jp"):
        ServiceClient(url, identity).close()


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "tls-cert.pem", directory / "tls-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_serve_over_tls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    tls = ["--tls-certfile", str(cert), "--tls-keyfile", str(key)]
    with running_service(*tls, ca_file=cert) as (url, _output):
        client = ServiceClient(url, DeviceIdentity.generate("kiosk-e2e"), ca_file=cert)
        assert client.status().status_code == 200
        client.close()
        untrusting = ServiceClient(url, DeviceIdentity.generate("kiosk-e2e"))
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusting.status()
        untrusting.close()


def test_cli_mistakes_are_clear_messages(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.crl"
    garbage.write_bytes(b"not a crl")
    checks = [
        (["import-crl", str(garbage)], "not a CRL"),
        (["enrollment-token", "--kiosk-id", "k", "--channel", "city_hall"], "kiosk id"),
        (["enrollment-token", "--kiosk-id", "kiosk-1", "--channel", "moon"], "moon"),
        (["device-revoke", "kiosk-none"], "no kiosk"),
        (["load-catalog", str(garbage)], "not a valid catalog"),
        (["migrate", "--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/none"], "database"),
    ]
    for args, message in checks:
        result = run_cli("grant-service", *args)
        assert result.returncode != 0, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr, args


def test_cli_technician_commands(private_data_home: Path) -> None:
    loaded = run_cli("grant-service", "load-catalog")
    assert loaded.returncode == 0 and "payment services" in loaded.stdout
    made = run_cli("grant-service", "admin-token", "--label", "field team")
    admin = made.stdout.strip()
    assert made.returncode == 0 and len(admin) >= 40 and "shown this once" in made.stderr
    issued = run_cli(
        "grant-service", "enrollment-token", "--kiosk-id", "kiosk-cli", "--channel", "city_hall"
    )
    assert issued.returncode == 0 and len(issued.stdout.strip()) >= 32
    assert "one-time token for kiosk-cli" in issued.stderr
    with running_service() as (url, _output):
        client = ServiceClient(url, DeviceIdentity.generate("kiosk-cli"))
        assert client.enroll(issued.stdout.strip()).status_code == 200
        revoked = httpx.post(
            f"{url}/v1/devices/kiosk-cli/revoke", headers={"Authorization": f"Bearer {admin}"}
        )
        assert revoked.json() == {"kiosk_id": "kiosk-cli", "status": "revoked"}
        refused = client._signed("POST", "/v1/devices/renew", {"csr_pem": "x"})
        assert (refused.status_code, refused.body["reason_code"]) == (401, "DEVICE_REVOKED")
        client.close()
    listed = run_cli("grant-service", "credential", "list")
    assert "admin      field team: active" in listed.stdout
    assert run_cli("grant-service", "credential", "revoke", "--label", "field team").returncode == 0
    assert "field team: revoked" in run_cli("grant-service", "credential", "list").stdout
    assert run_cli("grant-service", "device-revoke", "kiosk-none").returncode != 0


def test_part_two_end_to_end_as_a_new_user(private_data_home: Path) -> None:
    """Reserve, apply with a wrong code (refused), see it on My Page with its receipt and
    reason, apply, cancel the same day at a city hall, apply to another service; then a
    payment operator's stream grants exactly 25% up to 5,000 yen, and replays change
    nothing."""
    from mynapoint.envelope import CancellationPayload
    from mynapoint.mypage import build_status_query

    card = make_card_and_ca()
    with running_service(env=NEW_EDITION | {"GRANT_SERVICE_POINTS_PERIOD_END": "2099-12-31"}) as (
        url,
        _,
    ):
        run_cli("grant-service", "import-crl", str(devpaths.test_ca_dir() / "crl.der"))
        client = enroll(url, [], "city_hall")
        sequence = iter(range(1, 100))
        common = {
            "kiosk_id": "kiosk-e2e",
            "certificate_der": card.certificate_der,
            "sign": card.sign,
        }

        def send(payload):  # type: ignore[no-untyped-def]
            return client.submit(build_envelope(payload, sequence=next(sequence), **common))

        assert send(ReservationPayload(terms_version="2020-07")).status_code == 200
        wrong = send(
            ApplicationPayload(
                service_code="paypay", payment_id=DEMO_PAYPAY_ID, security_code="9999"
            )
        )
        assert wrong.body["reason_code"] == "MKCZ374E"
        applied = send(
            ApplicationPayload(
                service_code="paypay", payment_id=DEMO_PAYPAY_ID, security_code=DEMO_CODE
            )
        )
        assert applied.status_code == 200

        challenge = client.challenge().body["challenge"]
        page = client.card_status(build_status_query(challenge, **common)).body
        refused = next(
            s for s in page["submissions"] if s["receipt_number"] == wrong.body["receipt_number"]
        )
        assert (refused["state"], refused["reason_code"]) == ("rejected", "MKCZ374E")
        assert "申込が完了できませんでした" in refused["message_ja"]
        assert page["application"]["cancellable_here"] is True

        cancelled = send(
            CancellationPayload(
                application_receipt_number=applied.body["receipt_number"], reason="wrong_entry"
            )
        )
        assert cancelled.status_code == 200, cancelled.body
        waon = send(
            ApplicationPayload(
                service_code="waon", payment_id="6900000000000001", security_code=DEMO_CODE
            )
        )
        assert waon.status_code == 200, waon.body

        operator = ("--role", "operator", "--service", "waon", "--label", "WAON operator")
        token = run_cli("grant-service", "credential", "create", *operator).stdout.strip()
        now = dt.datetime.now(dt.UTC)
        stream = [
            {
                "tx_id": f"w-{i}",
                "service_code": "waon",
                "payment_id": "6900-0000-0000-0001",
                "kind": "charge",
                "amount_yen": 3_333,
                "occurred_at": format_time(now),
            }
            for i in range(8)  # 26,664 yen of charges
        ]
        headers = {"Authorization": f"Bearer {token}"}
        first = httpx.post(
            f"{url}/v1/points/transactions", json={"transactions": stream}, headers=headers
        ).json()
        assert sum(r["points"] for r in first["results"]) == 5_000
        replay = httpx.post(
            f"{url}/v1/points/transactions", json={"transactions": stream}, headers=headers
        ).json()
        assert [r["points"] for r in replay["results"]] == [r["points"] for r in first["results"]]
        challenge = client.challenge().body["challenge"]
        page = client.card_status(build_status_query(challenge, **common)).body
        assert page["points"] == {"counted_yen": 20_000, "points": 5_000}
        assert page["application"]["service_code"] == "waon"
        client.close()
    report = run_cli("grant-service", "report")
    assert "Points granted: 5,000 yen to 1 person" in report.stdout
