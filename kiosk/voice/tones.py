"""The kiosk's two tones, made here from sine waves (no sound file to license or lose):

- ``beep``: one short high tone, when the card has been read;
- ``error``: two lower tones, falling, when a problem or a notice appears (a wrong PIN, a
  card that cannot be read, a refusal): unlike the beep in pitch, length and shape, so
  the two are told apart without looking.

Each has a 5 ms fade in and out (a tone cut off sharply clicks).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.voice.wav import write_mono

if TYPE_CHECKING:
    import numpy as np

# name -> the (frequency Hz, seconds) of its notes; 0 Hz is a pause.
TONES: dict[str, tuple[tuple[float, float], ...]] = {
    "beep": ((1568.0, 0.12),),  # G6
    "error": ((587.3, 0.16), (0.0, 0.05), (392.0, 0.28)),  # D5, then G4
}
LEVEL = 0.45  # of full scale: clear beside speech (Open JTalk peaks near 0.5)
FADE_SECONDS = 0.005


def samples(name: str, rate: int) -> np.ndarray:
    """The tone ``name`` as 16-bit samples at ``rate``."""
    import numpy as np  # on the worker thread: not on the kiosk's start

    notes = []
    for frequency, seconds in TONES[name]:
        count = int(rate * seconds)
        if frequency == 0:
            notes.append(np.zeros(count))
            continue
        wave_ = np.sin(2 * math.pi * frequency * np.arange(count) / rate)
        fade = min(int(rate * FADE_SECONDS), count // 2)
        envelope = np.ones(count)
        envelope[:fade] = np.linspace(0, 1, fade)
        envelope[count - fade :] = np.linspace(1, 0, fade)
        notes.append(wave_ * envelope)
    return (np.concatenate(notes) * LEVEL * 32767).astype("<i2")


def write(name: str, path: Path, rate: int) -> Path:
    """The tone ``name`` as a mono WAV file at ``path`` (whole or not at all)."""
    return write_mono(path, samples(name, rate).tobytes(), rate)
