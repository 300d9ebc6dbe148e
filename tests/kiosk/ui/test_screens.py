"""The kiosk's touch screens, touched: the app (``kiosk.ui.app``) in an offscreen Kivy window
in front of the real parts (the virtual card on the in-process reader, a real grant
service on loopback, the queue, a slip printer). Every touch lands on a widget found by the
text it shows (``kiosk.ui.app_driver``); no test calls the flow. The card is placed
and taken, and the service stopped, by the test, as in real life.

Screenshots are kept in ``test-artifacts/ui/<test>/`` (``tests/kivy_fixtures.screenshots``)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PIL import Image

from kiosk.devices.sim.escpos_printer import LoopbackPrinter, PrinterState
from kiosk.devices.sim.loopback import VirtualReader
from kiosk.procedure import events as ev
from kiosk.procedure.flow import Step, View
from kiosk.shell.assembly import assembled
from kiosk.technician.pin import hash_pin
from mynapoint.reasons import R
from tests.support.escpos_decoder import decode
from tests.support.flow_harness import CARD_PIN, PAYPAY_CODE, issue_rig_card
from tests.support.kiosk_harness import KioskRig, make_card_and_ca, make_rig
from tests.support.leaks import leaked

pytest_plugins = ["tests.support.kivy_fixtures"]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# Kivy is imported inside the functions (kiosk.ui.app_driver, kiosk.ui.screens): the
# plugin sets Kivy's environment first.

PAYPAY_DIGITS = "09000000001"  # the demo account 090-0000-0001, typed on the digit pad
TECHNICIAN_PIN = "73915846"
SIZES = [(1280, 800), (1920, 1080)]


class FakeClock:
    """``time.monotonic`` for the idle timer, moved on by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def card(tmp_path: Path, rig: KioskRig) -> Path:
    return issue_rig_card(tmp_path, "citizen")


@contextmanager
def kiosk_ui(
    rig: KioskRig,
    card: Path,
    *,
    size: tuple[int, int] = (1920, 1080),
    channel: str | None = None,
    monotonic: Any = None,
    **settings: Any,
) -> Iterator[Any]:
    """The app of a kiosk assembled from the rig, driven in the window; ``ui.reader`` is
    the card reader (the card starts off it)."""
    from kiosk.ui.app_driver import KioskDriver

    config = rig.settings.model_copy(update={"printer_kanji": True, **settings})
    reader = VirtualReader(card)
    reader.remove()
    with assembled(config, reader=reader, channel=channel) as kiosk:  # type: ignore[arg-type]
        driver = KioskDriver(kiosk, size=size, monotonic=monotonic)
        driver.reader = reader  # type: ignore[attr-defined]
        try:
            yield driver
        finally:
            driver.close()


def up_to_pin(ui: Any) -> None:
    ui.tap("はじめる")
    ui.tap("同意する")
    ui.tap("自分の手続き")
    assert ui.current_step == Step.PLACE_CARD
    ui.reader.insert()  # the citizen places the card
    ui.wait_for(Step.PIN)


def up_to_confirm(ui: Any) -> None:
    """From the service list: the QR-code services, PayPay, its ID and security code, no
    phone."""
    ui.tap("QRコード")
    ui.tap_service("PayPay")
    ui.type_text(PAYPAY_DIGITS)
    ui.tap("次へ")
    assert ui.current_step == Step.ENTER_CODE, ui.texts()
    ui.type_text(PAYPAY_CODE)
    ui.tap("次へ")
    assert ui.current_step == Step.ENTER_PHONE, ui.texts()
    ui.tap("入力しない")
    assert ui.current_step == Step.CONFIRM, ui.texts()


def printed_lines(ui: Any) -> list[str]:
    data = ui.kiosk.settings.printer_output_file.read_bytes()
    return [line.text for line in decode(data).lines]


def assert_drawn(path: Path, size: tuple[int, int]) -> None:
    with Image.open(path) as image:
        assert image.size == size
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 8, path


# --- The main path -------------------------------------------------------------------------


