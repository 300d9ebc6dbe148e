"""The programme's rules, provoked one by one through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

from mynapoint.dates import JST
from tests.support.service_harness import MY_SECRET_IDS, PAYPAY_ID, ServiceEnv


def reason(reply: object) -> str:
    return reply.body.get("reason_code")  # type: ignore[attr-defined]


# --- Reservation ----------------------------------------------------------------------


def test_a_reservation_issues_a_mykey_id_without_look_alike_characters(service: ServiceEnv) -> None:
    reply = service.kiosk().reserve(service.card())
    assert reply.status_code == 200, reply.body
    mykey_id = reply.body["result"]["mykey_id"]
    assert len(mykey_id) == 8 and mykey_id.isalnum() and mykey_id.isupper()
    assert not set(mykey_id) & set("0O1IL")


def test_a_second_reservation_returns_the_same_mykey_id(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    first = kiosk.reserve(card).body["result"]
    second = kiosk.reserve(card).body["result"]
    assert second == {"mykey_id": first["mykey_id"], "already_reserved": True}


def test_reservations_close_at_the_budget_cap(make_service: Callable[..., ServiceEnv]) -> None:
    service = make_service(reservation_cap=2)
    kiosk = service.kiosk()
    cards = [service.card() for _ in range(3)]
    assert [kiosk.reserve(c).status_code for c in cards[:2]] == [200, 200]
    refused = kiosk.reserve(cards[2])
    assert (refused.status_code, reason(refused)) == (422, "RESERVATIONS_CLOSED")
    assert "予算上限" in refused.body["message_ja"]
    assert kiosk.client.status().body["reservations_open"] is False
    # Someone who already reserved is not refused: the cap counts people, not requests.
    assert kiosk.reserve(cards[0]).body["result"]["already_reserved"] is True


def catalog_with(directory: Path, **programme: str) -> Path:
    """The packaged catalog with other programme dates."""
    from mynapoint.packaged_catalog import PACKAGED_CATALOG

    document = json.loads(PACKAGED_CATALOG.read_text(encoding="utf-8"))
    document["programme"].update(programme)
    path = directory / "catalog-edited.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_reservations_open_on_the_catalogs_reservation_start(
    make_service: Callable[..., ServiceEnv],
) -> None:
    # The packaged catalog: reservations from 2020-07-01 (JST), by the envelope's time.
    service = make_service(
        now=dt.datetime(2020, 6, 30, 23, 30, tzinfo=JST), application_deadline=None
    )
    kiosk, card = service.kiosk(), service.card()
    early = kiosk.reservation(card)
    refused = kiosk.client.submit(early)
    assert (refused.status_code, reason(refused)) == (422, "RESERVATIONS_NOT_OPEN")
    assert refused.body["message_ja"] == "マイキーIDの設定（予約）の受付はまだ始まっていません。"
    assert kiosk.client.status().body["reservations_open"] is False
    assert kiosk.my_page(card).body["reservations_open"] is False
    service.clock.advance(minutes=30)  # midnight in Japan: 2020-07-01
    assert kiosk.client.status().body["reservations_open"] is True
    assert kiosk.reserve(card).status_code == 200
    # The refusal was final: a replay of the early envelope gets it again.
    assert reason(kiosk.client.submit(early)) == "RESERVATIONS_NOT_OPEN"


# --- Application ------------------------------------------------------------------------


def test_an_application_needs_a_reservation(service: ServiceEnv) -> None:
    refused = service.kiosk().apply(service.card())
    assert (refused.status_code, reason(refused)) == (422, "NO_RESERVATION")


def test_an_application_is_accepted_once_and_cannot_be_changed(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    kiosk.reserve(card)
    accepted = kiosk.apply(card)
    assert accepted.status_code == 200, accepted.body
    assert accepted.body["result"]["service_code"] == "paypay"
    assert accepted.body["result"]["account_last4"] == "4321"
    again = kiosk.apply(card, "waon", MY_SECRET_IDS["waon"][0])
    assert (again.status_code, reason(again)) == (422, "ALREADY_APPLIED")


def test_an_unknown_service_is_refused(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    kiosk.reserve(card)
    assert reason(kiosk.apply(card, "bitcoin_pay", "12345678")) == "SERVICE_UNKNOWN"


def test_an_app_only_service_cannot_be_chosen_at_any_kiosk(service: ServiceEnv) -> None:
    for channel in ("city_hall", "convenience_store"):
        kiosk, card = service.kiosk(channel), service.card()
        kiosk.reserve(card)
        refused = kiosk.apply(card, "rakuten_pay", MY_SECRET_IDS["rakuten_pay"][0])
        assert reason(refused) == "SERVICE_APP_ONLY", channel


def test_a_card_number_with_its_security_code_is_refused_from_any_kiosk(
    service: ServiceEnv,
) -> None:
    """dカード's programme ID and code are the card's number and security code: refused
    from both channels before the operator is asked, even for an account the operator
    would accept; the citizen is told where to apply instead."""
    card_number = MY_SECRET_IDS["d_card"][0]  # a valid account at the simulated operator
    paypay_accounts = iter(MY_SECRET_IDS["paypay"])
    for channel in ("city_hall", "convenience_store"):
        kiosk, card = service.kiosk(channel), service.card()
        kiosk.reserve(card)
        refused = kiosk.apply(card, "d_card", card_number)
        assert (refused.status_code, reason(refused)) == (422, "SERVICE_CARD_CREDENTIALS"), channel
        assert "カード会社のアプリや会員向けWebサイト" in refused.body["message_ja"]
        assert "card company's own app or member website" in refused.body["message_en"]
        # Nothing was spent: the same card applies for a service a kiosk may take.
        assert kiosk.apply(card, "paypay", next(paypay_accounts)).status_code == 200
    # An operator that cannot answer changes nothing: it is never asked.
    service.app.state.service.processor.registry.unavailable.add("d_card")
    kiosk, card = service.kiosk(), service.card()
    kiosk.reserve(card)
    assert reason(kiosk.apply(card, "d_card", card_number)) == "SERVICE_CARD_CREDENTIALS"


def test_some_services_are_refused_at_convenience_stores_only(service: ServiceEnv) -> None:
    store, city_hall = service.kiosk("convenience_store"), service.kiosk("city_hall")
    card = service.card()
    store.reserve(card)
    refused = store.apply(
        card, "fictional_konbini_ng_pay", MY_SECRET_IDS["fictional_konbini_ng_pay"][0]
    )
    assert reason(refused) == "SERVICE_NOT_AT_CONVENIENCE_STORE"
    accepted = city_hall.apply(
        card, "fictional_konbini_ng_pay", MY_SECRET_IDS["fictional_konbini_ng_pay"][0]
    )
    assert accepted.status_code == 200, accepted.body


def test_a_service_is_selectable_only_from_its_own_date(
    make_service: Callable[..., ServiceEnv],
) -> None:
    # fictional_future_pay: selectable from 2020-10-01 (JST).
    service = make_service(
        now=dt.datetime(2020, 9, 30, 23, 0, tzinfo=JST), application_deadline=None
    )
    kiosk, card = service.kiosk(), service.card()
    kiosk.reserve(card)
    future = MY_SECRET_IDS["fictional_future_pay"][0]
    assert reason(kiosk.apply(card, "fictional_future_pay", future)) == "SERVICE_NOT_YET_SELECTABLE"
    service.clock.advance(hours=1)  # midnight in Japan: 2020-10-01
    assert kiosk.apply(card, "fictional_future_pay", future).status_code == 200


def test_applications_have_a_start_and_a_deadline(
    make_service: Callable[..., ServiceEnv], tmp_path: Path
) -> None:
    # The catalog's programme (seed 001/002): applications from 2020-07-01 to 2021-09-30;
    # reservations here from June, so that a reserved card can try to apply too early.
    service = make_service(
        now=dt.datetime(2020, 6, 30, 12, 0, tzinfo=JST),
        application_deadline=None,
        catalog_file=catalog_with(tmp_path, reservation_start="2020-06-01"),
    )
    kiosk, card = service.kiosk(), service.card()
    kiosk.reserve(card)
    assert reason(kiosk.apply(card)) == "APPLICATIONS_NOT_OPEN"
    service.clock.now = dt.datetime(2021, 10, 1, 0, 0, 1, tzinfo=JST)
    service.import_crl()
    late_card = service.card()
    kiosk.reserve(late_card)
    assert reason(kiosk.apply(late_card)) == "APPLICATIONS_CLOSED"
    assert kiosk.client.status().body["applications_open"] is False


def test_a_wrong_payment_id_or_security_code_is_mkcz374e(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    kiosk.reserve(card)
    for payment_id, code in (
        (PAYPAY_ID, "000000"),
        ("090-0000-9999", "7QX4ZK"),
        ("not-an-id", "7QX4ZK"),
    ):
        refused = kiosk.apply(card, "paypay", payment_id, code)
        assert (refused.status_code, reason(refused)) == (422, "MKCZ374E")
        assert "申込が完了できませんでした" in refused.body["message_ja"]


def test_an_operator_that_cannot_answer_keeps_the_item_pending(
    make_service: Callable[..., ServiceEnv],
) -> None:
    service = make_service(operators_unavailable=["paypay"])
    kiosk, card = service.kiosk(), service.card()
    kiosk.reserve(card)
    envelope = kiosk.application(card)
    pending = kiosk.client.submit(envelope)
    assert (pending.status_code, reason(pending)) == (503, "OPERATOR_UNAVAILABLE")
    assert pending.headers["Retry-After"]
    service.app.state.service.processor.registry.unavailable.clear()  # the operator is back
    retried = kiosk.client.submit(envelope)
    assert retried.status_code == 200 and retried.body["replayed"] is False


def test_a_service_that_needs_pre_registration(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    registered, unregistered = service.card(), service.card()
    for card in (registered, unregistered):
        kiosk.reserve(card)
    refused = kiosk.apply(unregistered, "suica", MY_SECRET_IDS["suica"][1])
    assert reason(refused) == "PRE_REGISTRATION_REQUIRED"
    assert kiosk.apply(registered, "suica", MY_SECRET_IDS["suica"][0]).status_code == 200


def test_one_account_receives_only_one_persons_points(service: ServiceEnv) -> None:
    """A guardian applying for two children must use two accounts."""
    kiosk = service.kiosk()
    child_a, child_b = service.card(), service.card()
    for child in (child_a, child_b):
        kiosk.reserve(child, for_whom="minor")
    assert kiosk.apply(child_a, for_whom="minor").status_code == 200
    # The same account written another way (full-width digits, no hyphens) is the same.
    refused = kiosk.apply(child_b, "paypay", "０９０８７６５４３２１", for_whom="minor")
    assert reason(refused) == "ACCOUNT_ALREADY_USED"
    other = kiosk.apply(child_b, "paypay", MY_SECRET_IDS["paypay"][1], for_whom="minor")
    assert other.status_code == 200


def test_the_phone_digits_are_optional_and_checked(service: ServiceEnv) -> None:
    from mynapoint.envelope import ApplicationPayload

    kiosk, card = service.kiosk(), service.card()
    kiosk.reserve(card)
    payload = ApplicationPayload(
        service_code="paypay", payment_id=PAYPAY_ID, security_code="7QX4ZK", phone_last4="5678"
    )
    assert kiosk.client.submit(kiosk.envelope(payload, card)).status_code == 200
