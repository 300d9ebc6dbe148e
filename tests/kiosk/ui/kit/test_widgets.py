"""The kiosk's Kivy toolkit in a real (offscreen) window: pads typed by taps, live language
switching, no text cut off and 20 mm touch targets at 1280x800 and 1920x1080, contrast."""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType

import pytest

from kiosk.ui.kit import theme
from tests.support.leaks import leaked

pytest_plugins = ["tests.support.kivy_fixtures"]

# pytest loads the plugin after importing this module: Kivy (the kit's widget modules) is
# imported inside the functions, once the plugin has set Kivy's environment.

PIN = "4827"

# Test wording only: the kiosk's catalogue lives elsewhere. Long sentences on purpose, to
# make wrapping and clipping show.
MESSAGES = {
    "ja": {
        "pinpad.clear": "訂正",
        "pinpad.ok": "確定",
        "alphapad.backspace": "1字消す",
        "alphapad.clear": "全部消す",
        "button.continue_session": "続ける",
        "button.call_staff": "係員を呼ぶ",
        "demo.pin.title": "暗証番号を入力してください",
        "demo.pin.body": (
            "利用者証明用電子証明書の暗証番号（数字4桁）を押して、確定を押してください。"
        ),
        "demo.alpha.title": "決済サービスのIDを入力",
        "demo.timeout": "あと {seconds} 秒で最初の画面に戻ります",
        "demo.help": "お困りの方は係員にお声がけください（内線 123）",
        "demo.next": "次へ進む",
        "demo.back": "戻る",
    },
    "en": {
        "pinpad.clear": "Clear",
        "pinpad.ok": "OK",
        "alphapad.backspace": "Delete",
        "alphapad.clear": "Clear all",
        "button.continue_session": "Continue",
        "button.call_staff": "Call staff",
        "demo.pin.title": "Enter your PIN",
        "demo.pin.body": "Type the 4-digit PIN of your user certificate, then press OK.",
        "demo.alpha.title": "Payment service ID",
        "demo.timeout": "Returning to the start in {seconds} seconds",
        "demo.help": "Need help? Ask a member of staff (extension 123)",
        "demo.next": "Next",
        "demo.back": "Back",
    },
}

SIZES = [(1280, 800), (1920, 1080)]


@pytest.fixture
def translator(kivy_ui: ModuleType) -> object:
    from kiosk.ui.kit.translator import Translator, use_translator

    translator = Translator(MESSAGES)
    use_translator(translator)
    return translator


def pin_demo() -> dict[str, object]:
    """A PIN screen as a screen module would build it: every shared widget but the letters."""
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.widget import Widget

    from kiosk.ui.kit.bars import CountdownBanner, HelpBar
    from kiosk.ui.kit.buttons import PrimaryButton, SecondaryButton
    from kiosk.ui.kit.labels import BodyLabel, HeadingLabel
    from kiosk.ui.kit.pads import PinDisplay, PinPad
    from kiosk.ui.kit.style import ui

    root = BoxLayout(orientation="vertical", padding=ui.spacing, spacing=ui.spacing)
    pad = PinPad()
    display = PinDisplay(pad=pad)
    banner = CountdownBanner(key="demo.timeout", seconds=30)
    help_bar = HelpBar(key="demo.help", show_call_button=True)
    left = BoxLayout(orientation="vertical", spacing=ui.spacing)
    left.add_widget(BodyLabel(key="demo.pin.body"))
    left.add_widget(display)
    left.add_widget(banner)
    left.add_widget(Widget())  # what is left of the height
    buttons = BoxLayout(spacing=ui.spacing, size_hint_y=None, height=ui.button_height)
    buttons.add_widget(SecondaryButton(key="demo.back"))
    buttons.add_widget(PrimaryButton(key="demo.next"))
    left.add_widget(buttons)
    middle = BoxLayout(spacing=ui.spacing * 2)
    middle.add_widget(left)
    middle.add_widget(pad)
    root.add_widget(HeadingLabel(key="demo.pin.title"))
    root.add_widget(middle)
    root.add_widget(help_bar)
    return {"root": root, "pad": pad, "display": display, "banner": banner, "help": help_bar}


