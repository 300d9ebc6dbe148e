"""Issue 14 on three screens, in a real offscreen Kivy window, touched as a finger would:
the ID grouped and counted as it is typed (and sent as typed), the edit keys' room and
words, the consent's terms in a panel that scrolls by drag and by its buttons, and the
place-card screen saying and drawing where this kiosk's reader is."""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

import pytest

from kiosk.procedure import events as ev
from kiosk.procedure.flow import Flow, Step, View

pytest_plugins = ["tests.support.kivy_fixtures"]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SIZES = [(1280, 800), (1920, 1080)]
LOCATIONS = ["right_of_screen", "below_screen", "left_of_screen", "handheld"]


def catalog() -> Any:
    from kiosk.catalog.queries import Catalog
    from kiosk.catalog.store import Freshness, Source
    from mynapoint.packaged_catalog import packaged_document

    return Catalog.from_document(packaged_document(), Freshness(Source.PACKAGED, "test"))


def shown_screen(
    kivy_ui: ModuleType, kind: str, view: View, size: tuple[int, int] = (1920, 1080)
) -> tuple[Any, list[ev.Event]]:
    """One screen of the kiosk alone in the window, and the events it sends."""
    from kiosk import i18n
    from kiosk.ui.kit.translator import Translator, use_translator
    from kiosk.ui.screens.base import ScreenContext
    from kiosk.ui.screens.registry import SCREENS

    kivy_ui.resize(size)
    use_translator(Translator(i18n.TABLES, view.language))
    sent: list[ev.Event] = []
    context = ScreenContext(send=sent.append, catalog=catalog())
    screen = next(cls for cls in SCREENS if cls.kind == kind)(context)
    kivy_ui.show(screen)
    screen.show(view)
    kivy_ui.advance_frames(2, draw=False)
    screen.close_panel()  # what must be read first (a letter pad's hint), read
    kivy_ui.advance_frames(2, draw=False)
    return screen, sent


def entry_view(step: Step, code: str = "paypay", language: str = "ja") -> View:
    data = {"service": catalog().service(code), "for_whom": "self", "pre_registration": False}
    return View(step, language, data)  # type: ignore[arg-type]


# --- The entry: grouped and counted as typed ----------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_the_id_is_grouped_and_counted_as_it_is_typed_and_sent_as_typed(
    kivy_ui: ModuleType, size: tuple[int, int]
) -> None:
    from kiosk.ui.kit.pads import EntryDisplay

    screen, sent = shown_screen(kivy_ui, "entry", entry_view(Step.ENTER_ID), size)
    display = next(w for w in screen.walk() if isinstance(w, EntryDisplay))
    assert (display.text, screen.count.text) == ("", "0/11桁")
    seen = []
    for digit in "09000000001":
        kivy_ui.tap_text(screen.pad, digit)
        seen.append((display.text, screen.count.text))
    assert seen[2] == ("090", "3/11桁") and seen[3] == ("090-0", "4/11桁")
    assert seen[-1] == ("090-0000-0001", "11/11桁")
    # beside the entry, on its line, and nothing of the row cut off or drawn over
    row = display.parent
    assert screen.count.parent is row and screen.count.x >= display.right
    assert abs(screen.count.center_y - display.center_y) <= 2
    kivy_ui.assert_no_clipped_text(row)
    kivy_ui.assert_no_overlaps(row.parent)
    kivy_ui.tap(kivy_ui.find_target(screen, "次へ"))
    assert sent == [ev.IdTyped("09000000001")]  # the digits as typed, no hyphen added


def test_a_letter_id_is_grouped_as_its_card_prints_it_and_the_count_says_characters(
    kivy_ui: ModuleType,
) -> None:
    screen, _sent = shown_screen(kivy_ui, "entry", entry_view(Step.ENTER_ID, "suica", "en"))
    for char in "JE12345":
        kivy_ui.tap_text(screen.pad, char)
    assert screen.pad.shown == "JE12 345" and screen.pad.value() == "JE12345"
    assert screen.count.text == "7 of 16 characters"
    kivy_ui.tap_text(screen.pad, "Erase one")
    assert screen.pad.shown == "JE12 34" and screen.count.text == "6 of 16 characters"
    kivy_ui.tap_text(screen.pad, "Clear")
    assert screen.pad.shown == "" and screen.count.text == "0 of 16 characters"


