"""The fleet: what kiosks report about themselves (heartbeats, alerts), how the console
reads it, and what operators do with alerts. One place for each of the fleet's rules:

- a heartbeat overwrites a kiosk's status only when it is newer (``record_heartbeat``);
  one in the future beyond the clock skew is refused;
- a kiosk's history keeps one point per bucket, the latest, for ``fleet_history_days``
  (``prune_history``);
- an alert is kept once per (kiosk, uuid): a resend is a "duplicate" (``record_alerts``);
  a "did not make this application" report carries only its receipt number and time;
- a kiosk's condition on the console, and how urgent it is (``condition_of``);
- an alert goes open -> acknowledged -> resolved, each step audited.

Writes are single upserts (``INSERT ... ON CONFLICT``), so that two service processes
taking heartbeats or alerts of one kiosk at once never fail on a unique key.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from grant_service import audit, rules
from grant_service.models import Device, FleetAlert, KioskStatus, KioskStatusPoint
from grant_service.refusals import Refused
from grant_service.settings import Settings
from mynapoint.database import dialect_insert
from mynapoint.fleet import AlertBatch, AlertKind, Heartbeat, KioskAlert, silent
from mynapoint.reasons import R

# Most urgent first: a kiosk's ``attention`` is its condition's place here.
CONDITIONS = (
    "silent",  # not heard from for SILENT_AFTER_INTERVALS intervals: its figures are old
    "paper_out",  # cannot print slips
    "alert",  # an alert not yet resolved
    "queue_stuck",  # submissions waiting too long to be sent
    "warning",  # works, but something needs a look soon
    "never_seen",  # enrolled, never reported
    "ok",
    "revoked",  # no longer part of the fleet
)
QUEUE_STUCK_AFTER = dt.timedelta(minutes=30)
WARNING_PAPER = frozenset({"near_end", "offline", "unknown"})
UNRESOLVED = ("open", "acknowledged")
ALERT_STATES = ("open", "acknowledged", "resolved")
# What the request-signing check allows by default: a heartbeat may be that far ahead.
DEFAULT_SKEW = dt.timedelta(seconds=Settings.model_fields["clock_skew_seconds"].default)

Enrolled = rules.Device | Device  # the kiosk as enrolled: its id and channel


# --- heartbeats ---------------------------------------------------------------------------


def bucket_start(observed_at: dt.datetime, bucket_minutes: int) -> dt.datetime:
    """The start of the history bucket ``observed_at`` falls in (buckets from the epoch)."""
    width = bucket_minutes * 60
    seconds = int(observed_at.timestamp() // width) * width  # floor, before 1970 too
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _newer_wins(dialect_name: str, table: Any, key: list[str], *, or_: Any = None) -> Any:
    """INSERT, or on ``key``'s conflict UPDATE only if the new row was observed later (or
    ``or_`` holds); RETURNING a row only when something was written."""
    insert = dialect_insert(dialect_name, table)
    columns = [c.name for c in table.columns if c.name not in key]
    newer = table.c.observed_at < insert.excluded.observed_at
    return insert.on_conflict_do_update(
        index_elements=key,
        set_={name: insert.excluded[name] for name in columns},
        where=newer if or_ is None else or_(newer, table.c.received_at < _HEARD_BEFORE),
    ).returning(table.c[key[0]])


# A kiosk's heartbeats are ordered by its own clock, except when the one kept arrived
# longer ago than any two requests of one kiosk can overlap (the kiosk's request timeout):
# the new one is then later in fact, even if the kiosk's clock stepped back (a kiosk
# without a clock battery, set by NTP), which would otherwise look silent until its clock
# caught up.
HEARD_IN_ORDER_AFTER = dt.timedelta(seconds=60)
_HEARD_BEFORE = bindparam("heard_before", type_=KioskStatus.__table__.c.received_at.type)


@functools.cache
def _status_upsert(dialect_name: str) -> Any:
    return _newer_wins(dialect_name, KioskStatus.__table__, ["kiosk_id"], or_=or_)


@functools.cache
def _point_upsert(dialect_name: str) -> Any:
    return _newer_wins(dialect_name, KioskStatusPoint.__table__, ["kiosk_id", "bucket_start"])


_POINT_FIELDS = ("state", "queue_depth", "oldest_unsent_seconds", "paper", "observed_at")


def record_heartbeat(
    session: Session,
    device: Enrolled,
    beat: Heartbeat,
    *,
    now: dt.datetime,
    bucket_minutes: int,
    skew: dt.timedelta = DEFAULT_SKEW,
) -> bool:
    """Keep ``beat`` as the kiosk's status and its bucket's history point, if it is newer
    than what is kept; False (nothing written) for a late or replayed one. The channel is
    the enrollment's. ``Refused`` (HEARTBEAT_IN_FUTURE) beyond ``skew`` ahead of ``now``."""
    if beat.observed_at > now + skew:
        raise Refused(
            R.HEARTBEAT_IN_FUTURE,
            f"observed at {beat.observed_at.isoformat()}, the service's time is {now.isoformat()}",
        )
    dialect = session.get_bind().dialect.name
    reported = beat.model_dump(exclude={"version"})
    status = {**reported, "kiosk_id": device.kiosk_id, "channel": device.channel}
    heard_before = now - HEARD_IN_ORDER_AFTER
    recorded = session.scalar(
        _status_upsert(dialect), {**status, "received_at": now, "heard_before": heard_before}
    )
    if recorded is None:
        return False
    point = {name: reported[name] for name in _POINT_FIELDS}
    point["bucket_start"] = bucket_start(beat.observed_at, bucket_minutes)
    session.execute(_point_upsert(dialect), {**point, "kiosk_id": device.kiosk_id})
    return True