def alpha_demo(masked: bool = False, max_length: int = 16) -> dict[str, object]:
    """A payment-ID screen: the letter pad takes the whole width at 1280x800."""
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.widget import Widget

    from kiosk.ui.kit.bars import HelpBar
    from kiosk.ui.kit.labels import HeadingLabel
    from kiosk.ui.kit.pads import AlphaPad, EntryDisplay
    from kiosk.ui.kit.style import ui

    root = BoxLayout(orientation="vertical", padding=ui.spacing, spacing=ui.spacing)
    pad = AlphaPad(masked=masked, max_length=max_length)
    display = EntryDisplay(pad=pad)
    top = BoxLayout(spacing=ui.spacing * 2, size_hint_y=None)
    top.bind(minimum_height=top.setter("height"))
    top.add_widget(HeadingLabel(key="demo.alpha.title", pos_hint={"center_y": 0.5}))
    top.add_widget(display)
    display.pos_hint = {"center_y": 0.5}
    root.add_widget(top)
    root.add_widget(Widget())
    root.add_widget(pad)
    help_bar = HelpBar(key="demo.help", show_call_button=True)
    root.add_widget(help_bar)
    return {"root": root, "pad": pad, "display": display, "help": help_bar}


# --- Theme -------------------------------------------------------------------------------


