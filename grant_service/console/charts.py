"""Small SVG charts drawn on the server: a value over time, and marks at moments.

Plain SVG in the page (no script, no library, no inline style: the console's CSP allows
neither), with a ``<title>``, ``role="img"`` and an ``aria-label`` saying what it shows,
axes with tick labels in JST. Works in any browser, offline.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from mynapoint.dates import JST

LINE = "#0b57d0"  # 6.4:1 on white
REFERENCE = "#a1261b"  # a reference line (the cap): 7.0:1 on white
AXIS = "#595959"  # 7.0:1 on white
TEXT = "#1a1a1a"
FONT = 'font-family="sans-serif" font-size="11"'
_LEFT, _RIGHT, _TOP, _BOTTOM = 78, 22, 10, 22  # room for "40,000,000" and the last time


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 1 or value == 0 else f"{value:.2f}"


def _time_ticks(start: dt.datetime, end: dt.datetime, count: int = 5) -> list[dt.datetime]:
    span = (end - start) / (count - 1)
    return [start + span * i for i in range(count)]


def _tick_label(moment: dt.datetime, span: dt.timedelta) -> str:
    local = moment.astimezone(JST)
    return local.strftime("%H:%M") if span <= dt.timedelta(days=2) else local.strftime("%m-%d")


class _Frame:
    """The plotting area of one chart: maps times and values to pixels."""

    def __init__(
        self, start: dt.datetime, end: dt.datetime, top: float, width: int, height: int
    ) -> None:
        self.start, self.end, self.top = start, end, top
        self.width, self.height = width, height
        self.plot_w = width - _LEFT - _RIGHT
        self.plot_h = height - _TOP - _BOTTOM

    def x(self, moment: dt.datetime) -> float:
        whole = (self.end - self.start).total_seconds() or 1.0
        share = (moment - self.start).total_seconds() / whole
        return round(_LEFT + self.plot_w * min(max(share, 0.0), 1.0), 1)

    def y(self, value: float) -> float:
        share = min(max(value / self.top, 0.0), 1.0) if self.top else 0.0
        return round(_TOP + self.plot_h * (1 - share), 1)

    def time_axis(self) -> list[str]:
        base = _TOP + self.plot_h
        parts = [f'<line x1="{_LEFT}" y1="{base}" x2="{self.width - _RIGHT}" y2="{base}" '
                 f'stroke="{AXIS}"/>']  # fmt: skip
        for tick in _time_ticks(self.start, self.end):
            x = self.x(tick)
            label = _tick_label(tick, self.end - self.start)
            parts.append(f'<line x1="{x}" y1="{base}" x2="{x}" y2="{base + 4}" stroke="{AXIS}"/>')
            parts.append(
                f'<text x="{x}" y="{base + 16}" text-anchor="middle" fill="{TEXT}" {FONT}>'
                f"{label}</text>"
            )
        return parts

    def value_axis(self) -> list[str]:
        parts = [f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + self.plot_h}" '
                 f'stroke="{AXIS}"/>']  # fmt: skip
        for value in (0.0, self.top / 2, self.top):
            y = self.y(value)
            parts.append(f'<line x1="{_LEFT - 4}" y1="{y}" x2="{_LEFT}" y2="{y}" stroke="{AXIS}"/>')
            parts.append(
                f'<text x="{_LEFT - 6}" y="{y + 4}" text-anchor="end" fill="{TEXT}" {FONT}>'
                f"{_number(value)}</text>"
            )
        return parts


def _svg(title: str, width: int, height: int, parts: list[str]) -> Markup:
    label = escape(title)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{label}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"<title>{label}</title>{''.join(parts)}</svg>"
    )
    return Markup(svg)  # noqa: S704 (the only caller text in it, titles and names, is escaped)


def time_series(
    points: Sequence[tuple[dt.datetime, float]],
    *,
    start: dt.datetime,
    end: dt.datetime,
    title: str,
    reference: tuple[str, float] | None = None,
    step: bool = True,
    width: int = 480,
    height: int = 160,
) -> Markup:
    """A value over [start, end] (oldest point first): a step line (a value holds until
    the next point) or a straight one, and an optional labelled reference line (a cap)."""
    highest = max([v for _, v in points] + [reference[1] if reference else 0.0])
    frame = _Frame(start, end, nice_ceiling(highest), width, height)
    parts = frame.value_axis() + frame.time_axis()
    if points:
        coords: list[str] = []
        for moment, value in points:
            x, y = frame.x(moment), frame.y(value)
            if step and coords:
                coords.append(f"{x},{coords[-1].split(',')[1]}")
            coords.append(f"{x},{y}")
        parts.append(
            f'<polyline points="{" ".join(coords)}" fill="none" stroke="{LINE}" stroke-width="2"/>'
        )
    if reference is not None:
        name, value = reference
        y = frame.y(value)
        parts.append(
            f'<line x1="{_LEFT}" y1="{y}" x2="{width - _RIGHT}" y2="{y}" stroke="{REFERENCE}" '
            f'stroke-dasharray="6 3"/>'
            f'<text x="{width - _RIGHT}" y="{y + 13}" text-anchor="end" fill="{REFERENCE}" '
            f"{FONT}>{escape(name)}</text>"
        )
    return _svg(title, width, height, parts)


def marks(
    moments: Sequence[dt.datetime],
    *,
    start: dt.datetime,
    end: dt.datetime,
    title: str,
    width: int = 480,
    height: int = 48,
) -> Markup:
    """Events at moments in [start, end]: a short bar at each, on a time axis."""
    frame = _Frame(start, end, 1.0, width, height)
    parts = frame.time_axis()
    bottom = _TOP + frame.plot_h
    for moment in moments:
        x = frame.x(moment)
        parts.append(
            f'<line x1="{x}" y1="{_TOP}" x2="{x}" y2="{bottom}" stroke="{REFERENCE}" '
            f'stroke-width="2"/>'
        )
    return _svg(title, width, height, parts)
