"""Benchmark: the kiosk's touch app (``kiosk.ui.app.KioskApp``) in an offscreen window: cold start
to the first frame, screen transitions, resident memory and the voice, against a bare Kivy
app (and, for the voice, a bare sound) measured in the same run.

- cold start: from just before ``Popen`` in this process to the first drawn frame of the
  welcome screen in a fresh child (``sys.executable``), ``--runs`` times. The kiosk child
  is the real app on the embedded demo defaults: ``kiosk.demo.environment`` (a local grant
  service on loopback, the kiosk enrolled with it) is set up once, here, before the clock
  starts; each child reads the kiosk's settings from ``KIOSK_*`` variables, assembles the
  kiosk (``kiosk.shell.assembly.assembled``, which revalidates the catalog with the service, as
  every boot does) on a virtual card reader with no card on it, and builds the app as
  ``kiosk.ui.app_driver.KioskDriver`` does. Baseline: a bare Kivy ``App`` with one
  ``Label``, in the same kind of child, same environment (``kivy_harness``: SDL
  ``offscreen`` on Mesa, one shared ``KIVY_HOME``), shown the same way. A drawn frame is
  ``EventLoop.idle()`` then ``glFinish()``: the pixels are there, not just queued.
  Children alternate, bare first; the first pair also pays for a cold page cache;
- transitions: in the last kiosk child, ``--cycles`` times round WELCOME -> CONSENT ->
  FOR_WHOM -> PLACE_CARD -> (quit) WELCOME, then the language switch there (English and
  back: the screen re-rendered live). Each is timed from the touch (the harness's finger,
  through Kivy's input dispatch; finding the button is not timed) until the flow has
  settled and one frame of the new screen is drawn. Baseline, in the last bare child: a
  bare ``ScreenManager`` (``NoTransition``, as the kiosk's) switching between two
  ``Screen`` objects, each holding one ``Button`` (a ``Label``) that switches on release,
  tapped the same way, the same number of undrawn frames, then one drawn frame. The first time
  round is shown apart (text rendered for the first time); median and p95 are over the
  other cycles;
- memory: ``VmRSS`` (``/proc/self/status``) of each child after its first frame, and of
  the last ones after the transitions;
- the voice's start-up: first, in a child of its own, every fixed script in both languages
  made into an empty cache (cold: Open JTalk and espeak-ng at work), then the services'
  scripts, then a second guide started on the full cache (warm: what every later boot
  does); VmRSS before and after. The kiosk children use that cache (warm); a third kind of
  kiosk child, with the voice off (``KIOSK_VOICE_ENABLED=false``), gives the memory without
  it;
- the voice's latency: the kiosk children play through SDL's ``disk`` driver, which writes
  the mixed output stream to a file in real time, one mixer buffer at a time (Kivy's is
  4096 frames: 93 ms); a thread of the child reads the file as it grows (every 0.5 ms). In
  the last kiosk child, ``--changes`` times round the same transitions, each from silence
  (the voice stopped, 0.2 s of silence seen, then a random part of the write cycle, so a
  start falls anywhere in it, as a touch does): from the touch to the
  first audible sample (-50 dBFS or more) reaching the file (the flow, the new screen, the
  guide choosing and loading the sound, SDL_mixer's next callback, the write), and the
  part of it from the guide's ``play`` on. Baseline, in the same child: a tiny WAV loaded
  beforehand with Kivy's ``SoundLoader``, played from silence the same way (the sink's own
  latency). A sound's own leading silence would count: the voice's copies have none left.

    .venv/bin/python bench/kiosk_app.py [--runs 5] [--cycles 20] [--changes 30]
"""

# ruff: noqa: E402 (the imports follow the start time, taken first)
from __future__ import annotations

import time

# CLOCK_MONOTONIC is one clock for every process on the machine: the parent's start and
# the child's first frame are read from it.
_PROCESS_UP = time.clock_gettime(time.CLOCK_MONOTONIC)

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

