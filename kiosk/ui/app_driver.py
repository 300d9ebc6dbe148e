"""Drives the kiosk's app (``kiosk.ui.app.KioskApp``) in the offscreen window as a citizen
would: every touch lands on a widget found by the text it shows, through Kivy's input
dispatch; the flow is never called. For UI tests and the headless walkthrough.

    from kiosk.ui.app_driver import KioskDriver   # before anything imports Kivy

    with assembled(settings, reader=reader) as kiosk, KioskDriver(kiosk) as ui:
        ui.tap("はじめる")                   # taps the button, then lets the flow settle
        ui.tap("同意する")
        ui.tap("自分の手続き")
        reader.insert()                      # the citizen places the card
        ui.wait_for(Step.PIN)
        ui.type_pin("4827")                  # the digits and 確定, on the kiosk's PIN pad
        ui.screenshot(tmp / "after-pin.png")

The app is built without ``App.run()`` (which would block): ``build()``, then the
harness shows its root, and the driver runs Kivy's frames itself. After a tap it hands the
workers' answers to the flow (``dispatcher.pump``) and runs frames until no command but a
wait for the citizen is running. ``run_for(seconds)`` runs the app's clock (its pump and
idle timer) for that long, in real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from kiosk.ui import kivy_harness as kh


class KioskDriver:
    def __init__(
        self,
        kiosk: Any,
        *,
        size: tuple[int, int] = (1920, 1080),
        monotonic: Callable[[], float] | None = None,
        dpi: float | None = None,
    ) -> None:
        kh.prepare_environment()
        kh.open_window(size, dpi)
        from kiosk.ui.app import KioskApp

        self.kiosk = kiosk
        self.app = KioskApp(kiosk, monotonic=monotonic or time.monotonic, dpi=dpi)
        self.root = self.app.build()
        kh.show(self.root)
        self.app.dispatch("on_start")
        self.settle()

    # --- the session ----------------------------------------------------------------------

    def __enter__(self) -> KioskDriver:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the app (its dispatcher ends its waits) and empty the window."""
        from kiosk.ui.kit.style import ui

        self.app.dispatch("on_stop")
        kh.clear()
        ui.translator = None

    # --- what is on screen ----------------------------------------------------------------

    @property
    def current_step(self) -> Any:
        """The step the screen shows (``kiosk.procedure.flow.Step``)."""
        return self.app.shown_step

    @property
    def screen(self) -> Any:
        return self.app.current_screen

    @property
    def language(self) -> str:
        return str(self.app.translator.language)

    def texts(self) -> list[str]:
        """Every text on screen (screens, message panels, the countdown banner)."""
        return kh.visible_texts(self.root)

    def shows(self, text: str) -> bool:
        """Whether some text on screen contains ``text``."""
        return any(text in shown for shown in self.texts())

    def find(self, text: str) -> Any:
        """The touch target (button, key, service) showing ``text``."""
        return kh.find_target(self.root, text)

    # --- a finger -------------------------------------------------------------------------

    def tap(self, text: str, *, settle: bool = True) -> Any:
        """Tap what shows ``text`` as a finger would; then let the flow settle."""
        widget = self.find(text)
        if widget.disabled:
            raise kh.KivyHarnessError(f"{text!r} is shown but cannot be pressed (disabled)")
        kh.tap(widget, frames=1)
        if settle:
            self.settle()
        return widget

    def tap_service(self, name: str, *, next_page: str = "次のページ") -> Any:
        """Tap the service showing ``name`` in the list, turning its pages forward as a
        citizen would until it is there."""
        while not self.shows(name) and not self.find(next_page).disabled:
            self.tap(next_page)
        return self.tap(name)

    def tap_at(self, x: float, y: float, *, settle: bool = True) -> None:
        """A tap at window coordinates (the technician's corner: nothing is shown there)."""
        from kivy.tests.common import UnitTestTouch

        touch = UnitTestTouch(x, y)
        touch.touch_down()
        kh.advance_frames(1, draw=False)
        touch.touch_up()
        kh.advance_frames(1, draw=False)
        if settle:
            self.settle()

    def type_pin(self, pin: str) -> None:
        """The digits, then 確定 (OK), on the screen's PIN pad."""
        from kiosk import i18n

        for digit in pin:
            self.tap(digit, settle=False)
        self.tap(i18n.text("pinpad.ok", self.language))  # type: ignore[arg-type]

    def type_text(self, text: str) -> None:
        """Each character on the screen's letter or digit pad (letters in capitals)."""
        for char in text.upper():
            pad = getattr(self.screen, "pad", None)
            if getattr(pad, "paged", False) and char not in pad.keys:
                kh.tap(pad.keys["switch"], frames=1)  # the other page of the letter pad
            self.tap(char, settle=False)
        kh.advance_frames(1, draw=False)

    # --- time -----------------------------------------------------------------------------

    def frames(self, count: int = 2) -> None:
        kh.advance_frames(count, draw=False)

    def settle(self, timeout: float = 30.0) -> None:
        """Hand the workers' answers to the flow and run frames until no command but a wait
        for the citizen (a card to place or take) is running."""
        dispatcher = self.kiosk.dispatcher
        deadline = time.monotonic() + timeout
        while True:
            self.app.pump()
            kh.advance_frames(1, draw=False)
            if not dispatcher.busy:
                self.app.pump()
                if not dispatcher.busy:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"still busy after {timeout} s on {self.current_step}")
            time.sleep(0.005)
        kh.advance_frames(2, draw=False)

    def wait_for(self, step: Any, timeout: float = 15.0) -> None:
        """Run until the screen shows ``step`` (a device's answer may take a while)."""
        deadline = time.monotonic() + timeout
        while self.current_step != step:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"waited {timeout} s for {step}; the screen shows {self.current_step}: "
                    f"{self.texts()}"
                )
            self.app.pump()
            kh.advance_frames(1, draw=False)
            time.sleep(0.01)
        self.settle()

    def run_for(self, seconds: float) -> None:
        """Run the app's clock (pump, idle timer) for ``seconds`` of real time."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            kh.advance_frames(1, draw=False)
            time.sleep(0.01)
        self.settle()

    # --- pictures and sizes -----------------------------------------------------------------

    def screenshot(self, path: Path | str) -> Path:
        return kh.render(path)

    def resize(self, size: tuple[int, int], dpi: float | None = None) -> None:
        kh.resize(size, dpi)
        kh.advance_frames(3, draw=False)
