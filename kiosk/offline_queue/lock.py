"""One sync per kiosk: an advisory lock on a file in the data directory.

The sync daemon holds it for its lifetime, so at start it knows that items left
``sending`` by the sync are a crashed predecessor's. The file holds the holder's PID, so
``kiosk-queue drain`` can ask a running daemon to drain now instead of racing it; on a
full disk the lock is taken all the same, and the PID kept if it can be.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class SyncRunning(Exception):
    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        super().__init__(f"the kiosk's sync is already running (pid {pid or '?'})")


class SyncLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ``SyncRunning``; the kernel drops it if we die."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SyncRunning(self.holder()) from None
        self._fd = fd
        self._write_pid(fd)

    @staticmethod
    def _write_pid(fd: int) -> None:
        """Best effort: the sync must start on a full disk too (it alone may spend the
        queue's ballast, and sends). The PID goes over the last one, in place (no new
        block needed); failing that the file is emptied, as a stale PID would have
        ``kiosk-queue drain`` signal some other process."""
        pid = f"{os.getpid()}\n".encode()
        try:
            os.pwrite(fd, pid, 0)
            os.ftruncate(fd, len(pid))
        except OSError:
            os.ftruncate(fd, 0)  # shrinking needs no room

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None

    def holder(self) -> int | None:
        """The PID of the process holding the lock, if one does."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = Path(self.path).read_text().strip()
            return int(text) if text.isdigit() else None
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def __enter__(self) -> SyncLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
