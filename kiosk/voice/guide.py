"""The kiosk's voice at run time: the one place that decides what is heard, and when.

The app tells it every view (``show``) and the idle countdown (``countdown``); the screens
ask it to say the screen again (``repeat``, 「もう一度聞く」), to be quiet for the session
(``set_muted``) and to say how many digits were typed on a pad (``typed``: never which).

- A new view speaks its step's script (``kiosk.voice.scripts``) in the view's language,
  stopping what was playing; the same step with the same script is not restarted (the
  app shows a view again on every event). The technician's steps are silent.
- The card read: leaving ``READING`` for a step that is not a problem gives a beep, then
  「読み取りました」, then the next screen's script.
- A problem or a notice (``alert``) gives the error tone before the script.
- 「カードをお取りください」 is said again ``reminder_seconds`` after it ended, until the
  step changes (the card is taken).
- A new session (back at the start from another step) unmutes, and the volume and the
  headset go back to the kiosk's.

Sounds are made on a worker thread (``kiosk.voice.preparer``) and played on the main thread
from the clock (``KivyClock``; tests give a manual one). At start-up (``start``) every
fixed script is made, in both languages, into the cache under the data directory (a warm
cache takes milliseconds); scripts with a name in them are made ahead when the screen
before shows what they will name; the slip's receipt numbers are made as soon as the
slip's view arrives, while its fixed first sentence plays. What only one citizen hears
(receipt numbers, a time) is made in ``citizen/`` and deleted when the session ends.
Once the start's sounds are made, the sounds nothing made or used for ``STALE_DAYS`` go
(``prune_stale``): those of scripts an upgrade changed, or of a voice version replaced.

``said`` records what was said (and ``Utterance.started`` whether it was heard): the tests
read it for secrets, and the walkthrough writes it out.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from kiosk.procedure.flow import TECHNICIAN_STEPS, Step, View, shown_services
from kiosk.procedure.session import WARNING_SECONDS
from kiosk.voice import scripts, tones
from kiosk.voice.player import MIXER_RATE, SdlSink, Sink
from kiosk.voice.preparer import AHEAD, BACKGROUND, NOW, Key, Preparer, Sound
from kiosk.voice.synth import Synthesizer

log = logging.getLogger(__name__)

# Steps that are a problem or a notice: the error tone comes before their script. Also
# alerts: a wrong PIN, a pad's format error, a slip that could not be printed (``alert``).
ALERT_STEPS = frozenset({
    Step.CARD_PROBLEM, Step.CERT_EXPIRED, Step.CERT_TOO_RECENT, Step.PIN_LOCKED,
    Step.NOTICE, Step.REFUSED, Step.RESERVATIONS_CLOSED, Step.CARD_REMOVED, Step.CARD_LEFT,
})  # fmt: skip
SILENT_STEPS = TECHNICIAN_STEPS
REMINDER_STEPS = frozenset({Step.TAKE_CARD, Step.CARD_LEFT})  # until the card is taken
REMINDER_SECONDS = 8.0
# What only this citizen hears: made apart, deleted when the session ends.
CITIZEN_STEPS = frozenset({Step.SLIP, Step.CERT_TOO_RECENT})
GAP_SECONDS = 0.15  # between two sounds in a row (the beep, then "read")
TONE_VERSION = "1"  # bump when kiosk.voice.tones changes a tone
SAID_KEPT = 1000
# A cached sound nothing made or used for this long goes. Every start makes (or touches)
# what it still needs, so only what no script says any more is that old.
STALE_DAYS = 30


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """When the guide acts: ``later`` and ``soon`` run on the main thread."""

    def now(self) -> float: ...

    def later(self, seconds: float, action: Callable[[], None]) -> Cancellable: ...

    def soon(self, action: Callable[[], None]) -> None:
        """``action`` on the main thread's next tick (callable from any thread)."""


