"""Room held on the queue's disk for sending: a preallocated file (``queue.ballast``)
that only the sync deletes, when the disk is full.

Sending needs room before it frees any: SQLite logs every page it changes before it
writes the database (in WAL mode, or a rollback journal alike), and each queued envelope
fills a page of its own. Measured on the queue with real envelopes: claiming an item
logs 4.1 KB, recording the service's answer (payload erased) 4.1 KB more, deleting it
4.1 KB (the log goes at the checkpoint after each batch). A full disk also refuses the
``-shm`` file that WAL needs to open the database at all. So the reserve of free space
cannot be left to chance: another program (a log) may take it. Part of it is held here,
made while there is room, counted as free by the queue's checks, and released by the
sync alone: new items never get it, so what is queued can always be sent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


class Ballast:
    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size

    @property
    def held(self) -> int:
        """Bytes the ballast holds now (0 once the sync spent it)."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def free_bytes(self) -> int:
        """Free bytes on the queue's disk, the ballast's counted: it is the queue's."""
        return shutil.disk_usage(self.path.parent).free + self.held

    def refill(self, keep_free: int) -> None:
        """Make the ballast whole if the disk keeps ``keep_free`` bytes free beside it;
        best effort (a disk too full to take it is what the queue's checks report)."""
        held = self.held
        missing = self.size - held
        if missing <= 0 or shutil.disk_usage(self.path.parent).free - missing < keep_free:
            return
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, self.size)  # blocks really taken, not a sparse file
        except OSError as exc:  # taken by someone else meanwhile: leave the room to them
            log.warning("queue: cannot make the ballast %s: %s", self.path, exc)
            os.ftruncate(fd, held)
        finally:
            os.close(fd)

    def release(self) -> int:
        """Delete the ballast; the bytes it gave back."""
        held = self.held
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        return held
