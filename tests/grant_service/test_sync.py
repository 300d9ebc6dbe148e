"""The sync API: idempotency, batches in kiosk order, device authentication, enrollment."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from grant_service.models import AuditEntry, Submission
from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.service_client import ServiceClient
from mynapoint.envelope import Envelope
from mynapoint.request_signing import sign_request
from tests.support.service_harness import MY_SECRET_IDS, ServiceEnv, TestCard


def reason(reply: object) -> str:
    return reply.body.get("reason_code")  # type: ignore[attr-defined]


# --- Idempotency ------------------------------------------------------------------------


def test_a_replay_returns_the_first_result(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    envelope = kiosk.reservation(card)
    first = kiosk.client.submit(envelope)
    replay = kiosk.client.submit(envelope)
    assert replay.status_code == first.status_code == 200
    assert replay.body == {**first.body, "replayed": True}
    # The audit log tells the two apart, once each, under the envelope's kind.
    with service.sessions() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject == envelope.uuid)
        ).all()
    assert sorted(actions) == ["submission.reservation", "submission.reservation.replay"]


def test_the_same_uuid_with_another_envelope_is_422(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    kiosk.reserve(card)
    first = kiosk.application(card)
    kiosk.client.submit(first)
    # Same UUID, other content, validly signed: a kiosk bug or an attack, never a replay.
    other = resign(kiosk.application(card, "waon", MY_SECRET_IDS["waon"][0]), card, uuid=first.uuid)
    refused = kiosk.client.submit(other)
    assert (refused.status_code, reason(refused)) == (422, "IDEMPOTENCY_KEY_REUSED")


def resign(envelope: Envelope, card: TestCard, **changes: object) -> Envelope:
    """The envelope with ``changes``, signed again by the card."""
    unsigned = envelope.model_copy(update={**changes, "signature": ""})
    signature = base64.b64encode(card.sign(unsigned.signed_bytes())).decode()
    return unsigned.model_copy(update={"signature": signature})


def test_a_uuid_in_flight_is_409_until_its_lease_expires(service: ServiceEnv) -> None:
    """A worker that claimed an envelope and died: others get 409, then take it over."""
    kiosk, card = service.kiosk(), service.card()
    envelope = kiosk.reservation(card)
    processor = service.app.state.service.processor
    identity = processor.trust.authenticate(envelope, service.clock(), dt.timedelta(minutes=5))
    from grant_service.submissions import _Candidate

    fingerprint = processor._fingerprint(envelope, envelope.signed_bytes())
    candidate = _Candidate(0, envelope, identity, fingerprint)
    with service.sessions.begin() as session:  # the claim commits; the worker then "dies"
        claimed = processor._claim(session, [candidate], [None], service.clock(), "dead-worker")
    assert claimed == [candidate]
    busy = kiosk.client.submit(envelope)
    assert (busy.status_code, reason(busy)) == (409, "IN_FLIGHT")
    service.clock.advance(seconds=61)  # in_flight_lease_seconds is 60
    assert kiosk.client.submit(envelope).status_code == 200


# --- Batches ----------------------------------------------------------------------------


def test_a_batch_answers_each_item_in_the_order_sent(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    a, b = service.card(), service.card()
    envelopes = [kiosk.reservation(a), kiosk.reservation(b), kiosk.application(b, "paypay", "bad")]
    reply = kiosk.client.submit_batch(envelopes)
    assert reply.status_code == 200
    results = reply.body["results"]
    assert [r["uuid"] for r in results] == [e.uuid for e in envelopes]
    assert [r["status"] for r in results] == ["accepted", "accepted", "rejected"]
    assert results[2]["reason_code"] == "MKCZ374E"


def test_a_malformed_item_does_not_hold_back_the_others(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    good = kiosk.reservation(card).to_json()
    broken = {**kiosk.reservation(service.card()).to_json(), "certificate": "%%%"}
    reply = kiosk.client._signed("POST", "/v1/submissions/batch", {"items": [broken, good]})
    statuses = [(r["status"], r.get("reason_code")) for r in reply.body["results"]]
    assert statuses == [("error", "MALFORMED"), ("accepted", None)]
    assert "%%%" not in json.dumps(reply.body), "input values are never echoed"


def test_items_of_one_card_apply_in_kiosk_order_inside_a_batch(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    reservation = kiosk.reservation(card)  # sequence n
    application = kiosk.application(card)  # sequence n + 1
    reply = kiosk.client.submit_batch([application, reservation])  # sent out of order
    assert [r["status"] for r in reply.body["results"]] == ["accepted", "accepted"]


def test_a_pending_item_holds_back_the_later_items_of_its_card_only(
    make_service: Callable[..., ServiceEnv],
) -> None:
    service = make_service(operators_unavailable=["paypay"])
    kiosk, card, other = service.kiosk(), service.card(), service.card()
    items = [
        kiosk.reservation(card),
        kiosk.application(card),  # the operator cannot answer: pending
        kiosk.reservation(card),  # a later item of the same card: waits
        kiosk.reservation(other),  # another card: goes on
    ]
    results = kiosk.client.submit_batch(items).body["results"]
    assert [(r["status"], r.get("reason_code")) for r in results] == [
        ("accepted", None),
        ("pending", "OPERATOR_UNAVAILABLE"),
        ("pending", "BLOCKED_BY_EARLIER_ITEM"),
        ("accepted", None),
    ]
    with service.sessions() as session:
        kept = dict(session.execute(select(Submission.uuid, Submission.state)).all())
    # Pending items are given back (no result kept): the kiosk's retry takes them over.
    assert kept == {
        items[0].uuid: "done",
        items[1].uuid: "pending",
        items[2].uuid: "pending",
        items[3].uuid: "done",
    }


def test_a_batch_too_large_is_413(make_service: Callable[..., ServiceEnv]) -> None:
    service = make_service(max_batch_items=2)
    kiosk = service.kiosk()
    envelopes = [kiosk.reservation(service.card()) for _ in range(3)]
    reply = kiosk.client.submit_batch(envelopes)
    assert (reply.status_code, reason(reply)) == (413, "BATCH_TOO_LARGE")


def test_a_body_too_large_is_413(make_service: Callable[..., ServiceEnv]) -> None:
    service = make_service(max_body_bytes=10_000)
    kiosk = service.kiosk()
    reply = kiosk.client.submit_batch([kiosk.reservation(service.card()) for _ in range(5)])
    assert (reply.status_code, reason(reply)) == (413, "BODY_TOO_LARGE")


# --- Device authentication ----------------------------------------------------------------


def test_an_unknown_device_gets_401(service: ServiceEnv) -> None:
    stranger = new_client(service, "kiosk-9999")
    reply = stranger.status()  # public
    assert reply.status_code == 200
    kiosk = service.kiosk()
    envelope = kiosk.reservation(service.card())
    envelope = envelope.model_copy(update={"kiosk_id": "kiosk-9999"})
    denied = stranger.submit(envelope)
    assert (denied.status_code, reason(denied)) == (401, "DEVICE_UNKNOWN")


def test_a_device_key_it_was_not_certified_for_gets_401(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    impostor = new_client(service, kiosk.kiosk_id)
    denied = impostor.submit(kiosk.reservation(service.card()))
    assert (denied.status_code, reason(denied)) == (401, "REQUEST_SIGNATURE_INVALID")


def test_a_replayed_request_gets_401(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    body = json.dumps(kiosk.reservation(service.card()).to_json()).encode()
    headers = sign_request(
        kiosk.client.identity.key, kiosk.kiosk_id, "POST", "/v1/submissions", body, service.clock()
    )
    headers["Content-Type"] = "application/json"
    first = service.http.post("/v1/submissions", content=body, headers=headers)
    again = service.http.post("/v1/submissions", content=body, headers=headers)
    assert first.status_code == 200
    assert (again.status_code, again.json()["reason_code"]) == (401, "REQUEST_REPLAYED")


def test_a_request_moved_to_another_path_or_body_gets_401(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    body = json.dumps(kiosk.reservation(service.card()).to_json()).encode()
    headers = sign_request(
        kiosk.client.identity.key, kiosk.kiosk_id, "POST", "/v1/submissions", body, service.clock()
    )
    headers["Content-Type"] = "application/json"
    moved = service.http.post("/v1/devices/renew", content=b'{"csr_pem": "x"}', headers=headers)
    assert moved.json()["reason_code"] == "REQUEST_SIGNATURE_INVALID"


def test_a_kiosk_clock_off_by_more_than_the_skew_gets_401(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    envelope = kiosk.reservation(service.card())
    kiosk.client.clock = lambda: service.clock() - dt.timedelta(minutes=6)
    denied = kiosk.client.submit(envelope)
    assert denied.status_code == 401 and "clock" in denied.body["detail"]


def test_missing_signature_headers_get_401(service: ServiceEnv) -> None:
    reply = service.http.post("/v1/submissions/batch", json={"items": [{}]})
    assert (reply.status_code, reply.json()["reason_code"]) == (401, "REQUEST_SIGNATURE_INVALID")


# --- Enrollment, renewal, revocation -------------------------------------------------------


def _token(service: ServiceEnv, kiosk_id: str, channel: str = "city_hall", hours: float = 1) -> str:
    from grant_service import devices

    with service.sessions.begin() as session:
        return devices.create_enrollment_token(
            session,
            service.audit_key,
            kiosk_id,
            channel,
            dt.timedelta(hours=hours),
            service.clock(),
        )


def new_client(service: ServiceEnv, kiosk_id: str) -> ServiceClient:
    identity = DeviceIdentity.generate(kiosk_id)
    return ServiceClient("http://127.0.0.1", identity, http=service.http, clock=service.clock)


def test_an_enrollment_token_works_once(service: ServiceEnv) -> None:
    token = _token(service, "kiosk-0100")
    first = ServiceClient(
        "http://127.0.0.1", DeviceIdentity.generate("kiosk-0100"), http=service.http
    )
    assert first.enroll(token).status_code == 200
    second = ServiceClient(
        "http://127.0.0.1", DeviceIdentity.generate("kiosk-0100"), http=service.http
    )
    denied = second.enroll(token)
    assert (denied.status_code, reason(denied)) == (401, "ENROLLMENT_TOKEN_INVALID")


def test_an_expired_enrollment_token_is_refused(service: ServiceEnv) -> None:
    token = _token(service, "kiosk-0101", hours=1)
    service.clock.advance(hours=2)
    client = ServiceClient(
        "http://127.0.0.1", DeviceIdentity.generate("kiosk-0101"), http=service.http
    )
    assert reason(client.enroll(token)) == "ENROLLMENT_TOKEN_INVALID"


def test_a_bad_csr_is_400(service: ServiceEnv) -> None:
    reply = service.http.post(
        "/v1/devices/enroll", json={"token": _token(service, "kiosk-0102"), "csr_pem": "nonsense"}
    )
    assert (reply.status_code, reply.json()["reason_code"]) == (400, "CSR_INVALID")


def test_the_channel_comes_from_the_enrollment_never_from_the_kiosk(service: ServiceEnv) -> None:
    kiosk = service.kiosk("convenience_store", kiosk_id="kiosk-0103")
    # Requests carry no channel at all; the certificate names the token's channel.
    certificate = x509.load_pem_x509_certificate(kiosk.client.identity.certificate_pem.encode())
    unit = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    assert unit[0].value == "convenience_store"
    card = service.card()
    kiosk.reserve(card)
    refused = kiosk.apply(
        card, "fictional_konbini_ng_pay", MY_SECRET_IDS["fictional_konbini_ng_pay"][0]
    )
    assert reason(refused) == "SERVICE_NOT_AT_CONVENIENCE_STORE"


def test_renewal_replaces_the_key(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    old_key = kiosk.client.identity.key
    renewed = kiosk.client.renew()
    assert renewed.status_code == 200, renewed.body
    assert kiosk.reserve(service.card()).status_code == 200  # the new key works
    stale = ServiceClient(
        "http://127.0.0.1",
        DeviceIdentity(kiosk.kiosk_id, old_key),
        http=service.http,
        clock=service.clock,
    )
    assert reason(stale.submit(kiosk.reservation(service.card()))) == "REQUEST_SIGNATURE_INVALID"


def test_revocation_needs_the_admin_token_and_locks_the_kiosk_out(
    make_service: Callable[..., ServiceEnv],
) -> None:
    token = "technician-secret-token"
    service = make_service(admin_token_sha256=hashlib.sha256(token.encode()).hexdigest())
    kiosk = service.kiosk()
    denied = service.http.post(f"/v1/devices/{kiosk.kiosk_id}/revoke")
    assert (denied.status_code, denied.json()["reason_code"]) == (401, "CREDENTIAL_INVALID")
    wrong = service.http.post(
        f"/v1/devices/{kiosk.kiosk_id}/revoke", headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    done = service.http.post(
        f"/v1/devices/{kiosk.kiosk_id}/revoke", headers={"Authorization": f"Bearer {token}"}
    )
    assert done.json() == {"kiosk_id": kiosk.kiosk_id, "status": "revoked"}
    refused = kiosk.reserve(service.card())
    assert (refused.status_code, reason(refused)) == (401, "DEVICE_REVOKED")


# --- Catalog and status --------------------------------------------------------------------


def test_the_catalog_is_served_with_an_etag(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    first = kiosk.client.payment_services()
    assert first.status_code == 200
    codes = {s["code"] for s in first.body["services"]}
    assert {"paypay", "suica", "rakuten_pay", "fictional_future_pay"} <= codes
    rakuten = next(s for s in first.body["services"] if s["code"] == "rakuten_pay")
    assert rakuten["app_only"] is True
    etag = first.headers["ETag"]
    assert kiosk.client.payment_services(etag).status_code == 304


def test_the_catalog_loads_and_publishes_which_services_take_card_credentials(
    service: ServiceEnv,
) -> None:
    """The flag goes from the catalog file to its column, to what kiosks download, to the
    kiosk's own catalog, which then offers none of those services."""
    from grant_service.models import PaymentService
    from kiosk.catalog.queries import Catalog
    from kiosk.catalog.store import Freshness, Source
    from mynapoint.availability import Unavailable

    with service.sessions() as session:
        stored = {s.code: s.card_credentials for s in session.scalars(select(PaymentService))}
    flagged = {code for code, flag in stored.items() if flag}
    assert flagged == {"rakuten_card", "d_card", "aeon_card"}
    published = service.kiosk().client.payment_services().body
    assert {s["code"]: s["card_credentials"] for s in published["services"]} == stored
    catalog = Catalog.from_document(published, Freshness(Source.FRESH, "test"))
    assert {s.code for s in catalog.services if s.card_credentials} == flagged
    for code in ("d_card", "aeon_card"):  # refused for the card's number and code alone
        availability = catalog.availability(code, "city_hall", service.clock().date())
        assert availability.reason is Unavailable.CARD_CREDENTIALS, code


