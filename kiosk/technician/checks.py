"""The kiosk's checks of its own parts, one set for technician mode at the screen and for
``kiosk-provision check``.

The first functions ask one device and return what it said (or raise its error): a test
read of the card and the printer's status. Both fronts call them and word the answer
their own way: ``kiosk-provision check`` as a verdict with the next step
(``provisioning/checks.py``), technician mode as lines of English text (below).

Technician mode's actions (device status, a test read, a test print, the queue's
status, "sync now") take the kiosk's parts and answer lines for the technician: no
citizen's data (a test read shows the certificate's validity, never its serial number).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version

from cryptography.hazmat.primitives import serialization

from kiosk.devices import errors
from kiosk.devices.jpki import JpkiCard
from kiosk.devices.printer import PrinterError, PrinterStatus, SlipPrinter
from kiosk.devices.transport import CardReader
from kiosk.offline_queue.lock import SyncLock, SyncRunning
from kiosk.offline_queue.sync import Syncer
from kiosk.shell.parts import KioskParts
from receipts.sample import sample_slip

TEST_READ_WAIT = 5.0  # seconds technician mode waits for a card to be placed

# --- what the devices say (both fronts) ---------------------------------------------------


@dataclass(frozen=True)
class CardReading:
    """What a test read takes from a card: nothing that names its holder."""

    certificate_size: int  # bytes (DER)
    valid_until: dt.datetime
    pin_tries_left: int | None  # None: the card did not say


def read_card(reader: CardReader, wait: float) -> CardReading:
    """Wait up to ``wait`` seconds for a card, read its certificate and its PIN tries
    left (no PIN is asked, no try is spent). Raises ``errors.CardError``: ``NoCard``
    when no card came, ``NoReader`` or ``ReaderServiceUnavailable`` without a reader."""
    with reader.wait_for_card(wait) as connection:
        card = JpkiCard(connection)
        certificate = card.read_certificate()
        tries = card.pin_status().tries_left
    size = len(certificate.public_bytes(serialization.Encoding.DER))
    return CardReading(size, certificate.not_valid_after_utc, tries)


def printer_status(printer: SlipPrinter) -> PrinterStatus:
    """The printer's answer to the real-time status requests (online, paper). Raises
    ``PrinterError`` when it cannot be reached."""
    return printer.status()


# --- technician mode ------------------------------------------------------------------------


@functools.cache  # read from the installed metadata once: the reporter asks every second
def app_version() -> str:
    """The installed kiosk package's version (technician mode and the heartbeat say it)."""
    return version("mynapoint-kiosk")


def version_line() -> str:
    return f"mynapoint-kiosk {app_version()}"


def run_check(action: str, parts: KioskParts) -> list[str]:
    """The lines of technician mode's ``action``, then the version."""
    actions: dict[str, Callable[[KioskParts], list[str]]] = {
        "device_status": device_status,
        "test_read": test_read,
        "test_print": test_print,
        "queue_status": queue_status,
        "sync_now": sync_now,
    }
    if action not in actions:
        return [f"unknown action {action!r}"]
    return [*actions[action](parts), version_line()]


def device_status(parts: KioskParts) -> list[str]:
    lines = [f"reader: {parts.reader.name}"]
    try:
        lines.append(f"printer: {printer_status(parts.slips.printer).detail}")
    except PrinterError as problem:
        lines.append(f"printer: NOT READY: {problem.detail}")
    lines.append(f"grant service: {parts.settings.service_url}")
    return lines


def test_read(parts: KioskParts) -> list[str]:
    try:
        card = read_card(parts.reader, TEST_READ_WAIT)
    except errors.CardError as problem:
        return [f"test read failed: {problem.detail}"]
    return [
        f"test read OK: certificate of {card.certificate_size} bytes, valid until "
        f"{card.valid_until:%Y-%m-%d}; PIN tries left {card.pin_tries_left}",
    ]


def test_print(parts: KioskParts) -> list[str]:
    slip = sample_slip(store_name=parts.settings.store_name)
    issued = parts.slips.print(slip)
    if issued.problem is not None:
        return [f"test print FAILED: {issued.problem.detail}"]
    detail = issued.status.detail if issued.status else "printed"
    return [f"test print sent: {detail}"]


def queue_status(parts: KioskParts) -> list[str]:
    status = parts.submitter.store.status()
    oldest = f"{status.oldest_unsent:%Y-%m-%d %H:%M} UTC" if status.oldest_unsent else "-"
    counts = ", ".join(f"{state} {count}" for state, count in sorted(status.counts.items()))
    return [
        f"queue: {status.unsent} unsent (oldest {oldest}); {counts or 'empty'}",
        f"last success: {status.last_success_at or '-'}; last error: {status.last_error or '-'}",
    ]


def sync_now(parts: KioskParts) -> list[str]:
    settings = parts.settings
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