def test_contrast_ratio_matches_wcag_reference_values() -> None:
    assert theme.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert theme.contrast_ratio("#FFFFFF", "#000000") == pytest.approx(21.0)
    assert theme.contrast_ratio("#777777", "#777777") == pytest.approx(1.0)
    # WCAG's own example: #767676 on white is the lightest grey that passes AA.
    assert theme.contrast_ratio("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize(("foreground", "background", "minimum"), theme.CONTRAST_PAIRS)
def test_every_theme_pair_meets_its_contrast(
    foreground: str, background: str, minimum: float
) -> None:
    colours = theme.palette_colours()
    ratio = theme.contrast_ratio(colours[foreground], colours[background])
    assert ratio >= minimum, f"{foreground} on {background}: {ratio:.2f} < {minimum}"


def test_every_palette_colour_is_in_a_checked_pair() -> None:
    checked = {name for pair in theme.CONTRAST_PAIRS for name in pair[:2]}
    assert checked == set(theme.palette_colours())


def test_size_rules_at_both_panels() -> None:
    large = theme.sizes_for((1920, 1080))
    small = theme.sizes_for((1280, 800))
    assert theme.dpi_for((1920, 1080)) == pytest.approx(102.46, abs=0.01)
    assert theme.dpi_for((1280, 800)) == pytest.approx(149.45, abs=0.01)
    assert (large.body, large.heading, large.touch_min) == (36, 48, 81)
    # "Larger text": the type 25 % bigger, the touch targets as they were.
    larger = theme.sizes_for((1920, 1080), text_scale=theme.LARGER_TEXT)
    assert (larger.body, larger.heading, larger.touch_min) == (45, 60, 81)
    assert larger.button_height == large.button_height
    assert small.touch_min == 118
    for sizes, dpi in ((large, 102.46), (small, 149.45)):
        assert theme.px_to_mm(sizes.touch_min, dpi) >= 20
        assert min(sizes.button_height, sizes.key_height, sizes.key_width) >= sizes.touch_min
    # An unknown panel is taken to be dense: its buttons come out larger, never smaller.
    assert theme.sizes_for((1024, 600)).touch_min == small.touch_min


def test_the_screens_font_is_every_widgets_default_and_has_a_real_bold(
    kivy_ui: ModuleType,
) -> None:
    """Noto Sans CJK JP (the bootstrap installs fonts-noto-cjk): a heading in bold is drawn
    with the bold face, its strokes heavier than the same text in regular."""
    from kivy.core.text import DEFAULT_FONT, LabelBase
    from kivy.core.text import Label as CoreLabel

    from kiosk.ui.kit.fonts import FONT_NAME, NOTO_BOLD, NOTO_REGULAR

    for name in (FONT_NAME, DEFAULT_FONT):
        regular, _italic, bold, _bold_italic = LabelBase._fonts[name]
        assert (regular, bold) == (str(NOTO_REGULAR), str(NOTO_BOLD))

    def ink(bold: bool) -> int:
        label = CoreLabel(text="暗証番号を入力", font_name=FONT_NAME, font_size=48, bold=bold)
        label.refresh()
        pixels = label.texture.pixels
        return sum(1 for alpha in pixels[3::4] if alpha > 128)

    assert ink(bold=True) > ink(bold=False) * 1.15


# --- PIN pad -----------------------------------------------------------------------------


def test_pin_pad_typed_by_taps(kivy_ui: ModuleType, translator: object) -> None:
    demo = pin_demo()
    root, pad, display = demo["root"], demo["pad"], demo["display"]
    received: list[str] = []
    pad.bind(on_ok=lambda _pad, pin: received.append(pin))
    kivy_ui.show(root)
    assert display.shown == ""
    for digit in PIN:
        kivy_ui.tap(kivy_ui.find_by_text(pad, digit))
    assert display.shown == "●●●●"
    assert [slot.text for slot in display.slots] == ["●"] * 4
    kivy_ui.tap(kivy_ui.find_by_text(pad, "5"))  # a fifth digit is ignored
    assert display.shown == "●●●●"
    kivy_ui.tap(kivy_ui.find_by_text(pad, "確定"))
    assert received == [PIN]
    assert display.shown == ""  # handed over, and forgotten
    assert pad._digits == []


def test_pin_pad_clear_and_short_pin(kivy_ui: ModuleType, translator: object) -> None:
    demo = pin_demo()
    pad, display = demo["pad"], demo["display"]
    received: list[str] = []
    pad.bind(on_ok=lambda _pad, pin: received.append(pin))
    kivy_ui.show(demo["root"])
    for digit in "48":
        kivy_ui.tap_text(pad, digit)
    assert display.shown == "●●"
    kivy_ui.tap_text(pad, "確定")  # disabled below 4 digits
    assert received == []
    kivy_ui.tap_text(pad, "訂正")
    assert display.shown == ""
    assert pad._digits == []
    for digit in PIN:
        kivy_ui.tap_text(pad, digit)
    kivy_ui.tap_text(pad, "確定")
    assert received == [PIN]


def test_pin_pad_wipe_and_max_length(kivy_ui: ModuleType, translator: object) -> None:
    from kiosk.ui.kit.pads import PinDisplay, PinPad

    pad = PinPad(max_length=6, min_length=4)
    display = PinDisplay(pad=pad)
    from kivy.uix.boxlayout import BoxLayout

    root = BoxLayout(orientation="vertical")
    root.add_widget(display)
    root.add_widget(pad)
    kivy_ui.show(root)
    assert len(display.slots) == 6
    for digit in "1234567":
        kivy_ui.tap_text(pad, digit)
    assert pad.length == 6
    assert display.shown == "●" * 6
    held = pad._digits
    pad.wipe()
    assert held == [] and pad._digits is held
    assert pad.length == 0
    kivy_ui.advance_frames(1)
    assert display.shown == ""


def test_pin_pad_layout_is_fixed(kivy_ui: ModuleType, translator: object) -> None:
    from kiosk.ui.kit.pads import PinPad

    layouts = []
    for _ in range(3):
        pad = kivy_ui.show(PinPad())
        keys = sorted(pad.children, key=lambda key: (-key.y, key.x))  # reading order
        layouts.append([key.text for key in keys])
    assert layouts[0] == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "訂正", "0", "確定"]
    assert layouts[0] == layouts[1] == layouts[2]