def test_a_new_catalog_changes_the_etag(service: ServiceEnv) -> None:
    from grant_service.catalog import CatalogData, store_catalog
    from mynapoint.packaged_catalog import PACKAGED_CATALOG

    kiosk = service.kiosk()
    etag = kiosk.client.payment_services().headers["ETag"]
    data = CatalogData.from_file(PACKAGED_CATALOG)
    data.services = [s for s in data.services if s.code != "waon"]
    data.version = "test-edition"
    with service.sessions.begin() as session:
        store_catalog(session, service.audit_key, data, service.clock())
    fresh = kiosk.client.payment_services(etag)
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    assert "waon" not in {s["code"] for s in fresh.body["services"]}


def test_a_chunked_body_over_the_limit_is_cut_off(make_service: Callable[..., ServiceEnv]) -> None:
    """No Content-Length to check: the limit counts the bytes as they arrive."""
    service = make_service(max_body_bytes=10_000)

    def stream() -> Iterator[bytes]:
        yield b'{"items": ['
        for _ in range(100):
            yield b'{"padding": "' + b"x" * 500 + b'"},'
        yield b"{}]}"

    reply = service.http.post("/v1/submissions/batch", content=stream())
    assert (reply.status_code, reply.json()["reason_code"]) == (413, "BODY_TOO_LARGE")


def test_malformed_json_and_wrong_types_are_400_with_a_reason(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    for body in (b"{not json", b"[]", b'{"uuid": 5}', b'"text"'):
        headers = sign_request(
            kiosk.client.identity.key,
            kiosk.kiosk_id,
            "POST",
            "/v1/submissions",
            body,
            service.clock(),
        )
        headers["Content-Type"] = "application/json"
        reply = service.http.post("/v1/submissions", content=body, headers=headers)
        assert (reply.status_code, reply.json()["reason_code"]) == (400, "MALFORMED"), body
