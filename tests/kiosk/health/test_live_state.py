"""The app's live state as kiosk-sync reads it, and the flow's card-left command (pure,
fast: no service, no devices)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from kiosk.devices.printer import PaperOut, PrinterOffline, PrinterStatus
from kiosk.health.live_state import (
    LiveStateWriter,
    activity_of,
    paper_state,
    read_live_state,
)
from kiosk.procedure import commands as do
from kiosk.procedure import events as ev
from kiosk.procedure.flow import Flow, Step
from tests.support.service_harness import FakeClock

INTERVAL = 60


def test_what_the_app_writes_is_what_kiosk_sync_reads(tmp_path: Path) -> None:
    clock = FakeClock(dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC))
    path = tmp_path / "live-state.json"
    writer = LiveStateWriter(path, clock=clock)
    writer.update(state="in_use", paper="near_end", card_on_reader=True)
    read = read_live_state(path, interval_seconds=INTERVAL, now=clock())
    assert (read.state, read.paper, read.reader_present, read.card_on_reader) == (
        "in_use", "near_end", True, True,
    )  # fmt: skip
    # Nothing about the citizen has a place in it.
    fields = {"state", "paper", "reader_present", "card_on_reader", "updated_at"}
    assert set(json.loads(path.read_text())) == fields


def test_a_live_state_not_refreshed_for_three_intervals_is_stopped_not_old_news(
    tmp_path: Path,
) -> None:
    clock = FakeClock(dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC))
    path = tmp_path / "live-state.json"
    writer = LiveStateWriter(path, clock=clock)
    writer.update(state="in_use", paper="ok")
    clock.advance(seconds=3 * INTERVAL - 1)
    assert read_live_state(path, interval_seconds=INTERVAL, now=clock()).state == "in_use"
    clock.advance(seconds=2)
    stale = read_live_state(path, interval_seconds=INTERVAL, now=clock())
    assert (stale.state, stale.paper, stale.card_on_reader) == ("stopped", "unknown", False)
    writer.refresh()  # the app runs again: no change, but fresh
    assert read_live_state(path, interval_seconds=INTERVAL, now=clock()).state == "in_use"


@pytest.mark.parametrize("content", [None, b"", b"{not json", b'{"state": "dancing"}'])
def test_a_missing_or_broken_live_state_is_stopped(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "live-state.json"
    if content is not None:
        path.write_bytes(content)
    now = dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC)
    assert read_live_state(path, interval_seconds=INTERVAL, now=now).state == "stopped"


def test_the_kiosk_is_idle_only_on_the_start_screen() -> None:
    assert activity_of(Step.WELCOME) == "idle"
    assert activity_of(Step.TECHNICIAN) == activity_of(Step.TECHNICIAN_PIN) == "technician"
    assert {activity_of(step) for step in (Step.PIN, Step.SLIP, Step.CARD_LEFT)} == {"in_use"}


def test_the_paper_is_what_the_printer_last_said() -> None:
    out = PrinterStatus(True, "out", "paper out")
    assert paper_state(out, PaperOut("no paper", out)) == "out"
    assert paper_state(None, PrinterOffline("cover open")) == "offline"
    assert paper_state(PrinterStatus(True, "near_end", "near end"), None) == "near_end"
    assert paper_state(None, None) == "unknown"


@pytest.mark.parametrize("channel", ["convenience_store", "city_hall"])
def test_a_card_left_behind_is_reported_on_both_channels(channel: str) -> None:
    flow = Flow(channel=channel, catalog=None)  # type: ignore[arg-type]
    flow.handle(ev.Start())
    flow.handle(ev.Agree())
    flow.handle(ev.ForWhom("self"))
    assert do.ReadCard() in flow.handle(ev.CardPlaced())
    flow.handle(ev.CardFailed("card.unknown", "not a My Number Card"))
    assert flow.handle(ev.Quit()) == [do.WatchForRemoval()] and flow.step == Step.TAKE_CARD
    commands = flow.handle(ev.CardLeftTooLong())
    assert commands == [do.ReportCardLeft(call_staff=channel == "city_hall")]
    assert flow.view.step == Step.CARD_LEFT