def test_a_citizen_reserves_and_applies_by_touch_in_japanese(
    rig: KioskRig, card: Path, screenshots: Path
) -> None:
    shots = screenshots
    taken: list[Path] = []

    def shot(ui: Any) -> None:
        taken.append(ui.screenshot(shots / f"{len(taken) + 1:02d}-{ui.current_step}.png"))

    with kiosk_ui(rig, card) as ui:
        from kivy.uix.screenmanager import NoTransition

        assert isinstance(ui.app.manager.transition, NoTransition)  # no slow transitions
        assert ui.current_step == Step.WELCOME
        shot(ui)
        ui.tap("はじめる")
        assert ui.current_step == Step.CONSENT
        shot(ui)
        ui.tap("同意する")
        assert ui.current_step == Step.FOR_WHOM
        shot(ui)
        ui.tap("自分の手続き")
        assert ui.current_step == Step.PLACE_CARD
        # where this kiosk's reader is (the settings' default: built in, right of the
        # screen), so no tip about metal desks
        assert ui.shows("画面の右にある読み取り機に置いてください")
        assert ui.shows("5秒以上かかることがあります") and not ui.shows("金属の上に置かないで")
        shot(ui)
        ui.reader.insert()
        ui.wait_for(Step.PIN)
        assert ui.shows("あと 3 回まちがえると")  # the tries left, before typing
        shot(ui)
        for digit in "48":
            ui.tap(digit, settle=False)
        assert ui.screen.ids.display.shown == "●●"  # masked
        shot(ui)
        ui.tap("訂正")
        ui.type_pin(CARD_PIN)
        assert ui.current_step == Step.CHOOSE_SERVICE
        ui.tap("電子マネー")
        assert ui.shows("事前登録が必要です")  # Suica (and Kyash) are marked
        shot(ui)
        ui.tap("QRコード")  # the kind filter
        assert ui.shows("アプリからのみ申し込めます") and ui.shows("この端末では選べません")
        assert not ui.shows("nanaco")  # an e-money service: not among them
        shot(ui)
        ui.tap("楽天Pay")  # greyed: the catalog's whole reason comes over the screen
        assert ui.current_step == Step.CHOOSE_SERVICE
        assert ui.shows("楽天Payのアプリからのみ申し込めます")
        ui.tap("OK")
        assert not ui.shows("楽天Payのアプリからのみ申し込めます")
        ui.tap("すべて")
        ui.tap("名前で探す")  # the kana pad over the screen; every key searches
        ui.tap("は行")
        ui.tap("へ")
        ui.tap("゛゜小")  # へ → べ
        ui.tap("゛゜小")  # べ → ぺ
        ui.tap("あ行")
        ui.tap("い")
        assert ui.screen.search_panel.pad.shown == "ぺい"
        assert not ui.shows("1件")  # PayPay, au PAY, 楽天ペイ...: all "ペイ"
        ui.tap("は行")
        ui.tap("へ")  # "ぺいへ": search folds the marks, so へ finds ペ
        assert ui.shows("1件")
        shot(ui)
        ui.tap("ABC")  # the letter pad, with the text typed so far
        assert ui.screen.search_panel.pad.shown == "ぺいへ"
        ui.tap("訂正")  # the PIN pad's word for "start again", on every pad
        ui.type_text("PAYP")
        assert ui.shows("1件")
        ui.tap("結果を見る")
        assert ui.shows("「PAYP」で探しています") and not ui.shows("d払い")
        ui.tap("PayPay")
        assert ui.current_step == Step.ENTER_ID
        assert ui.shows("PayPayの決済サービスIDを入力してください")
        ui.type_text("1234")
        ui.tap("次へ")  # too short: the catalog's format error, nothing sent
        assert ui.current_step == Step.ENTER_ID and ui.shows("形式が正しくありません")
        shot(ui)
        ui.tap("訂正")
        ui.type_text(PAYPAY_DIGITS)
        assert ui.screen.pad.shown == "090-0000-0001"  # as PayPay shows it; sent as typed
        assert ui.shows("11/11桁")
        ui.tap("次へ")
        assert ui.current_step == Step.ENTER_CODE
        ui.type_text(PAYPAY_CODE)
        assert ui.screen.pad.shown == "●●●●"  # the security code is masked
        shot(ui)
        ui.tap("次へ")
        assert ui.current_step == Step.ENTER_PHONE
        shot(ui)
        ui.tap("入力しない")
        assert ui.current_step == Step.CONFIRM
        for text in ("マイキーIDを設定（予約）します", "決済サービス：PayPay", "末尾 0001",
                     "変更・取消することはできません", "チャージ（前払）の金額の25%分",
                     "決済サービス事業者によって異なります"):  # fmt: skip
            assert ui.shows(text), text
        shot(ui)
        ui.tap("この内容で申し込む")
        ui.wait_for(Step.SLIP)
        assert ui.shows("控えとカードをお取りください") and ui.shows("受付完了")
        shot(ui)
        outcomes = ui.app.shown.data["outcomes"]
        assert [(o.kind, o.state) for o in outcomes] == [
            ("reservation", "confirmed"),
            ("application", "confirmed"),
        ]
        lines = printed_lines(ui)
        assert any(outcomes[1].receipt_number in line for line in lines)
        assert any("末尾 0001" in line for line in lines)
        ui.tap("終了する")
        assert ui.current_step == Step.TAKE_CARD and ui.shows("カードをお取りください")
        shot(ui)
        ui.reader.remove()
        ui.wait_for(Step.WELCOME)
    for path in taken:
        assert_drawn(path, (1920, 1080))
    assert len(taken) == 15


def test_a_wrong_pin_three_times_locks_it_and_city_hall_shows_the_counter(
    rig: KioskRig, card: Path, caplog: pytest.LogCaptureFixture, screenshots: Path
) -> None:
    with kiosk_ui(rig, card, channel="city_hall", size=(1280, 800)) as ui:
        assert ui.shows("店員・職員を呼ぶ") and ui.shows("市区町村のマイナンバーカード窓口")
        up_to_pin(ui)
        ui.type_pin("1111")
        assert ui.current_step == Step.PIN
        assert ui.shows("暗証番号が違います") and ui.shows("あと 2 回")
        ui.type_pin("2222")
        assert ui.shows("注意：あと1回まちがえると")  # the loud warning
        ui.screenshot(screenshots / "last-try.png")
        ui.type_pin("3333")
        assert ui.current_step == Step.PIN_LOCKED
        assert ui.shows("暗証番号がロックされています")
        assert ui.shows("暗証番号のロック解除や電子証明書の更新は")  # where to go
        ui.tap("店員・職員を呼ぶ")
        assert ui.shows("店員・職員の呼び出しを記録しました")
        ui.tap("OK")  # closes the message
        assert "STAFF CALLED: help asked on the pin_locked screen" in caplog.text
        ui.tap("OK")
        assert ui.current_step == Step.TAKE_CARD
        ui.reader.remove()
        ui.wait_for(Step.WELCOME)


def test_offline_the_application_is_pending_and_the_slip_says_so(rig: KioskRig, card: Path) -> None:
    with kiosk_ui(rig, card) as ui:
        up_to_pin(ui)
        rig.service.stop()  # the store's network goes down
        ui.type_pin(CARD_PIN)
        assert ui.current_step == Step.OFFLINE_NOTICE
        assert ui.shows("送信待ちとして受け付けます")
        ui.tap("次へ")
        assert ui.current_step == Step.CHOOSE_SERVICE
        up_to_confirm(ui)
        assert ui.shows("通信ができないため、送信待ちとして受け付けます")
        ui.tap("この内容で申し込む")
        ui.wait_for(Step.SLIP)
        assert ui.shows("控えとカードをお取りください")
        assert ui.shows("マイキーIDの設定（予約）：送信待ち")
        assert ui.shows("決済サービスの申込：送信待ち")
        assert ui.kiosk.parts.submitter.store.status().counts  # queued, not lost


