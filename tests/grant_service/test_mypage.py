"""My Page at the kiosk: the card signs a fresh challenge and sees its whole story."""

from __future__ import annotations

import datetime as dt

from tests.support.service_harness import MY_SECRET_IDS, ServiceEnv


def reason(reply: object) -> str:
    return reply.body.get("reason_code")  # type: ignore[attr-defined]


def test_my_page_shows_reservation_application_and_every_submission(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    reserved = kiosk.reserve(card).body
    refused = kiosk.apply(card, "paypay", MY_SECRET_IDS["paypay"][0], "000000").body
    accepted = kiosk.apply(card).body
    page = kiosk.my_page(card)
    assert page.status_code == 200, page.body
    status = page.body
    assert status["reservation"]["mykey_id"] == reserved["result"]["mykey_id"]
    assert status["application"]["state"] == "active"
    assert status["application"]["receipt_number"] == accepted["receipt_number"]
    assert status["application"]["cancellable_here"] is True
    shown = {s["receipt_number"]: s for s in status["submissions"]}
    rejected = shown[refused["receipt_number"]]
    assert (rejected["state"], rejected["reason_code"]) == ("rejected", "MKCZ374E")
    assert "申込が完了できませんでした" in rejected["message_ja"]
    assert shown[accepted["receipt_number"]]["state"] == "accepted"
    assert status["points"] == {"counted_yen": 0, "points": 0}


def test_a_card_that_never_reserved(service: ServiceEnv) -> None:
    status = service.kiosk().my_page(service.card()).body
    assert status["reservation"] == {"reserved": False}
    assert status["application"] == {"state": "none"} and status["submissions"] == []


def test_a_challenge_works_once_briefly_and_at_its_kiosk(service: ServiceEnv) -> None:
    from mynapoint.mypage import build_status_query

    kiosk, other_kiosk, card = service.kiosk(), service.kiosk(), service.card()
    challenge = kiosk.client.challenge().body["challenge"]
    query = build_status_query(
        challenge, kiosk_id=kiosk.kiosk_id, certificate_der=card.certificate_der, sign=card.sign
    )
    assert kiosk.client.card_status(query).status_code == 200
    assert reason(kiosk.client.card_status(query)) == "CHALLENGE_INVALID"  # used
    stale = kiosk.client.challenge().body["challenge"]
    service.clock.advance(minutes=3)
    late = build_status_query(
        stale, kiosk_id=kiosk.kiosk_id, certificate_der=card.certificate_der, sign=card.sign
    )
    assert reason(kiosk.client.card_status(late)) == "CHALLENGE_INVALID"  # expired
    mine = kiosk.client.challenge().body["challenge"]
    borrowed = build_status_query(
        mine, kiosk_id=other_kiosk.kiosk_id, certificate_der=card.certificate_der, sign=card.sign
    )
    assert reason(other_kiosk.client.card_status(borrowed)) == "CHALLENGE_INVALID"


def test_only_the_card_itself_can_open_its_page(service: ServiceEnv) -> None:
    from mynapoint.mypage import build_status_query

    kiosk, holder, other = service.kiosk(), service.card(), service.card()
    challenge = kiosk.client.challenge().body["challenge"]
    forged = build_status_query(
        challenge, kiosk_id=kiosk.kiosk_id, certificate_der=holder.certificate_der, sign=other.sign
    )
    assert reason(kiosk.client.card_status(forged)) == "SIGNATURE_INVALID"


def test_an_expired_card_cannot_open_my_page(service: ServiceEnv) -> None:
    from kiosk.devices.sim.test_ca import Validity

    now = service.clock()
    card = service.card(Validity(now - dt.timedelta(days=900), now - dt.timedelta(days=1)))
    assert reason(service.kiosk().my_page(card)) == "CERT_EXPIRED"