def test_no_pin_digit_is_logged(
    kivy_ui: ModuleType, translator: object, caplog: pytest.LogCaptureFixture
) -> None:
    demo = pin_demo()
    pad = demo["pad"]
    received: list[str] = []
    pad.bind(on_ok=lambda _pad, pin: received.append(pin))
    kivy_ui.show(demo["root"])
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("kivy").setLevel(logging.DEBUG)
        try:
            for digit in PIN:
                kivy_ui.tap_text(pad, digit)
            kivy_ui.tap_text(pad, "確定")
        finally:
            logging.getLogger("kivy").setLevel(logging.NOTSET)
    assert received == [PIN]
    # Standing on its own: Kivy's debug lines carry hex addresses that may hold "4827".
    assert not leaked(caplog.text, [PIN])
    assert not [record for record in caplog.records if leaked(str(record.args), [PIN])]


# --- Letter pad --------------------------------------------------------------------------


def test_alpha_pad_typed_by_taps(kivy_ui: ModuleType, translator: object) -> None:
    demo = alpha_demo(max_length=6)
    pad, display = demo["pad"], demo["display"]
    kivy_ui.show(demo["root"])
    for key in ["A", "B", "-", "1", "2"]:
        kivy_ui.tap(kivy_ui.find_by_text(pad, key))
    assert display.text == "AB-12"
    assert pad.value() == "AB-12"
    kivy_ui.tap_text(pad, "1字消す")
    assert display.text == "AB-1"
    for key in ["Z", "9", "8"]:  # one too many for max_length 6
        kivy_ui.tap_text(pad, key)
    assert pad.value() == "AB-1Z9"
    kivy_ui.tap_text(pad, "全部消す")
    assert pad.value() == "" and display.text == ""


def test_alpha_pad_masks_a_security_code(kivy_ui: ModuleType, translator: object) -> None:
    demo = alpha_demo(masked=True, max_length=8)
    pad, display = demo["pad"], demo["display"]
    kivy_ui.show(demo["root"])
    for key in "K7Q2":
        kivy_ui.tap_text(pad, key)
    assert display.text == "●●●●"
    assert pad.shown == "●●●●"
    assert pad.value() == "K7Q2"
    pad.wipe()
    assert pad.value() == "" and pad._chars == []


# --- Language, banner, help bar ----------------------------------------------------------


def test_language_switch_rerenders_live(kivy_ui: ModuleType, translator: object) -> None:
    demo = pin_demo()
    root = demo["root"]
    kivy_ui.show(root)
    assert "暗証番号を入力してください" in kivy_ui.visible_texts(root)
    kivy_ui.tap_text(root, "English")
    assert translator.language == "en"
    for text in ["Enter your PIN", "Clear", "OK", "Continue", "Call staff", "Next", "Back"]:
        kivy_ui.find_by_text(root, text)
    assert kivy_ui.find_by_text(root, "Returning to the start in 30 seconds")
    kivy_ui.tap_text(root, "日本語")
    assert translator.language == "ja"
    kivy_ui.find_by_text(root, "訂正")


def test_widget_values_and_own_translator(kivy_ui: ModuleType, translator: object) -> None:
    from kiosk.ui.kit.labels import BodyLabel
    from kiosk.ui.kit.translator import Translator

    label = BodyLabel(key="demo.timeout", values={"seconds": 10})
    assert label.text == "あと 10 秒で最初の画面に戻ります"
    label.values = {"seconds": 9}
    assert label.text == "あと 9 秒で最初の画面に戻ります"
    own = Translator({"ja": {"k": "独自"}, "en": {"k": "own"}}, language="en")
    label.translator = own
    label.key = "k"
    assert label.text == "own"
    own.switch("ja")
    assert label.text == "独自"
    translator.switch("en")  # the process-wide one no longer drives this label
    assert label.text == "独自"


def test_missing_message_shows_its_key(translator: object) -> None:
    assert translator.text("no.such.key") == "no.such.key"
    with pytest.raises(ValueError, match="no messages"):
        translator.switch("fr")


def test_countdown_banner_one_touch_extends(kivy_ui: ModuleType, translator: object) -> None:
    demo = pin_demo()
    banner = demo["banner"]
    extended: list[int] = []
    banner.bind(on_extend=lambda _banner: extended.append(1))
    kivy_ui.show(demo["root"])
    kivy_ui.tap(banner.children[1])  # the message, not the button: still one touch
    assert len(extended) == 1
    kivy_ui.tap_text(banner, "続ける")
    assert len(extended) == 2
    banner.seconds = 5
    kivy_ui.advance_frames(1)
    kivy_ui.find_by_text(banner, "あと 5 秒で最初の画面に戻ります")


