"""The kiosk's files as provisioning handles them: private (directories 0700, files 0600),
written whole, owned by the kiosk's user, and erased with their content overwritten."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from mynapoint.atomic_files import fsync_directory, write_aside
from provisioning.errors import ProvisioningError
from provisioning.locations import Owner, running_as_root


def private_dir(path: Path, owner: Owner | None = None) -> None:
    """``path`` exists, mode 0700 (also when it existed: it holds the kiosk's secrets)."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.chmod(0o700)
        if owner is not None:
            os.chown(path, owner.uid, owner.gid)
    except OSError as exc:
        raise ProvisioningError(
            f"cannot make the directory {path} ({exc.strerror or exc}): run as root, or "
            "choose another place (--config, --data-dir)"
        ) from exc


class StagedFile:
    """A private file written beside ``path`` now and put in its place by ``commit``:
    the config is checked writable before the one-time token is spent, and appears only
    once the kiosk is enrolled."""

    def __init__(self, path: Path, content: bytes, owner: Owner | None = None) -> None:
        self.path = path
        self.aside: Path | None = None
        try:
            self.aside = write_aside(path, content)
            if owner is not None:
                os.chown(self.aside, owner.uid, owner.gid)
        except OSError as exc:
            self.discard()
            raise ProvisioningError(
                f"cannot write {path} ({exc.strerror or exc}): run as root, or choose "
                "another file with --config"
            ) from exc

    def commit(self) -> None:
        assert self.aside is not None, "nothing staged"
        os.replace(self.aside, self.path)
        fsync_directory(self.path.parent)

    def discard(self) -> None:
        if self.aside is not None:
            self.aside.unlink(missing_ok=True)


def chown_tree(root: Path, owner: Owner) -> None:
    """``root`` and everything under it to ``owner`` (symbolic links themselves only)."""
    os.chown(root, owner.uid, owner.gid, follow_symlinks=False)
    for directory, subdirectories, files in os.walk(root):
        for name in subdirectories + files:
            os.chown(Path(directory) / name, owner.uid, owner.gid, follow_symlinks=False)


@contextlib.contextmanager
def ownership_kept(data_dir: Path) -> Iterator[None]:
    """Files root makes in the kiosk's data directory (a queue's log, a new key) go to the
    directory's owner afterwards: a root-owned file there would lock the kiosk out."""
    if not running_as_root() or not data_dir.is_dir():
        yield
        return
    stat = data_dir.stat()
    try:
        yield
    finally:
        if data_dir.is_dir():
            for directory, subdirectories, files in os.walk(data_dir):
                for name in subdirectories + files:
                    path = Path(directory) / name
                    with contextlib.suppress(FileNotFoundError):
                        if path.lstat().st_uid != stat.st_uid:
                            os.chown(path, stat.st_uid, stat.st_gid, follow_symlinks=False)


def shred(path: Path) -> bool:
    """Overwrite the regular file ``path`` with zeros, sync, and delete it; False if there
    was no such file (a device node, such as a printer's, is never touched).

    On flash storage and journalling file systems old blocks may survive an overwrite:
    what makes the queue unreadable is that its key is gone; the overwrite is extra."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode):  # never overwrite what a link points to (as root: anything)
        path.unlink()
        return True
    if not stat.S_ISREG(info.st_mode):
        return False
    with path.open("r+b") as handle:
        for start in range(0, info.st_size, 1 << 20):
            handle.write(bytes(min(1 << 20, info.st_size - start)))
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
    return True
