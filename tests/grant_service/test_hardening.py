"""Faults that must be a clear 4xx problem, never a 500: values the canonical JSON cannot
hold, absurd times, malformed export files, characters the database cannot store, echoed
input without bound; and a spent My Page challenge, private data files, and a write lock
that junk traffic cannot take."""

from __future__ import annotations

import base64
import json
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import event
from sqlalchemy.exc import DataError, StatementError

from grant_service.api import create_app
from grant_service.settings import Settings
from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.service_client import ServiceClient
from mynapoint.envelope import (
    ApplicationPayload,
    ReservationPayload,
    build_envelope,
    parse_envelope,
)
from mynapoint.mypage import build_status_query
from mynapoint.queue_export import seal_content, seal_export
from mynapoint.request_signing import sign_request
from tests.conftest import run_cli
from tests.support.service_harness import Kiosk, ServiceEnv, TestCard

MALFORMED = (400, "MALFORMED")


def problem(reply: httpx.Response) -> tuple[int, str]:
    return reply.status_code, reply.json().get("reason_code")


def signed_by_card(body: dict[str, Any], card: TestCard) -> dict[str, Any]:
    """``body`` (an envelope's JSON, changed at will) signed by the card: the service sees
    a genuine envelope, so only its own checks can refuse it."""
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    signature = card.sign(rfc8785.dumps(unsigned))
    return {**unsigned, "signature": base64.b64encode(signature).decode()}


# --- 1. What RFC 8785 cannot canonicalise is refused at validation -----------------------


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("sequence",), 2**53),  # RFC 8785: integers beyond 2**53 - 1 are not exact in JSON
        (("payload", "terms_version"), "2020-\ud800"),  # a lone surrogate is no UTF-8
        (("payload", "payment_id"), "\udfff090"),
        (("payload", "security_code"), "12\ud83d"),
    ],
)
def test_what_rfc8785_cannot_canonicalise_is_refused_at_validation(
    where: tuple[str, ...], value: object
) -> None:
    payload = ApplicationPayload(service_code="paypay", payment_id="090", security_code="1234")
    envelope = build_envelope(
        payload,
        kiosk_id="kiosk-0001",
        sequence=1,
        certificate_der=b"cert",
        sign=lambda _data: b"signature",
    ).to_json()
    target = envelope
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    with pytest.raises(ValidationError):
        parse_envelope(envelope)


def test_the_largest_json_safe_sequence_is_accepted() -> None:
    envelope = build_envelope(
        ReservationPayload(terms_version="2020-07"),
        kiosk_id="kiosk-0001",
        sequence=2**53 - 1,
        certificate_der=b"cert",
        sign=lambda _data: b"signature",
    )
    assert parse_envelope(envelope.to_json()).sequence == 2**53 - 1


def test_an_item_the_canonical_json_cannot_hold_is_malformed_and_the_others_are_accepted(
    service: ServiceEnv,
) -> None:
    kiosk, card = service.kiosk(), service.card()
    too_big = {**kiosk.reservation(service.card()).to_json(), "sequence": 2**53}
    lone_surrogate = kiosk.reservation(service.card()).to_json()
    lone_surrogate["payload"] = {"terms_version": "2020-\ud800"}
    good = kiosk.reservation(card)
    reply = kiosk.client.submit_batch([too_big, lone_surrogate, good])
    assert reply.status_code == 200, reply.body
    bad_results, good_result = reply.body["results"][:2], reply.body["results"][2]
    for result in bad_results:
        assert (result["http_status"], result["reason_code"]) == MALFORMED, result
    assert "sequence" in bad_results[0]["detail"]
    assert good_result["status"] == "accepted" and good_result["uuid"] == good.uuid


