"""The kiosk's touchscreen app: the screens (``kiosk/ui/screens/``) bound to an assembled
kiosk's flow and dispatcher. It holds no rule of the procedure, and drives no device.

    with assembled(settings) as kiosk:
        KioskApp(kiosk).run()

What it does, and nothing else:

- shows the screen of the flow's step, filled from the flow's view, whenever the view
  changes (``dispatcher.on_view``), in the view's language (the translator follows it);
- hands the devices' and the service's answers to the flow every frame (``pump``);
- the idle timer (``kiosk.procedure.session.IdleTimer``): the channel's timeout from the settings,
  any touch restarts it, the last 20 seconds show a countdown banner (one touch on it
  gives the time back), and at zero ``IdleTimeout`` goes to the flow, only while the
  flow allows it (``flow.idle_allowed``: never while reading, checking or sending);
- the technician's gesture: five taps within 3 s in the top-left corner (an invisible
  20 mm square) send ``TechnicianGesture`` (the flow asks for the technician PIN);
- systemd (``mynapoint/sd_notify.py``; the unit is ``systemd/kiosk.service``): ``READY=1``
  once the first frame is drawn, ``WATCHDOG=1`` with a ``STATUS=`` line (the step shown)
  from Kivy's clock, and ``STOPPING=1`` on stop. The pings come from the main loop, so a
  frozen screen stops them and systemd restarts the kiosk;
- the voice (``kiosk/voice/guide.py``, if ``voice_enabled``): every view and the idle
  countdown go to it; the screens reach it through ``ScreenContext.voice``;
- "larger text" (``ui.text_scale``) back to the usual size on the start screen (a new
  citizen) and on the technician's screens;
- on the start screen, ``CheckNetwork`` at start and every ``NETWORK_CHECK_SECONDS`` (the
  screen says when the network is down before anyone begins);
- on stop, the voice goes quiet and the dispatcher ends its waits and workers.

Kivy reads its environment once, when first imported: importing this module keeps Kivy's
log in Python's logging (``KIVY_LOG_MODE=PYTHON``) and Kivy away from the command line
(``KIVY_NO_ARGS``), unless they were set already (the test harness sets them too).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

log = logging.getLogger(__name__)

TECHNICIAN_TAPS = 5
TECHNICIAN_SECONDS = 3.0
PUMP_INTERVAL = 1 / 30
IDLE_INTERVAL = 0.25
NETWORK_CHECK_SECONDS = 30.0  # the start screen asks the grant service this often


def prepare_kivy_environment() -> None:
    """Kivy's environment for the kiosk, before Kivy is imported."""
    if "kivy" in sys.modules:
        if os.environ.get("KIVY_LOG_MODE") not in ("PYTHON", "MIXED"):
            log.warning("Kivy was imported before kiosk.ui.app: its log may take over stderr")
        return
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_AUDIO", "sdl2")  # the voice plays through SDL2_mixer


prepare_kivy_environment()

from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.uix.floatlayout import FloatLayout  # noqa: E402
from kivy.uix.screenmanager import NoTransition, ScreenManager  # noqa: E402

from kiosk import i18n  # noqa: E402
from kiosk.health.live_state import Refresher  # noqa: E402
from kiosk.procedure import events as ev  # noqa: E402
from kiosk.procedure.flow import TECHNICIAN_STEPS, Step, View  # noqa: E402
from kiosk.procedure.session import IdleTimer  # noqa: E402
from kiosk.shell.assembly import Kiosk  # noqa: E402
from kiosk.ui.kit.bars import CountdownBanner  # noqa: E402
from kiosk.ui.kit.fonts import register_fonts  # noqa: E402
from kiosk.ui.kit.style import ui  # noqa: E402
from kiosk.ui.kit.translator import Translator, use_translator  # noqa: E402
from kiosk.ui.screens.base import FlowScreen, ScreenContext  # noqa: E402
from kiosk.ui.screens.registry import SCREEN_OF, SCREENS  # noqa: E402
from kiosk.voice.guide import VoiceGuide, voice_for  # noqa: E402
from mynapoint import sd_notify  # noqa: E402

# Steps shown in the usual text size whatever was asked before: the start (a new
# citizen) and the technician's.
NORMAL_TEXT_STEPS = frozenset({Step.WELCOME, *TECHNICIAN_STEPS})


