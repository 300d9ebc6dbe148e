"""Every envelope's checks (pki.py), each with its own reason, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from grant_service import pki
from grant_service.models import Submission
from kiosk.devices.sim.test_ca import JpkiTestCa, Validity
from kiosk.devices.sim.virtual_card import issue_card
from mynapoint import card_validity
from mynapoint.envelope import ApplicationPayload
from tests.support.service_harness import ServiceEnv, TestCard, jlis_entry


def reason(reply: object) -> str:
    return reply.body.get("reason_code")  # type: ignore[attr-defined]


def stored(service: ServiceEnv, uuid: str) -> Submission | None:
    with service.sessions() as session:
        return session.get(Submission, uuid)


def test_a_card_from_another_ca_is_refused_and_nothing_is_kept(
    service: ServiceEnv, tmp_path: Path
) -> None:
    foreign_ca = JpkiTestCa.create(tmp_path / "foreign-ca")  # same names, other key
    issue_card(foreign_ca, tmp_path / "foreign.json", pin="4827")
    kiosk = service.kiosk()
    envelope = kiosk.reservation(TestCard(tmp_path / "foreign.json"))
    refused = kiosk.client.submit(envelope)
    assert (refused.status_code, reason(refused)) == (422, "CERT_UNTRUSTED")
    assert stored(service, envelope.uuid) is None


def test_a_tampered_payload_breaks_the_signature(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    kiosk.reserve(card)
    envelope = kiosk.application(card)
    other = ApplicationPayload(
        service_code="waon", payment_id="6977665544332211", security_code="7QX4ZK"
    )
    tampered = envelope.model_copy(update={"payload": other})
    refused = kiosk.client.submit(tampered)
    assert (refused.status_code, reason(refused)) == (422, "SIGNATURE_INVALID")
    assert stored(service, envelope.uuid) is None
    assert kiosk.client.submit(envelope).status_code == 200  # the genuine one still goes


def test_a_signature_by_another_card_is_refused(service: ServiceEnv) -> None:
    kiosk, holder, other = service.kiosk(), service.card(), service.card()
    envelope = kiosk.reservation(holder)
    forged = envelope.model_copy(
        update={"signature": base64.b64encode(other.sign(envelope.signed_bytes())).decode()}
    )
    assert reason(kiosk.client.submit(forged)) == "SIGNATURE_INVALID"


def test_an_expired_certificate_is_refused_for_good(service: ServiceEnv) -> None:
    now = service.clock()
    card = service.card(Validity(now - dt.timedelta(days=400), now - dt.timedelta(days=1)))
    kiosk = service.kiosk()
    envelope = kiosk.reservation(card)
    refused = kiosk.client.submit(envelope)
    assert (refused.status_code, reason(refused)) == (422, "CERT_EXPIRED")
    replay = kiosk.client.submit(envelope)  # a final result: kept, and replayed
    assert replay.body["replayed"] is True and reason(replay) == "CERT_EXPIRED"


def test_a_late_envelope_is_judged_at_its_own_time(service: ServiceEnv) -> None:
    """Made while the certificate was valid, arriving after it expired (an outage)."""
    now = service.clock()
    card = service.card(Validity(now - dt.timedelta(days=400), now + dt.timedelta(hours=1)))
    kiosk = service.kiosk()
    envelope = kiosk.reservation(card)
    service.clock.advance(days=3)
    service.import_crl()
    assert kiosk.client.submit(envelope).status_code == 200


# --- the 24-hour wait: for renewed and re-issued certificates only (seed 002 line 100) ----


@pytest.mark.parametrize(
    ("age", "renewal", "expected"),
    [
        (dt.timedelta(hours=1), False, "usable"),  # a card's first certificate: at once
        (dt.timedelta(hours=1), True, "too_recent"),
        (dt.timedelta(hours=24) - dt.timedelta(seconds=1), True, "too_recent"),
        (dt.timedelta(hours=24), True, "usable"),
        (dt.timedelta(seconds=-1), False, "not_yet_valid"),
    ],
)
def test_the_wait_is_for_renewals_only(age: dt.timedelta, renewal: bool, expected: str) -> None:
    now = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
    not_after = now + dt.timedelta(days=365)
    assert card_validity.validity(now - age, not_after, now, renewal=renewal) == expected


def renewal_fed(service: ServiceEnv, old: TestCard, new: TestCard) -> str:
    """The J-LIS feed reports ``new`` as replacing ``old``; its outcome."""
    token = service.as_role(service.credential("jlis_feed"))
    entry = jlis_entry(old, new)
    reply = service.http.post("/v1/jlis/reissues", json={"entries": [entry]}, headers=token)
    assert reply.status_code == 200, reply.text
    return reply.json()["results"][0]["outcome"]


def test_a_first_certificate_issued_an_hour_ago_may_reserve_and_apply(service: ServiceEnv) -> None:
    card = service.card(Validity.just_renewed(service.clock()))  # new card, first certificate
    kiosk = service.kiosk()
    assert kiosk.reserve(card).status_code == 200
    assert kiosk.apply(card).status_code == 200
    assert kiosk.my_page(card).body["application"]["state"] == "active"


def test_a_renewed_certificate_waits_24_hours_after_it_was_issued(service: ServiceEnv) -> None:
    kiosk, old = service.kiosk(), service.card()
    mykey_id = kiosk.reserve(old).body["result"]["mykey_id"]
    renewed = service.card(Validity.just_renewed(service.clock()))
    assert renewal_fed(service, old, renewed) == "linked"
    for refused in (kiosk.reserve(renewed), kiosk.apply(renewed), kiosk.my_page(renewed)):
        assert (refused.status_code, reason(refused)) == (422, "CERT_TOO_RECENT")
        assert "更新・再発行から24時間" in refused.body["message_ja"]
    service.clock.advance(hours=23, seconds=-1)  # 23:59:59 after the renewal
    service.import_crl()
    assert reason(kiosk.apply(renewed)) == "CERT_TOO_RECENT"
    service.clock.advance(seconds=1)
    reserved = kiosk.reserve(renewed).body["result"]
    assert reserved == {"mykey_id": mykey_id, "already_reserved": True}
    assert kiosk.apply(renewed).status_code == 200


def test_a_renewal_waits_even_when_the_old_card_never_reserved(service: ServiceEnv) -> None:
    old, renewed = service.card(), service.card(Validity.just_renewed(service.clock()))
    kiosk = service.kiosk()
    envelope = kiosk.reservation(renewed)  # made before the feed arrived, sent after
    assert renewal_fed(service, old, renewed) == "nothing_to_link"
    assert renewal_fed(service, old, renewed) == "nothing_to_link"  # the feed may repeat
    assert reason(kiosk.client.submit(envelope)) == "CERT_TOO_RECENT"
    service.clock.advance(hours=23, seconds=1)
    service.import_crl()
    assert kiosk.reserve(renewed).status_code == 200


def test_a_revoked_certificate_is_refused(service: ServiceEnv) -> None:
    card = service.card(revoked=True)
    service.clock.advance(seconds=1)
    service.import_crl()
    refused = service.kiosk().reserve(card)
    assert (refused.status_code, reason(refused)) == (422, "CERT_REVOKED")


def test_revocation_is_judged_at_the_envelopes_time(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    envelope = kiosk.reservation(card)  # made before the card was reported lost
    service.clock.advance(hours=2)
    service.ca.revoke(int(card.serial_hex, 16), service.clock())
    service.clock.advance(seconds=1)
    service.import_crl()
    assert kiosk.client.submit(envelope).status_code == 200
    assert reason(kiosk.reserve(card)) == "CERT_REVOKED"  # made after


def test_a_stale_crl_keeps_items_pending_instead_of_rejecting(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    envelope = kiosk.reservation(card)
    service.clock.advance(hours=49)  # CRL older than crl_max_age_hours (48)
    pending = kiosk.client.submit(envelope)
    assert (pending.status_code, reason(pending)) == (503, "CRL_STALE")
    assert "Retry-After" in pending.headers
    assert stored(service, envelope.uuid).state == "pending"  # given back: the retry takes it
    service.import_crl()
    assert kiosk.client.submit(envelope).status_code == 200


def test_an_envelope_from_the_future_is_refused(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    refused = kiosk.reserve(service.card(), at=service.clock() + dt.timedelta(minutes=10))
    assert (refused.status_code, reason(refused)) == (422, "ENVELOPE_IN_FUTURE")


def test_an_envelope_queued_too_long_is_refused(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    envelope = kiosk.reservation(card)
    service.clock.advance(days=31)  # max_queue_age_days is 30
    service.import_crl()
    assert reason(kiosk.client.submit(envelope)) == "ENVELOPE_TOO_OLD"


def test_a_crl_is_verified_and_never_replaced_by_an_older_one(
    service: ServiceEnv, tmp_path: Path
) -> None:
    trust = pki.CardTrust.from_files(service.settings.trusted_ca_files)
    old = service.ca.write_crl(service.clock() - dt.timedelta(days=1))
    foreign = JpkiTestCa.create(tmp_path / "foreign-ca").write_crl()
    for crl_bytes, problem in (
        (old.public_bytes(serialization.Encoding.DER), "older"),
        (foreign.public_bytes(serialization.Encoding.PEM), "signature"),
        (b"garbage", "not a CRL"),
    ):
        with service.sessions.begin() as session, pytest.raises(ValueError, match=problem):
            pki.import_crl(session, service.audit_key, trust, crl_bytes, service.clock())


def test_the_envelope_kiosk_must_be_the_sending_kiosk(service: ServiceEnv) -> None:
    sender, other = service.kiosk(), service.kiosk()
    envelope = other.reservation(service.card())
    refused = sender.client.submit(envelope)
    assert (refused.status_code, reason(refused)) == (422, "KIOSK_MISMATCH")


def test_identity_is_issuer_and_serial(service: ServiceEnv) -> None:
    card = service.card()
    identity = dataclasses.asdict(
        service.app.state.service.trust.authenticate(
            service.kiosk().reservation(card), service.clock(), dt.timedelta(minutes=5)
        )
    )
    assert identity["serial_hex"] == card.serial_hex
    assert "JPKI for user authentication TEST" in identity["issuer"]
