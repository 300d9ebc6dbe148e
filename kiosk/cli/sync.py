"""``kiosk-sync``: the daemon that sends the kiosk's queue to the grant service.

    kiosk-sync            # runs until SIGTERM; systemd's Type=notify and WatchdogSec work
    kiosk-sync --once     # drain what is due now, then exit (status 0 when all was sent)

Beside the queue it sends the kiosk's heartbeats and pending alerts to the operators'
console (``kiosk/health/reporter.py``, a thread of its own; ``--once``: the alerts
pending and one heartbeat).

One runs per kiosk (a lock in the data directory). On start it sends again whatever a
crashed predecessor left in flight. SIGUSR1 makes it drain at once, backoff or not
(``kiosk-queue drain`` sends it). Logs name items by receipt number only. It starts and
sends on a full disk too, spending the queue's ballast (``kiosk/offline_queue/ballast.py``);
if it cannot start even so, it says why in one line and exits with status 5 (a round that
finds no room later is logged, and the daemon waits for room).
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import click

from kiosk.cli.common import with_kiosk_settings
from kiosk.health.reporter import Reporter
from kiosk.offline_queue.lock import SyncLock
from kiosk.offline_queue.store import QueueStore
from kiosk.offline_queue.sync import DrainReport, Syncer, SyncLoop
from kiosk.settings import KioskSettings
from mynapoint import sd_notify

log = logging.getLogger("kiosk.sync")


def status_line(store: QueueStore, report: DrainReport | None = None) -> str:
    status = store.status()
    line = f"{status.unsent} unsent, {status.counts.get('quarantined', 0)} quarantined"
    if report is not None and report.errors:
        line += f"; last error: {report.errors[-1]}"
    return line


@click.command()
@click.option("--once", is_flag=True, help="Drain what is due now, then exit.")
@click.option("-v", "--verbose", is_flag=True, help="Log debugging detail too.")
@with_kiosk_settings
def main(settings: KioskSettings, once: bool, verbose: bool) -> None:
    """Send the kiosk's queued submissions to the grant service, exactly once each."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for chatty in ("alembic", "httpx", "httpcore"):  # a line per request or migration step
        logging.getLogger(chatty).setLevel(logging.DEBUG if verbose else logging.WARNING)
    # Once the lock is taken, `kiosk-queue drain` may send SIGUSR1 at any moment, whose
    # default action would end the process: until the loop runs, keep the request.
    asked_early: list[int] = []
    signal.signal(signal.SIGUSR1, lambda number, _frame: asked_early.append(number))
    with (
        SyncLock(settings.sync_lock_file),
        Syncer.opened(settings) as syncer,
        Reporter.opened(settings) as reporter,
    ):
        if once:
            status = drain_once(syncer)
            reporter.once()
            sys.exit(status)
        _serve(syncer, reporter, drain_at_once=bool(asked_early))


def drain_once(syncer: Syncer) -> int:
    syncer.store.release_sync_leases()
    syncer.due_now()
    report = syncer.drain()
    status = syncer.store.status()
    click.echo(
        f"sent {report.sent}: {report.accepted} accepted, {report.rejected} rejected, "
        f"{report.retrying} to retry, {report.quarantined} quarantined; {status.unsent} unsent"
    )
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    return 0 if status.unsent == 0 else 1


def _serve(syncer: Syncer, reporter: Reporter, *, drain_at_once: bool = False) -> None:
    def ping(report: DrainReport) -> None:
        sd_notify.notify("WATCHDOG=1")

    def after_round(report: DrainReport) -> None:
        if report.sent:
            log.info(
                "sync: sent %d, accepted %d, rejected %d, retrying %d, quarantined %d",
                report.sent, report.accepted, report.rejected, report.retrying,
                report.quarantined,
            )  # fmt: skip
        sd_notify.notify("WATCHDOG=1", f"STATUS={status_line(syncer.store, report)}")

    loop = SyncLoop(syncer, on_batch=ping, on_round=after_round)

    def on_signal(number: int, frame: FrameType | None) -> None:
        if number == signal.SIGUSR1:
            loop.drain_now()
        else:
            loop.stop()
            reporter.stop()

    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
        signal.signal(number, on_signal)
    if drain_at_once:
        loop.drain_now()
    sd_notify.notify("READY=1", f"STATUS={status_line(syncer.store)}")
    log.info("kiosk-sync started, sending to %s", syncer.settings.service_url)
    with reporter.running():
        loop.run()
    sd_notify.notify("STOPPING=1")
    log.info("kiosk-sync stopped")
