"""What every screen has besides its step (issue 14): the step bar (「3/8 暗証番号」),
"larger text" for the session, "call staff" at every kiosk with its alert record, and the
start screen's "have ready", time and network line. The app runs in an offscreen Kivy
window in front of the real parts (tests/kiosk/ui/test_screens.py's rig)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import i18n
from kiosk.procedure.flow import Step
from kiosk.procedure.progress import PLATFORM_ONLY, STAGES, Progress, progress_of
from kiosk.shell.runner import STAFF_CALLED
from tests.kiosk.ui.test_screens import card, kiosk_ui  # noqa: F401 (a fixture)
from tests.support.flow_harness import CARD_PIN
from tests.support.kiosk_harness import KioskRig

pytest_plugins = ["tests.support.kivy_fixtures"]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# Steps outside both procedures: no step bar.
OUTSIDE = {Step.WELCOME, Step.NOTICE, Step.CARD_LEFT, Step.CARD_REMOVED, Step.TECHNICIAN_PIN,
           Step.TECHNICIAN, Step.PLATFORM_ELSEWHERE}  # fmt: skip


def test_the_step_bar_counts_the_stages_of_each_procedure() -> None:
    assert progress_of(Step.PIN) == Progress(3, 8, "pin")
    assert progress_of(Step.CONSENT) == Progress(1, 8, "consent")
    assert progress_of(Step.ENTER_PHONE) == Progress(6, 8, "code")
    assert progress_of(Step.SLIP) == Progress(8, 8, "slip")
    assert progress_of(Step.PIN, "my_page") == Progress(3, 4, "pin")
    assert progress_of(Step.MY_PAGE, "my_page") == Progress(4, 4, "status")
    for step in OUTSIDE:
        assert progress_of(step) is None, step
    # Every other step belongs to exactly one stage of the application, and each stage
    # has a name in both languages.
    for step in set(Step) - OUTSIDE - {Step.MY_PAGE} - PLATFORM_ONLY:
        assert sum(step in steps for _stage, steps in STAGES["apply"]) == 1, step
    # ...and so does every step of the MyKey platform's, to one of its stages.
    for step in PLATFORM_ONLY:
        assert sum(step in steps for _stage, steps in STAGES["platform"]) == 1, step
    assert progress_of(Step.VOUCHER_CONFIRM, "platform") == Progress(3, 4, "platform")
    for stages in STAGES.values():
        for stage, _steps in stages:
            for language in ("ja", "en"):
                assert i18n.text(f"progress.{stage}", language) != f"progress.{stage}"


def test_a_session_shows_its_step_enlarges_its_text_and_calls_staff(
    rig: KioskRig,
    card: Path,  # noqa: F811
) -> None:
    from kiosk.ui.kit.style import ui as look

    with kiosk_ui(rig, card) as ui:
        assert not any(text.startswith("1/8") for text in ui.texts())  # none on the start
        ui.tap("はじめる")
        assert ui.shows("1/8 同意")
        body = look.body
        ui.tap(i18n.text("button.larger_text", "ja"))
        assert look.body == round(body * 1.25)
        assert ui.shows(i18n.text("button.normal_text", "ja"))
        ui.tap("同意する")
        ui.tap("自分の手続き")
        assert ui.shows("2/8 カードの読み取り")
        assert look.body == round(body * 1.25)  # for the whole session
        ui.reader.insert()
        ui.wait_for(Step.PIN)
        assert ui.shows("3/8 暗証番号")

        ui.tap("店員・職員を呼ぶ")  # a convenience store: the button is there too
        assert ui.shows(i18n.text("help.staff_called", "ja"))
        alerts = ui.kiosk.parts.submitter.store.status().alerts
        assert [(a.code, a.message) for a in alerts] == [
            (STAFF_CALLED, "help asked on the pin screen")
        ]
        ui.tap("OK")
        assert ui.current_step == Step.PIN  # the step stays

        ui.type_pin(CARD_PIN)
        ui.wait_for(Step.CHOOSE_SERVICE)
        assert ui.shows("4/8 決済サービスの選択")
        ui.tap("やめる")
        ui.reader.remove()
        ui.wait_for(Step.WELCOME)
        assert look.body == body  # the next citizen starts with the usual size


def test_the_start_screen_says_what_to_have_ready_and_when_the_network_is_down(
    rig: KioskRig,
    card: Path,  # noqa: F811
) -> None:
    offline = i18n.text("welcome.offline", "ja")
    with kiosk_ui(rig, card) as ui:
        for key in ("welcome.duration", "welcome.bring", "welcome.bring_card",
                    "welcome.bring_pin", "welcome.bring_ids"):  # fmt: skip
            assert ui.shows(i18n.text(key, "ja")), key
        assert not ui.shows(offline)
        rig.service.stop()  # the store's network goes down
        ui.app.check_network()  # the app asks every NETWORK_CHECK_SECONDS
        ui.settle()
        assert ui.shows(offline)
        rig.service.start()
        ui.app.check_network()
        ui.settle()
        assert not ui.shows(offline)

        # Where each service shows its ID and code: every service that takes
        # applications here, page by page, from the catalog.
        ui.tap(i18n.text("button.where_ids", "ja"))
        seen: list[str] = []
        while True:
            seen += ui.texts()
            if ui.shows("次へ"):
                ui.tap("次へ")
            else:
                ui.tap("OK")
                break
        text = "\n".join(seen)
        assert "PayPay" in text and "ホーム画面で「マイナポイント」" in text
        assert "dカード" not in text  # a card number and its code are not asked here
        assert ui.current_step == Step.WELCOME
