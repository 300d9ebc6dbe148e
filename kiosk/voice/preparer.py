"""The voice's worker: sounds made on one background thread, the most urgent first, so
synthesis never runs on Kivy's main thread (which only plays what is ready).

Three urgencies: ``NOW`` (the screen on show is waiting for it), ``AHEAD`` (a screen
that may come next: the chosen service's confirmation, the slip's receipt numbers while
it prints) and ``BACKGROUND`` (start-up: every fixed script, then the catalog's service
names). A sound is made once; asking again only moves it forward. One thread is enough:
Open JTalk keeps one engine per process, and the panel's own thread needs the other core.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kiosk.voice.player import seconds_of
from kiosk.voice.synth import VoiceUnavailable

log = logging.getLogger(__name__)

NOW, AHEAD, BACKGROUND = 0, 1, 2
Key = tuple[str, str]  # (text, language); language "tone" for a tone's name


@dataclass(frozen=True)
class Sound:
    path: Path  # ready to play
    seconds: float


class Preparer:
    """Makes ``make(text, language) -> playable path`` on its own thread."""

    def __init__(self, make: Callable[[str, str], Path]) -> None:
        self._make = make
        self._lock = threading.Condition()
        self._heap: list[tuple[int, int, Key]] = []
        self._order = itertools.count()
        self._wanted: dict[Key, int] = {}  # not made yet -> its best urgency
        self._then: dict[Key, list[Callable[[], None]]] = {}
        self._made: dict[Key, Sound] = {}
        self._failed: set[Key] = set()
        self._warned: set[str] = set()
        self._closed = False
        self._thread: threading.Thread | None = None

    def want(self, key: Key, urgency: int, then: Callable[[], None] | None = None) -> None:
        """Make ``key`` (if not made yet) at ``urgency``; ``then`` runs once it is made or
        has failed (at once if it has; else on the worker thread)."""
        with self._lock:
            done = key in self._made or key in self._failed
            if not done and not self._closed:
                if then is not None:
                    self._then.setdefault(key, []).append(then)
                if urgency < self._wanted.get(key, BACKGROUND + 1):
                    self._wanted[key] = urgency
                    heapq.heappush(self._heap, (urgency, next(self._order), key))
                    self._lock.notify_all()
                self._start()
        if done and then is not None:
            then()

    def want_all(self, keys: Iterable[Key], urgency: int) -> None:
        for key in keys:
            self.want(key, urgency)

    def get(self, key: Key) -> Sound | None:
        with self._lock:
            return self._made.get(key)

    def failed(self, key: Key) -> bool:
        with self._lock:
            return key in self._failed

    def forget(self, keep: Callable[[Sound], bool]) -> None:
        """Forget the sounds made that ``keep`` rejects (their files were removed)."""
        with self._lock:
            self._made = {key: sound for key, sound in self._made.items() if keep(sound)}

    def wait(self, timeout: float | None = None) -> bool:
        """Until everything wanted is made (tests, the walkthrough, the benchmark)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._wanted or self._closed, timeout)

    def close(self) -> None:
        """Stop after the sound being made (the thread is a daemon: nothing waits)."""
        with self._lock:
            self._closed = True
            self._heap.clear()
            self._lock.notify_all()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="voice", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._heap or self._closed)
                if self._closed:
                    return
                urgency, _order, key = heapq.heappop(self._heap)
                if self._wanted.get(key) != urgency:
                    continue  # made already, or asked again more urgently
            sound = self._made_now(key)
            with self._lock:
                if sound is None:
                    self._failed.add(key)
                else:
                    self._made[key] = sound
                self._wanted.pop(key, None)
                then = self._then.pop(key, [])
                self._lock.notify_all()
            for action in then:
                action()

    def _made_now(self, key: Key) -> Sound | None:
        text, language = key
        try:
            path = self._make(text, language)
            return Sound(path, seconds_of(path))
        except VoiceUnavailable as problem:
            self._warn_once(language, "the voice cannot speak %s: %s", language, problem)
        except Exception as problem:  # a sound less, never a kiosk less
            self._warn_once("error", "the voice could not make a sound: %r", problem)
        return None

    def _warn_once(self, what: str, message: str, *args: object) -> None:
        if what in self._warned:
            log.debug(message, *args)
            return
        self._warned.add(what)
        log.warning(message, *args)