def test_the_security_code_stays_masked_and_is_counted_and_so_are_the_phone_digits(
    kivy_ui: ModuleType,
) -> None:
    screen, sent = shown_screen(kivy_ui, "entry", entry_view(Step.ENTER_CODE))
    for digit in "8642":
        kivy_ui.tap_text(screen.pad, digit)
    assert screen.pad.shown == "●●●●" and screen.count.text == "4/4桁"
    assert not [t for t in kivy_ui.visible_texts(screen) if re.search(r"8\D?6\D?4\D?2", t)]
    kivy_ui.tap(kivy_ui.find_target(screen, "次へ"))
    assert sent == [ev.CodeTyped("8642")]
    screen, _sent = shown_screen(kivy_ui, "entry", entry_view(Step.ENTER_PHONE))
    kivy_ui.tap_text(screen.pad, "5")
    assert (screen.pad.shown, screen.count.text) == ("5", "1/4桁")


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_edit_keys_leave_room_around_their_words_and_use_the_pin_pads_word(
    kivy_ui: ModuleType, size: tuple[int, int], language: str
) -> None:
    """The words fill at most 80 % of the key (they filled 137 px of a 146 px key), on
    the digit pad and the letter pad; "clear" is the PIN pad's 訂正 / Clear."""
    from kiosk import i18n

    for code in ("paypay", "suica"):  # a digit pad, a letter pad
        screen, _sent = shown_screen(kivy_ui, "entry", entry_view(Step.ENTER_ID, code, language),
                                     size)  # fmt: skip
        keys = screen.pad.keys
        assert keys["clear"].text == i18n.text("pinpad.clear", language)  # type: ignore[arg-type]
        for name in ("clear", "backspace"):
            key = keys[name]
            assert key.texture_size[0] <= 0.8 * key.width, (code, name, key.texture_size, key.width)
        kivy_ui.assert_touch_targets(screen.pad)
        kivy_ui.assert_no_clipped_text(screen.pad)


# --- The consent: the terms scroll ------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_the_terms_scroll_by_a_finger_and_by_their_up_and_down_buttons(
    kivy_ui: ModuleType, size: tuple[int, int]
) -> None:
    from kivy.tests.common import UnitTestTouch

    screen, sent = shown_screen(kivy_ui, "consent", View(Step.CONSENT, "ja", {}), size)
    terms = screen.ids.texts
    scroll = terms.ids.scroll
    last = kivy_ui.find_by_text(screen, "以上の内容に同意いただける場合は")
    assert terms.overflows and scroll.scroll_y == 1
    assert kivy_ui.visible_box(last) is None  # the end is out of sight at first
    assert scroll.height >= 0.3 * size[1]  # a panel to read in, not a slit
    up, down = kivy_ui.find_target(screen, "上へ"), kivy_ui.find_target(screen, "下へ")
    assert min(up.size + down.size) >= kivy_ui.min_touch_px()  # 20 mm each way

    kivy_ui.tap(down)
    after_one = scroll.scroll_y
    assert 0 <= after_one < 1
    while scroll.scroll_y > 0:
        kivy_ui.tap(down)
    assert kivy_ui.visible_box(last) is not None  # the end, read with the buttons alone
    kivy_ui.tap(up)
    assert scroll.scroll_y > 0
    while scroll.scroll_y < 1:
        kivy_ui.tap(up)

    x, y = scroll.to_window(*scroll.center)  # a finger drags the text up
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    for step in range(1, 11):
        touch.touch_move(x, y + step * 0.05 * scroll.height)
        kivy_ui.advance_frames(1, draw=False)
    touch.touch_up()
    kivy_ui.advance_frames(3, draw=False)
    assert scroll.scroll_y < 1
    assert sent == []  # reading sends nothing; only 同意する or やめる does


def test_the_terms_say_what_goes_to_whom(kivy_ui: ModuleType) -> None:
    """The payment company gets the payment service ID and the security code only; the
    phone digits stay on the application (grant_service/rules.py; the service's own test
    is in tests/test_citizen_texts.py). Plain words for the certificate, its official
    name once."""
    for language, said in (
        ("ja", ["決済サービスIDとセキュリティコードだけが送られます",
                "電話番号の下4桁とマイキーIDは、決済サービスの会社には送られません",
                "マイナンバー（個人番号）は読み取りません", "購入履歴",
                "ご本人であることを確かめるしくみ（利用者証明用電子証明書）", "25%分",
                "5,000円分まで", "暗号化して保管", "30日間", "口座の暗証番号"]),
        ("en", ["only the payment service ID and the security code",
                "The last 4 digits of your phone number and your MyKey ID are not sent",
                "Your My Number is never read", "25%", "5,000 yen"]),
    ):  # fmt: skip
        screen, _sent = shown_screen(kivy_ui, "consent", View(Step.CONSENT, language, {}))  # type: ignore[arg-type]
        text = " ".join(kivy_ui.visible_texts(screen.ids.texts))
        missing = [words for words in said if words not in text]
        assert not missing, language
        if language == "ja":
            assert text.count("利用者証明用電子証明書") == 1


