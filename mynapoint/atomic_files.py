"""Files written whole or not at all, the one way this project does it.

``write_aside``: the content on disk, synced, in a new hidden file beside the target, with
its mode set exactly (0600 unless the file is meant to be read by others); the caller puts
it in place: a rename that replaces the old version (``replace_file``), a link that never
replaces (``private_files.create_private_once``), or later (provisioning's staged files).

``replace_file``: write aside, rename over the target, sync the directory: a reader, or a
power cut, sees the old file or the new one, never half of one, and the new name survives.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PRIVATE = 0o600


def write_aside(path: Path, content: bytes, mode: int = PRIVATE) -> Path:
    """``content`` on disk (synced, ``mode`` whatever the umask) in a new file beside
    ``path``, to be put in its place by the caller; nothing is left behind on failure."""
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # the umask may have narrowed it
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        aside.unlink(missing_ok=True)
        raise
    return aside


def replace_file(path: Path, content: bytes, *, mode: int = PRIVATE) -> None:
    """Make ``path`` hold ``content``, replacing what it held; its directory must exist."""
    aside = write_aside(path, content, mode)
    try:
        os.replace(aside, path)
        fsync_directory(path.parent)
    finally:
        aside.unlink(missing_ok=True)


def fsync_directory(directory: Path) -> None:
    """Make the names in ``directory`` (a file linked or renamed there) survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
