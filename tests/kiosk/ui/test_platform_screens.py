"""The MyKey platform's screens, by touch in a real Kivy window, in Japanese and English: a
city-hall citizen sees their points with their expiry, prints a voucher (the printer gets
its signed QR code) and cancels it for its points, links a library card on the pad, backs
out of revoking, and unlinks the card; a store kiosk says where to go instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.procedure.flow import Step
from tests.kiosk.ui.test_screens import kiosk_ui, up_to_confirm, up_to_pin
from tests.support.escpos_decoder import decode
from tests.support.flow_harness import CARD_PIN, issue_rig_card
from tests.support.kiosk_harness import KioskRig, make_card_and_ca, make_rig

pytest_plugins = ["tests.support.kivy_fixtures"]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

WORDS = {
    "ja": {"button": "自治体ポイント", "balance": "千代田区：1,200 ポイント",
           "expiring": "うち 200 ポイントは 2099年1月31日 まで", "voucher": "ポイント券を発行する",
           "points": "500 ポイント", "issue": "発行する",
           "take": "ポイント券とカードをお取りください",
           "link": "図書館カードを紐付ける", "library": "千代田区立千代田図書館",
           "next": "次へ", "confirm": "紐付ける", "linked": "紐付けました",
           "revoke": "マイキーIDを失効させる", "undo": "元に戻せません",
           "understood": "内容を理解しました", "no": "失効させない", "finish": "終了する",
           "cancel": "使用前のポイント券を取り消す", "held": "500 ポイント\n番号 末尾",
           "cancel_it": "取り消す", "back_balance": "千代田区の残高：1,200 ポイント",
           "to_page": "ポイントの画面にもどる", "unlink": "図書館カードの紐付けを解除する",
           "unlink_it": "解除する", "unlinked": "紐付けを解除しました"},
    "en": {"button": "Municipal points", "balance": "Chiyoda City: 1,200 points",
           "expiring": "200 of them until 31 January 2099", "voucher": "Print a point voucher",
           "points": "500 points", "issue": "Print the voucher",
           "take": "Please take your voucher and your card", "link": "Link a library card",
           "library": "Chiyoda City Library", "next": "Next", "confirm": "Link it",
           "linked": "Your card is linked", "revoke": "Revoke my MyKey ID",
           "undo": "can never be restored", "understood": "I understand", "no": "Do not revoke",
           "finish": "Finish", "cancel": "Cancel an unused voucher",
           "held": "500 points\nnumber ending", "cancel_it": "Cancel the voucher",
           "back_balance": "Chiyoda City balance: 1,200 points", "to_page": "Back to my points",
           "unlink": "Unlink a library card", "unlink_it": "Unlink it",
           "unlinked": "Your card is unlinked"},
}  # fmt: skip


def grant(rig: KioskRig, mykey_id: str) -> None:
    made = rig.service.cli("credential", "create", "--role", "municipality", "--scope",
                           "131016", "--label", "千代田区")  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[0]
    grants = [{"grant_id": "health-1", "mykey_id": mykey_id, "points": 200,
               "expires_on": "2099-01-31"},
              {"grant_id": "health-2", "mykey_id": mykey_id, "points": 1000,
               "expires_on": "2099-03-31"}]  # fmt: skip
    reply = httpx.post(f"{rig.service.url}/v1/municipal-points/grants", json={"grants": grants},
                       headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
    assert reply.status_code == 200, reply.text


def tap_below(ui: Any, text: str, language: str) -> None:
    """Tap ``text``, scrolling the page down (「▼ 下へ」) as a citizen would until it shows."""
    from kiosk.i18n import text as screen_text
    from kiosk.ui.kivy_harness import KivyHarnessError

    for _ in range(5):
        try:
            ui.tap(text)
            return
        except KivyHarnessError:
            ui.tap(screen_text("button.scroll_down", language))  # type: ignore[arg-type]
    ui.tap(text)


def open_platform(ui: Any, language: str) -> None:
    """From the start screen to the platform's page, in ``language``: the card, the PIN."""
    if language == "en":
        ui.tap("English")
    ui.tap(WORDS[language]["button"])
    assert ui.current_step == Step.PLACE_CARD
    ui.reader.insert()
    ui.wait_for(Step.PIN)
    ui.type_pin(CARD_PIN)
    ui.wait_for(Step.PLATFORM_HOME)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_city_hall_citizen_uses_points_vouchers_and_library_cards_by_touch(
    language: str, private_data_home: Path, tmp_path: Path, screenshots: Path
) -> None:
    words = WORDS[language]
    rig = make_rig(private_data_home, make_card_and_ca(), kiosk_id="kiosk-city-hall",
                   channel="city_hall")  # fmt: skip
    card = issue_rig_card(tmp_path, "city-hall-citizen")
    try:
        with kiosk_ui(rig, card) as ui:
            up_to_pin(ui)  # the MyKey ID is set first, the usual way
            ui.type_pin(CARD_PIN)
            up_to_confirm(ui)
            ui.tap("この内容で申し込む")
            ui.wait_for(Step.SLIP)
            mykey_id = ui.kiosk.flow.session.mykey_id
            ui.tap("終了する")
            ui.reader.remove()
            ui.wait_for(Step.WELCOME)
            grant(rig, mykey_id)
            open_platform(ui, language)
            assert ui.shows(words["balance"]) and ui.shows(words["expiring"]), ui.texts()
            ui.screenshot(screenshots / f"platform-home-{language}.png")
            ui.tap(words["voucher"])
            ui.tap(words["points"])
            assert ui.current_step == Step.VOUCHER_CONFIRM, ui.texts()
            ui.tap(words["issue"])
            ui.wait_for(Step.VOUCHER_SLIP)
            ui.settle()
            assert ui.shows(words["take"]), ui.texts()
            ui.tap(words["finish"])
            ui.reader.remove()
            ui.wait_for(Step.WELCOME)
            open_platform(ui, language)
            assert ui.shows(words["balance"].replace("1,200", "700")), ui.texts()
            ui.tap(words["cancel"])  # the voucher back to points, with the card
            ui.tap(words["held"])
            assert ui.current_step == Step.VOUCHER_CANCEL_CONFIRM, ui.texts()
            ui.tap(words["cancel_it"])
            ui.wait_for(Step.VOUCHER_CANCELLED)
            assert ui.shows(words["back_balance"]), ui.texts()
            ui.screenshot(screenshots / f"voucher-cancelled-{language}.png")
            ui.tap(words["to_page"])
            assert ui.current_step == Step.PLATFORM_HOME
            assert ui.shows(words["balance"]) and not ui.shows(words["cancel"]), ui.texts()
            ui.tap(words["link"])
            ui.tap(words["library"])
            assert ui.current_step == Step.ENTER_SERVICE_NUMBER
            ui.type_text("1300098765")
            ui.tap(words["next"])
            assert ui.current_step == Step.LINK_CONFIRM, ui.texts()
            ui.tap(words["confirm"])
            ui.wait_for(Step.LINK_DONE)
            assert ui.shows(words["linked"]), ui.texts()
            ui.screenshot(screenshots / f"link-done-{language}.png")
            ui.tap(words["finish"])
            ui.reader.remove()
            ui.wait_for(Step.WELCOME)
            open_platform(ui, language)
            tap_below(ui, words["revoke"], language)  # the last choice, under the fold
            assert ui.shows(words["undo"]), ui.texts()
            ui.screenshot(screenshots / f"revoke-terms-{language}.png")
            ui.tap(words["understood"])
            ui.tap(words["no"])  # the safe answer: nothing happens
            assert ui.current_step == Step.PLATFORM_HOME
            ui.tap(words["unlink"])  # the library card, unlinked again
            ui.tap(words["library"])
            assert ui.current_step == Step.UNLINK_CONFIRM, ui.texts()
            ui.tap(words["unlink_it"])
            ui.wait_for(Step.LINK_DONE)
            assert ui.shows(words["unlinked"]), ui.texts()
        printed = decode(rig.settings.printer_output_file.read_bytes())
        codes = [q.data for q in printed.qr_codes if q.data.startswith(b"MKV1.")]
        assert len(codes) == 1  # the one voucher, with its signed code
    finally:
        rig.service.stop()


def test_a_store_kiosk_says_where_to_go_instead(private_data_home: Path, tmp_path: Path) -> None:
    rig = make_rig(private_data_home, make_card_and_ca())
    card = issue_rig_card(tmp_path, "store-citizen")
    try:
        with kiosk_ui(rig, card) as ui:
            ui.tap("自治体ポイント")
            assert ui.current_step == Step.PLATFORM_ELSEWHERE
            assert ui.shows("市区町村の窓口にある端末"), ui.texts()
            ui.tap("終了する")
            ui.wait_for(Step.WELCOME)
    finally:
        rig.service.stop()
