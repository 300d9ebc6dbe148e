"""The server-drawn SVG charts: valid SVG, labelled for screen readers, axes in JST."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from grant_service.console import charts

SVG = "{http://www.w3.org/2000/svg}"
START = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)  # 2026-12-02 00:00 JST
END = START + dt.timedelta(hours=24)


def svg_root(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (the SVG is ours, drawn just now)


def test_nice_ceilings() -> None:
    assert [charts.nice_ceiling(v) for v in (0, 1, 3, 12, 180, 40_000_000)] == [
        1, 1, 5, 20, 200, 50_000_000,
    ]  # fmt: skip


def test_a_time_series_is_labelled_svg_with_ticks_in_jst() -> None:
    points = [(START + dt.timedelta(hours=h), float(h)) for h in range(0, 24, 6)]
    svg = charts.time_series(
        points, start=START, end=END, title="Queue <depth> & lag", reference=("Cap", 30.0)
    )
    root = svg_root(str(svg))  # well-formed, and the title is escaped
    assert root.get("role") == "img" and root.get("aria-label") == "Queue <depth> & lag"
    assert root.find(f"{SVG}title").text == "Queue <depth> & lag"  # type: ignore[union-attr]
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert {"00:00", "06:00", "12:00", "18:00"} <= set(labels)  # JST, not UTC
    assert {"0", "25", "50", "Cap"} <= set(labels)  # value axis up to a nice 50, the cap
    (line,) = root.iter(f"{SVG}polyline")
    assert len(line.get("points", "").split()) == 2 * len(points) - 1  # steps


def test_a_week_is_labelled_by_day_and_marks_are_bars() -> None:
    end = START + dt.timedelta(days=7)
    moments = [START + dt.timedelta(days=1), START + dt.timedelta(days=3)]
    root = svg_root(str(charts.marks(moments, start=START, end=end, title="Paper")))
    assert "12-02" in [t.text for t in root.iter(f"{SVG}text")]
    bars = [ln for ln in root.iter(f"{SVG}line") if ln.get("stroke-width") == "2"]
    assert len(bars) == 2


def test_an_empty_series_still_draws_its_axes() -> None:
    root = svg_root(str(charts.time_series([], start=START, end=END, title="None")))
    assert list(root.iter(f"{SVG}polyline")) == [] and list(root.iter(f"{SVG}text"))
