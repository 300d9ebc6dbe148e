"""What the kiosk said on a screen, written out for people to listen to: one WAV file (the
sounds one after the other, as they were played, with the guide's pause between them) and
its words beside it (``.txt``; a tone as ``[beep]`` or ``[error tone]``). The headless
walkthrough's ``--voice`` writes one pair per screenshot."""

from __future__ import annotations

import wave
from pathlib import Path

from kiosk.voice.guide import GAP_SECONDS, VoiceGuide
from kiosk.voice.player import MIXER_RATE
from kiosk.voice.preparer import Key

TONE_WORDS = {"beep": "[beep]", "error": "[error tone]"}


class ScreenRecorder:
    """Writes what ``guide`` said for each screen since the last one written."""

    def __init__(self, guide: VoiceGuide) -> None:
        self.guide = guide
        self._seen = 0  # the last utterance written (or passed over)

    def record(self, wav: Path, step: str) -> Path | None:
        """``wav`` (and ``wav`` as .txt): what was said on ``step`` since the last
        recording, or, if nothing new was, the screen's script. None: a silent screen."""
        said = [u for u in self.guide.said if u.number > self._seen]
        if said:
            self._seen = said[-1].number
        keys = [u.key for u in said if u.step == step] or self.guide.script
        if not keys:
            return None
        write(wav, [self._frames(key) for key in keys])
        words = [TONE_WORDS[text] if language == "tone" else text for text, language in keys]
        wav.with_suffix(".txt").write_text("\n".join(words) + "\n", encoding="utf-8")
        return wav

    def _frames(self, key: Key) -> bytes:
        sound = self.guide.sound_of(key)
        if sound is None:
            return b""
        with wave.open(str(sound.path), "rb") as audio:
            if (audio.getframerate(), audio.getnchannels()) != (MIXER_RATE, 1):
                raise ValueError(f"{sound.path.name} is not 16-bit mono at {MIXER_RATE} Hz")
            return audio.readframes(audio.getnframes())


def write(wav: Path, sounds: list[bytes]) -> None:
    """``sounds`` (16-bit mono at the mixer's rate) in a row, a pause between them."""
    gap = bytes(2 * int(MIXER_RATE * GAP_SECONDS))
    wav.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(MIXER_RATE)
        out.writeframes(gap.join(sound for sound in sounds if sound))
