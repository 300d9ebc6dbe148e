"""What a kiosk reports about itself, for tests: a heartbeat and alerts as JSON (change any
field with keyword arguments), and sending them device-signed, as the kiosk does."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from kiosk.link.service_client import Reply, ServiceClient
from mynapoint.fleet import AlertBatch, Heartbeat

HEARTBEAT_PATH = "/v1/devices/heartbeat"
ALERTS_PATH = "/v1/devices/alerts"


def heartbeat_json(observed_at: dt.datetime, **fields: Any) -> dict[str, Any]:
    """A healthy kiosk's heartbeat at ``observed_at`` (validated against the wire model)."""
    beat: dict[str, Any] = {
        "observed_at": observed_at.isoformat(),
        "interval_seconds": 60,
        "app_version": "16.0.0",
        "store_id": "S-0042",
        "store_name": "ローソン 市役所前店",
        "municipality": "千代田区",
        "state": "idle",
        "queue_depth": 0,
        "oldest_unsent_seconds": None,
        "quarantined": 0,
        "paper": "ok",
        "reader_present": True,
        "card_on_reader": False,
        "disk_free_bytes": 8_000_000_000,
        "clock_skew_seconds": 0.4,
        "last_sync_at": observed_at.isoformat(),
        "last_error": None,
        **fields,
    }
    Heartbeat.model_validate(beat)
    return beat


def heartbeat(observed_at: dt.datetime, **fields: Any) -> Heartbeat:
    return Heartbeat.model_validate(heartbeat_json(observed_at, **fields))


def alert_json(kind: str, raised_at: dt.datetime, **fields: Any) -> dict[str, Any]:
    """An alert of ``kind`` with a fresh uuid."""
    return {"uuid": str(uuid.uuid4()), "kind": kind, "raised_at": raised_at.isoformat(), **fields}


def alert_batch(*alerts: dict[str, Any]) -> AlertBatch:
    return AlertBatch.model_validate({"alerts": list(alerts)})


def send_heartbeat(client: ServiceClient, beat: dict[str, Any]) -> Reply:
    return client._signed("POST", HEARTBEAT_PATH, beat)


def send_alerts(client: ServiceClient, *alerts: dict[str, Any]) -> Reply:
    return client._signed("POST", ALERTS_PATH, {"alerts": list(alerts)})
