"""What systemd says of the kiosk's units, and what ``kiosk-provision check`` makes of it:
running, restarting after a crash, or given up on (the start limit), with the next step.

    states = read_unit_states(["kiosk.service", "kiosk-sync.service"])
    rows = [unit_verdict(state) for state in states]

Read with ``systemctl show`` (no root needed). Off systemd (a development machine, a
container without it) there is nothing to read, and the check says so.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PROPERTIES = (
    "Id", "LoadState", "ActiveState", "SubState", "Result", "NRestarts", "UnitFileState",
    "Restart", "StartLimitBurst", "StartLimitIntervalUSec",
)  # fmt: skip

Show = Callable[[Sequence[str]], str]  # unit names -> `systemctl show` output


@dataclass(frozen=True)
class UnitState:
    name: str
    load: str  # loaded, not-found
    active: str  # active, activating, failed, inactive...
    sub: str  # running, auto-restart, dead...
    result: str  # success, exit-code, signal, watchdog, start-limit-hit...
    restarts: int  # automatic restarts since the unit was last started by hand or at boot
    file_state: str  # enabled, disabled...
    restart: str  # the Restart= policy: always, on-failure, no...
    start_limit_burst: int
    start_limit_interval: str  # "2min"

    @property
    def given_up(self) -> bool:
        """Failed and not to be restarted: the start limit refused the next start. systemd
        252 says so in the journal only ("Start request repeated too quickly"); the unit
        keeps the result of its last failure (start-limit-hit only when a start by hand is
        refused). A unit that restarts on failure is failed only so."""
        if self.result == "start-limit-hit":
            return True
        restarts = self.restart in ("always", "on-failure", "on-abnormal", "on-abort")
        return self.active == "failed" and restarts and self.restarts + 1 >= self.start_limit_burst


def systemd_running() -> bool:
    """sd_booted() (systemd, as PID 1, makes this directory), and systemctl to ask it."""
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def systemctl_show(units: Sequence[str]) -> str:
    return subprocess.run(
        ["systemctl", "show", "--no-pager", f"--property={','.join(PROPERTIES)}", *units],
        capture_output=True, text=True, timeout=20, check=True,
    ).stdout  # fmt: skip


def read_unit_states(units: Sequence[str], show: Show = systemctl_show) -> list[UnitState]:
    """The units' states, in the order asked (``systemctl show`` separates units by a
    blank line)."""
    blocks = [block for block in show(units).strip().split("\n\n") if block.strip()]
    states = []
    for name, block in zip(units, blocks, strict=True):
        values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        states.append(
            UnitState(
                name=name,
                load=values.get("LoadState", ""),
                active=values.get("ActiveState", ""),
                sub=values.get("SubState", ""),
                result=values.get("Result", ""),
                restarts=int(values.get("NRestarts") or 0),
                file_state=values.get("UnitFileState", ""),
                restart=values.get("Restart", ""),
                start_limit_burst=int(values.get("StartLimitBurst") or 0),
                start_limit_interval=values.get("StartLimitIntervalUSec", ""),
            )
        )
    return states


@dataclass(frozen=True)
class Verdict:
    result: Literal["ok", "warn", "FAIL"]  # as provisioning.checks.Check
    detail: str
    next_step: str = ""


def unit_verdict(state: UnitState) -> Verdict:
    unit = state.name
    why = f"journalctl -u {unit} -b -n 50 says why"
    if state.load == "not-found":
        return Verdict("warn", "not installed", "kiosk-provision install-units")
    if state.active == "active":
        if state.restarts:
            return Verdict(
                "warn",
                f"running, but restarted {state.restarts} times (a crash or its watchdog)",
                why,
            )
        return Verdict("ok", f"active ({state.sub})")
    again = f"once fixed: systemctl reset-failed {unit} && systemctl start {unit}"
    if state.given_up:
        detail = (
            "systemd stopped restarting it: it failed again and again "
            f"({state.start_limit_burst} starts in {state.start_limit_interval}) and stays down"
        )
        return Verdict("FAIL", detail, f"{why}; {again}")
    if state.active == "failed":
        return Verdict("FAIL", f"failed ({state.result})", f"{why}; {again}")
    if state.active == "activating" and state.sub == "auto-restart":
        return Verdict(
            "FAIL",
            f"down: restarting after a failure ({state.result}; restart {state.restarts})",
            why,
        )
    if state.active in ("activating", "reloading", "deactivating"):
        return Verdict("warn", f"{state.active} ({state.sub})", f"systemctl status {unit}")
    if state.file_state == "enabled":
        return Verdict("warn", "enabled, not running", f"systemctl start {unit}")
    return Verdict("warn", f"not running ({state.file_state or 'not enabled'})",
                   f"systemctl enable --now {unit}")  # fmt: skip