class KioskRoot(FloatLayout):
    """The window's content: the screens, and the countdown banner over them."""


class KioskApp(App):
    """The touchscreen app of ``kiosk`` (an assembled ``kiosk.shell.assembly.Kiosk``).

    ``monotonic`` is the idle timer's clock (tests pass a fake one); ``dpi`` the panel's,
    if it is not one of ``kiosk.ui.kit.theme.PANELS``.
    """

    title = "Mynapoint"
    use_kivy_settings = False

    def __init__(
        self,
        kiosk: Kiosk,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        dpi: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kiosk = kiosk
        self.monotonic = monotonic
        self.dpi = dpi
        self.translator = Translator(i18n.TABLES)
        self.manager: ScreenManager | None = None
        self.screens: dict[str, FlowScreen] = {}
        self.shown: View | None = None
        settings = kiosk.settings
        self.idle_seconds = (
            settings.idle_timeout_city_hall_seconds
            if kiosk.channel == "city_hall"
            else settings.idle_timeout_convenience_store_seconds
        )
        self.idle = IdleTimer(self.idle_seconds, monotonic())
        self.banner = CountdownBanner(key="idle.warning", pos_hint={"x": 0, "top": 1})
        self.banner.bind(on_extend=lambda _banner: self.idle.touch(self.monotonic()))
        self._corner_taps: list[float] = []
        self._clock_events: list[Any] = []
        self._window: Any = None
        self.voice: VoiceGuide | None = None  # made in build(), from the settings
        # Keeps the live state fresh for kiosk-sync's heartbeat (and asks the printer about
        # its paper while idle), off Kivy's thread.
        self.live_state = Refresher(
            kiosk.runner.tend_live_state, every=settings.heartbeat_interval_seconds / 3
        )

    # --- building -----------------------------------------------------------------------

    def build(self) -> KioskRoot:
        from kivy.core.window import Window

        self._window = Window
        register_fonts()  # done on importing the widgets already; said here for the reader
        ui.follow_window(Window, dpi=self.dpi)
        use_translator(self.translator)
        self.manager = ScreenManager(transition=NoTransition())
        self.voice = self._start_voice()
        context = replace(ScreenContext.of(self.kiosk, send=self.send), voice=self.voice)
        for screen_class in SCREENS:
            screen = screen_class(context)
            self.screens[screen.name] = screen
            self.manager.add_widget(screen)
        root = KioskRoot()
        root.add_widget(self.manager)
        self.kiosk.dispatcher.on_view = self.show
        Window.bind(on_touch_down=self._window_touched)
        self._clock_events = [
            Clock.schedule_interval(lambda _dt: self.pump(), PUMP_INTERVAL),
            Clock.schedule_interval(lambda _dt: self.check_idle(), IDLE_INTERVAL),
        ]
        self.root = root
        self.show(self.kiosk.flow.view)
        return root

    def on_start(self) -> None:
        """Report to systemd from Kivy's clock, which ``App.run()`` and the test driver
        both tick."""
        # The first tick comes before the first frame is drawn (EventLoop.idle ticks, then
        # draws): ready on the second.
        self._schedule(lambda: self._schedule(self._report_ready))
        self._schedule(self.check_network)
        self._schedule(self.check_network, NETWORK_CHECK_SECONDS)
        self.live_state.start()

    def on_stop(self) -> None:
        sd_notify.notify("STOPPING=1", "STATUS=stopping")
        self.live_state.stop()
        for event in self._clock_events:
            event.cancel()
        self._clock_events = []
        if self._window is not None:
            self._window.unbind(on_touch_down=self._window_touched)
        self.kiosk.dispatcher.on_view = None
        for screen in self.screens.values():
            screen.leave()
        if self.voice is not None:
            self.voice.close()
        self.kiosk.dispatcher.close()

    def _start_voice(self) -> VoiceGuide | None:
        """The kiosk's voice, started (fixed scripts made in the background); a voice
        that cannot start leaves the kiosk silent, never stopped."""
        try:
            voice = voice_for(self.kiosk.settings, self.kiosk.channel, self.kiosk.catalog)
            if voice is not None:
                voice.start()
            return voice
        except Exception:
            log.exception("the voice could not start: the kiosk runs silently")
            return None

    def open_settings(self, *_args: Any) -> bool:
        return False  # no Kivy settings panel (F1) on a kiosk

    def _schedule(self, action: Callable[[], object], every: float | None = None) -> None:
        """``action`` on the next tick, or every ``every`` seconds; cancelled on stop."""
        if every is None:
            event = Clock.schedule_once(lambda _dt: action(), 0)
        else:
            event = Clock.schedule_interval(lambda _dt: action(), every)
        self._clock_events.append(event)

    # --- systemd ------------------------------------------------------------------------

    def _report_ready(self) -> None:
        """Ready, then the watchdog's pings (systemd arms it once the start is done)."""
        sd_notify.notify("READY=1", f"STATUS={self.status_line()}")
        interval = sd_notify.ping_interval()
        if interval is not None:
            self._schedule(self.ping_watchdog, interval)

    def ping_watchdog(self) -> None:
        """Tell systemd's watchdog the main loop runs (only the loop calls this)."""
        sd_notify.notify("WATCHDOG=1", f"STATUS={self.status_line()}")

    def status_line(self) -> str:
        """What ``systemctl status`` shows: the step on screen (never a citizen's data)."""
        step = self.shown_step
        return f"showing {step.value}" if step is not None else "starting"

    # --- the flow -----------------------------------------------------------------------

    def send(self, event: ev.Event) -> None:
        """A screen's event to the flow (the view comes back through ``show``)."""
        self.kiosk.dispatcher.send(event)

    def pump(self) -> None:
        """The workers' answers to the flow (every frame, on Kivy's thread)."""
        self.kiosk.dispatcher.pump_all()

    def show(self, view: View) -> None:
        """Show ``view``: its screen, in its language."""
        if self.manager is None:
            return
        if self.translator.language != view.language:
            self.translator.language = view.language
        name = SCREEN_OF[view.step]
        screen = self.screens[name]
        if self.manager.current != name:
            current = self.current_screen
            if current is not None:
                current.leave()
            self.manager.current = name
        if self.shown is None or self.shown.step != view.step:
            self.idle.touch(self.monotonic())  # a new step: the whole time again
            if view.step in NORMAL_TEXT_STEPS:
                # the start: "larger text" was the last citizen's; the technician's
                # screens are not a citizen's
                ui.text_scale = 1.0
        self.shown = view
        screen.show(view)
        if self.voice is not None:
            self.voice.show(view)

    @property
    def current_screen(self) -> FlowScreen | None:
        return self.manager.current_screen if self.manager is not None else None  # type: ignore[return-value]

    @property
    def shown_step(self) -> Step | None:
        return self.shown.step if self.shown is not None else None

    def check_network(self) -> None:
        """On the start screen, ask again whether the grant service answers (it says
        when the network is down before anyone begins)."""
        if self.shown_step == Step.WELCOME:
            self.send(ev.CheckNetwork())

    # --- the idle timer -----------------------------------------------------------------

    def check_idle(self) -> None:
        """Show the countdown in the last seconds; end the session at zero."""
        now = self.monotonic()
        if not self.kiosk.flow.idle_allowed:
            self.idle.touch(now)
            self._banner(None)
            return
        left = self.idle.tick(now)
        if left == 0:
            self._banner(None)
            self.idle.touch(now)
            self.send(ev.IdleTimeout())
        else:
            self._banner(left)

    def _banner(self, seconds: int | None) -> None:
        if self.voice is not None:
            self.voice.countdown(seconds)  # said once, as the countdown starts
        root = self.root
        if seconds is None:
            if self.banner.parent is not None:
                self.banner.parent.remove_widget(self.banner)
            return
        self.banner.seconds = seconds
        if self.banner.parent is None and root is not None:
            root.add_widget(self.banner)

    # --- touches anywhere ---------------------------------------------------------------

    def _window_touched(self, window: Any, touch: Any) -> None:
        """Every touch restarts the idle timer; taps in the top-left corner count towards
        the technician's gesture. The touch goes on to the widgets either way."""
        now = self.monotonic()
        self.idle.touch(now)
        corner = ui.touch_min
        if touch.x <= corner and touch.y >= window.height - corner:
            taps = [t for t in self._corner_taps if now - t <= TECHNICIAN_SECONDS]
            self._corner_taps = [*taps, now]
            if len(self._corner_taps) >= TECHNICIAN_TAPS:
                self._corner_taps = []
                self.send(ev.TechnicianGesture())
        else:
            self._corner_taps = []
