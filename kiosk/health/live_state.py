"""What the kiosk app is doing now, in a small JSON file in the data directory: written by
the app (its runner) on every change and refreshed at least once per heartbeat interval;
read by kiosk-sync, which is another process, for its heartbeat.

Nothing about the citizen: whether somebody uses the kiosk (``in_use``), not who or how
far. A file missing, unreadable or not refreshed for ``SILENT_AFTER_INTERVALS`` intervals
means the app is not running: ``stopped``, paper ``unknown`` (old figures are never given
as current). The paper is what the printer last said: only the app talks to the printer.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

from kiosk.devices.printer import PaperOut, PrinterError, PrinterStatus, PrinterUnavailable
from kiosk.procedure.flow import TECHNICIAN_STEPS, Step
from mynapoint.atomic_files import replace_file
from mynapoint.dates import utc_now
from mynapoint.fleet import KIOSK_STATES, PAPER_STATES, SILENT_AFTER_INTERVALS, KioskState
from mynapoint.fleet import PaperState as PaperState

log = logging.getLogger(__name__)

Activity = Literal["idle", "in_use", "technician"]


def activity_of(step: Step) -> Activity:
    """The kiosk's state on ``step``: idle on the start screen, technician in technician
    mode, in use otherwise (a card left behind included: the kiosk is not free)."""
    if step == Step.WELCOME:
        return "idle"
    if step in TECHNICIAN_STEPS:
        return "technician"
    return "in_use"


@dataclass(frozen=True)
class LiveState:
    state: KioskState
    paper: PaperState
    reader_present: bool
    card_on_reader: bool
    updated_at: dt.datetime

    def to_json(self) -> bytes:
        return json.dumps({**asdict(self), "updated_at": self.updated_at.isoformat()}).encode()


def stopped(now: dt.datetime) -> LiveState:
    """The app is not running: nothing known of the printer or the reader."""
    return LiveState("stopped", "unknown", False, False, now)


def read_live_state(path: Path, *, interval_seconds: float, now: dt.datetime) -> LiveState:
    """The app's state as its file says, or ``stopped`` when the file is missing, unreadable
    or older than ``SILENT_AFTER_INTERVALS`` intervals."""
    try:
        data = json.loads(path.read_bytes())
        state = LiveState(
            state=data["state"],
            paper=data["paper"],
            reader_present=bool(data["reader_present"]),
            card_on_reader=bool(data["card_on_reader"]),
            updated_at=dt.datetime.fromisoformat(data["updated_at"]).astimezone(dt.UTC),
        )
    except FileNotFoundError:
        return stopped(now)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("the kiosk app's live state cannot be read (%s): taken as stopped", exc)
        return stopped(now)
    if state.state not in KIOSK_STATES or state.paper not in PAPER_STATES:
        return stopped(now)
    if now - state.updated_at > dt.timedelta(seconds=SILENT_AFTER_INTERVALS * interval_seconds):
        return stopped(now)
    return state


class LiveStateWriter:
    """The app's side: the current values, written whole (``replace_file``) when one
    changes, and again by ``refresh`` so that kiosk-sync sees the app still runs. A write
    that fails (a full disk) is logged; the kiosk goes on."""

    def __init__(self, path: Path, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()  # the runner's workers and the refresher both write
        self.current = LiveState("idle", "unknown", True, False, clock())

    def update(
        self,
        *,
        state: Activity | None = None,
        paper: PaperState | None = None,
        reader_present: bool | None = None,
        card_on_reader: bool | None = None,
    ) -> None:
        """Take the values given; write if any changed."""
        with self._lock:
            changes = {
                name: value
                for name, value in (
                    ("state", state),
                    ("paper", paper),
                    ("reader_present", reader_present),
                    ("card_on_reader", card_on_reader),
                )
                if value is not None and getattr(self.current, name) != value
            }
            if changes:
                self._write(replace(self.current, **changes))  # type: ignore[arg-type]

    def refresh(self) -> None:
        """Write the same values with a new time."""
        with self._lock:
            self._write(self.current)

    def _write(self, state: LiveState) -> None:
        self.current = replace(state, updated_at=self.clock())
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(self.path, self.current.to_json())
        except OSError as exc:
            log.error("the live state cannot be written (%s): kiosk-sync will say stopped", exc)


class Refresher:
    """Calls ``tend`` every ``every`` seconds on a thread of its own, until ``stop``: the
    app keeps its live state fresh, and looks at the printer now and then (``tend``
    decides), without holding up the screen."""

    def __init__(self, tend: Callable[[], None], every: float) -> None:
        self.tend = tend
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-state", daemon=True)

    def start(self) -> Refresher:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tend()
            except Exception:  # a printer or disk problem must not end the refresher
                log.exception("keeping the live state failed")
            self._stop.wait(self.every)


def paper_state(status: PrinterStatus | None, problem: PrinterError | None) -> PaperState:
    """The paper as a print or a status request left it: out (the printer said so),
    offline (it could not print or be reached), or what it said of its paper."""
    if isinstance(problem, PaperOut):
        return "out"
    if isinstance(problem, PrinterUnavailable):
        return "offline"
    if status is not None:
        return status.paper
    return "unknown"
