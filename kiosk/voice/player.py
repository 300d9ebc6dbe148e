"""Where the voice is heard: Kivy's ``SoundLoader`` on its SDL2 provider (SDL2_mixer,
bundled in Kivy's wheel), on the audio device SDL opens.

SDL picks the device; ``SDL_AUDIODRIVER`` chooses the driver before the first sound:
``alsa`` or ``pulseaudio`` on a kiosk, ``disk`` to write the mixed output stream to the
file ``SDL_DISKAUDIOFILE`` (raw 16-bit stereo at ``MIXER_RATE``, in real time: a real
sink for tests and the benchmark), ``dummy`` to play into nothing at the speed of sound.

No audio device never stops the kiosk: the first sound finds out (``SdlSink.open``), one
warning is logged, and the screens work silently.

Kivy opens the mixer at 44.1 kHz: a file at another rate is converted by SDL on the main
thread each time it is loaded (21 ms for 15 s of Open JTalk's 48 kHz speech, measured),
a file at the mixer's rate takes under 2 ms. So each sound is copied once at the mixer's
rate (``mixer_copy``, on the voice's worker thread) and the copy is what plays. The copy
also drops the silence around the speech: Open JTalk starts every sentence with 0.3 s of
it, which would come between a screen and its first word.
"""

from __future__ import annotations

import logging
import os
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.voice.wav import write_mono

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

MIXER_RATE = 44100  # kivy/core/audio/audio_sdl2: Mix_OpenAudio(44100, AUDIO_S16SYS, 2, ...)
COPY_VERSION = "2"  # bump when mixer_copy makes other copies
QUIET = 64  # |sample| under this (-54 dBFS) is silence around the speech
KEEP_SECONDS = (0.01, 0.03)  # of that silence kept before and after the speech
_device: bool | None = None  # SDL's mixer opens once per process: whether it did


class Sink(Protocol):
    """Plays one sound at a time (main thread), from files ``prepare`` made (any thread)."""

    def open(self) -> bool: ...

    def ready(self, wav: Path) -> Path | None: ...

    def prepare(self, wav: Path) -> Path: ...

    def play(self, path: Path, volume: float) -> None: ...

    def set_volume(self, volume: float) -> None: ...

    def stop(self) -> None: ...


def seconds_of(path: Path) -> float:
    with wave.open(str(path), "rb") as audio:
        return audio.getnframes() / audio.getframerate()


def resample(samples: np.ndarray, rate: int, to: int) -> np.ndarray:
    """``samples`` at ``rate`` as float samples at ``to``: a windowed-sinc low-pass below
    the new Nyquist frequency first when going down (what cannot be kept would fold back
    as noise), then linear interpolation."""
    import numpy as np

    signal = samples.astype(np.float64)
    if to == rate or signal.size == 0:
        return signal
    if to < rate:
        cutoff = 0.45 * to / rate  # of the input rate: 19.8 kHz for 48 -> 44.1 kHz
        taps = np.arange(63) - 31
        kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(63)
        signal = np.convolve(signal, kernel / kernel.sum(), mode="same")
    positions = np.arange(int(signal.size * to / rate)) * (rate / to)
    resampled: np.ndarray = np.interp(positions, np.arange(signal.size), signal)
    return resampled


def copy_path(wav: Path) -> Path:
    return wav.parent / f"mixer-{COPY_VERSION}" / wav.name


def trimmed(samples: np.ndarray, rate: int) -> np.ndarray:
    """``samples`` without the silence before and after the speech (a little kept)."""
    import numpy as np

    loud = np.flatnonzero(np.abs(samples) >= QUIET)
    if loud.size == 0:
        return samples
    start = max(0, loud[0] - int(KEEP_SECONDS[0] * rate))
    return samples[start : loud[-1] + int(KEEP_SECONDS[1] * rate)]


def mixer_copy(wav: Path, rate: int = MIXER_RATE) -> Path:
    """``wav`` as 16-bit mono at the mixer's rate, trimmed: ``wav`` itself if it is at
    that rate already (the tones), else a copy in ``mixer-N/`` beside it (made once)."""
    with wave.open(str(wav)) as audio:
        if audio.getframerate() == rate and audio.getsampwidth() == 2:
            return wav
        target = copy_path(wav)
        if target.exists():
            return target
        width, channels, source_rate = (
            audio.getsampwidth(), audio.getnchannels(), audio.getframerate()
        )  # fmt: skip
        frames = audio.readframes(audio.getnframes())
    if width != 2:
        raise ValueError(f"{wav.name}: {8 * width}-bit samples (16-bit expected)")
    import numpy as np  # here, on the worker thread: not on the kiosk's start

    samples = np.frombuffer(frames, dtype="<i2").reshape(-1, channels).mean(axis=1)
    converted = trimmed(np.clip(np.rint(resample(samples, source_rate, rate)), -32768, 32767), rate)
    write_mono(target, converted.astype("<i2").tobytes(), rate)
    return target


class SdlSink:
    """Kivy's ``SoundLoader`` (SDL2_mixer). ``open()`` (main thread) opens SDL's audio
    device, once per process; ``available`` says whether there is one."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.available: bool | None = None  # not asked yet
        self._sound: Any = None

    def open(self) -> bool:
        """Open the audio device (the first sound loaded makes Kivy open SDL's mixer).
        Without one: a warning, once per process, and silence."""
        global _device
        if _device is None:
            _device = self._probe()
        self.available = _device
        return _device

    def _probe(self) -> bool:
        from kivy.core.audio import SoundLoader

        probe = self.cache_dir / "probe.wav"  # 10 ms of silence at the mixer's rate
        probe.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(probe), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(MIXER_RATE)
            out.writeframes(bytes(2 * MIXER_RATE // 100))
        sound = SoundLoader.load(str(probe))
        # SDL_mixer loads nothing while no device is open: the length is 0.
        if sound is None or sound.length <= 0:
            driver = os.environ.get("SDL_AUDIODRIVER") or "SDL's default"
            log.warning("no audio device (driver: %s): the kiosk runs without its voice", driver)
            return False
        sound.unload()
        return True

    def ready(self, wav: Path) -> Path | None:
        """What plays for ``wav``, if it was made already."""
        target = copy_path(wav)
        return target if target.exists() else None

    def prepare(self, wav: Path) -> Path:
        """What plays for ``wav``: its copy at the mixer's rate. The copy is kept, not the
        synthesiser's file (23 minutes of speech in all: 121 MB, not 223 MB)."""
        playable = mixer_copy(wav)
        if playable != wav:
            wav.unlink(missing_ok=True)
        return playable

    def play(self, path: Path, volume: float) -> None:
        """Play ``path`` now, stopping what played (main thread)."""
        self.stop()
        if self.available is None:
            self.open()
        if not self.available:
            return
        from kivy.core.audio import SoundLoader

        sound = SoundLoader.load(str(path))
        if sound is None or sound.length <= 0:
            log.warning("the voice cannot load %s", path.name)
            return
        sound.volume = volume
        sound.play()
        self._sound = sound

    def set_volume(self, volume: float) -> None:
        if self._sound is not None:
            self._sound.volume = volume

    @property
    def sound(self) -> Any:
        """Kivy's ``Sound`` playing, or None."""
        return self._sound

    def stop(self) -> None:
        sound, self._sound = self._sound, None
        if sound is not None:
            sound.stop()
            sound.unload()  # frees the chunk now, not when Python collects it
