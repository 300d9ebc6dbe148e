"""Mono 16-bit WAV files, written whole or not at all: a sound cache never holds half a
file (a crash or a full disk mid-write leaves only a ``.part`` that is removed)."""

from __future__ import annotations

import os
import tempfile
import wave
from pathlib import Path


def write_mono(path: Path, pcm: bytes, rate: int) -> Path:
    """``pcm`` (16-bit little-endian samples, one channel) at ``rate`` Hz, as ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(fd)
    try:
        with wave.open(partial, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(pcm)
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)
    return path
