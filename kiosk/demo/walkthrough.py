"""``kiosk demo --headless``: the kiosk's app driven by simulated touches, with no screen.

The same embedded defaults as ``kiosk demo`` (a local grant service on SQLite, a kiosk
enrolled with it, virtual My Number Cards with PIN ``1234``), the app in Kivy's offscreen
window, and a finger that taps what the screens show (``kiosk.ui.app_driver``):

1. online: a citizen sets up a MyKey ID and applies for PayPay, in Japanese; the slip says
   both are done;
2. offline: the store's network goes down (the service stops); a second citizen does the
   same, and the slip says both wait to be sent;
3. the network comes back, the kiosk's sync sends the queue, and the second citizen checks
   their status, in English: the MyKey ID and the application are there.

Every screen is saved as ``OUTDIR/<part>/NN-<step>.png`` and every slip as a PNG in
``OUTDIR/slips``. The card is placed and taken by the walkthrough, as a citizen would.
With ``voice``, what each screen said is saved beside: ``OUTDIR/voice/<part>/NN-<step>.wav``
and its words in ``.txt`` (``kiosk.voice.recording``); the sound itself goes to SDL's
null sink unless ``SDL_AUDIODRIVER`` names another.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk import i18n
from kiosk.demo.environment import DemoEnvironment, demo_environment
from kiosk.devices.sim.virtual_card import DEMO_PIN
from kiosk.ui import kivy_harness

# The demo accounts (one account per person): PayPay 090-0000-0001..3, security code 1234.
ACCOUNTS = ("09000000001", "09000000002")
SECURITY_CODE = "1234"
SIZE = (1920, 1080)


class Walkthrough:
    """One kiosk app in the offscreen window, one citizen after another."""

    def __init__(
        self, outdir: Path, env: DemoEnvironment, ui: Any, reader: Any, recorder: Any = None
    ) -> None:
        self.outdir = outdir
        self.env = env
        self.ui = ui
        self.reader = reader
        self.recorder = recorder  # kiosk.voice.recording.ScreenRecorder, with --voice
        self.shots: list[Path] = []
        self.recordings: list[Path] = []
        self._part = "part"

    def part(self, name: str) -> None:
        self._part = name

    def shot(self) -> None:
        """The screen as it is, numbered within the part."""
        folder = self.outdir / self._part
        number = len(list(folder.glob("*.png"))) + 1 if folder.exists() else 1
        name = f"{number:02d}-{self.ui.current_step}"
        self.shots.append(self.ui.screenshot(folder / f"{name}.png"))
        if self.recorder is not None:
            wav = self.outdir / "voice" / self._part / f"{name}.wav"
            if self.recorder.record(wav, str(self.ui.current_step)) is not None:
                self.recordings.append(wav)

    def tap(self, key: str, **values: Any) -> None:
        """Tap the button labelled with the text ``key`` in the screen's language."""
        self.ui.tap(i18n.text(key, self.ui.language, **values))
        self.shot()

    def expect(self, step: Any) -> None:
        if self.ui.current_step != step:
            raise WalkthroughError(
                f"expected the {step} screen, the kiosk shows {self.ui.current_step}: "
                f"{self.ui.texts()}"
            )

    def new_citizen(self) -> None:
        """The next citizen's card, not yet on the reader."""
        self.reader.remove()
        self.reader.card = self.env.new_card()

    def place_card_and_pin(self) -> None:
        from kiosk.procedure.flow import Step

        self.expect(Step.PLACE_CARD)
        self.reader.insert()
        self.ui.wait_for(Step.PIN)
        self.shot()
        for digit in DEMO_PIN:
            self.ui.tap(digit, settle=False)
        self.shot()  # the digits masked
        self.tap("pinpad.ok")

    def apply(self, account: str) -> None:
        """From the welcome screen to the slip: a MyKey ID and PayPay for oneself."""
        from kiosk.procedure.flow import Step

        self.shot()
        self.tap("button.start")
        self.tap("button.agree")
        self.tap("for_whom.self")
        self.place_card_and_pin()
        if self.ui.current_step == Step.OFFLINE_NOTICE:
            self.tap("button.next")
        self.expect(Step.CHOOSE_SERVICE)
        self.tap("choose_service.kind.qr")
        self.ui.tap_service(
            "PayPay", next_page=i18n.text("choose_service.next_page", self.ui.language)
        )
        self.expect(Step.ENTER_ID)
        self.ui.type_text(account)
        self.shot()
        self.tap("button.next")
        self.expect(Step.ENTER_CODE)
        self.ui.type_text(SECURITY_CODE)
        self.shot()
        self.tap("button.next")
        self.tap("button.skip")  # no phone number
        self.expect(Step.CONFIRM)
        self.ui.tap(i18n.text("button.submit", self.ui.language))
        self.ui.wait_for(Step.SLIP)
        self.shot()

    def finish(self) -> list[Any]:
        """The citizen finishes and takes the card; returns the outcomes the slip showed."""
        from kiosk.procedure.flow import Step

        shown = self.ui.app.shown
        outcomes = list(shown.data.get("outcomes", ())) if shown is not None else []
        self.tap("button.finish")
        self.expect(Step.TAKE_CARD)
        self.reader.remove()
        self.ui.wait_for(Step.WELCOME)
        return outcomes


