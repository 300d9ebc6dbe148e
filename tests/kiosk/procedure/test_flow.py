"""The procedure's every path, driven as the screens and the devices drive it, with the
real parts: the virtual card through its APDUs, a real grant service on loopback, the
kiosk's queue and a slip printer. Each test states a rule of the flow in its name."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy

from kiosk.devices.sim.escpos_printer import LoopbackPrinter, PrinterState
from kiosk.devices.sim.test_ca import Validity
from kiosk.devices.sim.virtual_card import ForeignCard, RemoveAfter
from kiosk.procedure import commands as do
from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step
from kiosk.technician.pin import hash_pin
from tests.conftest import run_cli
from tests.support.escpos_decoder import decode
from tests.support.flow_harness import CARD_PIN, PAYPAY_CODE, KioskUnderTest, issue_rig_card
from tests.support.kiosk_harness import KioskRig, make_card_and_ca, make_rig
from tests.support.leaks import leaked
from tests.support.service_harness import TestCard, jlis_entry

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def no_worker_outlives_its_kiosk() -> Iterator[None]:
    """A closed kiosk leaves no thread behind (a wait for a card that never comes must
    end too): later tests fork, and a kiosk restarts its app in the same process."""
    yield
    names = {cls.__name__ for cls in vars(do).values() if isinstance(cls, type)}
    deadline = time.monotonic() + 2
    while (left := [t.name for t in threading.enumerate() if t.name in names]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert not left, f"kiosk workers still running: {left}"


@pytest.fixture
def city_hall_rig(private_data_home: Path) -> Iterator[KioskRig]:
    rig = make_rig(private_data_home, make_card_and_ca(), kiosk_id="kiosk-city-hall",
                   channel="city_hall")  # fmt: skip
    yield rig
    rig.service.stop()


@pytest.fixture
def card(tmp_path: Path, rig: KioskRig) -> Path:
    return issue_rig_card(tmp_path, "citizen")


def printed_lines(kiosk: KioskUnderTest) -> list[str]:
    return [line.text for line in decode(kiosk.settings.printer_output_file.read_bytes()).lines]


# --- The main path ------------------------------------------------------------------------


def test_a_citizen_reserves_applies_takes_the_slip_and_the_card(rig: KioskRig, card: Path) -> None:
    with KioskUnderTest.build(rig, card, printer_kanji=True) as kiosk:
        assert kiosk.step == Step.WELCOME
        kiosk.send(ev.Start())
        assert kiosk.step == Step.CONSENT
        kiosk.send(ev.Agree())
        assert kiosk.step == Step.FOR_WHOM
        kiosk.send(ev.ForWhom("self"))
        assert kiosk.step == Step.PLACE_CARD
        view = kiosk.place_card()
        assert view.step == Step.PIN
        assert view.data["tries_left"] == 3 and not view.data["last_try"]
        view = kiosk.send(ev.PinTyped(CARD_PIN))
        assert view.step == Step.CHOOSE_SERVICE
        assert view.data["reserved"] is False and view.data["online"] is True
        kiosk.send(ev.ChooseService("paypay"))
        assert kiosk.step == Step.ENTER_ID
        kiosk.send(ev.IdTyped("０９０−００００−０００１"))  # full-width, as a pad might give
        assert kiosk.step == Step.ENTER_CODE
        kiosk.send(ev.CodeTyped(PAYPAY_CODE))
        assert kiosk.step == Step.ENTER_PHONE
        view = kiosk.send(ev.PhoneTyped(None))
        assert view.step == Step.CONFIRM
        assert view.data["reserve"] is True and view.data["account_last4"] == "0001"
        assert view.data["service"].grant_on in ("charge", "purchase")
        view = kiosk.send(ev.Submit())
        assert view.step == Step.SLIP
        assert view.data["printed"] is True and view.data["tell_staff"] is False
        outcomes = view.data["outcomes"]
        assert [(o.kind, o.state) for o in outcomes] == [
            ("reservation", "confirmed"),
            ("application", "confirmed"),
        ]
        lines = printed_lines(kiosk)
        assert any(outcomes[0].receipt_number in line for line in lines)
        assert any("末尾 0001" in line for line in lines)
        kiosk.send(ev.Continue())
        assert kiosk.step == Step.TAKE_CARD
        view = kiosk.take_card()
        assert view.step == Step.WELCOME
        assert kiosk.flow.session.payment_id is None and kiosk.flow.session.card is None


def test_an_applied_citizen_sees_the_service_cannot_change_and_gets_a_status_slip(
    rig: KioskRig, card: Path
) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_service()
        kiosk.apply()
        kiosk.send(ev.Continue())
        kiosk.take_card()
        view = kiosk.up_to_service()
        assert view.step == Step.ALREADY_APPLIED
        assert view.data["service_code"] == "paypay" and view.data["account_last4"] == "0001"
        assert view.data["cancellable_here"] is False  # a convenience store
        view = kiosk.send(ev.StatusSlip())
        assert view.step == Step.SLIP and view.data["printed"]


def test_a_reserved_citizen_goes_straight_to_the_service(rig: KioskRig, card: Path) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_service()
        kiosk.send(ev.ReservationOnly())
        assert kiosk.step == Step.CONFIRM and kiosk.data["service"] is None
        view = kiosk.send(ev.Submit())
        assert [(o.kind, o.state) for o in view.data["outcomes"]] == [("reservation", "confirmed")]
        kiosk.send(ev.Continue())
        kiosk.take_card()
        view = kiosk.up_to_service()
        assert view.step == Step.CHOOSE_SERVICE and view.data["reserved"] is True
        view = kiosk.apply(payment_id="090-0000-0002")
        assert [(o.kind, o.state) for o in view.data["outcomes"]] == [("application", "confirmed")]


# --- The card -----------------------------------------------------------------------------


def test_wrong_pins_count_down_with_a_warning_then_lock(rig: KioskRig, card: Path) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_pin()
        view = kiosk.send(ev.PinTyped("1111"))
        assert view.step == Step.PIN
        assert view.data == {"tries_left": 2, "last_try": False, "wrong": True}
        view = kiosk.send(ev.PinTyped("2222"))
        assert view.data == {"tries_left": 1, "last_try": True, "wrong": True}
        view = kiosk.send(ev.PinTyped("3333"))
        assert view.step == Step.PIN_LOCKED
        kiosk.send(ev.Continue())
        assert kiosk.step == Step.TAKE_CARD
        kiosk.take_card()
        # The card stays locked: the next session says so before any PIN is typed.
        assert kiosk.up_to_pin().step == Step.PIN_LOCKED


def test_a_card_that_is_not_a_my_number_card_is_named_and_can_be_replaced(
    rig: KioskRig, card: Path
) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.reader.card = ForeignCard()
        view = kiosk.up_to_pin()
        assert view.step == Step.CARD_PROBLEM
        assert view.data["problem"] == "card.not_my_number_card"
        kiosk.reader.remove()
        kiosk.reader.card = card
        view = kiosk.send(ev.TryAgain())
        assert view.step == Step.PLACE_CARD
        assert kiosk.place_card().step == Step.PIN


def test_a_card_pulled_out_mid_read_asks_to_keep_it_still(rig: KioskRig, card: Path) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.reader.removal = RemoveAfter(apdus=3)
        view = kiosk.up_to_pin()
        assert view.step == Step.CARD_PROBLEM and view.data["problem"] == "card.removed"


def test_an_expired_certificate_is_explained_before_the_pin(rig: KioskRig, tmp_path: Path) -> None:
    card = issue_rig_card(tmp_path, "expired", validity=Validity.expired())
    with KioskUnderTest.build(rig, card) as kiosk:
        view = kiosk.up_to_pin()
        assert view.step == Step.CERT_EXPIRED
        assert isinstance(view.data["expired_on"], dt.datetime)
        kiosk.send(ev.Continue())
        assert kiosk.step == Step.TAKE_CARD


def test_a_new_cards_first_certificate_is_used_at_once(rig: KioskRig, tmp_path: Path) -> None:
    """The 24-hour wait is for renewals only (seed 002 line 100): a certificate issued an
    hour ago with a new card reserves and applies, and nobody is told "just renewed"."""
    card = issue_rig_card(tmp_path, "new-card", validity=Validity.just_renewed())
    with KioskUnderTest.build(rig, card) as kiosk:
        assert kiosk.up_to_pin().step == Step.PIN
        assert kiosk.send(ev.PinTyped(CARD_PIN)).step == Step.CHOOSE_SERVICE
        view = kiosk.apply()
        assert [(o.kind, o.state) for o in view.data["outcomes"]] == [
            ("reservation", "confirmed"),
            ("application", "confirmed"),
        ]


def tell_the_service_it_renews(rig: KioskRig, old: TestCard, new_card: Path) -> None:
    """The J-LIS feed, as J-LIS sends it: this certificate replaces that one."""
    made = rig.service.cli("credential", "create", "--role", "jlis_feed", "--label", "j-lis")
    assert made.returncode == 0, made.stderr
    entry = jlis_entry(old, TestCard(new_card))
    reply = httpx.post(f"{rig.service.url}/v1/jlis/reissues", json={"entries": [entry]},
                       headers={"Authorization": f"Bearer {made.stdout.strip()}"})  # fmt: skip
    assert reply.status_code == 200, reply.text


def test_a_renewed_certificate_waits_24_hours_as_the_service_says(
    rig: KioskRig, tmp_path: Path
) -> None:
    """Only the service knows that a certificate is a renewal (from J-LIS): the kiosk
    learns it when the status is looked up, and tells when the card can be used."""
    card = issue_rig_card(tmp_path, "renewed", validity=Validity.just_renewed())
    tell_the_service_it_renews(rig, rig.card, card)
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_pin()
        view = kiosk.send(ev.PinTyped(CARD_PIN))
        assert view.step == Step.CERT_TOO_RECENT
        assert view.data["usable_from"] > dt.datetime.now(dt.UTC)
        kiosk.send(ev.Continue())
        assert kiosk.step == Step.TAKE_CARD
        assert kiosk.submitter.store.status().counts == {}  # nothing was signed or queued


def test_a_card_taken_away_mid_procedure_ends_it_and_sends_nothing(
    rig: KioskRig, card: Path
) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_service()
        kiosk.send(ev.ChooseService("paypay"))
        kiosk.send(ev.IdTyped("090-0000-0001"))
        kiosk.reader.remove()
        view = kiosk.settle_until(lambda: kiosk.step == Step.CARD_REMOVED)
        assert kiosk.flow.session.payment_id is None
        assert kiosk.submitter.store.status().counts == {}
        kiosk.send(ev.Continue())
        assert kiosk.step == Step.WELCOME and view.step == Step.CARD_REMOVED


@pytest.mark.parametrize("channel", ["convenience_store", "city_hall"])
def test_a_card_left_behind_calls_staff_or_blocks_the_next_session(
    rig: KioskRig, card: Path, channel: str, caplog: pytest.LogCaptureFixture
) -> None:
    with KioskUnderTest.build(rig, card, channel=channel, card_left_seconds=0.3) as kiosk:
        kiosk.up_to_service()
        kiosk.send(ev.Quit())
        assert kiosk.step == Step.TAKE_CARD
        kiosk.settle_until(lambda: kiosk.step == Step.CARD_LEFT)
        assert kiosk.data["channel"] == channel
        if channel == "city_hall":
            assert "STAFF CALLED: a card was left on the reader" in caplog.text
        else:
            kiosk.flow.step = Step.WELCOME  # a touch on the start screen cannot start
            assert kiosk.flow.handle(ev.Start()) == [] and kiosk.step == Step.WELCOME
            kiosk.flow.step = Step.CARD_LEFT
        kiosk.take_card()
        assert kiosk.step == Step.WELCOME
        assert kiosk.send(ev.Start()).step == Step.CONSENT


# --- Entering and submitting --------------------------------------------------------------


def test_services_are_found_by_reading_name_or_kind_best_match_first(
    rig: KioskRig, card: Path
) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_service()
        # By the reading, typed in plain kana (no ゛): names that start with it come first.
        view = kiosk.send(ev.Search("へいへい", None))
        assert view.data["shown"] == ["paypay"]
        shown = kiosk.send(ev.Search("へ", None)).data["shown"]
        assert shown[0] == "paypay" and "au_pay" in shown[1:]
        assert kiosk.send(ev.Search("waon", None)).data["shown"] == ["waon"]
        # Within a kind; and everything of that kind for no text.
        assert kiosk.send(ev.Search("らくてん", "qr")).data["shown"] == ["rakuten_pay"]
        qr = kiosk.send(ev.Search("", "qr")).data["shown"]
        assert "paypay" in qr and "waon" not in qr
        assert kiosk.send(ev.Search("nothing like it", None)).data["shown"] == []
        assert kiosk.step == Step.CHOOSE_SERVICE


@pytest.mark.parametrize("rig_name", ["rig", "city_hall_rig"])
def test_no_kiosk_asks_for_a_card_number_with_its_security_code(
    rig_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """On both channels, every service the published catalog flags ``card_credentials``
    (dカード, イオンカード, 楽天カード) is listed as not selectable here, with where to
    apply instead, and touching it never opens the ID or security-code screen."""
    rig: KioskRig = request.getfixturevalue(rig_name)
    card = issue_rig_card(tmp_path, "card-holder")
    with KioskUnderTest.build(rig, card) as kiosk:
        view = kiosk.up_to_service()
        assert view.step == Step.CHOOSE_SERVICE
        listed = {e["service"].code: e for e in view.data["services"]}
        flagged = {code for code, e in listed.items() if e["service"].card_credentials}
        assert flagged >= {"d_card", "aeon_card", "rakuten_card"}
        for code in sorted(flagged):
            availability = listed[code]["availability"]
            assert not availability.available, code
            if not listed[code]["service"].app_only:
                assert availability.key == "SERVICE_CARD_CREDENTIALS", code
                assert "カード会社のアプリや会員向けWebサイト" in availability.text("ja")
                assert "own smartphone or PC" in availability.text("en")
            view = kiosk.send(ev.ChooseService(code))
            assert view.step == Step.CHOOSE_SERVICE and view.data["unavailable"] == code
            assert kiosk.flow.session.service_code is None
        assert kiosk.submitter.store.status().counts == {}  # nothing was queued


def test_a_wrong_id_format_is_caught_before_anything_is_sent(rig: KioskRig, card: Path) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_service()
        kiosk.send(ev.ChooseService("paypay"))
        view = kiosk.send(ev.IdTyped("12-34"))
        assert view.step == Step.ENTER_ID and view.data["error"]
        assert kiosk.submitter.store.status().counts == {}


def test_a_refused_id_can_be_corrected_without_reserving_twice(rig: KioskRig, card: Path) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_service()
        view = kiosk.apply(payment_id="090-7351-2468", code="8642")  # no such account
        assert view.step == Step.REFUSED
        assert view.data["reason_code"] == "MKCZ374E"  # as the official kiosks say it
        assert kiosk.flow.session.security_code is None  # typed again, never kept
        view = kiosk.send(ev.TryAgain())
        assert view.step == Step.ENTER_ID and view.data["retry"] is True
        kiosk.send(ev.IdTyped("090-0000-0003"))
        kiosk.send(ev.CodeTyped(PAYPAY_CODE))
        kiosk.send(ev.PhoneTyped("5678"))
        assert kiosk.data["reserve"] is False  # the reservation went through already
        view = kiosk.send(ev.Submit())
        assert view.step == Step.SLIP
        assert [(o.kind, o.state) for o in view.data["outcomes"]] == [
            ("reservation", "confirmed"),
            ("application", "rejected"),
            ("application", "confirmed"),
        ]


def test_a_second_touch_on_submit_does_not_submit_twice(rig: KioskRig, card: Path) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_service()
        kiosk.send(ev.ChooseService("paypay"))
        kiosk.send(ev.IdTyped("090-0000-0001"))
        kiosk.send(ev.CodeTyped(PAYPAY_CODE))
        kiosk.send(ev.PhoneTyped(None))
        kiosk.dispatcher.send(ev.Submit())
        kiosk.dispatcher.send(ev.Submit())  # the duplicate touch, before any answer
        kiosk.dispatcher.settle()
        assert sum(kiosk.submitter.store.status().counts.values()) == 2  # one of each


def test_the_guardian_places_the_childs_card_and_sees_the_one_child_rule(
    rig: KioskRig, card: Path
) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.send(ev.Start())
        kiosk.send(ev.Agree())
        view = kiosk.send(ev.ForWhom("child_under_15"))
        assert view.data["for_whom"] == "child_under_15"
        kiosk.place_card()
        kiosk.send(ev.PinTyped(CARD_PIN))
        view = kiosk.send(ev.ChooseService("paypay"))
        assert view.data["for_whom"] == "child_under_15"


# --- Status, "I did not apply", cancellation ----------------------------------------------


def test_not_me_at_a_convenience_store_says_where_to_cancel_and_is_recorded(
    rig: KioskRig, card: Path
) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_service()
        receipt = kiosk.apply().data["outcomes"][1].receipt_number
        kiosk.send(ev.Continue())
        kiosk.take_card()
        kiosk.up_to_service()
        view = kiosk.send(ev.NotMe())
        assert view.step == Step.NOT_ME and view.data["cancellable_here"] is False
        assert kiosk.send(ev.CancelApplication()).step == Step.NOT_ME  # not here
        kiosk.send(ev.Continue())
        assert kiosk.step == Step.TAKE_CARD
        reports = (kiosk.settings.data_dir / "not-me-reports.jsonl").read_text().splitlines()
        assert json.loads(reports[-1])["application_receipt_number"] == receipt


def test_not_me_at_city_hall_cancels_the_same_day_and_allows_a_new_application(
    city_hall_rig: KioskRig, tmp_path: Path
) -> None:
    card = issue_rig_card(tmp_path, "city-hall-citizen")
    with KioskUnderTest.build(city_hall_rig, card) as kiosk:  # the channel: enrollment's
        kiosk.up_to_service()
        kiosk.apply()
        kiosk.send(ev.Continue())
        kiosk.take_card()
        kiosk.up_to_service()
        view = kiosk.send(ev.NotMe())
        assert view.data["cancellable_here"] is True
        view = kiosk.send(ev.CancelApplication())
        assert view.step == Step.CANCELLED
        kiosk.send(ev.Continue())
        assert kiosk.step == Step.CHOOSE_SERVICE
        view = kiosk.apply(payment_id="090-0000-0002")
        assert [(o.kind, o.state) for o in view.data["outcomes"]][-1] == (
            "application", "confirmed"
        )  # fmt: skip


def test_a_wrong_entry_is_cancelled_by_touch_at_city_hall_and_not_reported_as_not_me(
    city_hall_rig: KioskRig, tmp_path: Path
) -> None:
    """Seed 000 line 41: a mistyped ID, or someone else's account, has the same-day path
    as "I did not apply"; its cancellation says why, and no "not me" report is made."""
    card = issue_rig_card(tmp_path, "typo")
    with KioskUnderTest.build(city_hall_rig, card) as kiosk:
        kiosk.up_to_service()
        receipt = kiosk.apply().data["outcomes"][1].receipt_number
        kiosk.send(ev.Continue())
        kiosk.take_card()
        assert kiosk.up_to_service().step == Step.ALREADY_APPLIED
        view = kiosk.send(ev.NotMe("wrong_entry"))
        assert view.step == Step.NOT_ME and view.data["why"] == "wrong_entry"
        assert kiosk.send(ev.CancelApplication()).step == Step.CANCELLED
        assert not (kiosk.settings.data_dir / "not-me-reports.jsonl").exists()
        engine = sqlalchemy.create_engine(city_hall_rig.database_url)
        with engine.connect() as db:
            why = db.execute(
                sqlalchemy.text("SELECT cancel_reason FROM applications WHERE receipt_number = :r"),
                {"r": receipt},
            ).scalar_one()
        engine.dispose()
        assert why == "wrong_entry"  # the service keeps why (no audit flag for a typo)
        kiosk.send(ev.Continue())
        view = kiosk.apply(payment_id="090-0000-0002")
        assert view.data["outcomes"][-1].state == "confirmed"


def test_not_me_cancelled_at_city_hall_is_reported_with_its_receipt_number(
    city_hall_rig: KioskRig, tmp_path: Path
) -> None:
    card = issue_rig_card(tmp_path, "not-me")
    with KioskUnderTest.build(city_hall_rig, card) as kiosk:
        kiosk.up_to_service()
        receipt = kiosk.apply().data["outcomes"][1].receipt_number
        kiosk.send(ev.Continue())
        kiosk.take_card()
        kiosk.up_to_service()
        kiosk.send(ev.NotMe())
        assert kiosk.send(ev.CancelApplication()).step == Step.CANCELLED
        reports = (kiosk.settings.data_dir / "not-me-reports.jsonl").read_text().splitlines()
        assert json.loads(reports[-1])["application_receipt_number"] == receipt
        assert json.loads(reports[-1])["cancelled_here"] is True


def test_a_service_needing_pre_registration_says_register_first_not_type_again(
    rig: KioskRig, card: Path
) -> None:
    """Seed 001 line 18: typing the ID again cannot help; registering with the operator
    can. The screen says so and where; what was done still gets its slip."""
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_service()
        view = kiosk.apply(service="suica", payment_id="JE00000000000002", code="1234")
        assert view.step == Step.REFUSED
        assert view.data["reason_code"] == "PRE_REGISTRATION_REQUIRED"
        assert view.data["correctable"] is False and view.data["service"].code == "suica"
        assert kiosk.send(ev.TryAgain()).step == Step.REFUSED  # no retyping offered
        view = kiosk.send(ev.Continue())
        assert view.step == Step.SLIP
        assert [(o.kind, o.state) for o in kiosk.data["outcomes"]] == [
            ("reservation", "confirmed"),
            ("application", "rejected"),
        ]


def test_my_page_shows_the_status_and_prints_it(rig: KioskRig, card: Path) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_service()
        kiosk.apply()
        kiosk.send(ev.Continue())
        kiosk.take_card()
        view = kiosk.up_to_service(purpose="my_page")
        assert view.step == Step.MY_PAGE
        assert view.data["page"]["application"]["service_code"] == "paypay"
        assert kiosk.send(ev.StatusSlip()).step == Step.SLIP


def test_reservations_closed_when_the_budget_is_reached(
    private_data_home: Path, tmp_path: Path
) -> None:
    rig = make_rig(private_data_home, make_card_and_ca(),
                   service_env={"GRANT_SERVICE_RESERVATION_CAP": "0"})  # fmt: skip
    try:
        card = issue_rig_card(tmp_path, "too-late")
        with KioskUnderTest.build(rig, card) as kiosk:
            assert kiosk.up_to_service().step == Step.RESERVATIONS_CLOSED
    finally:
        rig.service.stop()


# --- Offline -------------------------------------------------------------------------------


def test_offline_the_procedure_is_pending_and_syncs_once_the_service_is_back(
    rig: KioskRig, card: Path
) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_pin()
        rig.service.stop()
        view = kiosk.send(ev.PinTyped(CARD_PIN))
        assert view.step == Step.OFFLINE_NOTICE
        kiosk.send(ev.Continue())
        assert kiosk.step == Step.CHOOSE_SERVICE and kiosk.data["online"] is False
        view = kiosk.apply()
        assert [(o.kind, o.state) for o in view.data["outcomes"]] == [
            ("reservation", "pending"),
            ("application", "pending"),
        ]
        assert view.data["printed"]
        rig.service.start()
    done = run_cli("kiosk-queue", "drain", "--timeout", "30", env=rig.env)
    assert done.returncode == 0, done.stdout + done.stderr
    rig.assert_exactly_once([uuid for uuid in rig.kiosk_states()])


def test_offline_my_page_says_it_needs_the_network(rig: KioskRig, card: Path) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_pin(purpose="my_page")
        rig.service.stop()
        view = kiosk.send(ev.PinTyped(CARD_PIN))
        assert view.step == Step.OFFLINE_NOTICE and view.data["purpose"] == "my_page"
        kiosk.send(ev.Continue())
        assert kiosk.step == Step.TAKE_CARD


# --- The printer --------------------------------------------------------------------------


def test_printer_out_of_paper_shows_the_slip_and_calls_staff(
    rig: KioskRig, card: Path, caplog: pytest.LogCaptureFixture
) -> None:
    printer = LoopbackPrinter(port=0, state=PrinterState.PAPER_OUT).start()
    network = {"printer_backend": "network", "printer_port": printer.port,
               "printer_timeout_seconds": 0.3}  # fmt: skip
    try:
        with KioskUnderTest.build(rig, card, **network) as kiosk:
            kiosk.up_to_service()
            view = kiosk.apply()
            assert view.step == Step.SLIP
            assert view.data["printed"] is False and view.data["tell_staff"] is True
            assert view.data["problem"] == "printer.paper_out"
            assert view.data["image"].width == 576  # shown on the screen, QR codes included
    finally:
        printer.stop()
    assert "STAFF CALLED: slip printer: printer.paper_out" in caplog.text


# --- Session hygiene ------------------------------------------------------------------------


def test_the_idle_timeout_wipes_what_was_typed_but_never_cuts_a_submission(
    rig: KioskRig, card: Path
) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_service()
        kiosk.send(ev.ChooseService("paypay"))
        kiosk.send(ev.IdTyped("090-0000-0001"))
        assert kiosk.flow.session.payment_id is not None
        view = kiosk.send(ev.IdleTimeout())
        assert view.step == Step.TAKE_CARD
        assert kiosk.flow.session.payment_id is None
        kiosk.take_card()
        assert kiosk.step == Step.WELCOME
        kiosk.flow.step = Step.SUBMITTING
        assert kiosk.flow.handle(ev.IdleTimeout()) == [] and kiosk.step == Step.SUBMITTING


def test_no_secret_reaches_a_log_line(
    rig: KioskRig, card: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = [CARD_PIN, PAYPAY_CODE, "090-0000-0001", "09000000001"]
    # The check catches a planted secret first.
    logging.getLogger("kiosk.flow").warning("planted %s", CARD_PIN)
    assert leaked(caplog.text, secrets)
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.up_to_pin()
        kiosk.send(ev.PinTyped("9999"))  # a wrong PIN is a secret too
        kiosk.send(ev.PinTyped(CARD_PIN))
        kiosk.apply()
        kiosk.send(ev.Continue())
        kiosk.take_card()
    assert not leaked(caplog.text, [*secrets, "9999"])
    assert caplog.records  # the run did log (the check looked at something)


# --- Technician mode ------------------------------------------------------------------------


def test_technician_mode_needs_the_pin_and_shows_the_queue(rig: KioskRig, card: Path) -> None:
    with KioskUnderTest.build(rig, card, technician_pin_hash=hash_pin("73915846")) as kiosk:
        view = kiosk.send(ev.TechnicianGesture())
        assert view.step == Step.TECHNICIAN_PIN
        assert kiosk.send(ev.TechnicianPinTyped("00000000")).data == {"wrong": True}
        view = kiosk.send(ev.TechnicianPinTyped("73915846"))
        assert view.step == Step.TECHNICIAN
        view = kiosk.send(ev.TechnicianAction("queue_status"))
        assert view.data["lines"][0].startswith("queue: 0 unsent")
        view = kiosk.send(ev.TechnicianAction("test_print"))
        assert view.data["lines"][0].startswith("test print sent")
        kiosk.send(ev.Back())
        assert kiosk.step == Step.WELCOME


def test_technician_mode_is_closed_without_a_configured_pin(rig: KioskRig, card: Path) -> None:
    with KioskUnderTest.build(rig, card) as kiosk:
        kiosk.send(ev.TechnicianGesture())
        assert kiosk.send(ev.TechnicianPinTyped("73915846")).data == {"wrong": True}
