"""The kiosk's queue as provisioning looks at it: without making a queue (or a queue key)
that is not there yet, since a technician's look must not change the kiosk."""

from __future__ import annotations

from kiosk.offline_queue.store import QueueStatus, open_queue
from kiosk.settings import KioskSettings
from provisioning.errors import ProvisioningError


def queue_status(settings: KioskSettings) -> QueueStatus | None:
    """The queue's status; None when the kiosk has made no queue yet."""
    if not settings.queue_database.exists():
        return None
    if not settings.queue_key_file.exists():
        raise ProvisioningError(
            f"the queue {settings.queue_database} has no key ({settings.queue_key_file} "
            "is missing): its unsent items cannot be read; export nothing, call support"
        )
    store = open_queue(settings)
    try:
        return store.status()
    finally:
        store.close()


def items_to_send(status: QueueStatus | None) -> int:
    """Items the service has not answered for: unsent, and quarantined (kept for a look)."""
    if status is None:
        return 0
    return status.unsent + status.counts.get("quarantined", 0)