# --- The place card: where the reader is ------------------------------------------------------


def place_view(reader: str | None, language: str = "ja", who: str = "self") -> View:
    return View(Step.PLACE_CARD, language, {"for_whom": who, "reader": reader})  # type: ignore[arg-type]


@pytest.mark.parametrize("reader", LOCATIONS)
def test_the_place_card_screen_says_and_draws_where_the_reader_is(
    kivy_ui: ModuleType, reader: str
) -> None:
    words = {"right_of_screen": "画面の右にある読み取り機",
             "below_screen": "画面の下にある読み取り機",
             "left_of_screen": "画面の左にある読み取り機",
             "handheld": "手元の読み取り機"}  # fmt: skip
    screen, _sent = shown_screen(kivy_ui, "place_card", place_view(reader))
    assert screen.ids.title.text == f"マイナンバーカードを、{words[reader]}に置いてください"
    metal = any("金属" in t for t in kivy_ui.visible_texts(screen))
    assert metal == (reader == "handheld")  # a built-in reader stands on no desk
    assert any("5秒以上" in t for t in kivy_ui.visible_texts(screen))

    drawing = screen.ids.drawing
    assert drawing.location == reader and drawing.height >= kivy_ui.min_touch_px()
    sx, sy, sw, sh = drawing.screen_box
    rx, ry, rw, rh = drawing.reader_box
    where = {
        "right_of_screen": rx >= sx + sw,
        "left_of_screen": rx + rw <= sx,
        "below_screen": ry + rh <= sy and rx >= sx and rx + rw <= sx + sw,
        "handheld": ry + rh <= sy + sh / 2 and rx >= sx + sw,  # in front, to the side
    }
    assert where[reader], (drawing.screen_box, drawing.reader_box)
    (_x1, _y1), (x2, y2) = drawing.arrow  # the arrow ends at the reader
    margin = 0.2 * rh
    assert rx - margin <= x2 <= rx + rw + margin and ry - margin <= y2 <= ry + rh + margin

    english, _sent = shown_screen(kivy_ui, "place_card", place_view(reader, "en", "child_15_plus"))
    assert english.ids.title.text.startswith("Place your child's My Number Card on the reader")
    assert any("My Number Card" in t for t in kivy_ui.visible_texts(english))


def test_with_no_place_set_the_screen_says_the_reader_and_keeps_every_tip(
    kivy_ui: ModuleType,
) -> None:
    screen, _sent = shown_screen(kivy_ui, "place_card", place_view(None))
    assert screen.ids.title.text == "マイナンバーカードを、読み取り機に置いてください"
    assert any("金属" in t for t in kivy_ui.visible_texts(screen))
    assert screen.ids.drawing.screen_box is None and screen.ids.drawing.arrow is None


@pytest.mark.parametrize("reader", LOCATIONS)
def test_the_flow_carries_the_reader_location_and_the_voice_says_it(reader: str) -> None:
    from kiosk.voice.scripts import script_for

    flow = Flow(channel="city_hall", catalog=catalog(), reader_location=reader)  # type: ignore[arg-type]
    for event in (ev.Start(), ev.Agree(), ev.ForWhom("self")):
        flow.handle(event)
    view = flow.view
    assert view.step == Step.PLACE_CARD and view.data["reader"] == reader
    spoken = {
        "right_of_screen": ("画面の右にある、読み取り機", "to the right of the screen"),
        "below_screen": ("画面の下にある、読み取り機", "below the screen"),
        "left_of_screen": ("画面の左にある、読み取り機", "to the left of the screen"),
        "handheld": ("お手元の、読み取り機", "the reader in front of you"),
    }[reader]
    assert spoken[0] in script_for(view)
    assert spoken[1] in script_for(View(view.step, "en", view.data))
    child = View(view.step, "ja", {**view.data, "for_whom": "child_under_15"})
    assert spoken[0] in script_for(child) and "お子さま" in script_for(child)


def test_the_reader_location_is_a_setting_with_four_places() -> None:
    from pydantic import ValidationError

    from kiosk.settings import KioskSettings

    assert KioskSettings().reader_location == "right_of_screen"  # the demo's kiosk
    assert KioskSettings(reader_location="handheld").reader_location == "handheld"
    with pytest.raises(ValidationError, match="reader_location"):
        KioskSettings(reader_location="behind_screen")  # type: ignore[arg-type]