MARK = "KIOSK-BENCH "  # the child's result line on its stdout
SIZE = (1920, 1080)  # the kiosk's panel, and the harness's largest window
GOAL_START_S = 3.0
GOAL_TRANSITION_MS = 100.0
GOAL_RSS_MB = 200.0
GOAL_VOICE_MS = 300.0  # issue 14: a screen starts speaking within 300 ms
# (label, text tapped, step shown after, language after): one cycle, back where it began.
CYCLE = [
    ("WELCOME -> CONSENT", "はじめる", "consent", "ja"),
    ("CONSENT -> FOR_WHOM", "同意する", "for_whom", "ja"),
    ("FOR_WHOM -> PLACE_CARD", "自分の手続き", "place_card", "ja"),
    ("PLACE_CARD -> WELCOME (quit)", "やめる", "welcome", "ja"),
    ("WELCOME ja -> en (language)", "English", "welcome", "en"),
    ("WELCOME en -> ja (language)", "日本語", "welcome", "ja"),
]
BARE_SWITCH = "ScreenManager switch (baseline)"


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def rss_mb() -> float:
    """This process's resident set (VmRSS), in MB (10^6 bytes)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError("no VmRSS in /proc/self/status")


# --- the children ------------------------------------------------------------------------


class Phases:
    """When each part of the start ended (CLOCK_MONOTONIC), and the memory then."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float, float]] = [("python", _PROCESS_UP, 0.0)]

    def mark(self, name: str) -> None:
        self.marks.append((name, now(), rss_mb()))


def drawn_frame() -> None:
    """One frame of Kivy's loop with drawing, and the GL pipeline drained."""
    from kivy.graphics.opengl import glFinish

    from kiosk.ui import kivy_harness as kh

    kh.advance_frames(1, draw=True)
    glFinish()


def untimed_finger() -> None:
    """The harness's finger is Kivy's test touch: ``kivy.tests.common`` imports pytest
    (0.15 s), which the first tap would pay for. Not the app's time: import it first."""
    import kivy.tests.common  # noqa: F401


AUDIBLE = 100  # of 32767: -50 dBFS


class StreamWatch:
    """Reads SDL's ``disk`` output stream as it is written, on a thread of its own: when
    sound (a sample at ``AUDIBLE`` or more) last reached it, and when the first since
    ``arm()`` did."""

    def __init__(self, path: Path) -> None:
        import threading

        self.path = path
        self.last_sound = 0.0
        self.heard_at: float | None = None
        self.arrivals: list[float] = []  # when each write reached the file
        self._armed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        import numpy as np

        while not self.path.exists() and not self._stop.is_set():
            time.sleep(0.001)
        position = 0
        with open(self.path, "rb", buffering=0) as stream:
            while not self._stop.is_set():
                data = os.pread(stream.fileno(), 1 << 20, position)
                usable = len(data) - len(data) % 4  # whole stereo frames of 16-bit samples
                if not usable:
                    time.sleep(0.0005)
                    continue
                arrived = now()
                position += usable
                self.arrivals = [*self.arrivals[-49:], arrived]
                if (np.abs(np.frombuffer(data[:usable], dtype="<i2")) >= AUDIBLE).any():
                    self.last_sound = arrived
                    if self._armed and self.heard_at is None:
                        self.heard_at = arrived

    @property
    def period(self) -> float:
        """Seconds between two writes of SDL's (one mixer buffer)."""
        gaps = [b - a for a, b in zip(self.arrivals, self.arrivals[1:], strict=False)]
        return statistics.median(gaps) if gaps else 0.1

    def silence(self, seconds: float = 0.2, timeout: float = 5.0) -> None:
        """Until the stream has been silent for ``seconds`` (what played is over), then a
        random part of SDL's write cycle: else every start would fall at the same point
        of it, and the latency would be that point's, always."""
        deadline = now() + timeout
        while now() - self.last_sound < seconds:
            if now() > deadline:
                raise RuntimeError("the sound stream never went silent")
            time.sleep(0.002)
        time.sleep(random.uniform(0, self.period))

    def arm(self) -> None:
        self.heard_at, self._armed = None, True

    def wait(self, started: float, timeout: float = 3.0) -> float:
        """Seconds from ``started`` to the first sound since ``arm()``."""
        while self.heard_at is None:
            if now() - started > timeout:
                raise RuntimeError(f"no sound reached the stream within {timeout} s")
            time.sleep(0.0005)
        return self.heard_at - started

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)


