"""The voice at run time (``kiosk.voice.guide``): what is heard, and when. Real speech
(Open JTalk, espeak-ng), played through Kivy's SDL2 sound: SDL's ``dummy`` driver in this
process (a null sink at the speed of sound), its ``disk`` driver in a child process where
the output stream itself is read back. The guide's own timers run on a manual clock, so
"every 8 seconds" takes no 8 seconds; ``guide.said`` is what was said (``started``: heard).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kiosk.catalog.queries import Catalog
from kiosk.catalog.store import Freshness, Source
from kiosk.procedure.flow import Step, View
from kiosk.voice import lexicon, scripts, tones
from kiosk.voice.guide import (
    ALERT_STEPS,
    GAP_SECONDS,
    REMINDER_STEPS,
    STALE_DAYS,
    VoiceGuide,
    prune_stale,
    voice_for,
)
from kiosk.voice.player import MIXER_RATE, SdlSink
from mynapoint.packaged_catalog import packaged_document
from tests.kiosk.ui.test_screens import (
    PAYPAY_DIGITS,
    every_view,
    kiosk_ui,
    up_to_confirm,
    up_to_pin,
)
from tests.support.flow_harness import CARD_PIN, PAYPAY_CODE, issue_rig_card
from tests.support.kiosk_harness import KioskRig
from tests.support.paths import REPO
from tests.support.voice_child import MARK

pytest_plugins = ["tests.support.kivy_fixtures"]  # Kivy's environment (and SDL's dummy sound) first
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CATALOG = Catalog.from_document(packaged_document(), Freshness(Source.PACKAGED, "test"))
VIEWS = dict(every_view())


class ManualClock:
    """The guide's clock, moved on by the test; ``soon`` may be called from the worker."""

    class Timer:
        def __init__(self, due: float, action: Callable[[], None]) -> None:
            self.due, self.action, self.cancelled = due, action, False

        def cancel(self) -> None:
            self.cancelled = True

    def __init__(self) -> None:
        self.time = 1000.0
        self.timers: list[ManualClock.Timer] = []
        self.pending: list[Callable[[], None]] = []
        self.lock = threading.Lock()

    def now(self) -> float:
        return self.time

    def later(self, seconds: float, action: Callable[[], None]) -> Timer:
        timer = self.Timer(self.time + seconds, action)
        self.timers.append(timer)
        return timer

    def soon(self, action: Callable[[], None]) -> None:
        with self.lock:
            self.pending.append(action)

    def run_pending(self) -> None:
        with self.lock:
            actions, self.pending = self.pending, []
        for action in actions:
            action()

    def advance(self, seconds: float) -> None:
        """Move on ``seconds``, running each timer at its time, in order."""
        end = self.time + seconds
        while True:
            self.run_pending()
            due = [t for t in self.timers if not t.cancelled and t.due <= end]
            if not due:
                break
            timer = min(due, key=lambda t: t.due)
            self.timers.remove(timer)
            self.time = timer.due
            timer.action()
        self.time = end