def prune_history(session: Session, now: dt.datetime, keep: dt.timedelta) -> int:
    """Forget history points older than ``keep``; how many went. (Callers run it now and
    then, e.g. with a ``devices.NonceSweep``, not on every heartbeat.)"""
    cut = delete(KioskStatusPoint).where(KioskStatusPoint.bucket_start < now - keep)
    return int(session.execute(cut).rowcount or 0)  # type: ignore[attr-defined]


# --- alerts -------------------------------------------------------------------------------


def check_alert(alert: KioskAlert) -> None:
    """What an alert may carry beyond its schema. A "did not make this application" report
    is its receipt number and time only: one without the number, or with a detail (free
    text: it could hold something personal), is refused, not trimmed, so that the kiosk's
    bug shows."""
    if alert.kind is AlertKind.NOT_ME_REPORT and (alert.receipt_number is None or alert.detail):
        raise Refused(
            R.ALERT_INVALID,
            f"alert {alert.uuid}: a not_me_report carries its receipt number and no detail",
        )


@functools.cache
def _alert_insert(dialect_name: str) -> Any:
    return (
        dialect_insert(dialect_name, FleetAlert.__table__)
        .on_conflict_do_nothing(index_elements=["kiosk_id", "uuid"])
        .returning(FleetAlert.id)
    )


def record_alerts(
    session: Session, device: Enrolled, batch: AlertBatch, *, now: dt.datetime
) -> list[dict[str, str]]:
    """Keep each alert once: ``{"uuid", "outcome": "recorded" | "duplicate"}`` per alert, in
    the order sent. Every alert is checked before any is written: one refused alert
    (``ALERT_INVALID``) refuses the batch, and nothing of it is kept."""
    for alert in batch.alerts:
        check_alert(alert)
    statement = _alert_insert(session.get_bind().dialect.name)
    results = []
    for alert in batch.alerts:
        row = {
            "kiosk_id": device.kiosk_id, "uuid": alert.uuid, "kind": alert.kind.value,
            "raised_at": alert.raised_at, "received_at": now,
            "receipt_number": alert.receipt_number, "detail": alert.detail, "state": "open",
        }  # fmt: skip
        written = session.scalar(statement, row)
        results.append(
            {"uuid": alert.uuid, "outcome": "duplicate" if written is None else "recorded"}
        )
    return results


# --- the console's view ---------------------------------------------------------------------


@dataclass(frozen=True)
class KioskRow:
    """One kiosk as the fleet page shows it."""

    kiosk_id: str
    channel: str  # from the enrollment
    device_status: str  # active | revoked
    status: Any  # a StatusView (KioskStatus's fields); None: never reported
    silent_for: dt.timedelta | None
    open_alerts: int  # not yet resolved (open or acknowledged)
    condition: str  # one of CONDITIONS
    attention: int  # sort key: lower first


class Reported(Protocol):
    """What the fleet's rules read of a kiosk's status (a KioskStatus or a StatusView)."""

    received_at: dt.datetime
    interval_seconds: int
    paper: str
    oldest_unsent_seconds: int | None
    reader_present: bool
    card_on_reader: bool
    quarantined: int
    state: str


def silent_for(status: Reported | None, now: dt.datetime) -> dt.timedelta | None:
    """How long a kiosk has been silent (by the service's clock), or None."""
    if status is None:
        return None
    return silent(status.received_at, status.interval_seconds, now)