def test_the_idle_timer_warns_a_touch_extends_and_the_end_returns_to_the_start(
    rig: KioskRig, card: Path
) -> None:
    clock = FakeClock()
    settings = {"idle_timeout_convenience_store_seconds": 25.0,
                "technician_pin_hash": hash_pin(TECHNICIAN_PIN)}  # fmt: skip
    with kiosk_ui(rig, card, monotonic=clock, **settings) as ui:
        clock.now += 60
        ui.run_for(0.3)
        assert ui.current_step == Step.WELCOME  # no countdown on the start screen
        assert not ui.shows("秒で最初の画面にもどります")
        ui.tap("はじめる")
        clock.now += 4
        ui.run_for(0.3)
        assert not ui.shows("秒で最初の画面にもどります")  # 21 s left: no warning yet
        clock.now += 10
        ui.run_for(0.3)
        assert ui.shows("あと 11 秒で最初の画面にもどります")
        ui.tap("続ける")  # one touch gives the time back
        ui.run_for(0.3)
        assert not ui.shows("秒で最初の画面にもどります")
        assert ui.current_step == Step.CONSENT
        clock.now += 24
        ui.run_for(0.3)
        assert ui.shows("あと 1 秒")
        clock.now += 1
        ui.run_for(0.3)
        assert ui.current_step == Step.WELCOME  # the session ended
        assert not ui.shows("秒で最初の画面にもどります")

        # The technician's gesture: five taps in the top-left corner within 3 s.
        for _ in range(5):
            ui.tap_at(10, ui.root.height - 10)
        assert ui.current_step == Step.TECHNICIAN_PIN
        ui.type_pin(TECHNICIAN_PIN)
        ui.wait_for(Step.TECHNICIAN)
        ui.tap("送信待ちの件数")
        assert ui.shows("queue: 0 unsent")
        ui.tap("もどる")
        assert ui.current_step == Step.WELCOME


def test_printer_out_of_paper_shows_the_slip_on_the_screen(
    rig: KioskRig, card: Path, screenshots: Path, caplog: pytest.LogCaptureFixture
) -> None:
    printer = LoopbackPrinter(port=0, state=PrinterState.PAPER_OUT).start()
    network = {"printer_backend": "network", "printer_port": printer.port,
               "printer_timeout_seconds": 0.3}  # fmt: skip
    try:
        with kiosk_ui(rig, card, size=(1280, 800), **network) as ui:
            up_to_pin(ui)
            ui.type_pin(CARD_PIN)
            up_to_confirm(ui)
            ui.tap("この内容で申し込む")
            ui.wait_for(Step.SLIP)
            assert ui.shows("用紙切れのため、控えを印刷できません")
            assert ui.shows("係員にお知らせください")
            pictures = ui.screen.ids.image.children
            assert len(pictures) == 2  # the slip, in two halves
            assert sum(p.texture.height for p in pictures) == ui.app.shown.data["image"].height
            assert all(p.texture.width == 576 for p in pictures)
            shot = ui.screenshot(screenshots / "slip-on-screen.png")
            assert_drawn(shot, (1280, 800))
            ui.tap("終了する")
            assert ui.current_step == Step.TAKE_CARD
            assert not ui.app.screens["slip"].ids.image.children  # not kept once left
    finally:
        printer.stop()
    assert "STAFF CALLED: slip printer: printer.paper_out" in caplog.text


def test_at_city_hall_a_citizen_who_did_not_apply_cancels_by_touch_and_checks_the_status(
    private_data_home: Path, tmp_path: Path, screenshots: Path
) -> None:
    """Already applied: which service, that it cannot change, "I did not apply for this",
    the same-day cancellation a city-hall terminal allows; then My Page shows it."""
    rig = make_rig(private_data_home, make_card_and_ca(), kiosk_id="kiosk-city-hall",
                   channel="city_hall")  # fmt: skip
    card = issue_rig_card(tmp_path, "city-hall-citizen")
    try:
        with kiosk_ui(rig, card) as ui:
            up_to_pin(ui)
            ui.type_pin(CARD_PIN)
            up_to_confirm(ui)
            ui.tap("この内容で申し込む")
            ui.wait_for(Step.SLIP)
            ui.tap("終了する")
            ui.reader.remove()
            ui.wait_for(Step.WELCOME)

            up_to_pin(ui)  # the same card again (someone else applied with it, they say)
            ui.type_pin(CARD_PIN)
            assert ui.current_step == Step.ALREADY_APPLIED, ui.texts()
            assert ui.shows("すでに申し込んでいます") and ui.shows("末尾 0001")
            assert ui.shows("変更することはできません")
            ui.screenshot(screenshots / "already-applied.png")
            ui.tap("この申込に心当たりがない")
            assert ui.current_step == Step.NOT_ME
            assert ui.shows("この端末で取り消せます")
            ui.screenshot(screenshots / "not-me.png")
            ui.tap("本日の申込を取り消す")
            ui.wait_for(Step.CANCELLED)
            assert ui.shows("申込を取り消しました") and ui.find("続けて申し込む")
            ui.tap("やめる")
            assert ui.current_step == Step.TAKE_CARD
            ui.reader.remove()
            ui.wait_for(Step.WELCOME)

            ui.tap("申込状況の確認")
            ui.tap("同意する")
            ui.reader.insert()
            ui.wait_for(Step.PIN)
            ui.type_pin(CARD_PIN)
            ui.wait_for(Step.MY_PAGE)
            assert ui.shows("マイキーID") and ui.shows("この申込は取り消されています")
            ui.screenshot(screenshots / "my-page.png")
    finally:
        rig.service.stop()


def test_the_language_switches_live_mid_session(rig: KioskRig, card: Path) -> None:
    with kiosk_ui(rig, card) as ui:
        up_to_pin(ui)
        for digit in "48":
            ui.tap(digit, settle=False)
        ui.tap("English")
        assert ui.language == "en" and ui.current_step == Step.PIN
        for text in ("Enter your PIN (4 digits)", "3 more wrong entries will lock the PIN.",
                     "Clear", "OK", "Cancel", "Questions: 0120-95-0178", "Help", "Step 3 of 8: PIN",
                     "日本語"):  # fmt: skip
            assert ui.shows(text), (text, ui.texts())
        assert not ui.shows("暗証番号")
        assert ui.screen.ids.display.shown == "●●"  # what was typed stays
        for digit in "27":
            ui.tap(digit, settle=False)
        ui.tap("OK")
        assert ui.current_step == Step.CHOOSE_SERVICE
        ui.tap("E-money")
        assert ui.shows("Choose a payment service") and ui.shows("Needs pre-registration")
        ui.tap("日本語")
        assert ui.shows("決済サービスを選んでください") and ui.shows("事前登録が必要です")
        ui.tap("English")
        ui.tap("QR code")
        ui.tap_service("PayPay", next_page="Next page")
        ui.type_text(PAYPAY_DIGITS)
        ui.tap("Next")
        assert ui.current_step == Step.ENTER_CODE and ui.shows("Enter your security code")


