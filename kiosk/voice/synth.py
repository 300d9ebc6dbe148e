"""Speech made on the kiosk, offline: Open JTalk (``pyopenjtalk``, its ``mei`` voice, with
Debian's naist-jdic dictionary) for Japanese, espeak-ng for English; each script once,
cached as a WAV file named by what it says.

Why a cache: a screen must start speaking within 300 ms of appearing, and a script takes
Open JTalk about a twentieth of its length to make; the fixed scripts are made at start-up
(``prepare``), the dynamic ones (a service's name, a receipt number) before they are due.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import threading
from pathlib import Path

from kiosk.voice.lexicon import for_the_ear
from kiosk.voice.wav import write_mono

# Debian's open-jtalk-mecab-naist-jdic: pyopenjtalk would otherwise download its own.
DICTIONARY = Path("/var/lib/mecab/dic/open-jtalk/naist-jdic")
VOICE_VERSION = "1"  # bump when the voices or the lexicon change what a script sounds like
# pyopenjtalk keeps one engine for the process: one thread at a time (the voice guide's
# worker, a walkthrough recording its screens).
_OPEN_JTALK = threading.Lock()


class VoiceUnavailable(RuntimeError):
    """No synthesiser for a language on this kiosk (the screens work silently)."""


def _japanese(text: str) -> tuple[bytes, int]:
    os.environ.setdefault("OPEN_JTALK_DICT_DIR", str(DICTIONARY))
    try:
        import numpy as np
        import pyopenjtalk
    except ImportError as exc:  # pragma: no cover - the bootstrap installs it
        raise VoiceUnavailable(f"pyopenjtalk is not installed: {exc}") from exc
    with _OPEN_JTALK:
        samples, rate = pyopenjtalk.tts(text)
    pcm = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
    return pcm, int(rate)


def _english(text: str, into: Path) -> None:
    try:
        subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "150", "-w", str(into), text],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        raise VoiceUnavailable(f"espeak-ng cannot speak: {exc}") from exc


class Synthesizer:
    """Scripts to WAV files in ``cache_dir`` (made once; the same text, the same file)."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir

    def path_for(self, text: str, language: str) -> Path:
        key = hashlib.sha256(f"{VOICE_VERSION}\0{language}\0{text}".encode()).hexdigest()
        return self.cache_dir / f"{language}-{key[:32]}.wav"

    def wav(self, text: str, language: str) -> Path:
        """The WAV file saying ``text`` (a script; the lexicon is applied here)."""
        path = self.path_for(text, language)
        if path.exists():
            return path
        spoken = for_the_ear(text, language)
        if language == "ja":
            pcm, rate = _japanese(spoken)
            return write_mono(path, pcm, rate)
        # espeak-ng writes its own file: into a part, then whole or not at all.
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.cache_dir, suffix=".part")
        os.close(fd)
        partial = Path(name)
        try:
            _english(spoken, partial)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        return path

    def prepare(self, texts: list[tuple[str, str]]) -> list[Path]:
        """Make every (text, language) now (start-up: the fixed scripts)."""
        return [self.wav(text, language) for text, language in texts if text]
