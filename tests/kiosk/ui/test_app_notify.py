"""The touchscreen app reports to systemd (``kiosk.ui.app`` through ``mynapoint/sd_notify.py``):
``READY=1`` once it is up, ``WATCHDOG=1`` from Kivy's main loop only (a frozen loop goes
silent, which is what lets systemd restart a frozen kiosk), and ``STOPPING=1`` on stop.
A real ``AF_UNIX`` datagram socket stands where systemd's notify socket would be."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.devices.sim.loopback import VirtualReader
from kiosk.shell.assembly import assembled
from mynapoint import sd_notify
from provisioning import units
from tests.support import unit_sandbox
from tests.support.flow_harness import issue_rig_card
from tests.support.kiosk_harness import BIN, KioskRig
from tests.support.unit_sandbox import UnitSandbox

pytest_plugins = ["tests.support.kivy_fixtures"]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# Kivy is imported inside the tests (kiosk.ui.app_driver): the plugin sets Kivy's
# environment first.

WATCHDOG_USEC = 200_000  # systemd's WatchdogSec=0.2: a ping every 0.1 s


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """What systemd listens on, named in the environment as systemd names it."""
    path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    yield listener
    listener.close()


def received(listener: socket.socket) -> list[str]:
    """The messages that have arrived, without waiting."""
    messages = []
    listener.setblocking(False)
    while True:
        try:
            messages.append(listener.recv(4096).decode())
        except BlockingIOError:
            return messages


def next_message(listener: socket.socket, timeout: float = 20) -> str:
    listener.settimeout(timeout)
    return listener.recv(4096).decode()


def pings(messages: list[str]) -> list[str]:
    return [m for m in messages if m.startswith("WATCHDOG=1\n")]


def test_the_app_is_ready_pings_while_its_loop_runs_and_goes_silent_when_it_hangs(
    rig: KioskRig, tmp_path: Path, notify_socket: socket.socket
) -> None:
    from kiosk.ui.app_driver import KioskDriver

    reader = VirtualReader(issue_rig_card(tmp_path, "citizen"))
    reader.remove()
    with assembled(rig.settings, reader=reader) as kiosk:
        driver = KioskDriver(kiosk)  # builds, starts and runs a few frames
        try:
            assert next_message(notify_socket) == "READY=1\nSTATUS=showing welcome"

            driver.run_for(1.0)
            beats = pings(received(notify_socket))
            assert len(beats) >= 5, beats  # about 10 in a second
            assert set(beats) == {"WATCHDOG=1\nSTATUS=showing welcome"}

            # The loop hangs (no frame runs) for three watchdog periods: not a word.
            received(notify_socket)
            time.sleep(3 * WATCHDOG_USEC / 1e6)
            assert received(notify_socket) == []

            # It runs again: the pings come back, and say where the citizen is.
            driver.tap("はじめる")
            driver.run_for(0.5)
            assert "WATCHDOG=1\nSTATUS=showing consent" in pings(received(notify_socket))
        finally:
            driver.close()
    after_close = received(notify_socket)
    assert after_close[-1] == "STOPPING=1\nSTATUS=stopping"
    time.sleep(3 * WATCHDOG_USEC / 1e6)  # the stopped app pings no more
    assert received(notify_socket) == []


def test_kiosk_run_reports_to_systemd_and_stops_on_sigterm(
    rig: KioskRig, tmp_path: Path, notify_socket: socket.socket
) -> None:
    """``kiosk run`` as systemd starts it (``App.run()``, SDL's offscreen video standing in
    for cage; kiosk.service's system call filter and address families when this machine
    can apply them), and stopped as systemd stops it, with SIGTERM."""
    env = {**os.environ, **rig.env, "KIVY_HOME": str(tmp_path / "kivy")}
    # The harness keeps SDL's hands off SIGTERM in the test process; a kiosk relies on it.
    env.pop("SDL_NO_SIGNAL_HANDLERS", None)
    sandbox = None if unit_sandbox.unavailable() else UnitSandbox(units.template("kiosk"))
    log = (tmp_path / "kiosk.log").open("w+")
    app = subprocess.Popen(
        [str(BIN / "kiosk"), "run"], preexec_fn=sandbox, stdout=log, stderr=subprocess.STDOUT,
        env=env,
    )  # fmt: skip
    try:
        try:
            assert next_message(notify_socket, 60) == "READY=1\nSTATUS=showing welcome"
            assert next_message(notify_socket) == "WATCHDOG=1\nSTATUS=showing welcome"
        except TimeoutError:
            log.seek(0)
            pytest.fail(f"no word from kiosk run: {log.read()[-3000:]}")
        app.send_signal(signal.SIGTERM)
        assert app.wait(30) == 0
        assert received(notify_socket)[-1] == "STOPPING=1\nSTATUS=stopping"
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        log.close()


def test_the_ping_interval_is_half_of_systemds_watchdog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    assert sd_notify.ping_interval() is None  # not run by systemd: no pings
    assert sd_notify.notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "@mynapoint-test-nobody-listens")
    assert sd_notify.ping_interval() == 15.0  # WatchdogSec=30
    assert sd_notify.notify("READY=1") is False  # nobody listening: no error either
    monkeypatch.delenv("WATCHDOG_USEC")
    assert sd_notify.ping_interval() == sd_notify.DEFAULT_PING_SECONDS
