"""What ``kiosk-provision check`` makes of systemd's word on a unit. The words are
``systemctl show`` output as systemd 252 prints it; tests/systemd/ gets them from a real
systemd (a crash loop, a kiosk with no screen)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from provisioning.unit_state import read_unit_states, unit_verdict

LIMITS = "Restart=always\nStartLimitBurst=5\nStartLimitIntervalUSec=2min\nUnitFileState=enabled"


def shown(**values: str) -> str:
    fields = {"LoadState": "loaded", "Result": "success", "NRestarts": "0", **values}
    return "\n".join(f"{key}={value}" for key, value in fields.items()) + "\n" + LIMITS


@pytest.mark.parametrize(
    ("show", "verdict"),
    [
        (shown(ActiveState="active", SubState="running"), ("ok", "active (running)")),
        (
            shown(ActiveState="active", SubState="running", NRestarts="2"),
            ("warn", "running, but restarted 2 times (a crash or its watchdog)"),
        ),
        (
            # A unit that restarts always is failed only when the start limit refused it.
            shown(ActiveState="failed", SubState="failed", Result="exit-code", NRestarts="5"),
            (
                "FAIL",
                "systemd stopped restarting it: it failed again and again "
                "(5 starts in 2min) and stays down",
            ),
        ),
        (
            shown(ActiveState="failed", SubState="failed", Result="start-limit-hit"),
            (
                "FAIL",
                "systemd stopped restarting it: it failed again and again "
                "(5 starts in 2min) and stays down",
            ),
        ),
        (
            shown(
                ActiveState="activating", SubState="auto-restart", Result="signal", NRestarts="1"
            ),
            ("FAIL", "down: restarting after a failure (signal; restart 1)"),
        ),
        (shown(ActiveState="inactive", SubState="dead"), ("warn", "enabled, not running")),
        (shown(LoadState="not-found", ActiveState="inactive"), ("warn", "not installed")),
    ],
    ids=["running", "restarted", "given-up", "refused-by-hand", "restarting", "stopped", "missing"],
)
def test_each_state_gets_its_verdict(show: str, verdict: tuple[str, str]) -> None:
    (state,) = read_unit_states(["kiosk-sync.service"], lambda _units: show)
    got = unit_verdict(state)
    assert (got.result, got.detail) == verdict
    if got.result == "FAIL":
        assert "journalctl -u kiosk-sync.service -b" in got.next_step


def test_units_are_read_in_the_order_asked() -> None:
    def show(units: Sequence[str]) -> str:
        assert list(units) == ["kiosk.service", "kiosk-sync.service"]
        return shown(ActiveState="failed", NRestarts="5") + "\n\n" + shown(ActiveState="active")

    kiosk, sync = read_unit_states(["kiosk.service", "kiosk-sync.service"], show)
    assert (kiosk.name, kiosk.given_up) == ("kiosk.service", True)
    assert (sync.name, sync.given_up) == ("kiosk-sync.service", False)