def voice_latency(ui: Any, changes: int) -> dict[str, list[float]]:
    """``changes`` times round CYCLE, each from silence: touch -> first sample at the sink,
    and the guide's ``play`` -> that sample; then the baseline, a pre-loaded tiny WAV."""
    from kivy.core.audio import SoundLoader

    from kiosk.ui import kivy_harness as kh
    from kiosk.voice import tones
    from kiosk.voice.player import MIXER_RATE

    voice = ui.app.voice
    stream = Path(os.environ["SDL_DISKAUDIOFILE"])
    watch = StreamWatch(stream)
    figures: dict[str, Any] = {"touch": [], "play": [], "baseline": [], "labels": []}
    try:
        for index in range(changes):
            label, text, step, _language = CYCLE[index % len(CYCLE)]
            widget = ui.find(text)
            voice.stop()
            watch.silence()
            watch.arm()
            started = now()
            kh.tap(widget, frames=1)
            touched = watch.wait(started)  # the tap ran the flow, the screen, the guide
            played = [u.started for u in voice.said if u.started is not None][-1]
            figures["touch"].append(touched)
            figures["play"].append(watch.heard_at - played)  # type: ignore[operator]
            figures["labels"].append(label)
            ui.settle()
            if ui.current_step != step:
                raise RuntimeError(f"{text!r}: the screen shows {ui.current_step}, not {step}")
        voice.stop()
        tiny = tones.write("beep", stream.parent / "baseline-beep.wav", MIXER_RATE)
        sound = SoundLoader.load(str(tiny))
        for _ in range(changes):
            watch.silence()
            watch.arm()
            started = now()
            sound.play()
            figures["baseline"].append(watch.wait(started))
            sound.stop()
        figures["buffer_ms"] = watch.period * 1000
    finally:
        voice.stop()
        watch.close()
    return figures


def voice_child(cache: Path, phases: Phases) -> dict[str, Any]:
    """The voice's start-up cost: every fixed script made into an empty cache, then the
    services' scripts, then the full cache found by a second guide."""
    from kiosk.catalog.queries import Catalog
    from kiosk.catalog.store import Freshness, Source
    from kiosk.voice.guide import VoiceGuide
    from kiosk.voice.player import SdlSink
    from kiosk.voice.preparer import BACKGROUND
    from mynapoint.packaged_catalog import packaged_document

    catalog = Catalog.from_document(packaged_document(), Freshness(Source.PACKAGED, "bench"))
    phases.mark("imports")
    rss_before = rss_mb()
    guide = VoiceGuide(cache, SdlSink(cache), catalog=catalog)
    guide.sink.open()
    fixed, services = guide.fixed_sounds(), guide.service_scripts()
    started = now()
    guide.preparer.want_all(fixed, BACKGROUND)
    guide.preparer.wait()
    cold_fixed = now() - started
    started = now()
    guide.preparer.want_all(services, BACKGROUND)
    guide.preparer.wait()
    cold_services = now() - started
    seconds = [guide.preparer.get(key).seconds for key in fixed + services]  # type: ignore[union-attr]
    guide.close()
    rss_cold = rss_mb()
    warm = VoiceGuide(cache, SdlSink(cache), catalog=catalog)
    started = now()
    warm.start()
    warm.preparer.wait()
    warm_all = now() - started
    warm.close()
    phases.mark("frame")  # the child's last mark: the parent's bookkeeping needs one
    size = sum(path.stat().st_size for path in cache.rglob("*.wav"))
    return {
        "fixed": len(fixed),
        "services": len(services),
        "cold_fixed_s": cold_fixed,
        "cold_services_s": cold_services,
        "warm_s": warm_all,
        "speech_s": sum(seconds),
        "fixed_speech_s": sum(seconds[: len(fixed)]),
        "rss_before_mb": rss_before,
        "rss_cold_mb": rss_cold,
        "cache_mb": size / 1e6,
        "transitions": {},
    }