@pytest.fixture(scope="module")
def voice_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the module: each sound is made once."""
    return tmp_path_factory.mktemp("voice-cache")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def guide(voice_cache: Path, clock: ManualClock, kivy_window: object) -> Iterator[VoiceGuide]:
    guide = VoiceGuide(voice_cache, SdlSink(voice_cache), catalog=CATALOG, clock=clock)
    assert guide.sink.open(), "SDL's dummy driver is a device"
    yield guide
    guide.close()


def made(guide: VoiceGuide, *views: View) -> None:
    """Make the sounds of ``views`` (and the tones, "read") before they are shown."""
    keys = [(name, "tone") for name in tones.TONES]
    for view in views:
        keys += [(text, view.language) for text in scripts.pieces(view, CATALOG)]
        keys.append((scripts.say("card_read", view.language), view.language))
    guide.preparer.want_all(keys, 0)
    assert guide.preparer.wait(240)


def heard(guide: VoiceGuide, since: int = 0) -> list[tuple[str, str]]:
    """(kind, text) of what began to play, after utterance number ``since``."""
    return [(u.kind, u.text) for u in guide.said if u.started is not None and u.number > since]


def last_number(guide: VoiceGuide) -> int:
    return guide.said[-1].number if guide.said else 0


def view(name: str, language: str = "ja") -> View:
    shown = VIEWS[name]
    return View(shown.step, language, shown.data)  # type: ignore[arg-type]


def speech(*texts: str) -> list[tuple[str, str]]:
    return [("speech", text) for text in texts]


# --- each screen speaks -----------------------------------------------------------------------


def test_every_step_speaks_its_script_when_shown_and_the_sound_plays(
    guide: VoiceGuide, clock: ManualClock
) -> None:
    """Every view of every step, in Japanese (and a few in English): its script, played at
    once (the sound was made ahead), through SDL's mixer, for as long as it lasts. The
    technician's screens are silent."""
    views = [v for _name, v in every_view()]
    views += [view(name, "en") for name in ("welcome", "pin", "slip-printed", "enter_id-digits")]
    made(guide, *views)
    for shown in views:
        other = Step.CHECKING if shown.step == Step.VERIFYING else Step.VERIFYING
        guide.show(previous := View(other, shown.language, {}))  # another step first
        before = last_number(guide)
        guide.show(shown)
        if shown.step in (Step.TECHNICIAN_PIN, Step.TECHNICIAN):
            assert heard(guide, before) == [] and not guide.speaking, shown.step
            continue
        expected = scripts.pieces(shown, CATALOG)
        first = ("tone", "error") if guide.alert(previous, shown) else ("speech", expected[0])
        assert heard(guide, before) == [first], shown.step  # at once, on show
        sound = guide.sink.sound  # type: ignore[attr-defined]
        assert sound is not None and sound.state == "play", shown.step
        playing = [u for u in guide.said if u.started is not None][-1]
        seconds = guide.preparer.get(playing.key).seconds  # type: ignore[union-attr]
        assert abs(sound.length - seconds) < 0.01, shown.step  # the whole sound is loaded
        clock.advance(60)
        said = [text for kind, text in heard(guide, before) if kind == "speech"]
        if shown.step in REMINDER_STEPS:  # said again until the card is taken
            assert set(said) == set(expected) and len(said) > 1, shown.step
        else:
            assert said == expected and not guide.speaking, shown.step


def test_the_same_screen_again_is_not_restarted_but_a_new_language_is(
    guide: VoiceGuide, clock: ManualClock
) -> None:
    pin, pin_en = view("pin"), view("pin", "en")
    made(guide, pin, pin_en)
    guide.show(pin)
    clock.advance(1)
    for _ in range(3):  # every event re-shows the view: the script goes on
        guide.show(View(Step.PIN, "ja", dict(pin.data)))
    assert heard(guide) == speech(scripts.script_for(pin))
    guide.show(pin_en)  # the citizen switched to English
    assert heard(guide)[-1] == ("speech", scripts.script_for(pin_en))


def test_listen_again_says_the_screen_again(guide: VoiceGuide, clock: ManualClock) -> None:
    consent = view("consent")
    made(guide, consent)
    guide.show(consent)
    clock.advance(3)
    guide.repeat()  # 「もう一度聞く」: from the start, at once
    assert heard(guide) == speech(scripts.script_for(consent)) * 2
    assert guide.said[-1].started == clock.now()


def test_mute_silences_the_session_and_the_next_session_speaks(
    guide: VoiceGuide, clock: ManualClock
) -> None:
    welcome, consent, pin = view("welcome"), view("consent"), view("pin")
    made(guide, welcome, consent, pin)
    guide.show(welcome)
    guide.show(consent)
    guide.set_volume(0.3)
    assert guide.sink.sound.volume == pytest.approx(0.3)  # type: ignore[attr-defined]
    guide.set_headset(True)
    before = last_number(guide)
    guide.set_muted(True)
    assert guide.muted and not guide.speaking and guide.sink.sound is None  # type: ignore[attr-defined]
    guide.show(pin)
    guide.typed(2)
    guide.countdown(20)
    clock.advance(60)
    assert heard(guide, before) == []  # nothing, not even a key press
    guide.show(welcome)  # the session ended: the next citizen hears the kiosk
    assert not guide.muted and guide.volume == 1.0 and guide.headset is False
    assert heard(guide, before) == speech(scripts.script_for(welcome))


