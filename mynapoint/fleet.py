"""What a kiosk tells the service about itself: the heartbeat and the alerts (the wire
format, shared by the kiosk that sends them and the service that keeps them).

A heartbeat is the kiosk's state now: nothing about the citizen at the kiosk, only
whether somebody is using it. An alert is an event a person must act on (staff called, a
card left behind, paper out, ...); it travels through the kiosk's queue like every
submission, so an alert raised offline reaches the service once the network is back,
exactly once (its ``uuid``). A "did not make this application" report carries only the
receipt number and the time.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from mynapoint.envelope import RECEIPT_PATTERN, UUID_PATTERN, StorableText

HEARTBEAT_VERSION: Final = 1
# A kiosk not heard from for this many of its own heartbeat intervals is silent.
SILENT_AFTER_INTERVALS = 3

# stopped: the kiosk's screen program is not running (kiosk-sync still reports).
KioskState = Literal["idle", "in_use", "technician", "stopped"]
KIOSK_STATES: tuple[str, ...] = ("idle", "in_use", "technician", "stopped")
PaperState = Literal["ok", "near_end", "out", "offline", "unknown"]
PAPER_STATES: tuple[str, ...] = ("ok", "near_end", "out", "offline", "unknown")


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("a time must carry its offset (UTC)")
    return value.astimezone(dt.UTC)


UtcTime = Annotated[dt.datetime, AfterValidator(_utc)]
ShortText = Annotated[StorableText, Field(max_length=200)]


class Heartbeat(BaseModel):
    """One kiosk's state at ``observed_at`` (device-signed, so the kiosk is the enrolled
    one; the channel is the one its enrollment token set, not what it says here)."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = HEARTBEAT_VERSION
    observed_at: UtcTime
    interval_seconds: Annotated[int, Field(ge=5, le=3600)]  # when to expect the next one
    app_version: Annotated[StorableText, Field(min_length=1, max_length=40)]
    store_id: Annotated[StorableText, Field(max_length=40)] | None = None
    store_name: Annotated[StorableText, Field(max_length=100)] = ""
    municipality: Annotated[StorableText, Field(max_length=60)] = ""
    state: KioskState
    queue_depth: Annotated[int, Field(ge=0, le=10_000_000)]
    # The bounds are the service's columns' (INTEGER, BIGINT): beyond, a clear 400.
    oldest_unsent_seconds: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    quarantined: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    paper: PaperState
    reader_present: bool
    card_on_reader: bool
    disk_free_bytes: Annotated[int, Field(ge=0, le=2**63 - 1)]
    # The kiosk's clock minus the service's, as the kiosk last measured it (seconds).
    clock_skew_seconds: Annotated[float, Field(allow_inf_nan=False)] | None = None
    last_sync_at: UtcTime | None = None
    last_error: ShortText | None = None


class AlertKind(StrEnum):
    STAFF_CALLED = "staff_called"
    CARD_LEFT = "card_left"
    PAPER_OUT = "paper_out"
    QUEUE_STUCK = "queue_stuck"
    QUARANTINED = "quarantined"
    NOT_ME_REPORT = "not_me_report"


# What an alert is called, in the console's two languages.
ALERT_LABELS: dict[AlertKind, tuple[str, str]] = {
    AlertKind.STAFF_CALLED: ("係員呼び出し", "Staff called"),
    AlertKind.CARD_LEFT: ("カードの置き忘れ", "Card left behind"),
    AlertKind.PAPER_OUT: ("用紙切れ", "Paper out"),
    AlertKind.QUEUE_STUCK: ("未送信が滞留", "Queue stuck"),
    AlertKind.QUARANTINED: ("送信できない申込", "Quarantined item"),
    AlertKind.NOT_ME_REPORT: ("「心当たりがない」申出", "\u201cI did not apply\u201d report"),
}


class KioskAlert(BaseModel):
    """One alert as the kiosk raised it; ``uuid`` makes a resend harmless."""

    model_config = ConfigDict(extra="forbid")

    uuid: Annotated[str, Field(pattern=UUID_PATTERN)]
    kind: AlertKind
    raised_at: UtcTime
    receipt_number: Annotated[str, Field(pattern=RECEIPT_PATTERN)] | None = None
    detail: ShortText = ""


class AlertBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alerts: Annotated[list[KioskAlert], Field(min_length=1, max_length=500)]


def silent(last_seen: dt.datetime, interval_seconds: int, now: dt.datetime) -> dt.timedelta | None:
    """How long a kiosk has been silent, or None while it reports on time."""
    quiet = now - last_seen
    if quiet > dt.timedelta(seconds=SILENT_AFTER_INTERVALS * interval_seconds):
        return quiet
    return None