def kiosk_child(card: Path, cycles: int, changes: int, phases: Phases) -> dict[str, Any]:
    from kiosk.devices.sim.loopback import VirtualReader
    from kiosk.settings import KioskSettings
    from kiosk.shell.assembly import assembled
    from kiosk.ui import kivy_harness as kh
    from kiosk.ui.app import KioskApp  # noqa: F401  (Kivy, the screens, their fonts and kv rules)
    from kiosk.ui.app_driver import KioskDriver

    phases.mark("imports")
    reader = VirtualReader(card)
    reader.remove()  # no card on the reader: the welcome screen
    with assembled(KioskSettings(), reader=reader) as kiosk:
        phases.mark("assembly")
        kh.window()
        phases.mark("window")
        ui = KioskDriver(kiosk, size=SIZE)  # open_window, KioskApp, build, show, on_start
        if ui.current_step != "welcome":
            raise RuntimeError(f"the app started on {ui.current_step}, not the welcome screen")
        phases.mark("app")
        drawn_frame()
        phases.mark("frame")
        result: dict[str, Any] = {"transitions": {}}
        if cycles:
            untimed_finger()
            for label, *_ in CYCLE:
                result["transitions"][label] = []
            for _ in range(cycles):
                for label, text, step, language in CYCLE:
                    widget = ui.find(text)
                    if widget.disabled:
                        raise RuntimeError(f"{text!r} is disabled on {ui.current_step}")
                    started = now()
                    kh.tap(widget, frames=1)  # as KioskDriver.tap does
                    ui.settle()
                    drawn = now()
                    drawn_frame()
                    ended = now()
                    if ui.current_step != step or ui.language != language:
                        raise RuntimeError(
                            f"{label}: the screen shows {ui.current_step} in {ui.language}"
                        )
                    result["transitions"][label].append((ended - started, ended - drawn))
            result["rss_after_mb"] = rss_mb()
            if changes and ui.app.voice is not None:  # not in the child without a voice
                result["voice"] = voice_latency(ui, changes)
        ui.close()
    return result


def bare_child(cycles: int, phases: Phases) -> dict[str, Any]:
    from kivy.app import App
    from kivy.uix.button import Button
    from kivy.uix.label import Label
    from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager

    from kiosk.ui import kivy_harness as kh

    phases.mark("imports")
    phases.mark("assembly")  # nothing to assemble
    win = kh.window()
    phases.mark("window")

    class BareApp(App):
        def build(self) -> Label:
            return Label(text="Mynapoint")

    win.size = SIZE  # as kivy_harness.open_window does, without the kiosk's theme
    kh.advance_frames(2)
    app = BareApp()
    root = app.build()
    kh.show(root)
    app.dispatch("on_start")
    phases.mark("app")
    drawn_frame()
    phases.mark("frame")
    result: dict[str, Any] = {"transitions": {}}
    if cycles:
        untimed_finger()
        manager = ScreenManager(transition=NoTransition())
        for name, other in (("a", "b"), ("b", "a")):
            screen = Screen(name=name)
            button = Button(text=f"{name} -> {other}", size_hint=(0.3, 0.2))
            button.bind(on_release=lambda _b, other=other: setattr(manager, "current", other))
            screen.add_widget(button)
            manager.add_widget(screen)
        kh.show(manager)
        drawn_frame()
        samples = []
        for _ in range(cycles * 2):
            before = manager.current
            widget = manager.current_screen.children[0]
            started = now()
            kh.tap(widget, frames=1)
            kh.advance_frames(3, draw=False)  # what KioskDriver.settle runs at the least
            drawn = now()
            drawn_frame()
            ended = now()
            if manager.current == before:
                raise RuntimeError("the bare ScreenManager did not switch")
            samples.append((ended - started, ended - drawn))
        result["transitions"][BARE_SWITCH] = samples
        result["rss_after_mb"] = rss_mb()
    app.dispatch("on_stop")
    kh.clear()
    return result