def condition_of(
    device_status: str,
    status: Reported | None,
    open_alerts: int,
    now: dt.datetime,
    queue_stuck_after: dt.timedelta = QUEUE_STUCK_AFTER,
) -> str:
    """A kiosk's condition: the first that holds, in this order."""
    if device_status == "revoked":
        return "revoked"
    if status is None:
        return "never_seen"
    if silent_for(status, now) is not None:
        return "silent"  # what it last said is no longer true: nothing below applies
    if status.paper == "out":
        return "paper_out"
    if open_alerts > 0:
        return "alert"
    oldest = status.oldest_unsent_seconds
    if oldest is not None and oldest > queue_stuck_after.total_seconds():
        return "queue_stuck"
    if (
        status.paper in WARNING_PAPER
        or not status.reader_present
        or status.card_on_reader
        or status.quarantined > 0
        or status.state == "stopped"
    ):
        return "warning"
    return "ok"


def _row(
    kiosk_id: str,
    channel: str,
    device_status: str,
    status: Reported | None,
    open_alerts: int,
    now: dt.datetime,
    queue_stuck_after: dt.timedelta,
) -> KioskRow:
    condition = condition_of(device_status, status, open_alerts, now, queue_stuck_after)
    return KioskRow(
        kiosk_id=kiosk_id, channel=channel, device_status=device_status, status=status,
        silent_for=silent_for(status, now), open_alerts=open_alerts, condition=condition,
        attention=CONDITIONS.index(condition),
    )  # fmt: skip


_STATUS_COLUMNS = tuple(KioskStatus.__table__.columns)
# By position, not by name: a row's mapping lookups were half of the fleet page's time.
_STATUS_NAMES = tuple(column.key for column in _STATUS_COLUMNS)
_STATUS_KEY = _STATUS_NAMES.index("kiosk_id")
# A kiosk's latest status as the console reads it: a plain tuple with KioskStatus's
# attribute names, in no session (an ORM copy of each of 5,000 rows took half the page).
StatusView = namedtuple("StatusView", _STATUS_NAMES)  # type: ignore[misc]
_KIOSKS = select(
    Device.kiosk_id.label("enrolled_kiosk_id"),
    Device.channel.label("enrolled_channel"),
    Device.status.label("device_status"),
    *_STATUS_COLUMNS,
).outerjoin(KioskStatus, KioskStatus.kiosk_id == Device.kiosk_id)


def _kiosk_rows(
    session: Session,
    query: Select[Any],
    now: dt.datetime,
    queue_stuck_after: dt.timedelta,
    counts: dict[str, int],
) -> list[KioskRow]:
    """``_KIOSKS`` rows as ``KioskRow``; each status a ``StatusView``, never in the
    session (templates read it after the session ends)."""
    rows = []
    for enrolled_id, channel, device_status, *values in session.execute(query):
        status: Any = None  # a StatusView (read-only attributes: no Protocol match)
        if values[_STATUS_KEY] is not None:  # the status's own key: None when never reported
            status = StatusView._make(values)
        rows.append(
            _row(enrolled_id, channel, device_status, status, counts.get(enrolled_id, 0), now,
                 queue_stuck_after)
        )  # fmt: skip
    return rows


def _open_alert_counts(session: Session, kiosk_id: str | None = None) -> dict[str, int]:
    query = (
        select(FleetAlert.kiosk_id, func.count())
        .where(FleetAlert.state.in_(UNRESOLVED))
        .group_by(FleetAlert.kiosk_id)
    )
    if kiosk_id is not None:
        query = query.where(FleetAlert.kiosk_id == kiosk_id)
    return {kiosk: count for kiosk, count in session.execute(query)}


def fleet(
    session: Session,
    now: dt.datetime,
    *,
    municipality: str | None = None,
    store: str | None = None,
    channel: str | None = None,
    condition: str | None = None,
    queue_stuck_after: dt.timedelta = QUEUE_STUCK_AFTER,
) -> list[KioskRow]:
    """Every enrolled kiosk (revoked ones too), most urgent first, then by kiosk id; the
    filters are exact (``store`` is the store id). Two queries, whatever the fleet's size."""
    query = _KIOSKS
    if municipality is not None:
        query = query.where(KioskStatus.municipality == municipality)
    if store is not None:
        query = query.where(KioskStatus.store_id == store)
    if channel is not None:
        query = query.where(Device.channel == channel)
    counts = _open_alert_counts(session)
    rows = _kiosk_rows(session, query, now, queue_stuck_after, counts)
    if condition is not None:
        rows = [row for row in rows if row.condition == condition]
    rows.sort(key=lambda row: (row.attention, row.kiosk_id))
    return rows