def test_unmuting_and_listen_again_are_heard(guide: VoiceGuide, clock: ManualClock) -> None:
    consent = view("consent")
    made(guide, consent)
    guide.show(consent)
    guide.set_muted(True)
    before = last_number(guide)
    guide.repeat()  # asked for: heard, muted or not
    assert heard(guide, before) == speech(scripts.script_for(consent))
    assert guide.muted
    before = last_number(guide)
    guide.set_muted(False)  # sound back on: the screen again
    assert heard(guide, before) == speech(scripts.script_for(consent))


def test_a_key_press_says_how_many_digits_never_which(
    guide: VoiceGuide, clock: ManualClock
) -> None:
    pin = view("pin")
    made(guide, pin)
    guide.preparer.want_all([(scripts.typed(n, "ja"), "ja") for n in range(5)], 0)
    guide.preparer.wait(60)
    guide.show(pin)
    before = last_number(guide)
    for count in (1, 2, 3, 4, 3, 0):  # typed, typed..., backspace, clear
        guide.typed(count)
    said = [text for _kind, text in heard(guide, before)]
    # The count, and only the count: the guide is never given a digit to say.
    assert said == [*(f"{n}桁、入力しました。" for n in (1, 2, 3, 4, 3)), "入力を消しました。"]


# --- sounds at the right moments ---------------------------------------------------------------


def dominant_hz(path: Path, seconds: float) -> float:
    with wave.open(str(path)) as audio:
        rate = audio.getframerate()
        samples = np.frombuffer(audio.readframes(int(rate * seconds)), dtype="<i2")
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    return float(np.argmax(spectrum) * rate / samples.size)


def test_the_card_read_gives_a_beep_then_read_then_the_pin_script(
    guide: VoiceGuide, clock: ManualClock
) -> None:
    reading, pin = view("reading"), view("pin")
    made(guide, reading, pin)
    guide.show(reading)
    before = last_number(guide)
    guide.show(pin)
    assert heard(guide, before) == [("tone", "beep")]  # at once
    beep = guide.preparer.get(("beep", "tone"))
    assert beep is not None and 0.1 < beep.seconds < 0.2
    clock.advance(beep.seconds + GAP_SECONDS)
    assert heard(guide, before)[-1] == ("speech", "読み取りました。")
    read = guide.preparer.get(("読み取りました。", "ja"))
    assert read is not None
    clock.advance(read.seconds + GAP_SECONDS)
    assert heard(guide, before)[-1] == ("speech", scripts.script_for(pin))
    started = [u.started for u in guide.said if u.number > before]
    assert started == sorted(started) and len(set(started)) == 3  # one after the other
    # The beep is high and short, the error tone low and falling: told apart by ear.
    error = guide.preparer.get(("error", "tone"))
    assert error is not None and error.seconds > 2 * beep.seconds
    assert dominant_hz(beep.path, 0.1) > 1500 > 600 > dominant_hz(error.path, 0.15) > 500


def test_a_problem_or_a_notice_gives_the_error_tone_first(
    guide: VoiceGuide, clock: ManualClock
) -> None:
    """The alert steps, a wrong PIN, a pad's format error, a slip not printed: the error
    tone, then the script. Nothing else has a tone."""
    alerts = {"card_problem", "cert_expired", "cert_too_recent", "pin-last-try", "pin_locked",
              "reservations_closed", "notice", "enter_id-letters", "enter_phone", "refused",
              "refused-register-first", "slip-on-screen", "card_left", "card_removed",
              "voucher_amount", "voucher_slip-on-screen", "enter_service_number",
              "notice-voucher_cancel"}  # fmt: skip
    views = every_view()
    assert {v.step for name, v in views if name in alerts} >= ALERT_STEPS
    made(guide, *(v for _name, v in views))
    for name, shown in views:
        guide.show(View(Step.CHECKING, "ja", {}))
        before = last_number(guide)
        guide.show(shown)
        tones_heard = [text for kind, text in heard(guide, before) if kind == "tone"]
        assert tones_heard == (["error"] if name in alerts else []), name
    # A format error on the same screen: the tone again, the script is not restarted.
    enter_id = view("enter_id-digits")
    guide.show(enter_id)
    clock.advance(30)
    before = last_number(guide)
    guide.show(View(Step.ENTER_ID, "ja", {**enter_id.data, "error": "id.format"}))
    assert heard(guide, before) == [("tone", "error")]