class KivyClock:
    """Kivy's clock (its ``schedule_once`` may be called from any thread)."""

    def now(self) -> float:
        return time.monotonic()

    def later(self, seconds: float, action: Callable[[], None]) -> Cancellable:
        from kivy.clock import Clock as KivyClock_

        # Kivy counts a timeout from its last tick, which may be long ago (a clock not
        # ticked yet, a slow frame): count it from now.
        since_tick = KivyClock_.time() - KivyClock_.get_time()
        event: Cancellable = KivyClock_.schedule_once(lambda _dt: action(), seconds + since_tick)
        return event

    def soon(self, action: Callable[[], None]) -> None:
        from kivy.clock import Clock as KivyClock_

        KivyClock_.schedule_once(lambda _dt: action(), 0)


@dataclass
class Utterance:
    """One sound the guide asked for: speech (its script) or a tone (its name)."""

    number: int
    kind: Literal["speech", "tone"]
    text: str
    language: str  # "tone" for a tone
    step: str  # the step on show when it was asked for
    started: float | None = None  # clock time it began playing; None: never heard

    @property
    def key(self) -> Key:
        return (self.text, self.language)


class VoiceGuide:
    """What the kiosk says, and when (see the module's docstring).

    ``volume`` (0 to 1) and ``headset`` are the kiosk's; a citizen's changes last for
    their session. ``reminder_seconds``: the pause before "take your card" again."""

    def __init__(
        self,
        cache_dir: Path,
        sink: Sink,
        *,
        catalog: Any = None,
        volume: float = 1.0,
        headset: bool = False,
        clock: Clock | None = None,
        reminder_seconds: float = REMINDER_SECONDS,
    ) -> None:
        self.cache_dir = cache_dir
        self.synthesizer = Synthesizer(cache_dir)
        self.citizen_synthesizer = Synthesizer(cache_dir / "citizen")
        self.sink = sink
        self.catalog = catalog
        self.clock: Clock = clock or KivyClock()
        self.reminder_seconds = reminder_seconds
        self.kiosk_volume, self.kiosk_headset = _level(volume), headset
        self.volume, self.headset = self.kiosk_volume, headset
        self.said: deque[Utterance] = deque(maxlen=SAID_KEPT)
        self.preparer = Preparer(self._make)
        self._fixed = frozenset(text for text, _language in self.fixed_sounds())
        self._citizen: set[Key] = set()  # made in citizen/ (read by the worker)
        self._muted = False
        self._numbers = itertools.count(1)
        self._view: View | None = None
        self._pieces: list[str] = []
        self._queue: deque[Utterance] = deque()
        self._playing: Utterance | None = None
        self._turn = 0  # a new saying makes every older timer and callback moot
        self._timers: list[Cancellable] = []
        self._reminder: Cancellable | None = None
        self._counting = False
        self._closing = False

    # --- start and stop ------------------------------------------------------------------

    def start(self) -> None:
        """Open the sound device (main thread), clear what the last run left of its
        citizens, and make every fixed sound in the background: the tones, each step's
        script in both languages, then the catalog's services by name."""
        self.sink.open()
        shutil.rmtree(self.cache_dir / "citizen", ignore_errors=True)
        self.preparer.want_all(self.fixed_sounds(), BACKGROUND)
        self.preparer.want_all(self.service_scripts(), BACKGROUND)
        threading.Thread(target=self._prune_once_made, name="voice-prune", daemon=True).start()

    def _prune_once_made(self) -> None:
        """After the start's sounds are made (each touched), the stale ones go."""
        if self.preparer.wait() and not self._closing:
            removed = prune_stale(self.cache_dir, time.time() - STALE_DAYS * 86400)
            if removed:
                log.info("voice cache: %d sounds unused for %d days removed", removed,
                         STALE_DAYS)  # fmt: skip

    def fixed_sounds(self) -> list[Key]:
        """Every sound heard without knowing the citizen: the tones, then each step's
        script (``scripts.fixed_scripts``)."""
        found = scripts.fixed_scripts(headset=self.kiosk_headset, countdown=int(WARNING_SECONDS))
        return [(name, "tone") for name in tones.TONES] + found

    def service_scripts(self) -> list[Key]:
        """The scripts that name a service of the catalog (its ID, its confirmation, an
        application made already), Japanese first."""
        services = list(getattr(self.catalog, "services", ()))
        found = []
        for language in ("ja", "en"):
            for service in services:
                for step in (Step.ENTER_ID, Step.CONFIRM, Step.ALREADY_APPLIED):
                    view = View(step, language, {"service": service})
                    found += [(text, language) for text in scripts.pieces(view, self.catalog)]
        return found

    def stop(self) -> None:
        """Silence now: what plays and what was to follow (the kiosk stops)."""
        self._halt()
        self._cancel_reminder()

    def close(self) -> None:
        """Stop, and the worker after the sound it is making."""
        self._closing = True
        self.stop()
        self.preparer.close()

    # --- what the app and the screens call (main thread) ---------------------------------

    def show(self, view: View) -> None:
        """A view was shown: say its script, unless it is the one being said."""
        previous, self._view = self._view, view
        new_step = previous is None or previous.step != view.step
        if new_step and previous is not None and view.step == Step.WELCOME:
            self._new_session()
        pieces = scripts.pieces(view, self.catalog, headset=self.headset)
        self._look_ahead(view)
        alert = self.alert(previous, view)
        self._mark_citizen(view, pieces)
        if not new_step and pieces == self._pieces:
            if alert:  # a format error on a pad: the tone, the script is said already
                self._say([self._tone("error")])
            return
        self._pieces = pieces
        if new_step:
            self._cancel_reminder()
        sounds = []
        if previous is not None and previous.step == Step.READING and new_step and not alert:
            sounds += [self._tone("beep"), self._speech(scripts.say("card_read", view.language))]
        if alert:
            sounds.append(self._tone("error"))
        sounds += [self._speech(text) for text in pieces]
        log.debug("voice: %d sound(s) for the %s screen", len(sounds), view.step)
        self._say(sounds)

    def repeat(self) -> None:
        """Say the screen's script again (「もう一度聞く」): heard even when muted, since
        the citizen asked for it."""
        if self._pieces:
            self._say([self._speech(text) for text in self._pieces], force=True)

    @property
    def speaking(self) -> bool:
        """Whether a sound plays, or one is waiting its turn."""
        return self._playing is not None or bool(self._queue)

    @property
    def muted(self) -> bool:
        return self._muted

    def set_muted(self, muted: bool) -> None:
        """Quiet for this session (a new session unmutes); unmuting says the screen again."""
        if muted == self._muted:
            return
        self._muted = muted
        if muted:
            self.stop()
        else:
            self.repeat()

    def set_volume(self, volume: float) -> None:
        """This session's volume, 0 to 1 (at once, on what plays too)."""
        self.volume = _level(volume)
        self.sink.set_volume(self.volume)

    def set_headset(self, headset: bool) -> None:
        """Headset mode for this session: the PIN screen also describes its pad."""
        self.headset = headset

    def typed(self, count: int) -> None:
        """A key was pressed on a pad: say how many digits there are now, never which."""
        self._say([self._speech(scripts.typed(count, self._language))])

    def countdown(self, seconds_left: int | None) -> None:
        """The idle countdown shows ``seconds_left`` (None or 0: it does not show): the
        warning is said once, when it starts."""
        if not seconds_left:
            self._counting = False
            return
        if self._counting:
            return
        self._counting = True
        warning = scripts.say("idle.warning", self._language, seconds=seconds_left)
        self._say([self._speech(warning)])

    @staticmethod
    def alert(previous: View | None, view: View) -> bool:
        """Whether ``view`` brings a problem or a notice (the error tone)."""
        if view.step in SILENT_STEPS:
            return False
        before = previous.data if previous is not None and previous.step == view.step else {}
        if view.step in ALERT_STEPS:
            return previous is None or previous.step != view.step
        if view.data.get("wrong") and not before.get("wrong"):
            return True  # a wrong PIN
        if view.data.get("error") and view.data.get("error") != before.get("error"):
            return True  # a pad's format error
        return view.data.get("printed") is False and before.get("printed") is not False

    # --- what is said --------------------------------------------------------------------

    @property
    def _language(self) -> str:
        return self._view.language if self._view is not None else "ja"

    def _speech(self, text: str) -> Utterance:
        step = self._view.step.value if self._view is not None else ""
        return Utterance(next(self._numbers), "speech", text, self._language, step)

    def _tone(self, name: str) -> Utterance:
        step = self._view.step.value if self._view is not None else ""
        return Utterance(next(self._numbers), "tone", name, "tone", step)

    def _say(self, sounds: list[Utterance], *, force: bool = False) -> None:
        """Stop what plays, then play ``sounds`` in turn (muted: nothing, unless forced)."""
        self._halt()
        if self._muted and not force:
            return
        self.said.extend(sounds)
        self._queue.extend(sounds)
        self._next()

    def _halt(self) -> None:
        self._turn += 1
        for timer in self._timers:
            timer.cancel()
        self._timers = []
        self._queue.clear()
        if self._playing is not None:
            self.sink.stop()
            self._playing = None

    def _next(self) -> None:
        """Play the next sound if it is made; if not, ask for it now and come back."""
        while self._queue and self._playing is None:
            utterance = self._queue[0]
            sound = self.preparer.get(utterance.key)
            if sound is None and not self.preparer.failed(utterance.key):
                self.preparer.want(utterance.key, NOW, then=self._come_back(self._turn))
                return
            self._queue.popleft()
            if sound is not None:
                self._play(utterance, sound)
        if not self._queue and self._playing is None:
            self._done()

    def _play(self, utterance: Utterance, sound: Sound) -> None:
        self.sink.play(sound.path, self.volume)
        utterance.started = self.clock.now()
        self._playing = utterance
        turn = self._turn
        self._timers.append(
            self.clock.later(sound.seconds + GAP_SECONDS, lambda: self._ended(turn))
        )

    def _ended(self, turn: int) -> None:
        if turn == self._turn:
            self._playing = None
            self._next()

    def _come_back(self, turn: int) -> Callable[[], None]:
        """For the worker, once a sound is made: go on, on the main thread, unless
        something else was said since."""

        def resume() -> None:
            if turn == self._turn:
                self._next()

        return lambda: self.clock.soon(resume)

    def _done(self) -> None:
        """All said: on "take your card", say it again in a while."""
        view = self._view
        if view is None or view.step not in REMINDER_STEPS or self._muted:
            return
        self._cancel_reminder()
        step = view.step
        self._reminder = self.clock.later(self.reminder_seconds, lambda: self._remind(step))

    def _remind(self, step: Step) -> None:
        self._reminder = None
        if self._view is not None and self._view.step == step and not self._muted:
            self._say([self._speech(text) for text in self._pieces])

    def _cancel_reminder(self) -> None:
        if self._reminder is not None:
            self._reminder.cancel()
            self._reminder = None

    def _new_session(self) -> None:
        """The last citizen's choices and their sounds go."""
        self._muted = False
        self.volume, self.headset = self.kiosk_volume, self.kiosk_headset
        self.sink.set_volume(self.volume)
        self._counting = False
        citizen = self.cache_dir / "citizen"
        self._citizen = set()
        self.preparer.forget(lambda sound: citizen not in sound.path.parents)
        threading.Thread(target=shutil.rmtree, args=(citizen, True), daemon=True).start()

    def _mark_citizen(self, view: View, texts: list[str]) -> None:
        """What only this citizen hears is made in ``citizen/``, deleted after them."""
        if view.step in CITIZEN_STEPS:
            self._citizen.update((t, view.language) for t in texts if t not in self._fixed)

    def _look_ahead(self, view: View) -> None:
        """Make now what the next screen may say, if this one shows what it names."""
        language, data = view.language, view.data
        ahead: list[View] = []
        if view.step == Step.CHOOSE_SERVICE:
            ahead = [  # every ID screen first: it comes first
                View(step, language, {"service": service})
                for step in (Step.ENTER_ID, Step.CONFIRM)
                for service in _services_shown(data)
            ]
        elif view.step in (Step.ENTER_ID, Step.ENTER_CODE, Step.ENTER_PHONE):
            if data.get("service") is not None:
                ahead = [View(Step.CONFIRM, language, {"service": data["service"]})]
        elif view.step == Step.SLIP and data.get("printing"):
            ahead = [View(Step.SLIP, language, {**data, "printing": False})]
        for next_view in ahead:
            texts = scripts.pieces(next_view, self.catalog, headset=self.headset)
            self._mark_citizen(next_view, texts)
            self.preparer.want_all(((text, language) for text in texts), AHEAD)

    # --- making sounds (the worker thread) -----------------------------------------------

    def _make(self, text: str, language: str) -> Path:
        if language == "tone":
            path = self.cache_dir / f"tone-{text}-{TONE_VERSION}-{MIXER_RATE}.wav"
            if not path.exists():
                tones.write(text, path, MIXER_RATE)
            return _touched(self.sink.prepare(path))
        citizen = (text, language) in self._citizen
        synthesizer = self.citizen_synthesizer if citizen else self.synthesizer
        made = self.sink.ready(synthesizer.path_for(text, language))
        return _touched(made or self.sink.prepare(synthesizer.wav(text, language)))

    # --- for the walkthrough and the tests ------------------------------------------------

    @property
    def script(self) -> list[Key]:
        """What the screen on show says (as 「もう一度聞く」 would say it)."""
        return [(text, self._language) for text in self._pieces]

    def sound_of(self, key: Key, timeout: float = 120.0) -> Sound | None:
        """The sound of ``key`` (made now if need be; None if it cannot be)."""
        done = threading.Event()
        self.preparer.want(key, NOW, then=done.set)
        done.wait(timeout)
        return self.preparer.get(key)


