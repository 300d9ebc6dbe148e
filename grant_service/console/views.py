"""What the console's templates show, worked out in Python: labels, times, spans and the
charts of a kiosk and of the programme (templates only lay them out)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from markupsafe import Markup

from grant_service.console import charts, messages
from grant_service.fleet import KioskRow
from grant_service.models import KioskStatusPoint
from mynapoint.dates import JST

jst = messages.jst
duration = messages.duration
alert_label = messages.alert_label
# Paper states a kiosk's chart marks: slips could not, or soon cannot, be printed.
PAPER_EVENTS = frozenset({"out", "near_end", "offline"})


def label(prefix: str, value: str, language: str) -> str:
    """The word for ``prefix + value`` (``condition_silent``), or the value itself when the
    console has no word for it (a newer kiosk's state)."""
    key = prefix + value
    return messages.translator(language)(key) if key in messages.TEXTS else value


def last_seen(row: KioskRow, now: dt.datetime, language: str) -> str:
    received = row.status.received_at if row.status else None
    return messages.last_seen(received, row.silent_for, now, language)


def silent_minutes(row: KioskRow) -> int:
    return messages.minutes(row.silent_for) if row.silent_for else 0


def megabytes(count: int) -> str:
    return f"{count / 1_000_000:,.0f} MB"


def kiosk_charts(
    points: Sequence[KioskStatusPoint], now: dt.datetime, language: str
) -> list[dict[str, object]]:
    """A kiosk's charts for the last 24 hours and the last 7 days: queue depth, sync lag
    (the oldest unsent item's age) and paper events as marks."""
    t = messages.translator(language)
    out: list[dict[str, object]] = []
    for heading, span in (("last_24h", dt.timedelta(hours=24)), ("last_7d", dt.timedelta(days=7))):
        start = now - span
        shown = [p for p in points if p.bucket_start >= start]
        title = t(heading)
        out.append(
            {
                "heading": title,
                "empty": not shown,
                "queue": charts.time_series(
                    [(p.bucket_start, p.queue_depth) for p in shown], start=start, end=now,
                    title=f"{t('chart_queue')} ({title})",
                ),
                "lag": charts.time_series(
                    [(p.bucket_start, p.oldest_unsent_seconds or 0) for p in shown],
                    start=start, end=now, title=f"{t('chart_lag')} ({title})",
                ),
                "paper": charts.marks(
                    [p.bucket_start for p in shown if p.paper in PAPER_EVENTS], start=start,
                    end=now, title=f"{t('chart_paper')} ({title})",
                ),
            }
        )  # fmt: skip
    return out


def reservations_chart(
    days: Sequence[tuple[dt.date, int]], cap: int, now: dt.datetime, language: str
) -> Markup:
    """MyKey IDs issued, cumulative by JST day (a step at each day's end), against the cap."""
    t = messages.translator(language)
    end = now
    start = dt.datetime.combine(days[0][0], dt.time(), JST) if days else now - dt.timedelta(days=30)
    start = min(start, now - dt.timedelta(days=1))
    points = [(dt.datetime.combine(day, dt.time(), JST), float(total)) for day, total in days]
    return charts.time_series(
        points, start=start, end=end, title=t("chart_reservations"),
        reference=(t("cap"), float(cap)), width=640, height=220,
    )  # fmt: skip


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}" if whole else "100.00"