def test_take_your_card_is_said_again_until_the_card_is_taken(
    guide: VoiceGuide, clock: ManualClock
) -> None:
    take_card, welcome = view("take_card"), view("welcome")
    made(guide, take_card, welcome)
    script = scripts.script_for(take_card)
    seconds = guide.preparer.get((script, "ja")).seconds  # type: ignore[union-attr]
    guide.show(view("slip-printed"))
    guide.show(take_card)
    clock.advance(seconds + GAP_SECONDS + guide.reminder_seconds - 0.5)
    assert heard(guide).count(("speech", script)) == 1
    clock.advance(1)  # 8 s after it ended: again
    assert heard(guide).count(("speech", script)) == 2
    clock.advance(3 * (seconds + GAP_SECONDS + guide.reminder_seconds))
    assert heard(guide).count(("speech", script)) == 5
    guide.show(welcome)  # the card was taken
    clock.advance(120)
    assert heard(guide).count(("speech", script)) == 5
    assert heard(guide)[-1] == ("speech", scripts.script_for(welcome))


def test_the_idle_countdown_is_said_once_as_it_starts(
    guide: VoiceGuide, clock: ManualClock
) -> None:
    for_whom = view("for_whom")
    warning = scripts.say("idle.warning", "ja", seconds=20)
    made(guide, for_whom)
    guide.preparer.want((warning, "ja"), 0)
    assert guide.preparer.wait(60)
    guide.show(for_whom)
    before = last_number(guide)
    for left in (20, 20, 19, 19, 18, 17):  # the app asks four times a second
        guide.countdown(left)
        clock.advance(0.25)
    clock.advance(10)
    assert [text for _kind, text in heard(guide, before)] == [warning]
    guide.countdown(None)  # a touch gave the time back
    guide.countdown(20)  # the next countdown is said again
    clock.advance(0.1)
    assert [text for _kind, text in heard(guide, before)] == [warning, warning]


# --- made ahead: the 300 ms start ----------------------------------------------------------------


def test_what_a_screen_names_is_made_while_the_screen_before_shows(
    voice_cache: Path, clock: ManualClock, kivy_window: object
) -> None:
    """A fresh cache: the services' scripts are made while the list shows, the slip's
    receipt numbers while it prints; shown, they start at once, on show. The receipt
    numbers are the citizen's: made apart, and gone when the next session starts."""
    cache = voice_cache / "fresh"
    guide = VoiceGuide(cache, SdlSink(cache), catalog=CATALOG, clock=clock)
    try:
        guide.sink.open()
        choose, enter_id, confirm = (
            view("choose_service-search"),
            view("enter_id-digits"),
            view("confirm"),
        )
        printing, printed = view("slip-printing"), view("slip-printed")
        guide.show(choose)
        assert guide.preparer.wait(240)
        for shown in (enter_id, confirm):  # PayPay was on the list
            before = last_number(guide)
            guide.show(shown)
            assert heard(guide, before) == speech(scripts.script_for(shown, CATALOG))
            assert guide.said[-1].started == clock.now()
        guide.show(printing)
        assert guide.preparer.wait(240)
        before = last_number(guide)
        guide.show(printed)
        lead, outcomes = scripts.pieces(printed)
        assert "キュー、3、9、4" in outcomes  # Q394-...: spelled a character at a time
        assert heard(guide, before) == speech(lead)
        clock.advance(guide.preparer.get((lead, "ja")).seconds + GAP_SECONDS)  # type: ignore[union-attr]
        assert heard(guide, before) == speech(lead, outcomes)
        citizen = guide.preparer.get((outcomes, "ja"))
        assert citizen is not None and cache / "citizen" in citizen.path.parents
        guide.show(view("welcome"))  # the next session
        for _ in range(100):
            if not citizen.path.exists():
                break
            threading.Event().wait(0.02)
        assert not citizen.path.exists() and guide.preparer.get((outcomes, "ja")) is None
    finally:
        guide.close()


