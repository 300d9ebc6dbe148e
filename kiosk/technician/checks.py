"""What technician mode can do at the kiosk's screen: device status, a test read, a test
print, the queue's status, "sync now" and the version. Each answers lines of English
text for the technician (no citizen's data: the test read shows the certificate's
validity, never its serial number)."""

from __future__ import annotations

import os
import signal
from importlib.metadata import version
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from kiosk.devices import errors
from kiosk.devices.jpki import JpkiCard
from kiosk.devices.printer import PrinterError
from kiosk.offline_queue.lock import SyncLock, SyncRunning
from kiosk.offline_queue.sync import Syncer
from receipts.sample import sample_slip

if TYPE_CHECKING:
    from kiosk.shell.runner import Runner


def run_check(action: str, runner: Runner) -> list[str]:
    checks = {
        "device_status": device_status,
        "test_read": test_read,
        "test_print": test_print,
        "queue_status": queue_status,
        "sync_now": sync_now,
    }
    if action not in checks:
        return [f"unknown action {action!r}"]
    return [*checks[action](runner), f"mynapoint-kiosk {version('mynapoint-kiosk')}"]


def device_status(runner: Runner) -> list[str]:
    parts = runner.parts
    lines = [f"reader: {parts.reader.name}"]
    try:
        status = parts.slips.printer.status()
        lines.append(f"printer: {status.detail}")
    except PrinterError as problem:
        lines.append(f"printer: NOT READY: {problem.detail}")
    lines.append(f"grant service: {parts.settings.service_url}")
    return lines


def test_read(runner: Runner) -> list[str]:
    reader = runner.parts.reader
    try:
        with reader.wait_for_card(5) as connection:
            card = JpkiCard(connection)
            certificate = card.read_certificate()
            tries = card.pin_status().tries_left
    except errors.CardError as problem:
        return [f"test read failed: {problem.detail}"]
    size = len(certificate.public_bytes(serialization.Encoding.DER))
    return [
        f"test read OK: certificate of {size} bytes, valid until "
        f"{certificate.not_valid_after_utc:%Y-%m-%d}; PIN tries left {tries}",
    ]


def test_print(runner: Runner) -> list[str]:
    slip = sample_slip(store_name=runner.parts.settings.store_name)
    issued = runner.parts.slips.print(slip)
    if issued.problem is not None:
        return [f"test print FAILED: {issued.problem.detail}"]
    detail = issued.status.detail if issued.status else "printed"
    return [f"test print sent: {detail}"]


def queue_status(runner: Runner) -> list[str]:
    status = runner.parts.submitter.store.status()
    oldest = f"{status.oldest_unsent:%Y-%m-%d %H:%M} UTC" if status.oldest_unsent else "-"
    counts = ", ".join(f"{state} {count}" for state, count in sorted(status.counts.items()))
    return [
        f"queue: {status.unsent} unsent (oldest {oldest}); {counts or 'empty'}",
        f"last success: {status.last_success_at or '-'}; last error: {status.last_error or '-'}",
    ]


def sync_now(runner: Runner) -> list[str]:
    settings = runner.parts.settings
    pid = SyncLock(settings.sync_lock_file).holder()
    if pid is not None:  # kiosk-sync runs: ask it (two senders would only race)
        os.kill(pid, signal.SIGUSR1)
        return [f"asked kiosk-sync (pid {pid}) to send everything now"]
    try:
        with SyncLock(settings.sync_lock_file), Syncer.opened(settings) as syncer:
            syncer.store.due_now()
            report = syncer.drain()
    except SyncRunning as exc:
        return [str(exc)]
    return [f"sync: {report.sent} sent, {report.accepted} accepted, {report.rejected} rejected"]