def test_help_bar_call_staff(kivy_ui: ModuleType, translator: object) -> None:
    from kiosk.ui.kit.bars import HelpBar

    bar = HelpBar(key="demo.help", show_call_button=True)
    calls: list[int] = []
    bar.bind(on_call_staff=lambda _bar: calls.append(1))
    kivy_ui.show(bar)
    kivy_ui.tap_text(bar, "係員を呼ぶ")
    assert calls == [1]
    bar.show_call_button = False
    kivy_ui.advance_frames(1)
    assert "係員を呼ぶ" not in kivy_ui.visible_texts(bar)


def test_dropped_widgets_are_freed(kivy_ui: ModuleType, translator: object) -> None:
    """Widgets listen to the translator by weak reference: screens come and go."""
    import gc
    import weakref

    from kiosk.ui.kit.pads import PinPad

    pad = PinPad()
    ref = weakref.ref(pad)
    del pad
    gc.collect()
    assert ref() is None
    translator.switch("en")  # no dead listener in the way


# --- Harness checks ----------------------------------------------------------------------


def test_clipped_text_check_catches_planted_labels(kivy_ui: ModuleType) -> None:
    from kivy.uix.floatlayout import FloatLayout
    from kivy.uix.label import Label

    kivy_ui.resize((1280, 800))
    root = FloatLayout()
    fits = Label(text="OK", font_size=32, size_hint=(None, None), size=(200, 80), pos=(10, 10))
    too_wide = Label(
        text="これは長すぎて切れる文",
        font_size=32,
        size_hint=(None, None),
        size=(120, 80),
        pos=(10, 200),
    )
    # text_size with a height: Kivy drops the lines that do not fit, with no overflow.
    cut_lines = Label(
        text="一行目の文章です。二行目の文章です。三行目の文章です。",
        font_size=32,
        size_hint=(None, None),
        size=(300, 40),
        pos=(300, 200),
    )
    cut_lines.text_size = cut_lines.size
    off_window = Label(
        text="Off", font_size=32, size_hint=(None, None), size=(100, 80), pos=(1240, 10)
    )
    for label in (fits, too_wide, cut_lines, off_window):
        root.add_widget(label)
    kivy_ui.show(root)
    assert set(kivy_ui.clipped_labels(root)) == {too_wide, cut_lines, off_window}
    with pytest.raises(AssertionError, match="text cut off"):
        kivy_ui.assert_no_clipped_text(root)


def test_touch_target_check_catches_a_small_button(kivy_ui: ModuleType) -> None:
    from kivy.uix.button import Button
    from kivy.uix.floatlayout import FloatLayout

    kivy_ui.resize((1920, 1080))
    root = FloatLayout()
    big = Button(text="big", size_hint=(None, None), size=(81, 81), pos=(0, 0))
    small = Button(text="small", size_hint=(None, None), size=(200, 60), pos=(200, 0))
    root.add_widget(big)
    root.add_widget(small)
    kivy_ui.show(root)
    assert kivy_ui.min_touch_px() == 81
    assert kivy_ui.small_touch_targets(root) == [small]


def test_find_by_text_lists_what_is_on_screen(kivy_ui: ModuleType, translator: object) -> None:
    demo = pin_demo()
    kivy_ui.show(demo["root"])
    with pytest.raises(AssertionError, match="'確定'"):
        kivy_ui.find_by_text(demo["root"], "存在しない")


def test_tap_touches_what_is_on_top(kivy_ui: ModuleType) -> None:
    """A finger hits the top widget: a button under a cover gets nothing."""
    from kivy.uix.button import Button
    from kivy.uix.floatlayout import FloatLayout

    root = FloatLayout()
    under = Button(text="under")
    cover = Button(text="cover")
    pressed: list[str] = []
    under.bind(on_release=lambda _b: pressed.append("under"))
    cover.bind(on_release=lambda _b: pressed.append("cover"))
    root.add_widget(under)
    root.add_widget(cover)
    kivy_ui.show(root)
    kivy_ui.tap(under)
    assert pressed == ["cover"]