def test_a_second_touch_on_submit_does_not_submit_twice(rig: KioskRig, card: Path) -> None:
    from kivy.tests.common import UnitTestTouch

    from kiosk.ui import kivy_harness as kh

    with kiosk_ui(rig, card) as ui:
        up_to_pin(ui)
        ui.type_pin(CARD_PIN)
        up_to_confirm(ui)
        button = ui.find("この内容で申し込む")
        x, y = button.to_window(*button.center)
        first, second = UnitTestTouch(x, y), UnitTestTouch(x + 2, y + 2)
        first.touch_down()
        second.touch_down()  # a shaky finger: two touches before any answer
        first.touch_up()
        second.touch_up()
        kh.advance_frames(1, draw=False)
        ui.wait_for(Step.SLIP)
        assert sum(ui.kiosk.parts.submitter.store.status().counts.values()) == 2  # one each


def test_no_secret_reaches_a_log_line_during_a_touch_session(
    rig: KioskRig, card: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = [CARD_PIN, PAYPAY_CODE, PAYPAY_DIGITS, "090-0000-0001", "9999"]
    logging.getLogger("kiosk.ui.app").warning("planted %s", PAYPAY_DIGITS)
    assert leaked(caplog.text, secrets)  # the check catches a planted one
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("kivy").setLevel(logging.DEBUG)
    try:
        with kiosk_ui(rig, card) as ui:
            up_to_pin(ui)
            for digit in CARD_PIN[:3]:
                ui.tap(digit, settle=False)
            ui.tap("やめる")  # leaving the PIN screen forgets what was typed
            assert ui.current_step == Step.TAKE_CARD
            assert ui.app.screens["pin"].ids.pad._digits == []
            ui.reader.remove()
            ui.wait_for(Step.WELCOME)
            up_to_pin(ui)
            ui.type_pin("9999")  # a wrong PIN is a secret too
            ui.type_pin(CARD_PIN)
            up_to_confirm(ui)
            ui.tap("この内容で申し込む")
            ui.wait_for(Step.SLIP)
            ui.tap("終了する")
            ui.reader.remove()
            ui.wait_for(Step.WELCOME)
    finally:
        logging.getLogger("kivy").setLevel(logging.NOTSET)
    assert not leaked(caplog.text, secrets)
    assert len(caplog.records) > 10  # the run did log


def test_the_place_card_screen_says_where_this_kiosks_reader_is(rig: KioskRig, card: Path) -> None:
    """The technician's ``reader_location`` setting, through the assembly and the flow, to
    the screen's words, its drawing and its script: here a handheld reader, which alone
    gets the tip about metal desks."""
    from kiosk.voice.scripts import script_for

    with kiosk_ui(rig, card, reader_location="handheld") as ui:
        ui.tap("はじめる")
        ui.tap("同意する")
        ui.tap("自分の手続き")
        assert ui.current_step == Step.PLACE_CARD
        assert ui.shows("手元の読み取り機に置いてください") and ui.shows("金属の上に置かないで")
        assert ui.screen.ids.drawing.location == "handheld"
        assert "お手元の、読み取り機" in script_for(ui.app.shown)
        ui.reader.insert()
        ui.wait_for(Step.PIN)


# --- Every screen, at both panel sizes, in both languages ---------------------------------------


def every_view() -> list[tuple[str, View]]:
    """A view of every step (and the variants that change a layout), with real catalog
    services and a real slip picture."""
    from kiosk.catalog.queries import Catalog
    from kiosk.catalog.store import Freshness, Source
    from mynapoint.packaged_catalog import packaged_document
    from receipts.render import slip_image
    from receipts.sample import sample_slip

    catalog = Catalog.from_document(packaged_document(), Freshness(Source.PACKAGED, "test"))
    today = dt.date(2020, 9, 1)
    services = [
        {"service": s, "availability": catalog.availability(s, "convenience_store", today)}
        for s in catalog.services
    ]
    paypay, suica = catalog.service("paypay"), catalog.service("suica")
    now = dt.datetime(2025, 3, 31, 6, 30, tzinfo=dt.UTC)
    outcomes = (ev.Outcome("reservation", "pending", "5923-DYX9-MQ9Q"),
                ev.Outcome("application", "pending", "Q394-Q5AN-ZWWD"))  # fmt: skip
    applied = {"service_code": "paypay", "service_name_ja": "PayPay", "service_name_en":
               "PayPay", "account_last4": "0001", "receipt_number": "Q394-Q5AN-ZWWD",
               "applied_at": now.isoformat(), "cancellable_here": False,
               "channel": "convenience_store"}  # fmt: skip
    refused = {"reason_code": "MKCZ374E", "receipt_number": "Q394-Q5AN-ZWWD",
               "message_ja": "申込が完了しませんでした。"
                             "決済サービスIDまたはセキュリティコードが正しくありません。",
               "message_en": "The application was not completed: the payment service ID or "
                             "security code is not right."}  # fmt: skip
    page = {"reservation": {"reserved": True, "mykey_id": "K7QM3XPA"},
            "application": {"state": "active", "service_code": "paypay",
                            "account_last4": "0001"},
            "points": {"points": 5000},
            "submissions": [{"state": "rejected", "message_ja": "受け付けられませんでした。",
                             "message_en": "Refused."}]}  # fmt: skip
    id_error = catalog.check_id(suica, "12").error
    views: list[tuple[str, Step, dict[str, Any]]] = [
        ("welcome", Step.WELCOME, {}),
        ("consent", Step.CONSENT, {"purpose": "apply"}),
        ("consent-help", Step.CONSENT, {"purpose": "apply"}),  # "help" opened over it
        ("consent-help-2", Step.CONSENT, {"purpose": "apply"}),  # and its second page
        ("for_whom", Step.FOR_WHOM, {}),
        ("place_card", Step.PLACE_CARD, {"for_whom": "child_under_15"}),  # no place set
        ("place_card-right", Step.PLACE_CARD, {"for_whom": "self", "reader": "right_of_screen"}),
        ("place_card-below", Step.PLACE_CARD, {"for_whom": "self", "reader": "below_screen"}),
        ("place_card-left", Step.PLACE_CARD, {"for_whom": "child_15_plus",
                                              "reader": "left_of_screen"}),
        ("place_card-handheld", Step.PLACE_CARD, {"for_whom": "self", "reader": "handheld"}),
        ("reading", Step.READING, {}),
        ("verifying", Step.VERIFYING, {"tries_left": 3}),
        ("checking", Step.CHECKING, {}),
        ("submitting", Step.SUBMITTING, {}),
        ("card_problem", Step.CARD_PROBLEM, {"problem": "card.not_my_number_card"}),
        ("cert_expired", Step.CERT_EXPIRED, {"expired_on": now}),
        ("cert_too_recent", Step.CERT_TOO_RECENT, {"usable_from": now}),
        ("pin", Step.PIN, {"tries_left": 3, "last_try": False}),
        ("pin-last-try", Step.PIN, {"tries_left": 1, "last_try": True, "wrong": True}),
        ("pin_locked", Step.PIN_LOCKED, {}),
        ("offline_notice", Step.OFFLINE_NOTICE, {"purpose": "apply"}),
        ("already_applied", Step.ALREADY_APPLIED, applied),
        ("not_me", Step.NOT_ME, applied),
        ("not_me-here", Step.NOT_ME, {**applied, "cancellable_here": True}),
        ("not_me-wrong-entry", Step.NOT_ME, {**applied, "why": "wrong_entry"}),
        ("cancelled", Step.CANCELLED, {"receipt_number": "Q394-Q5AN-ZWWD"}),
        ("reservations_closed", Step.RESERVATIONS_CLOSED, {}),
        ("notice", Step.NOTICE, refused),
        ("choose_service", Step.CHOOSE_SERVICE, {"services": services, "reserved": False,
                                                 "online": True, "search": "", "kind": None}),
        ("choose_service-search", Step.CHOOSE_SERVICE, {
            "services": services, "reserved": True, "online": True, "search": "PAY",
            "kind": "qr", "shown": ["paypay", "au_pay", "rakuten_pay"]}),
        ("enter_id-digits", Step.ENTER_ID, {"service": paypay, "for_whom": "self",
                                            "pre_registration": False}),
        ("enter_id-letters", Step.ENTER_ID, {"service": suica, "for_whom": "child_under_15",
                                             "pre_registration": True, "error": id_error}),
        ("enter_code", Step.ENTER_CODE, {"service": paypay}),
        ("enter_phone", Step.ENTER_PHONE, {"error": "phone.format"}),
        ("confirm", Step.CONFIRM, {"reserve": True, "service": paypay, "account_last4": "0001",
                                   "for_whom": "child_under_15", "online": False}),
        ("submitting", Step.SUBMITTING, {"cancelling": True}),
        ("refused", Step.REFUSED, {**refused, "correctable": True}),
        ("refused-register-first", Step.REFUSED, {
            "reason_code": "PRE_REGISTRATION_REQUIRED", "receipt_number": "Q394-Q5AN-ZWWD",
            "message_ja": R.PRE_REGISTRATION_REQUIRED.value.message_ja,
            "message_en": R.PRE_REGISTRATION_REQUIRED.value.message_en,
            "correctable": False, "service": suica}),
        ("slip-printing", Step.SLIP, {"printing": True, "outcomes": outcomes}),
        ("slip-printed", Step.SLIP, {"printing": False, "printed": True, "outcomes": outcomes}),
        ("slip-on-screen", Step.SLIP, {"printing": False, "printed": False, "outcomes": outcomes,
                                       "problem": "printer.paper_out", "tell_staff": True,
                                       "image": slip_image(sample_slip())}),
        ("my_page", Step.MY_PAGE, {"page": page}),
        ("take_card", Step.TAKE_CARD, {}),
        ("card_left", Step.CARD_LEFT, {"channel": "city_hall"}),
        ("card_removed", Step.CARD_REMOVED, {}),
        ("technician_pin", Step.TECHNICIAN_PIN, {"wrong": True}),
        ("technician", Step.TECHNICIAN, {"lines": ("queue: 0 unsent", "printer: ok",
                                                   "mynapoint-kiosk 0.1.0")}),
        *platform_views(),
    ]  # fmt: skip
    return [(name, View(step, "ja", data)) for name, step, data in views]


def platform_views() -> list[tuple[str, Step, dict[str, Any]]]:
    """The MyKey platform's steps (city hall), with the packaged platform catalog: the
    longest names, two municipalities, every library."""
    from mynapoint.platform_catalog import PACKAGED_PLATFORM_CATALOG, PlatformCatalog
    from receipts.sample import sample_voucher

    platform = PlatformCatalog.from_file(PACKAGED_PLATFORM_CATALOG)
    chiyoda, yokohama = platform.municipality("131016"), platform.municipality("141003")
    library = platform.facility("yokohama_central_library")
    balances = [
        {
            "municipality_code": "131016",
            "municipality": chiyoda,
            "points": 12500,
            "expiring": [
                {"expires_on": "2026-12-31", "points": 2500},
                {"expires_on": "2027-03-31", "points": 10000},
            ],
        },
        {
            "municipality_code": "141003",
            "municipality": yokohama,
            "points": 800,
            "expiring": [{"expires_on": "2027-01-31", "points": 800}],
        },
    ]
    links = [
        {"facility_code": "yokohama_central_library", "facility": library, "number_last4": "3456"}
    ]
    choices = [
        {"code": b["municipality_code"], "points": b["points"], "municipality": b["municipality"]}
        for b in balances
    ]
    facilities = [
        {
            "facility": f,
            "linked": f.code == "yokohama_central_library",
            "municipality": platform.municipality(f.municipality_code),
        }
        for f in platform.facilities
    ]
    voucher = {
        "number": "1234567890123450",
        "municipality_code": "131016",
        "points": 3000,
        "expires_on": "2027-03-06",
        "municipality_name_ja": "千代田区",
        "municipality_name_en": "Chiyoda City",
        "code": "MKV1.x.y",
    }
    voucher_image = slip_image_of(sample_voucher())
    held = [
        {"number": "1234567890123450", "municipality_code": "131016", "municipality": chiyoda,
         "points": 3000, "expires_on": "2027-03-06"},
        {"number": "5234567890123456", "municipality_code": "141003", "municipality": yokohama,
         "points": 12500, "expires_on": "2027-12-31"},
    ]  # fmt: skip
    return [
        ("platform_elsewhere", Step.PLATFORM_ELSEWHERE, {}),
        ("platform_home", Step.PLATFORM_HOME, {"balances": balances, "links": links,
         "vouchers": held}),
        ("platform_home-no_points", Step.PLATFORM_HOME, {"balances": [], "links": [],
         "vouchers": [], "no_points": True}),
        ("platform_offline", Step.PLATFORM_OFFLINE, {}),
        ("voucher_amount", Step.VOUCHER_AMOUNT, {"choices": choices, "chosen": "131016",
         "most": 12500, "error": "voucher.points_range"}),
        ("voucher_confirm", Step.VOUCHER_CONFIRM, {"municipality": chiyoda, "points": 3000,
         "balance": 12500}),
        ("issuing", Step.ISSUING, {}),
        ("voucher_slip", Step.VOUCHER_SLIP, {"printing": False, "printed": True,
         "voucher": voucher}),
        ("voucher_slip-on-screen", Step.VOUCHER_SLIP, {"printing": False, "printed": False,
         "voucher": voucher, "problem": "printer.paper_out", "image": voucher_image}),
        ("choose_facility", Step.CHOOSE_FACILITY, {"facilities": facilities, "online": False}),
        ("enter_service_number", Step.ENTER_SERVICE_NUMBER, {"facility": library,
         "error": "link.number_format"}),
        ("link_confirm", Step.LINK_CONFIRM, {"facility": library, "number_last4": "3456",
         "municipality": yokohama, "online": False}),
        ("link_done", Step.LINK_DONE, {"state": "pending", "facility": library,
         "receipt_number": "Q394-Q5AN-ZWWD"}),
        ("voucher_cancel_choose", Step.VOUCHER_CANCEL_CHOOSE, {"vouchers": held}),
        ("voucher_cancel_confirm", Step.VOUCHER_CANCEL_CONFIRM, {"voucher": held[1]}),
        ("cancelling_voucher", Step.CANCELLING_VOUCHER, {}),
        ("voucher_cancelled", Step.VOUCHER_CANCELLED, {"state": "cancelled", "points": 12500,
         "municipality": yokohama, "municipality_code": "141003", "balance": 13300}),
        ("voucher_cancelled-expired", Step.VOUCHER_CANCELLED, {"state": "expired",
         "points": 3000, "municipality": chiyoda, "municipality_code": "131016",
         "balance": None}),
        ("notice-voucher_cancel", Step.NOTICE, {"problem": "voucher_cancel.unknown"}),
        ("choose_unlink", Step.CHOOSE_UNLINK, {"links": [
            {**links[0], "municipality_code": "141003"},
            {"facility_code": "chiyoda_library", "municipality_code": "131016",
             "facility": platform.facility("chiyoda_library"), "number_last4": "8765"}]}),
        ("unlink_confirm", Step.UNLINK_CONFIRM, {"link": links[0], "facility": library,
         "municipality": yokohama}),
        ("link_done-unlink", Step.LINK_DONE, {"state": "confirmed", "facility": library,
         "receipt_number": "Q394-Q5AN-ZWWD", "unlinking": True}),
        ("revoke_terms", Step.REVOKE_TERMS, {"mykey_id": "ABCD2345"}),
        ("revoke_confirm", Step.REVOKE_CONFIRM, {"asked": 2}),
        ("revoking", Step.REVOKING, {}),
        ("revoked", Step.REVOKED, {"result": {"mykey_id": "ABCD2345", "points_lapsed": 13300,
                                              "vouchers_void": 1}}),
    ]  # fmt: skip


def slip_image_of(voucher: Any) -> Any:
    from receipts.render import voucher_image

    return voucher_image(voucher)


def layout_problems(kivy_ui: ModuleType, root: Any, where: str) -> list[str]:
    """Text cut off, touch targets under 20 mm, widgets drawn over each other; at
    1920x1080, text under 32 px or a heading under 48 px."""
    from kivy.uix.label import Label

    from kiosk.ui.kit.labels import HeadingLabel

    problems = []
    if tuple(kivy_ui.window().size) == (1920, 1080):
        for label in root.walk(restrict=True):
            if isinstance(label, Label) and label.text and label.opacity:
                least = 48 if isinstance(label, HeadingLabel) else 32
                if label.font_size < least:
                    problems.append(f"{where}: {kivy_ui.describe(label)} in {label.font_size} px")
    for check in (kivy_ui.assert_no_clipped_text, kivy_ui.assert_touch_targets,
                  kivy_ui.assert_no_overlaps):  # fmt: skip
        try:
            check(root)
        except AssertionError as exc:
            problems.append(f"{where}: {exc}")
    return problems


def test_every_step_has_a_view_in_the_layout_test() -> None:
    assert {view.step for _, view in every_view()} == set(Step)


def theme_larger_text() -> float:
    from kiosk.ui.kit.theme import LARGER_TEXT

    return LARGER_TEXT


class ListeningVoice:
    """The voice controls as the screens see them (``ScreenContext.voice``): here only so
    that the screens show "listen again" and "sound off" (the voice itself is tested in
    tests/kiosk/voice/test_guide.py)."""

    muted = False

    def repeat(self) -> None:
        pass

    def set_muted(self, muted: bool) -> None:
        self.muted = muted

    def typed(self, count: int) -> None:
        pass


# Both channels at both panel sizes, each in the usual text size and in "larger text".
LOOKS = [
    (size, channel, scale)
    for size in SIZES
    for channel in ("convenience_store", "city_hall")
    for scale in (1.0, theme_larger_text())
]


@pytest.mark.parametrize(
    "size,channel,text_scale", LOOKS,
    ids=lambda value: f"{value[0]}x{value[1]}" if isinstance(value, tuple) else str(value),
)  # fmt: skip
def test_every_screen_fits_at_both_panel_sizes_in_both_languages(
    kivy_ui: ModuleType, size: tuple[int, int], channel: str, text_scale: float,
    screenshots: Path, request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    """No text cut off or drawn over another, touch targets of 20 mm, the help bar ("call
    staff", and at city hall the counter in "help"), the language switch and the voice and
    text controls on every screen; in the usual text size and in "larger text"."""
    from kivy.uix.screenmanager import NoTransition, ScreenManager

    from kiosk import i18n
    from kiosk.catalog.queries import Catalog
    from kiosk.catalog.store import Freshness, Source
    from kiosk.procedure.flow import TECHNICIAN_STEPS
    from kiosk.ui.kit.style import ui
    from kiosk.ui.kit.translator import Translator, use_translator
    from kiosk.ui.screens.base import ScreenContext
    from kiosk.ui.screens.registry import SCREEN_OF, SCREENS
    from mynapoint.packaged_catalog import packaged_document

    kivy_ui.resize(size)
    ui.text_scale = text_scale
    request.addfinalizer(lambda: setattr(ui, "text_scale", 1.0))
    translator = Translator(i18n.TABLES)
    use_translator(translator)
    catalog = Catalog.from_document(packaged_document(), Freshness(Source.PACKAGED, "test"))
    sent: list[ev.Event] = []
    context = ScreenContext(send=sent.append, channel=channel, catalog=catalog,
                            voice=ListeningVoice())  # fmt: skip
    manager = ScreenManager(transition=NoTransition())
    screens = {cls.kind: cls(context) for cls in SCREENS}
    for screen in screens.values():
        manager.add_widget(screen)
    kivy_ui.show(manager)
    problems: list[str] = []
    for language in ("ja", "en"):
        translator.language = language
        for name, view in every_view():
            view = View(view.step, language, view.data)
            kind = SCREEN_OF[view.step]
            if manager.current != kind:
                manager.current_screen.leave()
                manager.current = kind
            screen = screens[kind]
            # as the app does: the technician's screens in the usual size, always
            ui.text_scale = 1.0 if view.step in TECHNICIAN_STEPS else text_scale
            screen.show(view)
            pads_left = 0
            if "-help" in name:
                screen.show_help(1 if name.endswith("-2") else 0)
            if name == "choose_service-search":
                screen.open_search()  # a pad over the list, the help bar below it
                pads_left = 2  # kana and letters, one after the other
            kivy_ui.advance_frames(2, draw=False)
            while True:  # what covers the screen first (a message, the search's pads)
                cover = screen.panel or getattr(screen, "search_panel", None)
                where = f"{name} ({language}{', what covers it' if cover else ''})"
                problems += layout_problems(kivy_ui, cover or manager, where)
                if cover is None:
                    break
                if cover is screen.panel:
                    screen.close_panel()
                else:  # the search stays above the help bar
                    assert cover.y >= screen.ids.help.top - 1, name
                    pads_left -= 1
                    if pads_left:
                        cover.switch_pad()
                    else:
                        screen.close_search()
                kivy_ui.advance_frames(2, draw=False)
            texts = kivy_ui.visible_texts(manager)
            assert i18n.text("button.language", language) in texts, (name, texts)  # type: ignore[arg-type]
            assert any(context.contact_bar_line(language) in t for t in texts), (name, texts)
            help_page = [p.text for p in context.help_pages(language)[0]]
            counter = context.counter_line(language)
            assert (counter in help_page) == (channel == "city_hall"), name
            assert i18n.text("button.call_staff", language) in texts, (name, texts)  # type: ignore[arg-type]
            larger = "button.normal_text" if ui.text_scale != 1.0 else "button.larger_text"
            controls = ("button.listen_again", "button.sound_off", larger)
            for key in controls:  # a citizen's screen has them, the technician's not
                shown = i18n.text(key, language) in texts  # type: ignore[arg-type]
                assert shown == (view.step not in TECHNICIAN_STEPS), (name, key, texts)
            if language == "ja" or name.startswith("slip-on"):
                look = "-larger" if text_scale != 1.0 else ""
                shot = kivy_ui.render(
                    screenshots / f"{name}-{size[0]}x{size[1]}{look}-{language}.png"
                )
                assert_drawn(shot, size)
    assert not problems, "\n".join(problems)
    assert not sent  # showing a screen sends nothing


def line_width(widget: Any) -> float:
    """The width of the edge a widget's canvas draws."""
    lines = [i for i in widget.canvas.before.children if type(i).__name__ == "Line"]
    return float(lines[0].width)


def screen_for(
    kivy_ui: ModuleType, kind: str, view: View, channel: str = "convenience_store"
) -> Any:
    """One screen of the kiosk, shown alone in the window (1920x1080)."""
    from kiosk import i18n
    from kiosk.catalog.queries import Catalog
    from kiosk.catalog.store import Freshness, Source
    from kiosk.ui.kit.translator import Translator, use_translator
    from kiosk.ui.screens.base import ScreenContext
    from kiosk.ui.screens.registry import SCREENS
    from mynapoint.packaged_catalog import packaged_document

    kivy_ui.resize((1920, 1080))
    use_translator(Translator(i18n.TABLES))
    catalog = Catalog.from_document(packaged_document(), Freshness(Source.PACKAGED, "test"))
    context = ScreenContext(send=lambda _event: None, channel=channel, catalog=catalog)
    screen = next(cls for cls in SCREENS if cls.kind == kind)(context)
    kivy_ui.show(screen)
    screen.show(view)
    kivy_ui.advance_frames(2, draw=False)
    return screen


def test_a_dropped_screen_is_freed_with_its_labels(kivy_ui: ModuleType) -> None:
    """Nothing process-wide (the ``ui`` style, the translator) keeps a screen alive once
    it is dropped: each screen kept for ever would be woken by every later change of
    language or text size, and the CI run of this file grew quadratically until it timed
    out (a lambda bound to ``ui.text_scale`` held every screen)."""
    import gc
    import weakref

    from kiosk import i18n
    from kiosk.ui.kit.labels import LocalizedLabel
    from kiosk.ui.kit.translator import Translator, use_translator
    from kiosk.ui.screens.registry import SCREENS

    welcome = screen_for(kivy_ui, "welcome", View(Step.WELCOME, "ja", {}))
    context = welcome.context
    del welcome
    for cls in SCREENS:
        kind = cls.kind
        screen = kivy_ui.show(cls(context))
        use_translator(Translator(i18n.TABLES))  # what a dropped screen would be woken by
        labels = [weakref.ref(w) for w in screen.walk() if isinstance(w, LocalizedLabel)]
        dropped = weakref.ref(screen)
        del screen
        kivy_ui.clear()
        gc.collect()
        assert dropped() is None, kind
        assert labels and all(label() is None for label in labels), kind


def test_the_screens_say_it_as_an_elderly_first_time_user_needs(kivy_ui: ModuleType) -> None:
    """Issue 13's screen fixes: the irreversible warning is the loud one, the offline note
    calm; the ● boxes sit right above the pad; a disabled 確定 is quieter than the keys;
    the child's-card note only for a child's procedure; "help" opens without a step."""
    from kiosk.ui.kit.buttons import PadKey
    from kiosk.ui.screens.base import AlertText

    confirm = screen_for(
        kivy_ui,
        "confirm",
        View(
            Step.CONFIRM,
            "ja",
            {"reserve": True, "service": None, "for_whom": "self", "online": False},
        ),
    )
    assert not [w for w in confirm.walk() if isinstance(w, AlertText)]  # offline: calm
    paypay = confirm.context.catalog.service("paypay")
    confirm = screen_for(kivy_ui, "confirm", View(Step.CONFIRM, "ja", {
        "reserve": True, "service": paypay, "account_last4": "0001", "for_whom": "self",
        "online": False}))  # fmt: skip
    alerts = [w.text for w in confirm.walk() if isinstance(w, AlertText)]
    assert alerts == ["申込後に決済サービスを変更・取消することはできません。"]

    pin = screen_for(kivy_ui, "pin", View(Step.PIN, "ja", {"tries_left": 3, "last_try": False}))
    display, pad = pin.ids.display, pin.ids.pad
    assert 0 <= display.y - pad.top <= 40  # right above the pad, not across the screen
    assert pad.x <= display.center_x <= pad.right
    assert kivy_ui.visible_texts(pin).count("確定") == 1
    ok = pad.keys["ok"]
    assert ok.disabled
    digit = next(k for k in pad.keys.values() if isinstance(k, PadKey))
    assert line_width(ok) <= line_width(digit)  # no thicker edge than a key: not "chosen"
    texts = " ".join(kivy_ui.visible_texts(pin))
    assert "署名用パスワードではありません" in texts and "忘れたとき" in texts

    for_whom = screen_for(kivy_ui, "for_whom", View(Step.FOR_WHOM, "ja", {}))
    assert not any("お子さまご本人の" in t for t in kivy_ui.visible_texts(for_whom))
    for who, shown in (("self", False), ("child_under_15", True), ("child_15_plus", True)):
        place = screen_for(kivy_ui, "place_card", View(Step.PLACE_CARD, "ja", {"for_whom": who}))
        assert any("お子さまご本人の" in t for t in kivy_ui.visible_texts(place)) == shown, who

    welcome = screen_for(kivy_ui, "welcome", View(Step.WELCOME, "ja", {}))
    welcome.ids.help.help_button.dispatch("on_release")
    kivy_ui.advance_frames(2, draw=False)
    assert "暗証番号（数字4桁）を忘れたとき" in " ".join(kivy_ui.visible_texts(welcome.panel))
    welcome.panel.ids.actions.children[0].dispatch("on_release")  # 次へ
    kivy_ui.advance_frames(2, draw=False)
    assert "口座の暗証番号" in " ".join(kivy_ui.visible_texts(welcome.panel))
    welcome.panel.ids.actions.children[0].dispatch("on_release")  # OK
    assert welcome.panel is None


def test_the_overlap_check_catches_a_block_pushed_over_another(kivy_ui: ModuleType) -> None:
    from kivy.uix.boxlayout import BoxLayout

    from kiosk.ui.kit.labels import BodyLabel, HeadingLabel

    kivy_ui.resize((1280, 800))
    root = BoxLayout(orientation="vertical")
    root.add_widget(HeadingLabel(text="見出し"))
    squeezed = BoxLayout(orientation="vertical", size_hint_y=None, height=40)
    too_tall = BodyLabel(text="長い文章です。" * 200)
    squeezed.add_widget(too_tall)
    root.add_widget(squeezed)
    kivy_ui.show(root)
    assert kivy_ui.overlapping(root)
    with pytest.raises(AssertionError, match="drawn over each other"):
        kivy_ui.assert_no_overlaps(root)


def test_each_step_has_exactly_one_screen_and_each_screen_its_kv_file() -> None:
    from kiosk.ui.screens.registry import SCREEN_OF, SCREENS

    assert set(SCREEN_OF) == set(Step)
    served = [step for cls in SCREENS for step in cls.steps]
    assert len(served) == len(set(served))
    for cls in SCREENS:
        module = Path(__import__(cls.__module__, fromlist=["x"]).__file__)
        assert module.with_suffix(".kv").is_file(), cls


def test_the_keys_screens_build_from_data_exist_in_both_languages() -> None:
    """Keys made from a value (f"slip.state.{state}"): every value they can take."""
    import typing

    from kiosk import i18n
    from kiosk.catalog.model import KINDS
    from kiosk.settings import ReaderLocation
    from kiosk.ui.screens.technician import CHECKS

    hints = typing.get_type_hints(ev.Outcome)
    keys = [f"slip.what.{kind}" for kind in typing.get_args(hints["kind"])]
    keys += [f"slip.state.{state}" for state in typing.get_args(hints["state"])]
    keys += [f"confirm.grant_on_{on}" for on in ("charge", "purchase")]
    keys += [f"technician.{check}" for check in CHECKS]
    keys += [f"choose_service.kind.{kind}" for kind in KINDS]
    keys += [f"place_card.reader.{where}" for where in typing.get_args(ReaderLocation)]
    for table in i18n.TABLES.values():
        assert [key for key in keys if key not in table] == []


def test_japanese_lines_break_between_characters_but_not_inside_numbers() -> None:
    from mynapoint.linebreak import break_lines

    def measure(text: str) -> float:  # full width 2, ASCII 1
        return sum(1 if char.isascii() else 2 for char in text)

    text = "カード裏面に印字された「JE」で始まる16文字（JEと数字14桁）。モバイルSuicaはアプリで。"
    lines = break_lines(text, 20, measure).split("\n")
    assert "".join(lines) == text  # nothing lost, nothing added
    assert all(measure(line) <= 20 for line in lines)
    for line in lines:
        assert line[0] not in "。、）」" and line[-1] not in "（「"
    assert not any(line.endswith("1") for line in lines)  # "16" and "14" stay whole
    assert break_lines("Suica ID番号の形式が正しくありません", 12, measure).startswith("Suica ID番")
    assert break_lines("Two words", 5, measure) == "Two\nwords"