def test_start_up_makes_every_fixed_sound_and_a_warm_cache_is_quick(
    voice_cache: Path, clock: ManualClock, kivy_window: object
) -> None:
    """Every step's script in both languages, the tones, the services by name; once made,
    a restart finds them all in a fraction of a second."""
    guide = VoiceGuide(voice_cache, SdlSink(voice_cache), catalog=CATALOG, clock=clock)
    try:
        guide.start()
        assert guide.preparer.wait(600)
        keys = guide.fixed_sounds() + guide.service_scripts()
        assert len(keys) > 150 and {language for _t, language in keys} == {"ja", "en", "tone"}
        sounds = [guide.preparer.get(key) for key in keys]
        assert all(sound is not None for sound in sounds)
        with wave.open(str(sounds[-1].path)) as audio:  # type: ignore[union-attr]
            assert audio.getframerate() == MIXER_RATE  # loaded without converting
    finally:
        guide.close()
    again = VoiceGuide(voice_cache, SdlSink(voice_cache), catalog=CATALOG, clock=clock)
    try:
        started = time.monotonic()
        again.start()
        assert again.preparer.wait(60)
        assert time.monotonic() - started < 1.0
    finally:
        again.close()


def test_sounds_unused_for_a_month_go_once_the_start_has_made_its_own(
    voice_cache: Path, clock: ManualClock, kivy_window: object
) -> None:
    """An upgrade that changes a script, or the voice, leaves the old sounds behind: once a
    start has made (or touched) every sound it needs, the ones unused for ``STALE_DAYS``
    go. A needed sound, however old, stays; so does one used lately; ``citizen/`` is the
    session's to clear."""
    month_ago = time.time() - (STALE_DAYS + 1) * 86400
    guide = VoiceGuide(voice_cache, SdlSink(voice_cache), catalog=CATALOG, clock=clock)
    try:
        guide.start()  # warm (the test above made everything): quick
        assert guide.preparer.wait(600)
        needed = guide.preparer.get(guide.fixed_sounds()[-1])
        assert needed is not None
        os.utime(needed.path, (month_ago, month_ago))  # a kiosk left off for a month
        stale = voice_cache / f"ja-{'0' * 32}.wav"  # what an old script left
        lately = voice_cache / f"en-{'1' * 32}.wav"  # a refusal's words, said last week
        for path in (stale, lately):
            shutil.copy(needed.path, path)
        os.utime(stale, (month_ago, month_ago))
        week_ago = time.time() - 7 * 86400
        os.utime(lately, (week_ago, week_ago))
    finally:
        guide.close()
    again = VoiceGuide(voice_cache, SdlSink(voice_cache), catalog=CATALOG, clock=clock)
    try:
        again.start()
        assert again.preparer.wait(600)
        for _ in range(100):  # the pruning thread runs once everything is made
            if not stale.exists():
                break
            threading.Event().wait(0.05)
        assert not stale.exists()
        assert lately.exists()
        assert needed.path.exists() and needed.path.stat().st_mtime > month_ago + 86400
    finally:
        again.close()
    assert prune_stale(voice_cache, time.time() - STALE_DAYS * 86400) == 0


# --- the real sink, and none -----------------------------------------------------------------


