"""A disk that really fills up: a small tmpfs (mounting needs root, as in CI), and a
filler file written until the kernel refuses one byte more (ENOSPC).

Where the tmpfs cannot be mounted the test fails: a skipped full-disk test would hide
the very failure it is there to catch.
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (``mount -o size=``: "384k", "2m") at ``mount_point``."""
    mount_point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs (run the tests as root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory: Path) -> Path:
    """Fill ``directory``'s file system to the last byte; the filler file."""
    filler = directory / "filler"
    with filler.open("ab", buffering=0) as handle:
        for chunk in (64 * 1024, 4096, 1):  # big writes first, then down to the last byte
            try:
                while True:
                    handle.write(b"\0" * chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler
