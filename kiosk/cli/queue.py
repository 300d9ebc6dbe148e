"""``kiosk-queue``: look after the kiosk's offline queue, for technicians.

    kiosk-queue status [--json]       # counts by state, oldest unsent, last sync, alerts
    kiosk-queue list [--state pending]
    kiosk-queue drain                 # send now (asks a running kiosk-sync, or sends itself)
    kiosk-queue retry ID|RECEIPT      # a quarantined or backing-off item, again now
    kiosk-queue export FILE           # sealed for the service, to carry by hand
    kiosk-queue clear-alert CODE

Nothing here shows a security code, a payment-service ID or a PIN: the queue's payloads
stay encrypted; ``export`` seals them for the grant service only. When the queue cannot be
opened or written because its disk is full, every command says so in one line and exits
with status 5 (``drain`` sends all the same, as ``kiosk-sync`` does).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
import time
from pathlib import Path

import click

from kiosk.cli.common import format_time, with_kiosk_settings
from kiosk.cli.sync import drain_once
from kiosk.link.enrollment import load_identity
from kiosk.offline_queue.lock import SyncLock
from kiosk.offline_queue.models import STATES, Alert
from kiosk.offline_queue.store import QueueStatus, open_queue
from kiosk.offline_queue.sync import Syncer
from kiosk.settings import KioskSettings
from mynapoint.dates import utc_now
from mynapoint.queue_export import seal_export


@click.group()
def main() -> None:
    """The kiosk's queue of submissions waiting for the grant service."""


def _age(moment: dt.datetime | None) -> str:
    if moment is None:
        return "-"
    seconds = int((utc_now() - moment).total_seconds())
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _stamp(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _status_json(status: QueueStatus) -> dict[str, object]:
    return {
        "counts": {state: status.counts.get(state, 0) for state in STATES},
        "unsent": status.unsent,
        "oldest_unsent_at": _stamp(status.oldest_unsent),
        "last_attempt_at": _stamp(status.last_attempt_at),
        "last_success_at": _stamp(status.last_success_at),
        "last_error": status.last_error,
        "alerts": [_alert_json(alert) for alert in status.alerts],
    }


def _alert_json(alert: Alert) -> dict[str, object]:
    return {
        "code": alert.code,
        "message": alert.message,
        "count": alert.count,
        "first_seen": _stamp(alert.first_seen),
        "last_seen": _stamp(alert.last_seen),
    }


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_kiosk_settings
def status(settings: KioskSettings, as_json: bool) -> None:
    """Counts by state, the oldest unsent item, the last sync, open alerts.

    Exit status 0 when nothing waits to be sent, 3 when items wait, 4 with open alerts, 5
    when the queue's disk is full."""
    store = open_queue(settings)
    try:
        current = store.status()
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(_status_json(current), indent=2))
    else:
        _print_status(current, settings)
    sys.exit(4 if current.alerts else 3 if current.unsent else 0)


def _print_status(status: QueueStatus, settings: KioskSettings) -> None:
    counts = status.counts
    if status.unsent:
        click.echo(
            f"unsent: {status.unsent} (pending {counts.get('pending', 0)}, sending "
            f"{counts.get('sending', 0)}), oldest made {_age(status.oldest_unsent)}"
        )
    else:
        click.echo("unsent: 0 (the queue is empty: everything was sent)")
    click.echo(
        f"settled: {counts.get('accepted', 0)} accepted, {counts.get('rejected', 0)} rejected "
        f"(kept {settings.retention_days:g} days, without their secrets)"
    )
    click.echo(f"quarantined: {counts.get('quarantined', 0)}")
    click.echo(
        f"last sync: tried {_age(status.last_attempt_at)}, succeeded {_age(status.last_success_at)}"
    )
    if status.last_error:
        click.echo(f"last error: {status.last_error}")
    for alert in status.alerts:
        click.secho(
            f"ALERT {alert.code} (x{alert.count}, last {_age(alert.last_seen)}): {alert.message}",
            fg="yellow",
        )


@main.command("list")
@click.option("--state", type=click.Choice(STATES), multiple=True, help="Only these states.")
@click.option("--limit", default=50, show_default=True)
@with_kiosk_settings
def list_items(settings: KioskSettings, state: tuple[str, ...], limit: int) -> None:
    """The newest items: receipt number, kind, state, attempts, the service's answer."""
    store = open_queue(settings)
    try:
        rows = store.items(state or None, limit)
    finally:
        store.close()
    for row in rows:
        outcome = row.reason_code or row.last_error or ""
        click.echo(
            f"{row.id:>7}  {row.receipt_number}  {row.kind:<12} {row.state:<11} "
            f"tries {row.attempts:<3} made {format_time(row.created_at)}  {outcome}"
        )


@main.command()
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait.")
@with_kiosk_settings
def drain(settings: KioskSettings, timeout: float) -> None:
    """Send everything unsent now, ignoring backoff. Exit status 0 when all was sent."""
    pid = SyncLock(settings.sync_lock_file).holder()
    if pid is None:
        with SyncLock(settings.sync_lock_file), Syncer.opened(settings) as syncer:
            sys.exit(drain_once(syncer))
    # kiosk-sync runs: it drains, this watches (two senders would only race).
    os.kill(pid, signal.SIGUSR1)
    click.echo(f"asked kiosk-sync (pid {pid}) to drain now")
    store = open_queue(settings)
    try:
        deadline = time.monotonic() + timeout
        while (left := store.status().unsent) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        store.close()
    click.echo(f"{left} unsent")
    sys.exit(0 if left == 0 else 1)


@main.command()
@click.argument("key", metavar="ID|RECEIPT")
@with_kiosk_settings
def retry(settings: KioskSettings, key: str) -> None:
    """Send an unsent or quarantined item again at the next sync."""
    store = open_queue(settings)
    try:
        row = store.retry(key)
    finally:
        store.close()
    if row is None:
        raise click.ClickException(f"no unsent or quarantined item {key}")
    click.echo(f"item {row.id} ({row.receipt_number}) will be sent at the next sync")


# As many items as the service takes in one batch (and one request body).
EXPORT_ITEMS_PER_FILE = 500


@main.command()
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--per-file",
    type=click.IntRange(1, EXPORT_ITEMS_PER_FILE),
    default=EXPORT_ITEMS_PER_FILE,
    show_default=True,
    help="Items per file.",
)
@with_kiosk_settings
def export(settings: KioskSettings, output: Path, per_file: int) -> None:
    """Write the unsent items to OUTPUT, sealed to the grant service and signed by this
    kiosk, for a technician to carry (more items than --per-file: OUTPUT-1-of-N...). The
    items stay queued: if the kiosk comes online later, the service recognises them and
    answers with its first result."""
    identity = load_identity(settings)
    if not identity.import_public_key:
        raise click.ClickException(
            "this kiosk has no import key from the service: enroll it again to export"
        )
    store = open_queue(settings)
    try:
        envelopes = store.unsent_envelopes()
    finally:
        store.close()
    if not envelopes:
        raise click.ClickException("nothing to export: no item waits to be sent")
    parts = [envelopes[i : i + per_file] for i in range(0, len(envelopes), per_file)]
    paths = [output] if len(parts) == 1 else [
        output.with_name(f"{output.stem}-{n}-of-{len(parts)}{output.suffix}")
        for n in range(1, len(parts) + 1)
    ]  # fmt: skip
    if existing := [path for path in paths if path.exists()]:
        raise click.ClickException(f"{existing[0]} exists; choose another name")
    for path, part in zip(paths, parts, strict=True):
        sealed = seal_export(
            part,
            kiosk_id=identity.kiosk_id,
            device_key=identity.key,
            import_public_key=identity.import_public_key,
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(sealed.model_dump_json())
            handle.flush()
            os.fsync(handle.fileno())
        click.echo(f"{len(part)} items sealed for the grant service in {path}")
    click.echo("import each there: POST /v1/submissions/import with a technician's token")


@main.command("clear-alert")
@click.argument("code")
@with_kiosk_settings
def clear_alert(settings: KioskSettings, code: str) -> None:
    """Mark an alert as dealt with (it comes back if the cause remains)."""
    store = open_queue(settings)
    try:
        store.clear_alert(code)
    finally:
        store.close()
    click.echo(f"alert {code} cleared")
