"""Private files (mode 0600), whole or not at all.

``create_private_once``: a key file made on first use, the first one kept. The content is
written to a file aside, synced, then hard-linked into place, which never replaces a file
another process made meanwhile (its content wins; read the file back). A process killed
half-way leaves no short key behind, and two processes starting side by side (the
kiosk's flow and its sync, a service's workers) agree on one key.

``write_private``: a file replaced by a new version (a device key, the kiosk's
configuration): written aside, synced, then renamed over the old one, so a reader sees
the old file or the new one, never a mix.

``make_private_directory`` and ``create_private_empty``: a data directory (0700) and a
file that is private from its creation (a SQLite database, whose ``-wal`` and ``-shm``
files SQLite then makes with the same mode).

How a file is written whole is ``mynapoint.atomic_files``; here is what is private.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from mynapoint.atomic_files import fsync_directory, replace_file, write_aside


def create_private_once(path: Path, content: bytes) -> None:
    """Make ``path`` hold ``content`` unless it exists already."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = write_aside(path, content)
    try:
        with contextlib.suppress(FileExistsError):  # another process's file wins
            os.link(aside, path)
            fsync_directory(path.parent)  # the name survives a power cut too
    finally:
        aside.unlink(missing_ok=True)


def write_private(path: Path, content: bytes) -> None:
    """Make ``path`` hold ``content``, replacing what it held (new directories: 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    replace_file(path, content)


def make_private_directory(path: Path) -> None:
    """``path`` as a directory, 0700 if it is new (missing parents get the usual mode)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def create_private_empty(path: Path) -> None:
    """An empty file at ``path`` (0600), unless there is one; its directory must exist."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def write_new_file(directory: Path, stem: str, suffix: str, text: str, mode: int = 0o644) -> Path:
    """``text`` in a new file of ``directory`` named ``stem`` + ``suffix`` (``stem-2`` ... when
    taken), whole or not at all: written aside, synced, then linked into place, which never
    replaces a file. A process killed half-way leaves at most a hidden file aside."""
    aside = write_aside(directory / f"{stem}{suffix}", text.encode("utf-8"), mode)
    try:
        attempt = 1
        while True:
            path = directory / (f"{stem}{suffix}" if attempt == 1 else f"{stem}-{attempt}{suffix}")
            try:
                os.link(aside, path)
            except FileExistsError:
                attempt += 1
                continue
            fsync_directory(directory)  # the name survives a power cut too
            return path
    finally:
        aside.unlink(missing_ok=True)
