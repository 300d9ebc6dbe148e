"""Same-day cancellation (city-hall terminals only), then applying again."""

from __future__ import annotations

from sqlalchemy import select

from grant_service.models import AuditEntry
from tests.support.service_harness import MY_SECRET_IDS, PAYPAY_ID, ServiceEnv


def reason(reply: object) -> str:
    return reply.body.get("reason_code")  # type: ignore[attr-defined]


def applied(service: ServiceEnv, channel: str = "city_hall"):  # type: ignore[no-untyped-def]
    kiosk, card = service.kiosk(channel), service.card()
    kiosk.reserve(card)
    reply = kiosk.apply(card)
    assert reply.status_code == 200, reply.body
    return kiosk, card, reply.body["receipt_number"]


def test_a_same_day_cancellation_frees_the_person_and_the_account(service: ServiceEnv) -> None:
    kiosk, card, receipt = applied(service)
    cancelled = kiosk.cancel(card, receipt)
    assert cancelled.status_code == 200, cancelled.body
    assert cancelled.body["result"]["cancelled_receipt_number"] == receipt
    # The person applies again, to another service...
    again = kiosk.apply(card, "waon", MY_SECRET_IDS["waon"][0])
    assert again.status_code == 200, again.body
    # ...and the released PayPay account can now receive someone else's points.
    other = service.card()
    kiosk.reserve(other)
    assert kiosk.apply(other, "paypay", PAYPAY_ID).status_code == 200


def test_a_convenience_store_terminal_cannot_cancel_and_says_where_to(service: ServiceEnv) -> None:
    store, card, receipt = applied(service, "convenience_store")
    refused = store.cancel(card, receipt)
    assert (refused.status_code, reason(refused)) == (422, "CANCEL_NOT_AT_CONVENIENCE_STORE")
    assert "市区町村の手続スポット" in refused.body["message_ja"]
    assert "city-hall terminal" in refused.body["message_en"]
    # The application made at the store can be cancelled at a city hall the same day.
    city_hall = service.kiosk("city_hall")
    assert city_hall.cancel(card, receipt).status_code == 200


def test_the_next_day_only_the_contact_centre_can_help(service: ServiceEnv) -> None:
    kiosk, card, receipt = applied(service)
    service.clock.advance(days=1)
    service.import_crl()
    refused = kiosk.cancel(card, receipt)
    assert (refused.status_code, reason(refused)) == (422, "CANCEL_TOO_LATE")
    assert "0120-95-0178" in refused.body["message_ja"]


def test_only_the_cards_own_application_can_be_cancelled(service: ServiceEnv) -> None:
    kiosk, card, receipt = applied(service)
    assert reason(kiosk.cancel(card, "2222-3333-444T")) == "CANCEL_NO_APPLICATION"
    stranger = service.card()
    kiosk.reserve(stranger)
    assert reason(kiosk.cancel(stranger, receipt)) == "CANCEL_NO_APPLICATION"


def test_i_did_not_make_this_application_is_flagged_for_investigation(service: ServiceEnv) -> None:
    kiosk, card, receipt = applied(service)
    reply = kiosk.cancel(card, receipt, reason="not_made_by_me")
    assert reply.status_code == 200
    assert reply.body["result"]["reported_not_made_by_holder"] is True
    with service.sessions() as session:
        flagged = session.scalars(select(AuditEntry).where(AuditEntry.flagged)).all()
    assert [(e.action, e.outcome) for e in flagged] == [("submission.cancellation", "accepted")]


def test_cancel_and_apply_again_inside_one_batch(service: ServiceEnv) -> None:
    kiosk, card, receipt = applied(service)
    items = [
        kiosk.cancellation(card, receipt),
        kiosk.application(card, "waon", MY_SECRET_IDS["waon"][0]),
    ]
    results = kiosk.client.submit_batch(items).body["results"]
    assert [r["status"] for r in results] == ["accepted", "accepted"]


def test_apply_then_cancel_inside_one_batch(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    reservation, application = kiosk.reservation(card), kiosk.application(card)
    cancellation = kiosk.cancellation(card, application.receipt_number)
    results = kiosk.client.submit_batch([reservation, application, cancellation]).body["results"]
    assert [r["status"] for r in results] == ["accepted"] * 3
    assert kiosk.apply(card, "waon", MY_SECRET_IDS["waon"][0]).status_code == 200
