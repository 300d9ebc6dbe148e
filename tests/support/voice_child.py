"""The voice in a process of its own, for ``tests/kiosk/voice/test_guide.py``: SDL opens its audio
device once per process, with the driver ``SDL_AUDIODRIVER`` names then, so a test that
needs another driver than the test process's (``disk`` to capture the stream, or one that
does not exist) runs this.

    python -m tests.support.voice_child sink CACHE_DIR   # say a notice, print what was said
    python -m tests.support.voice_child app BASE_DIR     # the kiosk's app, three screens touched

Each prints one JSON line starting with ``VOICE-CHILD``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from kiosk.ui import kivy_harness as kh

MARK = "VOICE-CHILD "


def run_clock(seconds: float) -> None:
    """Kivy's clock, in real time (the guide's timers and Kivy's sound checks run on it)."""
    from kivy.clock import Clock

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        Clock.tick()
        time.sleep(0.005)


def sink(cache: Path) -> dict[str, Any]:
    """A notice: the error tone, then its script (手続きができませんでした, then the problem),
    through Kivy's clock. The sounds are made first: the stream holds nothing else."""
    from kiosk.procedure.flow import Step, View
    from kiosk.voice import scripts
    from kiosk.voice.guide import VoiceGuide
    from kiosk.voice.player import SdlSink

    guide = VoiceGuide(cache, SdlSink(cache))
    guide.sink.open()
    view = View(Step.NOTICE, "ja", {"problem": "kiosk.trouble"})
    keys = [("error", "tone"), *((text, "ja") for text in scripts.pieces(view))]
    guide.preparer.want_all(keys, 0)
    guide.preparer.wait(120)
    guide.show(view)
    deadline = time.monotonic() + 60
    while guide.speaking and time.monotonic() < deadline:
        run_clock(0.05)
    run_clock(0.3)  # the last buffers reach the file
    said = []
    for utterance in guide.said:
        sound = guide.preparer.get(utterance.key)
        heard = utterance.started is not None
        seconds = sound.seconds if sound is not None else None
        said.append({"kind": utterance.kind, "text": utterance.text, "heard": heard,
                     "seconds": seconds})  # fmt: skip
    return {"available": guide.sink.available, "said": said}


def app(base: Path) -> dict[str, Any]:
    """The kiosk's app on the demo's parts: welcome, consent, for whom, place the card."""
    from kiosk.demo.environment import demo_environment
    from kiosk.devices.sim.loopback import VirtualReader
    from kiosk.shell.assembly import assembled
    from kiosk.ui.app_driver import KioskDriver

    steps = []
    with demo_environment(base / "state") as env:
        reader = VirtualReader(env.new_card())
        reader.remove()
        with assembled(env.kiosk, reader=reader) as kiosk:
            ui = KioskDriver(kiosk, size=(1280, 800))
            try:
                steps.append(str(ui.current_step))
                for text in ("はじめる", "同意する", "自分の手続き"):
                    ui.tap(text)
                    steps.append(str(ui.current_step))
                ui.run_for(0.5)
                voice = ui.app.voice
                said = [u.text for u in voice.said] if voice is not None else []
                available = voice.sink.available if voice is not None else None
            finally:
                ui.close()
    return {"steps": steps, "said": said, "available": available}


def main() -> None:
    mode, where = sys.argv[1], Path(sys.argv[2])
    kh.prepare_environment(where / ".kivy")  # before Kivy: the caller's SDL driver stays
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    result = sink(where) if mode == "sink" else app(where)
    print(MARK + json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