def forget_escpos_pickle() -> None:
    """python-escpos, imported, parses its capabilities file and pickles it into a new
    temporary directory (``mkdtemp()``, unless ``ESCPOS_CAPABILITIES_PICKLE_DIR`` names
    one), left behind at exit: remove this child's."""
    capabilities = sys.modules.get("escpos.capabilities")
    if capabilities is None or "ESCPOS_CAPABILITIES_PICKLE_DIR" in os.environ:
        return
    directory = Path(capabilities.pickle_dir)
    if directory.parent == Path(tempfile.gettempdir()):
        shutil.rmtree(directory, ignore_errors=True)


def child_main(args: argparse.Namespace) -> None:
    from kiosk.ui import kivy_harness as kh

    kh.prepare_environment(args.kivy_home)  # before anything imports Kivy
    phases = Phases()
    if args.child == "kiosk":
        try:
            result = kiosk_child(args.card, args.walk, args.changes if args.walk else 0, phases)
        finally:
            forget_escpos_pickle()
    elif args.child == "voice":
        result = voice_child(args.voice_cache, phases)
    else:
        result = bare_child(args.walk, phases)
    result["phases"] = phases.marks
    print(MARK + json.dumps(result), flush=True)


# --- the parent --------------------------------------------------------------------------


@dataclass
class Figures:
    """One kind of child's figures over the runs."""

    kind: str
    starts: list[float] = field(default_factory=list)  # seconds, Popen to first frame
    phases: list[list[tuple[str, float, float]]] = field(default_factory=list)  # s since Popen
    rss_first: list[float] = field(default_factory=list)
    rss_after: float | None = None
    transitions: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    voice: dict[str, Any] = field(default_factory=dict)  # the voice's figures, if measured