def kiosk_row(
    session: Session,
    kiosk_id: str,
    now: dt.datetime,
    *,
    queue_stuck_after: dt.timedelta = QUEUE_STUCK_AFTER,
) -> KioskRow | None:
    """One enrolled kiosk as ``fleet`` shows it, or None if there is no such kiosk."""
    counts = _open_alert_counts(session, kiosk_id)
    rows = _kiosk_rows(
        session, _KIOSKS.where(Device.kiosk_id == kiosk_id), now, queue_stuck_after, counts
    )
    return rows[0] if rows else None


def fleet_choices(session: Session) -> dict[str, list[str]]:
    """What the fleet page's filters offer: the municipalities and stores (ids) kiosks
    reported, and the channels kiosks are enrolled for."""

    def distinct(column: Any) -> list[str]:
        values = session.scalars(select(column).distinct().where(column.is_not(None)))
        return sorted(value for value in values if value)

    return {
        "municipalities": distinct(KioskStatus.municipality),
        "stores": distinct(KioskStatus.store_id),
        "channels": distinct(Device.channel),
    }


def history(session: Session, kiosk_id: str, since: dt.datetime) -> list[KioskStatusPoint]:
    """A kiosk's history points from ``since`` on, oldest first (detached)."""
    points = session.scalars(
        select(KioskStatusPoint)
        .where(KioskStatusPoint.kiosk_id == kiosk_id, KioskStatusPoint.bucket_start >= since)
        .order_by(KioskStatusPoint.bucket_start)
    ).all()
    for point in points:
        session.expunge(point)
    return list(points)


def alerts(
    session: Session,
    *,
    state: str | None = "open",
    kiosk_id: str | None = None,
    limit: int = 200,
) -> list[FleetAlert]:
    """Alerts, newest raised first (detached). ``state``: one of ``ALERT_STATES``,
    ``"unresolved"`` (open or acknowledged), or None for all."""
    query = select(FleetAlert).order_by(FleetAlert.raised_at.desc(), FleetAlert.id.desc())
    if state == "unresolved":
        query = query.where(FleetAlert.state.in_(UNRESOLVED))
    elif state is not None:
        if state not in ALERT_STATES:
            raise ValueError(f"state must be one of {', '.join(ALERT_STATES)} or unresolved")
        query = query.where(FleetAlert.state == state)
    if kiosk_id is not None:
        query = query.where(FleetAlert.kiosk_id == kiosk_id)
    found: Sequence[FleetAlert] = session.scalars(query.limit(limit)).all()
    for alert in found:
        session.expunge(alert)
    return list(found)


# --- what operators do with an alert ------------------------------------------------------


def _locked(session: Session, alert_id: int) -> FleetAlert:
    alert = session.get(FleetAlert, alert_id, with_for_update=True)
    if alert is None:
        raise Refused(R.ALERT_NOT_FOUND, f"no alert {alert_id}")
    return alert


def _already_handled(alert: FleetAlert) -> Refused:
    handler = alert.resolved_by or alert.acknowledged_by
    return Refused(R.ALERT_ALREADY_HANDLED, f"alert {alert.id} is {alert.state} by {handler}")


def _audit(
    session: Session, audit_key: bytes, alert: FleetAlert, by: str, now: dt.datetime, step: str
) -> None:
    audit.append(
        session, audit_key, at=now, kiosk_id=alert.kiosk_id, actor="operator",
        action=f"alert.{step}", subject=f"{alert.kind}:{alert.id} by {by}"[:128],
        outcome="accepted",
    )  # fmt: skip
    session.flush()


def acknowledge(
    session: Session, audit_key: bytes, alert_id: int, by: str, now: dt.datetime
) -> FleetAlert:
    """Somebody (``by``, the console user) is on it: open -> acknowledged. ``Refused``:
    no such alert (404), or it was acknowledged or resolved already (409)."""
    alert = _locked(session, alert_id)
    if alert.state != "open":
        raise _already_handled(alert)
    alert.state, alert.acknowledged_by, alert.acknowledged_at = "acknowledged", by[:100], now
    _audit(session, audit_key, alert, by, now, "acknowledge")
    return alert


def resolve(
    session: Session, audit_key: bytes, alert_id: int, by: str, now: dt.datetime
) -> FleetAlert:
    """Done: open or acknowledged -> resolved. ``Refused``: no such alert (404), or it was
    resolved already (409)."""
    alert = _locked(session, alert_id)
    if alert.state == "resolved":
        raise _already_handled(alert)
    alert.state, alert.resolved_by, alert.resolved_at = "resolved", by[:100], now
    _audit(session, audit_key, alert, by, now, "resolve")
    return alert