# --- Whole layouts at both panel sizes ---------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("demo", [pin_demo, alpha_demo], ids=["pin", "alpha"])
def test_layout_fits_at_panel_size(
    kivy_ui: ModuleType, translator: object, size: tuple[int, int], demo: object, tmp_path: Path
) -> None:
    from kivy.uix.label import Label
    from PIL import Image

    kivy_ui.resize(size)
    parts = demo()
    root = parts["root"]
    pad = parts["pad"]
    kivy_ui.show(root)
    for key in "12":  # some entry on display
        kivy_ui.tap_text(pad, key)
    # The check must catch a label cut off in this very layout before its silence counts.
    planted = Label(text="切れる文字", size_hint_x=None, width=40)
    parts["help"].add_widget(planted)
    kivy_ui.advance_frames(2)
    assert kivy_ui.clipped_labels(root) == [planted]
    parts["help"].remove_widget(planted)
    for language in ("ja", "en"):
        translator.switch(language)
        kivy_ui.advance_frames(2)
        kivy_ui.assert_no_clipped_text(root)
        kivy_ui.assert_touch_targets(root)
        shot = kivy_ui.render(tmp_path / f"{demo.__name__}-{size[0]}x{size[1]}-{language}.png")
        with Image.open(shot) as image:
            assert image.size == size
            # Mostly the white background: a black or empty frame means nothing was drawn.
            assert image.convert("L").getpixel((size[0] // 2, 2)) > 240
            assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 8


def test_widgets_follow_a_window_resize_live(kivy_ui: ModuleType, translator: object) -> None:
    from kiosk.ui.kit.style import ui

    kivy_ui.resize((1920, 1080))
    demo = pin_demo()
    root, pad = demo["root"], demo["pad"]
    kivy_ui.show(root)
    assert pad.keys["5"].height == 104
    kivy_ui.resize((1280, 800))
    assert ui.touch_min == 118
    assert pad.keys["5"].height == 118
    assert pad.keys["5"].font_size == ui.key_text
    kivy_ui.assert_touch_targets(root)
    kivy_ui.assert_no_clipped_text(root)


def test_nothing_asks_for_a_system_keyboard(kivy_ui: ModuleType, translator: object) -> None:
    from kivy.uix.behaviors import FocusBehavior

    for demo in (pin_demo(), alpha_demo()):
        root = kivy_ui.show(demo["root"])
        kivy_ui.tap_text(demo["pad"], "1")
        assert not [widget for widget in root.walk() if isinstance(widget, FocusBehavior)]


def test_the_kiosk_catalogue_plugs_in(kivy_ui: ModuleType) -> None:
    """kiosk.i18n's tables are a Translator's messages as they are."""
    from kiosk import i18n
    from kiosk.ui.kit.bars import HelpBar
    from kiosk.ui.kit.translator import Translator

    translator = Translator(i18n.TABLES)
    bar = HelpBar(translator=translator, show_call_button=True, language_key="button.language")
    kivy_ui.show(bar)
    for language in ("ja", "en"):
        translator.switch(language)
        assert bar.call_button.text == i18n.text("button.call_staff", language)
        assert bar.language_button.text == i18n.text("button.language", language)
    kivy_ui.tap(bar.language_button)
    assert translator.language == "ja"


def test_a_process_forked_after_the_window_opened_still_dies_of_sigterm(
    kivy_ui: ModuleType,
) -> None:
    """SDL would catch SIGTERM as a quit event for the window; a child forked from a test
    process (a multiprocessing pool) would then outlive its ``terminate()``."""
    import os
    import signal
    import time

    kivy_ui.window()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child)
        time.sleep(30)
        os._exit(0)
    os.kill(child, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while (done := os.waitpid(child, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    if done[0] == 0:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    assert done[0] == child and os.WIFSIGNALED(done[1])
    assert os.WTERMSIG(done[1]) == signal.SIGTERM