def _level(volume: float) -> float:
    return min(1.0, max(0.0, float(volume)))


def _services_shown(data: dict[str, Any]) -> list[Any]:
    """The services on the list, as shown (a search's order), that can be chosen."""
    return [e["service"] for e in shown_services(data)
            if getattr(e.get("availability"), "available", True)]  # fmt: skip


def voice_for(settings: Any, channel: str, catalog: Any = None) -> VoiceGuide | None:
    """The voice of a kiosk with ``settings`` (``kiosk.settings.KioskSettings``) on
    ``channel``, on Kivy's sound; None if it has none (``voice_enabled`` off)."""
    if not settings.voice_enabled:
        return None
    volume = (
        settings.voice_volume_city_hall
        if channel == "city_hall"
        else settings.voice_volume_convenience_store
    )
    cache = settings.voice_cache
    return VoiceGuide(
        cache, SdlSink(cache), catalog=catalog, volume=volume, headset=settings.voice_headset
    )


def _touched(path: Path) -> Path:
    """``path``, marked as used now: ``prune_stale`` keeps it."""
    try:
        path.touch(exist_ok=True)
    except OSError as exc:  # a read-only cache still plays; it is only not pruned right
        log.warning("voice cache: cannot mark %s as used (%s)", path.name, exc)
    return path


def prune_stale(cache_dir: Path, before: float) -> int:
    """Remove the cached sounds in ``cache_dir`` (not ``citizen/``, which each session
    clears) last made or used before ``before`` (a Unix time); the number removed."""
    removed = 0
    for path in cache_dir.glob("*.wav"):
        try:
            if path.stat().st_mtime < before:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # gone meanwhile
    return removed