def child(mode: str, where: Path, **env: str) -> tuple[dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.voice_child", mode, str(where)], cwd=REPO,
        env={**os.environ, **env}, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    [line] = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    return json.loads(line[len(MARK) :]), done.stderr


def test_the_speech_reaches_the_sound_device(tmp_path: Path) -> None:
    """SDL's ``disk`` driver writes what the mixer sends the device: the error tone (at
    its pitch), a pause, then the speech (the notice's lead, then its problem), as long as
    the sound files and the pauses between them together, and loud."""
    stream = tmp_path / "device.raw"
    result, _log = child("sink", tmp_path, SDL_AUDIODRIVER="disk", SDL_DISKAUDIOFILE=str(stream))
    kinds = [s["kind"] for s in result["said"]]
    assert result["available"] and kinds == ["tone", "speech", "speech"]
    assert all(s["heard"] for s in result["said"])
    samples = np.fromfile(stream, dtype="<i2").reshape(-1, 2)[:, 0].astype(float)
    sound = np.nonzero(samples)[0]
    first, last = sound[0], sound[-1]
    expected = sum(s["seconds"] for s in result["said"]) + GAP_SECONDS * (len(kinds) - 1)
    assert abs((last - first) / MIXER_RATE - expected) < 0.1, (
        (last - first) / MIXER_RATE,
        expected,
    )
    tone = samples[first : first + int(0.15 * MIXER_RATE)]
    assert abs(np.argmax(np.abs(np.fft.rfft(tone))) * MIXER_RATE / tone.size - 587) < 15
    speech_part = samples[first + int((0.49 + GAP_SECONDS) * MIXER_RATE) : last]
    assert np.sqrt(np.mean(speech_part**2)) > 300  # speech, not silence


def test_without_a_sound_device_the_kiosk_runs_silently_with_one_warning(
    tmp_path: Path,
) -> None:
    """No audio device at all (SDL finds no such driver): the app starts, the screens
    follow the touches, the voice still decides what it would say, one warning."""
    result, log = child("app", tmp_path, SDL_AUDIODRIVER="no-such-device",
                        KIOSK_VOICE_CACHE_DIR=str(tmp_path / "voice"))  # fmt: skip
    assert result["steps"] == ["welcome", "consent", "for_whom", "place_card"]
    assert result["available"] is False and len(result["said"]) >= 4
    assert log.count("no audio device") == 1, log[-3000:]
    assert "Traceback" not in log


# --- nothing secret, over the app -------------------------------------------------------------


SECRETS = [CARD_PIN, PAYPAY_CODE, PAYPAY_DIGITS, PAYPAY_DIGITS[-4:], PAYPAY_DIGITS[3:8]]


def test_nothing_said_over_a_whole_application_holds_a_secret_digit(
    rig: KioskRig, tmp_path: Path, voice_cache: Path
) -> None:
    """The app, touched through a whole application (PIN, ID, security code): every
    script and key press said holds no digit of the PIN, the code or the ID."""
    card = issue_rig_card(tmp_path, "citizen")
    with kiosk_ui(rig, card, voice_cache_dir=voice_cache / "app") as ui:
        voice = ui.app.voice
        assert voice is not None and ui.app.current_screen.context.voice is voice
        up_to_pin(ui)
        ui.type_pin(CARD_PIN)
        up_to_confirm(ui)
        ui.tap("この内容で申し込む")
        ui.wait_for(Step.SLIP)
        said = list(voice.said)
    steps = {u.step for u in said}
    # The pads spoke as they were typed on: the count, key by key (the PIN's 4, the
    # ID's 11, the code's 4).
    counts = [u.text for u in said if u.text.endswith("桁、入力しました。")]
    for count in (1, 2, 3, 4, 11):
        assert f"{count}桁、入力しました。" in counts, counts
    assert {"welcome", "pin", "choose_service", "enter_id", "confirm", "slip"} <= steps, steps
    for utterance in said:
        if utterance.kind == "tone":
            continue
        digits = re.sub(r"[、,.。\s]", "", lexicon.for_the_ear(utterance.text, utterance.language))
        leaked = [secret for secret in SECRETS if secret in digits]
        assert not leaked, (utterance.step, utterance.text)


# --- the kiosk's settings -------------------------------------------------------------------


def test_the_settings_give_each_channel_its_volume_and_may_turn_the_voice_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk.settings import KioskSettings

    monkeypatch.delenv("KIOSK_VOICE_CACHE_DIR", raising=False)  # the tests' shared cache (conftest)
    settings = KioskSettings(data_dir=tmp_path, voice_headset=True)
    store, city_hall = voice_for(settings, "convenience_store"), voice_for(settings, "city_hall")
    assert store is not None and city_hall is not None
    assert (store.volume, city_hall.volume) == (0.7, 1.0)
    assert store.cache_dir == tmp_path / "voice-cache" and store.headset
    pin = scripts.script_for(view("pin"), headset=True)
    assert (pin, "ja") in store.fixed_sounds()  # a kiosk with a jack: made at start-up too
    assert voice_for(settings.model_copy(update={"voice_enabled": False}), "city_hall") is None


def test_a_headset_also_says_how_the_pin_pad_is_laid_out_never_a_digit(
    guide: VoiceGuide, clock: ManualClock
) -> None:
    pin = view("pin")
    with_pad = scripts.script_for(pin, headset=True)
    guide.preparer.want((with_pad, "ja"), 0)
    made(guide, pin, view("welcome"))
    guide.set_headset(True)  # a citizen's headset in the jack
    guide.show(pin)
    assert heard(guide) == speech(with_pad)
    layout = scripts.say("pin.headset", "ja")
    assert with_pad.endswith(layout) and set(re.findall(r"\d", layout)) == {"3", "4"}  # 3列4段
    guide.show(view("welcome"))  # the next citizen: the kiosk's own setting again
    assert guide.headset is False