def run_child(
    kind: str, figures: Figures, env: dict[str, str], common: list[str], walk: int
) -> None:
    child = "kiosk" if kind == "silent" else kind  # the kiosk, its voice off
    command = [sys.executable, str(Path(__file__).resolve()), "--child", child, *common]
    command += ["--walk", str(walk)]
    limit = 1800 if kind == "voice" else 300  # the voice's cold start makes 23 min of speech
    started = now()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise RuntimeError(f"the {kind} child took over {limit} s:\n{err[-3000:]}") from None
    lines = [line for line in out.splitlines() if line.startswith(MARK)]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"the {kind} child failed ({process.returncode}):\n{err[-3000:]}")
    result = json.loads(lines[-1][len(MARK) :])
    phases = [(name, at - started, rss) for name, at, rss in result["phases"]]
    figures.phases.append(phases)
    figures.starts.append(phases[-1][1])
    figures.rss_first.append(phases[-1][2])
    if walk:
        figures.rss_after = result["rss_after_mb"]
        figures.transitions = {k: [tuple(s) for s in v] for k, v in result["transitions"].items()}
    if kind == "voice":
        figures.voice = result
    elif "voice" in result:
        figures.voice = result["voice"]


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return max(values)
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="children of each kind")
    parser.add_argument("--cycles", type=int, default=20, help="times round the transitions")
    parser.add_argument(
        "--changes", type=int, default=30, help="screen changes timed to the first sound"
    )
    parser.add_argument("--child", choices=("kiosk", "bare", "voice"), help=argparse.SUPPRESS)
    parser.add_argument("--walk", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--card", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--kivy-home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--voice-cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return
    if args.runs < 1 or args.cycles < 2 or args.changes < len(CYCLE):
        parser.error(
            f"--runs must be at least 1, --cycles at least 2, --changes at least {len(CYCLE)}"
        )

    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        root = Path(tmp)
        # The demo's test CA and cards in here, not in the user's data home.
        os.environ["XDG_DATA_HOME"] = str(root / "xdg")
        from kiosk.demo.environment import demo_environment

        setup_started = now()
        with demo_environment(root / "demo") as demo:
            card = demo.new_card()
            setup = now() - setup_started
            env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
            env.update(
                KIOSK_DATA_DIR=str(demo.kiosk.data_dir),
                KIOSK_SERVICE_URL=demo.kiosk.service_url,
                KIOSK_ONLINE_TIMEOUT_SECONDS=str(demo.kiosk.online_timeout_seconds),
            )
            voice_cache = root / "voice-cache"
            # Sound goes to SDL's disk driver: the stream is a file each child writes.
            env.update(KIOSK_VOICE_CACHE_DIR=str(voice_cache), SDL_AUDIODRIVER="disk")
            common = ["--card", str(card), "--kivy-home", str(root / "kivy-home")]
            common += ["--voice-cache", str(voice_cache), "--changes", str(args.changes)]
            kiosk, bare, silent, voice = (Figures(k) for k in ("kiosk", "bare", "silent", "voice"))

            def stream(kind: str) -> dict[str, str]:
                return {**env, "SDL_DISKAUDIOFILE": str(root / f"device-{kind}.raw")}

            run_child("voice", voice, stream("voice"), common, 0)  # also fills the cache
            for run in range(args.runs):
                walk = args.cycles if run == args.runs - 1 else 0
                run_child("bare", bare, stream("bare"), common, walk)
                run_child("kiosk", kiosk, stream("kiosk"), common, walk)
                quiet = {**stream("silent"), "KIOSK_VOICE_ENABLED": "false"}
                run_child("silent", silent, quiet, common, walk)
    report(args, kiosk, bare, setup)
    report_voice(args, kiosk, silent, voice)


def verdict(value: float, goal: float) -> str:
    return "ok" if value < goal else "over"


def report(args: argparse.Namespace, kiosk: Figures, bare: Figures, setup: float) -> None:
    switch = [total * 1000 for total, _draw in bare.transitions[BARE_SWITCH][2:]]
    print(
        f"Kiosk touch app: {os.cpu_count()} CPUs, Python {platform.python_version()}, Kivy "
        f"{metadata.version('kivy')}, SDL offscreen {SIZE[0]}x{SIZE[1]}, load average "
        f"{os.getloadavg()[0]:.1f} at the end; {args.runs} children of each kind, "
        f"{args.cycles} cycles; demo set-up (not timed) {setup:.1f} s"
    )
    # Each row: measure, kiosk, baseline, then its number format, goal and goal's wording.
    start_goal = (".2f", GOAL_START_S, "< 3 s")
    rss_goal = (".0f", GOAL_RSS_MB, "< 200 MB")
    start_median = statistics.median(kiosk.starts), statistics.median(bare.starts)
    rows: list[tuple[str, float, float, str, float | None, str]] = [
        ("cold start, median (s)", *start_median, *start_goal),
        ("cold start, max (s)", max(kiosk.starts), max(bare.starts), *start_goal),
    ]
    for label, samples in kiosk.transitions.items():
        steady = [total * 1000 for total, _draw in samples[1:]]
        rows.append(
            (f"{label}, p95 (ms)", p95(steady), p95(switch), ".1f", GOAL_TRANSITION_MS, "< 100 ms")
        )
    assert kiosk.rss_after is not None and bare.rss_after is not None
    rss_first = statistics.median(kiosk.rss_first), statistics.median(bare.rss_first)
    rows += [
        ("RSS after first frame, median (MB)", *rss_first, *rss_goal),
        ("RSS after the transitions (MB)", kiosk.rss_after, bare.rss_after, *rss_goal),
    ]
    print(f"\n{'measure':<40}{'kiosk':>9}{'baseline':>10}{'ratio':>8}  {'goal':<10}verdict")
    for name, ours, base, fmt, goal, goal_text in rows:
        print(
            f"{name:<40}{ours:>9{fmt}}{base:>10{fmt}}{ours / base:>8.1f}  {goal_text:<10}"
            f"{verdict(ours, goal) if goal is not None else ''}"
        )

    print(
        "\nStart, phase by phase (median of the runs; seconds since Popen when it ended, "
        "and VmRSS then)"
    )
    print(f"{'phase':<10}{'kiosk s':>9}{'(+ s)':>8}{'MB':>6}{'bare s':>10}{'(+ s)':>8}{'MB':>6}")
    names = [name for name, _at, _rss in kiosk.phases[0]]
    previous = {"kiosk": 0.0, "bare": 0.0}
    for index, name in enumerate(names):
        line = f"{name:<10}"
        for figures in (kiosk, bare):
            at = statistics.median(run[index][1] for run in figures.phases)
            rss = statistics.median(run[index][2] for run in figures.phases)
            line += f"{at:>9.3f}{at - previous[figures.kind]:>+8.3f}"
            line += f"{rss:>6.0f}" if index else f"{'-':>6}"  # not read before the imports
            previous[figures.kind] = at
        print(line)
    window = names.index("window")
    grown = [
        statistics.median(run[window][2] - run[window - 1][2] for run in figures.phases)
        for figures in (kiosk, bare)
    ]
    print(
        f"The window alone (SDL offscreen, GL on Mesa's software renderer: libLLVM, its "
        f"buffers) adds {grown[0]:.0f} MB to the kiosk and {grown[1]:.0f} MB to the bare app."
    )
    print(
        "python: the interpreter up (this file's first line); imports: Kivy, the harness, "
        "and for the kiosk kiosk.ui.app (the screens, fonts, kv rules) and the assembly; "
        "assembly: the kiosk's parts, catalog revalidated with the service; window: SDL "
        "and GL; app: build, show, on_start; frame: the first drawn frame"
    )

    print(
        f"\nTransitions (ms, touch to the new screen drawn; median and p95 over cycles 2 to "
        f"{args.cycles}; draw = the drawn frame alone, median)"
    )
    print(
        f"{'transition':<32}{'first':>8}{'median':>8}{'p95':>8}{'max':>8}{'draw':>7}{'x base':>8}"
    )
    base_median = statistics.median(switch)
    every = {**kiosk.transitions, BARE_SWITCH: bare.transitions[BARE_SWITCH]}
    for label, samples in every.items():
        first = samples[0][0] * 1000
        skip = 2 if label == BARE_SWITCH else 1  # the baseline's cycle is two switches
        steady = [total * 1000 for total, _draw in samples[skip:]]
        draw = statistics.median(d * 1000 for _total, d in samples[skip:])
        median = statistics.median(steady)
        print(
            f"{label:<32}{first:>8.1f}{median:>8.1f}{p95(steady):>8.1f}{max(steady):>8.1f}"
            f"{draw:>7.1f}{median / base_median:>8.1f}"
        )
    print(
        f"Goals: start < {GOAL_START_S:.0f} s, transition < {GOAL_TRANSITION_MS:.0f} ms (p95), "
        f"RSS < {GOAL_RSS_MB:.0f} MB. Ratios are kiosk / bare Kivy, same run."
    )


def report_voice(args: argparse.Namespace, kiosk: Figures, silent: Figures, voice: Figures) -> None:
    latency = kiosk.voice
    touch = [t * 1000 for t in latency["touch"]]
    play = [t * 1000 for t in latency["play"]]
    base = [t * 1000 for t in latency["baseline"]]
    start = voice.voice
    print(
        f"\nThe voice: {args.changes} screen changes round the transitions, each from silence, "
        f"through SDL's disk driver (it writes one mixer buffer every "
        f"{latency['buffer_ms']:.0f} ms: a sound waits for the next one); baseline: a tiny WAV "
        f"loaded beforehand, played from silence the same way"
    )
    print(f"{'measure':<48}{'p50':>8}{'p95':>8}{'max':>8}{'x base':>8}  goal")
    rows = [
        ("touch -> first sample at the sink (ms)", touch),
        ("  of which the guide's play() -> it (ms)", play),
        ("baseline: play() -> first sample (ms)", base),
    ]
    for name, values in rows:
        goal = f"< {GOAL_VOICE_MS:.0f} ms: {verdict(p95(values), GOAL_VOICE_MS)}"
        print(
            f"{name:<48}{statistics.median(values):>8.1f}{p95(values):>8.1f}{max(values):>8.1f}"
            f"{statistics.median(values) / statistics.median(base):>8.1f}  "
            f"{goal if values is touch else ''}"
        )
    print(f"{'by transition (ms)':<32}{'touch p50':>10}{'max':>8}{'play() p50':>12}{'max':>8}")
    for label, *_ in CYCLE:
        mine = [i for i, name in enumerate(latency["labels"]) if name == label]
        by_touch, by_play = [touch[i] for i in mine], [play[i] for i in mine]
        print(
            f"{label:<32}{statistics.median(by_touch):>10.1f}{max(by_touch):>8.1f}"
            f"{statistics.median(by_play):>12.1f}{max(by_play):>8.1f}"
        )
    speech_min = start["speech_s"] / 60
    print(
        f"\nStart-up: {start['fixed']} fixed sounds (every step's script in both languages, "
        f"the tones, 0-24 digits typed) and {start['services']} scripts naming a service; "
        f"{speech_min:.1f} min of speech, {start['cache_mb']:.0f} MB in the cache"
    )
    cold = start["cold_fixed_s"] + start["cold_services_s"]
    print(
        f"{'cold cache: the fixed sounds (s)':<48}{start['cold_fixed_s']:>8.1f}  "
        f"({start['fixed_speech_s'] / start['cold_fixed_s']:.0f}x faster than they play)"
    )
    print(f"{'cold cache: then the services (s)':<48}{start['cold_services_s']:>8.1f}")
    print(
        f"{'warm cache: all of them found (s)':<48}{start['warm_s']:>8.3f}  "
        f"({cold / start['warm_s']:.0f}x quicker than cold)"
    )
    starts = [statistics.median(figures.starts) for figures in (kiosk, silent)]
    print(
        f"{'cold start to the first frame, voice on / off (s)':<48}{starts[0]:>8.2f}"
        f"{starts[1]:>8.2f}  (x {starts[0] / starts[1]:.2f}; median of {len(silent.starts)} each)"
    )
    pooled = {  # every transition of cycles 2 to the last, the six together
        figures.kind: [t * 1000 for round_ in figures.transitions.values() for t, _d in round_[1:]]
        for figures in (kiosk, silent)
    }
    for name, measure in (("median", statistics.median), ("p95", p95)):
        on, off = measure(pooled["kiosk"]), measure(pooled["silent"])
        label = f"transitions, {name} of all, voice on / off (ms)"
        print(f"{label:<48}{on:>8.1f}{off:>8.1f}  (x {on / off:.2f}; the same cycles)")
    on, off = statistics.median(kiosk.rss_first), statistics.median(silent.rss_first)
    print(
        f"{'VmRSS after the first frame, voice on / off (MB)':<48}{on:>8.0f}{off:>8.0f}  "
        f"(x {on / off:.2f}; median of {len(silent.rss_first)} children each)"
    )
    assert kiosk.rss_after is not None and silent.rss_after is not None
    print(
        f"{'VmRSS after the transitions, voice on / off (MB)':<48}{kiosk.rss_after:>8.0f}"
        f"{silent.rss_after:>8.0f}  (x {kiosk.rss_after / silent.rss_after:.2f})"
    )
    print(
        f"{'VmRSS making speech: before / after (MB)':<48}{start['rss_before_mb']:>8.0f}"
        f"{start['rss_cold_mb']:>8.0f}  (Open JTalk and its dictionary loaded; a warm start "
        f"never loads them)"
    )


if __name__ == "__main__":
    main()