class WalkthroughError(RuntimeError):
    pass


def describe(outcomes: list[Any]) -> str:
    return ", ".join(f"{o.kind} {o.state} ({o.receipt_number})" for o in outcomes)


def walk(
    outdir: Path,
    *,
    channel: str = "convenience_store",
    echo: Callable[[str], None] = print,
    voice: bool = False,
) -> list[str]:
    """Run the three parts; returns the report (each line is also ``echo``-ed). ``voice``:
    also what each screen said."""
    outdir = Path(outdir).resolve()
    kivy_harness.prepare_environment(outdir / ".kivy")
    from kiosk.devices.sim.loopback import VirtualReader
    from kiosk.offline_queue.lock import SyncLock
    from kiosk.offline_queue.sync import Syncer
    from kiosk.procedure.flow import Step
    from kiosk.shell.assembly import assembled
    from kiosk.ui.app_driver import KioskDriver

    report: list[str] = []

    def say(line: str) -> None:
        report.append(line)
        echo(line)

    for old in [*outdir.glob("*/*.png"), *outdir.glob("voice/*/*")]:
        old.unlink()
    slips = outdir / "slips"
    with demo_environment(outdir / "state", channel=channel, slip_png_dir=slips) as env:
        reader = VirtualReader(env.new_card())
        reader.remove()
        with assembled(env.kiosk, reader=reader) as kiosk:
            ui = KioskDriver(kiosk, size=SIZE)
            recorder = None
            if voice:
                from kiosk.voice.recording import ScreenRecorder

                if ui.app.voice is None:
                    ui.close()
                    raise WalkthroughError("--voice, but the kiosk's voice is off")
                recorder = ScreenRecorder(ui.app.voice)
            walk_ = Walkthrough(outdir, env, ui, reader, recorder)
            try:
                walk_.part("1-online")
                walk_.apply(ACCOUNTS[0])
                say(f"1. online: {describe(walk_.finish())}")

                walk_.part("2-offline")
                walk_.new_citizen()
                second_card = reader.card
                env.service.stop()
                say("2. the store's network is down (the grant service stopped)")
                walk_.apply(ACCOUNTS[1])
                say(f"   offline: {describe(walk_.finish())}")

                env.service.start()
                with SyncLock(env.kiosk.sync_lock_file), Syncer.opened(env.kiosk) as syncer:
                    syncer.store.due_now()
                    sent = syncer.drain()
                say(
                    f"3. the network is back: the sync sent {sent.sent} queued item(s), "
                    f"{sent.accepted} accepted, {sent.rejected} rejected"
                )

                walk_.part("3-status-in-english")
                reader.card = second_card
                walk_.shot()
                ui.tap(i18n.text("button.language", "ja"))
                walk_.tap("button.my_page")
                walk_.tap("button.agree")
                walk_.place_card_and_pin()
                walk_.expect(Step.MY_PAGE)
                page = kiosk.flow.session.status_page or {}
                reservation = page.get("reservation", {})
                application = page.get("application", {})
                say(
                    f"   the second citizen's status: MyKey ID {reservation.get('mykey_id')}, "
                    f"{application.get('service_code')} {application.get('state')}"
                )
                walk_.finish()
            finally:
                ui.close()
    say(f"{len(walk_.shots)} screenshots in {outdir}; slips in {slips}")
    if voice:
        say(f"{len(walk_.recordings)} screens' voice (WAV and words) in {outdir / 'voice'}")
    return report