def test_a_lone_envelope_with_an_unsafe_sequence_is_malformed(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    body = {**kiosk.reservation(service.card()).to_json(), "sequence": 2**53}
    reply = kiosk.client._signed("POST", "/v1/submissions", body)
    assert (reply.status_code, reply.body["reason_code"]) == MALFORMED


# --- 2. Times outside 2000-2999 are refused at validation ---------------------------------


@pytest.mark.parametrize("kiosk_time", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_a_kiosk_time_outside_the_years_2000_to_2999_is_malformed(
    service: ServiceEnv, kiosk_time: str
) -> None:
    kiosk, card = service.kiosk(), service.card()
    genuine = signed_by_card({**kiosk.reservation(card).to_json(), "kiosk_time": kiosk_time}, card)
    good = kiosk.reservation(service.card())
    results = kiosk.client.submit_batch([genuine, good]).body["results"]
    assert (results[0]["http_status"], results[0]["reason_code"]) == MALFORMED, results[0]
    assert "2000" in results[0]["detail"] and "2999" in results[0]["detail"]
    assert results[1]["status"] == "accepted"
    alone = kiosk.client._signed("POST", "/v1/submissions", genuine)
    assert (alone.status_code, alone.body["reason_code"]) == MALFORMED


def point_transaction(service: ServiceEnv, occurred_at: str) -> httpx.Response:
    operator = service.as_role(service.credential("operator", "paypay"))
    transaction = {
        "tx_id": "tx-time",
        "service_code": "paypay",
        "payment_id": "090-0000-0001",
        "kind": "charge",
        "amount_yen": 1000,
        "occurred_at": occurred_at,
    }
    return service.http.post(
        "/v1/points/transactions", json={"transactions": [transaction]}, headers=operator
    )


def test_a_point_transaction_in_the_year_9999_is_malformed(service: ServiceEnv) -> None:
    assert problem(point_transaction(service, "9999-12-31T23:59:59Z")) == MALFORMED


def test_a_point_transaction_on_a_day_that_does_not_exist_is_malformed(
    service: ServiceEnv,
) -> None:
    # Needs points.TransactionIn.occurred_at to be envelope.TimeText (the pattern alone
    # lets 2026-02-30 through).
    assert problem(point_transaction(service, "2026-02-30T10:00:00Z")) == MALFORMED


# --- 3. The queue import: every malformed content is EXPORT_INVALID; the batch limit ----


def sealed(kiosk: Kiosk, content: bytes, item_count: int) -> dict[str, Any]:
    export = seal_content(
        content,
        item_count=item_count,
        kiosk_id=kiosk.kiosk_id,
        device_key=kiosk.client.identity.key,
        import_public_key=kiosk.client.identity.import_public_key,
        now=kiosk.clock(),
    )
    return export.model_dump()


def import_(service: ServiceEnv, export: dict[str, Any]) -> httpx.Response:
    headers = service.as_role(service.credential("admin"))
    return service.http.post("/v1/submissions/import", json=export, headers=headers)


def test_an_export_whose_sealed_content_is_not_an_object_with_items_is_export_invalid(
    service: ServiceEnv,
) -> None:
    kiosk = service.kiosk()
    contents = {
        "a JSON list": b"[]",
        "not JSON": b"this is not JSON",
        "not UTF-8": b'{"items": ["\xff\xfe"]}',
        "items not a list": b'{"items": {"0": {}}}',
        "nested beyond reason": b"[" * 100_000 + b"]" * 100_000,
        "a JSON string": b'"items"',
        "NaN": b'{"items": NaN}',
    }
    for what, content in contents.items():
        reply = import_(service, sealed(kiosk, content, item_count=0))
        assert (reply.status_code, reply.json()["reason_code"]) == (422, "EXPORT_INVALID"), what


def test_an_import_of_more_items_than_max_batch_items_is_413(
    make_service: Callable[..., ServiceEnv],
) -> None:
    service = make_service(max_batch_items=2)
    kiosk = service.kiosk()
    envelopes = [kiosk.reservation(service.card()).to_json() for _ in range(3)]
    export = seal_export(
        envelopes,
        kiosk_id=kiosk.kiosk_id,
        device_key=kiosk.client.identity.key,
        import_public_key=kiosk.client.identity.import_public_key,
        now=kiosk.clock(),
    ).model_dump()
    reply = import_(service, export)
    assert (reply.status_code, reply.json()["reason_code"]) == (413, "BATCH_TOO_LARGE")


# --- 4. Characters the database cannot store: 4xx on both databases -----------------------


def test_nul_in_admin_inputs_is_malformed(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    mykey_id = kiosk.reserve(service.card()).body["result"]["mykey_id"]
    admin = service.as_role(service.credential("admin"))
    requests = {
        "suspend reason": (f"/v1/mykeys/{mykey_id}/suspend", {"reason": "leaked\x00"}),
        "suspended MyKey ID": ("/v1/mykeys/K7QM%003XPA/suspend", {"reason": "leaked"}),
        "reinstated MyKey ID": ("/v1/mykeys/K7QM%003XPA/reinstate", None),
        "revoked kiosk id": ("/v1/devices/kiosk%000001/revoke", None),
    }
    for what, (path, body) in requests.items():
        assert problem(service.http.post(path, json=body, headers=admin)) == MALFORMED, what
    still = service.http.post(f"/v1/mykeys/{mykey_id}/reinstate", headers=admin)
    assert still.status_code == 404, "nothing was suspended"


def test_a_bad_jlis_entry_gets_its_own_error_and_the_feed_goes_on(service: ServiceEnv) -> None:
    kiosk, lost, renewed = service.kiosk(), service.card(), service.card()
    mykey_id = kiosk.reserve(lost).body["result"]["mykey_id"]
    good = {
        "old_issuer": lost.certificate.issuer.rfc4514_string(),
        "old_serial_hex": lost.serial_hex,
        "new_certificate": base64.b64encode(renewed.certificate_der).decode(),
    }
    nul = {**good, "old_issuer": "CN=J-LIS\x00"}
    not_an_entry = {"old_serial_hex": "AB"}
    token = service.as_role(service.credential("jlis_feed"))
    reply = service.http.post(
        "/v1/jlis/reissues", json={"entries": [nul, not_an_entry, good]}, headers=token
    )
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert [r["outcome"] for r in results] == ["error", "error", "linked"]
    assert [r.get("reason_code") for r in results[:2]] == ["MALFORMED", "MALFORMED"]
    assert results[2]["mykey_id"] == mykey_id


def test_a_database_data_error_is_a_malformed_problem(service: ServiceEnv) -> None:
    """The last line of defence, whatever input slipped past validation."""

    def data_error() -> None:
        raise DataError("INSERT ...", {}, ValueError("text cannot contain NUL (0x00) bytes"))

    def wrapped() -> None:
        raise StatementError("bind failed", "INSERT ...", {}, data_error_of_the_driver())

    service.app.add_api_route("/test/data-error", data_error, methods=["POST"])
    service.app.add_api_route("/test/wrapped-data-error", wrapped, methods=["POST"])
    for path in ("/test/data-error", "/test/wrapped-data-error"):
        reply = service.http.post(path)
        assert problem(reply) == MALFORMED, path
        assert "NUL" not in reply.text, "the driver's message stays in the log"


def data_error_of_the_driver() -> Exception:
    import psycopg

    return psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_nul_in_a_postgresql_query_is_a_malformed_problem(service: ServiceEnv) -> None:
    from sqlalchemy import literal, select

    def query() -> None:
        with service.app.state.service.sessions.begin() as session:
            session.scalar(select(literal("a\x00b")))

    service.app.add_api_route("/test/nul-query", query, methods=["POST"])
    assert problem(service.http.post("/test/nul-query")) == MALFORMED


# --- 5. Caller input echoed in a detail is bounded -----------------------------------------


def test_a_kiosk_id_header_that_is_no_kiosk_id_is_refused_without_echoing_it(
    service: ServiceEnv,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    for kiosk_id in ("k" * 100_000, "kiosk 0001", "kiosk-0001\x7f"):
        headers = sign_request(key, kiosk_id, "POST", "/v1/challenge", b"{}", service.clock())
        reply = service.http.post("/v1/challenge", content=b"{}", headers=headers)
        assert problem(reply) == (401, "REQUEST_SIGNATURE_INVALID"), kiosk_id[:20]
        assert kiosk_id not in reply.json()["detail"] and len(reply.text) < 1000


def test_an_unknown_but_well_formed_kiosk_id_is_echoed_in_full(service: ServiceEnv) -> None:
    stranger = ServiceClient(
        "http://127.0.0.1",
        DeviceIdentity.generate("kiosk-" + "9" * 58),
        http=service.http,
        clock=service.clock,
    )
    reply = stranger.challenge()
    assert (reply.status_code, reply.body["reason_code"]) == (401, "DEVICE_UNKNOWN")
    assert reply.body["detail"] == "kiosk-" + "9" * 58


def test_a_validation_detail_never_echoes_a_long_field_name(service: ServiceEnv) -> None:
    admin = service.as_role(service.credential("admin"))
    name = "x" * 100_000
    reply = service.http.post(
        "/v1/mykeys/K7QM3XPA/suspend", json={"reason": "r", name: 1}, headers=admin
    )
    assert problem(reply) == MALFORMED
    assert len(reply.json()["detail"]) < 1000


def test_a_revoked_kiosk_id_that_cannot_exist_is_not_echoed(service: ServiceEnv) -> None:
    admin = service.as_role(service.credential("admin"))
    reply = service.http.post(f"/v1/devices/{'k' * 5000}/revoke", headers=admin)
    assert reply.status_code in (400, 404)
    assert len(reply.text) < 1000


# --- 6. A failed card signature spends the My Page challenge -------------------------------


def test_a_challenge_is_spent_by_a_failed_card_signature(service: ServiceEnv) -> None:
    kiosk, holder, other = service.kiosk(), service.card(), service.card()
    challenge = kiosk.client.challenge().body["challenge"]
    forged = build_status_query(
        challenge, kiosk_id=kiosk.kiosk_id, certificate_der=holder.certificate_der, sign=other.sign
    )
    assert kiosk.client.card_status(forged).body["reason_code"] == "SIGNATURE_INVALID"
    genuine = build_status_query(
        challenge,
        kiosk_id=kiosk.kiosk_id,
        certificate_der=holder.certificate_der,
        sign=holder.sign,
    )
    again = kiosk.client.card_status(genuine)
    assert (again.status_code, again.body["reason_code"]) == (422, "CHALLENGE_INVALID")
    assert kiosk.my_page(holder).status_code == 200, "a fresh challenge works"


# --- 7. The data directory is 0700 and the SQLite files 0600 from their creation ------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_is_0700_and_the_database_files_0600(private_data_home: Path) -> None:
    data_dir = private_data_home / "mynapoint-grant-service"
    migrated = run_cli("grant-service", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    database = data_dir / "grant-service.sqlite3"
    assert (mode(data_dir), mode(database)) == (0o700, 0o600)
    with TestClient(create_app(Settings()), base_url="http://127.0.0.1") as http:
        assert http.get("/v1/status").status_code == 200
        for suffix in ("-wal", "-shm"):
            assert mode(database.with_name(database.name + suffix)) == 0o600, suffix


# --- 8. A request's device signature is checked before it takes the write lock -------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_junk_requests_are_refused_while_another_writer_holds_the_lock(
    service: ServiceEnv,
) -> None:
    """Unauthenticated traffic never queues for SQLite's write lock: a bad signature or an
    unknown kiosk is refused at once, while a genuine request waits for the lock."""
    kiosk = service.kiosk()
    impostor = ServiceClient(
        "http://127.0.0.1",
        DeviceIdentity.generate(kiosk.kiosk_id),
        http=service.http,
        clock=service.clock,
    )
    stranger = ServiceClient(
        "http://127.0.0.1",
        DeviceIdentity.generate("kiosk-9999"),
        http=service.http,
        clock=service.clock,
    )
    holder = sqlite3.connect(
        service.settings.database_url.removeprefix("sqlite:///"), isolation_level=None
    )
    holder.execute("BEGIN IMMEDIATE")
    genuine: dict[str, Any] = {}
    try:
        for client, expected in (
            (impostor, "REQUEST_SIGNATURE_INVALID"),
            (stranger, "DEVICE_UNKNOWN"),
        ):
            started = time.monotonic()
            reply = within(2.0, client.challenge)
            assert reply is not None, f"{expected}: still waiting for the write lock after 2 s"
            assert (reply.status_code, reply.body["reason_code"]) == (401, expected)
            assert time.monotonic() - started < 2.0
        waiting = threading.Thread(target=lambda: genuine.update(reply=kiosk.client.challenge()))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive(), "the genuine request waits for the lock"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    waiting.join(10)
    assert genuine["reply"].status_code == 200, genuine["reply"].body


def within(seconds: float, call: Callable[[], Any]) -> Any:
    """``call()``'s result, or None if it took longer than ``seconds`` (it runs on)."""
    answer: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: answer.update(value=call()), daemon=True)
    worker.start()
    worker.join(seconds)
    return answer.get("value")


def test_a_genuine_request_still_records_its_nonce(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    body = json.dumps({}).encode()
    headers = sign_request(
        kiosk.client.identity.key, kiosk.kiosk_id, "POST", "/v1/challenge", body, service.clock()
    )
    first = service.http.post("/v1/challenge", content=body, headers=headers)
    again = service.http.post("/v1/challenge", content=body, headers=headers)
    assert first.status_code == 200
    assert problem(again) == (401, "REQUEST_REPLAYED")


def test_old_nonces_are_swept_now_and_then_not_on_every_request(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    engine = service.app.state.service.engine
    sweeps: list[str] = []

    def seen(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM REQUEST_NONCES"):
            sweeps.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        for _ in range(3):
            assert kiosk.client.challenge().status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(sweeps) == 1
