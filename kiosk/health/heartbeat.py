"""The kiosk's heartbeat (``mynapoint.fleet.Heartbeat``), made from the app's live state,
the queue's status, the disk and the settings; and which of its fields are worth a
heartbeat at once when they change (``significant``).

No citizen's data can reach it: the live state holds none, the queue's status is counts
and times, and its last error is the sync's (about the service, never an item's content).
"""

from __future__ import annotations

import datetime as dt
import shutil
from typing import Any

from kiosk.health.live_state import LiveState
from kiosk.offline_queue.store import QueueStatus
from kiosk.settings import KioskSettings
from kiosk.technician.checks import app_version
from mynapoint.fleet import Heartbeat


def compose_heartbeat(
    settings: KioskSettings,
    live: LiveState,
    queue: QueueStatus,
    *,
    now: dt.datetime,
    clock_skew_seconds: float | None = None,
) -> Heartbeat:
    oldest = queue.oldest_unsent
    return Heartbeat(
        observed_at=now.replace(microsecond=0),
        interval_seconds=settings.heartbeat_interval_seconds,
        app_version=app_version()[:40],
        store_id=settings.store_id,
        store_name=settings.store_name[:100],
        municipality=settings.municipality[:60],
        state=live.state,
        queue_depth=queue.unsent,
        oldest_unsent_seconds=None
        if oldest is None
        else max(0, int((now - oldest).total_seconds())),
        quarantined=queue.counts.get("quarantined", 0),
        paper=live.paper,
        reader_present=live.reader_present,
        card_on_reader=live.card_on_reader,
        disk_free_bytes=shutil.disk_usage(settings.data_dir).free,
        clock_skew_seconds=clock_skew_seconds,
        last_sync_at=queue.last_success_at,
        last_error=queue.last_error[:200] if queue.last_error else None,
    )


def error_class(error: str | None) -> str | None:
    """What kind of error (its text up to the first colon): a new kind is news, the same
    kind with another count or time is not."""
    return None if error is None else error.split(":", 1)[0]


def significant(beat: Heartbeat) -> tuple[Any, ...]:
    """The fields whose change is sent at once (at most one heartbeat per
    ``reporter.MIN_GAP_SECONDS``); the others wait for the next interval."""
    return (
        beat.state,
        beat.paper,
        beat.reader_present,
        beat.card_on_reader,
        beat.quarantined,
        beat.queue_depth,
        beat.app_version,
        error_class(beat.last_error),
    )
