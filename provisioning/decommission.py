"""``kiosk-provision decommission``: a kiosk leaving service keeps nothing of its citizens
and no key the service would still accept.

First the queue: nothing not yet sent is erased unless the technician says so; ``drain``
sends it now (through the running kiosk-sync, or by itself). Then the erasure: the device
key and certificate, the queue key (the queue becomes unreadable) and the queue itself,
the slip archive and any slip images (MyKey IDs), the "I did not apply" reports, the
file printer's output, and the technician PIN's hash in the configuration. The device is
revoked at the service by an operator (``grant-service device-revoke``).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from kiosk.cli.sync import drain_once
from kiosk.offline_queue.lock import SyncLock
from kiosk.offline_queue.sync import Syncer
from kiosk.settings import KioskSettings
from provisioning.config_file import remove_setting
from provisioning.errors import ProvisioningError
from provisioning.files import shred
from provisioning.queue_state import items_to_send, queue_status

SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def items_waiting(settings: KioskSettings) -> int:
    return items_to_send(queue_status(settings))


def drain(settings: KioskSettings, timeout: float, say: Callable[[str], None]) -> int:
    """Send the queue now; the number of items still waiting afterwards."""
    pid = SyncLock(settings.sync_lock_file).holder()
    if pid is None:
        with SyncLock(settings.sync_lock_file), Syncer.opened(settings) as syncer:
            drain_once(syncer)  # prints what it sent
        return items_waiting(settings)
    # kiosk-sync runs: it sends, this watches (two senders would only race).
    os.kill(pid, signal.SIGUSR1)
    say(f"asked kiosk-sync (pid {pid}) to send everything now; waiting up to {timeout:g} s")
    deadline = time.monotonic() + timeout
    while (waiting := items_waiting(settings)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return waiting


def refuse_while_sync_runs(settings: KioskSettings) -> None:
    pid = SyncLock(settings.sync_lock_file).holder()
    if pid is not None:
        raise ProvisioningError(
            f"kiosk-sync is running (pid {pid}) and holds the queue open: stop it and the "
            "kiosk app first (systemctl stop kiosk-sync kiosk), then decommission again"
        )


def erase(settings: KioskSettings) -> list[str]:
    """Erase the kiosk's keys and its citizens' traces; what was erased, for the record."""
    data = settings.data_dir
    erased: list[str] = []

    def erase_files(what: str, paths: list[Path]) -> None:
        count = sum(shred(path) for path in paths)
        if count:
            erased.append(f"{what} ({count} file{'s' * (count != 1)})")

    # The queue key first: from then on the queue's payloads cannot be read.
    erase_files(f"the queue key {settings.queue_key_file}", [settings.queue_key_file])
    database = settings.queue_database
    erase_files(
        f"the queue {database}",
        [database, *(database.with_name(database.name + side) for side in SQLITE_SIDE_FILES)],
    )
    erase_files(f"the slip archive {data / 'slips'}", _files_in(data / "slips"))
    if settings.slip_png_dir is not None:
        erase_files(
            f"the slip images in {settings.slip_png_dir}",
            sorted(settings.slip_png_dir.glob("slip-*.png")),
        )
    erase_files("the not-me reports", [data / "not-me-reports.jsonl"])
    if settings.printer_backend == "file":
        erase_files(f"the file printer's slips {settings.printer_output_file}",
                    [settings.printer_output_file])  # fmt: skip
    erase_files(f"the device key and certificate in {settings.device_dir}",
                _files_in(settings.device_dir))  # fmt: skip
    for directory in (data / "slips", settings.device_dir):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
    config = settings.config_file
    if config is not None and remove_setting(config, "technician_pin_hash"):
        erased.append(f"the technician PIN's hash in {config}")
    return erased


def _files_in(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.iterdir() if path.is_file() or path.is_symlink())
