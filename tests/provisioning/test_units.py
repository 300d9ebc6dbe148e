"""The systemd units (``systemd/`` = ``provisioning/systemd/``) and their installer
(``provisioning/units.py``): every unit as installed passes ``systemd-analyze verify``, the
daemons' sandboxes score at most 3.0 in ``systemd-analyze security``, the Python daemons
run under their units' seccomp rules (system calls, address families, no writable and
executable memory), and the installer writes units, directories and symlinks into a
temporary root without touching this machine."""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from provisioning import units
from tests.support import unit_sandbox
from tests.support.kiosk_harness import BIN, KioskRig, free_port
from tests.support.paths import REPO
from tests.support.unit_sandbox import UnitSandbox

VENV = Path(sys.prefix)  # this checkout's virtualenv: its programs exist, as ExecStart needs
ALL_UNITS = ("kiosk", "kiosk-sync", "grant-service", "grant-service-audit-checkpoint",
             "grant-service-crl-import", "grant-service-points-expiry")  # fmt: skip
# A oneshot and the .timer that starts it.
TIMERS = ("grant-service-audit-checkpoint", "grant-service-crl-import",
          "grant-service-points-expiry")  # fmt: skip
# The daemons' exposure ceiling (0 is locked down, 10 is wide open); the kiosk's sandbox
# has to let in the GPU, the VT and the devices: reported, not limited.
EXPOSURE_LIMIT = {
    "kiosk-sync": 3.0,
    "grant-service": 3.0,
    "grant-service-audit-checkpoint": 3.0,
    "grant-service-crl-import": 3.0,
    "grant-service-points-expiry": 3.0,
    "kiosk": None,
}

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (scripts/bootstrap installs systemd)",
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All the units installed for this checkout's virtualenv under a temporary root;
    returns the root."""
    root = tmp_path_factory.mktemp("root")
    units.install_units(
        prefix=VENV, which=ALL_UNITS, root=root, create_user=False, run_systemctl=False
    )
    return root


def unit_path(root: Path, name: str, kind: str = "service") -> Path:
    return root / "etc/systemd/system" / f"{name}.{kind}"


def unit_files(name: str) -> list[str]:
    """The files a unit is installed as: NAME.service, and NAME.timer for a timed one."""
    return [f"{name}.service", *([f"{name}.timer"] if name in TIMERS else [])]


# --- systemd's own checks -----------------------------------------------------------------


@needs_systemd_analyze
@pytest.mark.parametrize("name", ALL_UNITS)
def test_the_unit_passes_systemd_analyze_verify(installed: Path, name: str) -> None:
    if name == "kiosk" and shutil.which("cage") is None:
        pytest.fail("cage is not installed (scripts/bootstrap installs it): verify needs it")
    paths = [str(installed / "etc/systemd/system" / file) for file in unit_files(name)]
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "--generators=no", *paths],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Warnings (an unknown key, a missing program) leave the status 0: read them too. Lines
    # about other units of this machine are not this unit's business.
    ours = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if any(file in line for file in unit_files(name))
    ]
    assert result.returncode == 0 and ours == [], result.stdout + result.stderr


def exposure(path: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=30", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    return float(found.group(1)), result


@needs_systemd_analyze
@pytest.mark.parametrize("name", ALL_UNITS)
def test_the_sandbox_scores_well_in_systemd_analyze_security(
    installed: Path, name: str, request: pytest.FixtureRequest
) -> None:
    score, result = exposure(unit_path(installed, name))
    request.node.user_properties.append(("exposure", score))
    print(f"{name}.service: exposure {score}")  # shown with -s or -rA
    limit = EXPOSURE_LIMIT[name]
    if limit is not None:
        assert score <= limit, result.stdout
        assert result.returncode == 0, result.stdout  # --threshold=30 agrees


# --- the daemons in their sandbox, tried for real -----------------------------------------
# No systemd runs here as PID 1 to start the units: the rules most likely to break a Python
# program (system calls, address families, write-xor-execute memory) are applied by hand
# (tests/support/unit_sandbox.py). The app's own run is in tests/kiosk/ui/test_app_notify.py.


@pytest.fixture(scope="module")
def sandboxes() -> dict[str, UnitSandbox]:
    if reason := unit_sandbox.unavailable():
        pytest.skip(reason)
    daemons = ("kiosk-sync", "grant-service", "grant-service-audit-checkpoint")
    return {name: UnitSandbox(units.template(name)) for name in daemons}


# Memory both writable and executable is refused; netlink is not among kiosk-sync's address
# families; setpriority() is in @resources (anyone may set the nice value they already
# have: only the filter refuses it).
REFUSALS = """
import mmap, os, socket
from tests.support.paths import REPO
for name, attempt in [
    ("write+execute", lambda: mmap.mmap(-1, 4096, prot=7)),
    ("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)),
    ("setpriority", lambda: os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0))),
]:
    try:
        attempt()
        print(name + ": allowed")
    except PermissionError:
        print(name + ": refused")
"""


def test_the_sandbox_is_what_the_units_say(sandboxes: dict[str, UnitSandbox]) -> None:
    sync = sandboxes["kiosk-sync"]
    assert sync.deny_write_execute and sandboxes["grant-service"].deny_write_execute
    assert sync.errno == errno.EPERM
    assert "read" in sync.syscalls and "mount" not in sync.syscalls  # @privileged is out
    assert "setrlimit" not in sync.syscalls  # @resources is out
    assert sorted(sync.families) == sorted([socket.AF_UNIX, socket.AF_INET, socket.AF_INET6])
    probe = subprocess.run(
        [sys.executable, "-c", REFUSALS],
        preexec_fn=sync,
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.stdout.split() == [
        "write+execute:",
        "refused",
        "netlink:",
        "refused",
        "setpriority:",
        "refused",
    ], probe


def test_kiosk_sync_runs_in_its_units_sandbox(
    sandboxes: dict[str, UnitSandbox], kiosk_rig: KioskRig
) -> None:
    kiosk_rig.queue(2)  # HTTP, SQLite, the queue's cipher, the device's signature
    result = subprocess.run(
        [str(BIN / "kiosk-sync"), "--once"],
        preexec_fn=sandboxes["kiosk-sync"],
        env={**os.environ, **kiosk_rig.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "sent 2: 2 accepted" in result.stdout


def test_grant_service_serves_in_its_units_sandbox(
    sandboxes: dict[str, UnitSandbox], tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, "GRANT_SERVICE_DATA_DIR": str(tmp_path / "grant")}
    log = (tmp_path / "serve.log").open("w+")
    service = subprocess.Popen(
        [str(BIN / "grant-service"), "serve", "--port", str(port), "--workers", "2"],
        preexec_fn=sandboxes["grant-service"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if service.poll() is not None:
                log.seek(0)
                pytest.fail(f"the service exited: {log.read()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.1)
        # uvicorn's workers (processes it spawned, in the same sandbox) keep answering.
        for _ in range(10):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        service.terminate()
        service.wait(30)
        log.close()
    log_text = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log_text, log_text


def test_the_audit_checkpoint_runs_in_its_units_sandbox(
    sandboxes: dict[str, UnitSandbox], tmp_path: Path
) -> None:
    env = {**os.environ, "GRANT_SERVICE_DATA_DIR": str(tmp_path / "grant")}
    checkpoints = tmp_path / "audit-checkpoints"
    checkpoints.mkdir()
    sandbox = sandboxes["grant-service-audit-checkpoint"]
    for args in (["migrate"], ["audit-checkpoint", str(checkpoints)]):
        result = subprocess.run(
            [str(BIN / "grant-service"), *args],
            preexec_fn=sandbox,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    (checkpoint,) = checkpoints.iterdir()
    result = subprocess.run(
        [str(BIN / "grant-service"), "audit-verify", "--checkpoint", str(checkpoint)],
        preexec_fn=sandbox,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "Audit trail intact" in result.stdout, result.stderr


# --- the installer ------------------------------------------------------------------------


def test_the_units_at_the_repository_root_are_the_packaged_ones() -> None:
    for name in ALL_UNITS:
        for file in unit_files(name):
            assert (REPO / "systemd" / file).read_text() == units.template(file)


def test_installing_writes_the_units_for_the_virtualenv_and_the_directories(
    tmp_path: Path,
) -> None:
    prefix = Path("/srv/kiosk/venv")
    lines = units.install_units(
        prefix=prefix, which=ALL_UNITS, root=tmp_path, create_user=False, run_systemctl=False
    )
    for name in ALL_UNITS:
        path = unit_path(tmp_path, name)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        text = path.read_text()
        assert str(units.DEFAULT_PREFIX) not in text
        assert f"{prefix}/bin/" in re.search(r"^ExecStart=(.*)$", text, re.MULTILINE)[1]  # type: ignore[index]
    for name in TIMERS:
        assert stat.S_IMODE(unit_path(tmp_path, name, "timer").stat().st_mode) == 0o644
    kiosk = unit_path(tmp_path, "kiosk").read_text()
    assert f"ExecStart=/usr/bin/cage -- {prefix}/bin/kiosk run\n" in kiosk
    for directory, mode in [
        ("var/lib/mynapoint-kiosk", 0o700),
        ("etc/mynapoint-kiosk", 0o750),
        ("var/lib/mynapoint-grant", 0o700),
        ("etc/mynapoint-grant", 0o750),
    ]:
        assert stat.S_IMODE((tmp_path / directory).stat().st_mode) == mode, directory
    assert not list(tmp_path.rglob("*.partial"))
    # pcscd may serve the kiosk's user without a login session (where it asks polkit).
    rule = tmp_path / "etc/polkit-1/rules.d/60-mynapoint-kiosk-pcscd.rules"
    assert stat.S_IMODE(rule.stat().st_mode) == 0o644
    assert 'subject.user == "mynapoint-kiosk"' in rule.read_text()
    text = "\n".join(lines)
    assert "user mynapoint-kiosk: not created (asked not to)" in text
    assert "systemctl: skipped (asked not to)" in text
    assert "systemctl daemon-reload && systemctl enable kiosk.service" in text
    # A timed oneshot is started by its timer: the timer is what is enabled.
    assert (
        "systemctl enable kiosk.service kiosk-sync.service grant-service.service "
        "grant-service-audit-checkpoint.timer grant-service-crl-import.timer "
        "grant-service-points-expiry.timer\n" in f"{text}\n"
    )


def test_another_user_changes_the_owner_lines_only() -> None:
    text = units.render_unit("kiosk-sync", prefix=VENV, user="kiosk7")
    assert "\nUser=kiosk7\nGroup=kiosk7\n" in text
    assert "StateDirectory=mynapoint-kiosk\n" in text  # the paths stay
    assert "KIOSK_CONFIG=/etc/mynapoint-kiosk/kiosk.toml" in text


def test_installing_under_another_root_enables_there_only(tmp_path: Path) -> None:
    if shutil.which("systemctl") is None:
        pytest.skip("systemctl is not installed")
    lines = units.install_units(prefix=VENV, root=tmp_path, create_user=True)
    wants = tmp_path / "etc/systemd/system"
    assert (wants / "graphical.target.wants/kiosk.service").is_symlink()
    assert (wants / "multi-user.target.wants/kiosk-sync.service").is_symlink()
    assert not (wants / "grant-service.service").exists()  # not asked for
    assert f"user mynapoint-kiosk: not created (installing under {tmp_path})" in lines
    assert any(line.startswith("enabled kiosk.service kiosk-sync.service under") for line in lines)


def test_the_checkpoint_timer_is_what_gets_enabled(tmp_path: Path) -> None:
    if shutil.which("systemctl") is None:
        pytest.skip("systemctl is not installed")
    lines = units.install_units(
        prefix=VENV, which=["grant-service", "grant-service-audit-checkpoint"], root=tmp_path
    )
    system = tmp_path / "etc/systemd/system"
    assert (system / "timers.target.wants/grant-service-audit-checkpoint.timer").is_symlink()
    assert (system / "multi-user.target.wants/grant-service.service").is_symlink()
    assert (system / "grant-service-audit-checkpoint.service").is_file()
    assert not list(system.glob("*.wants/grant-service-audit-checkpoint.service"))
    assert any(
        "grant-service.service grant-service-audit-checkpoint.timer" in line for line in lines
    )


def test_the_service_user_is_created_as_a_system_user_in_its_device_groups() -> None:
    account = units.kiosk_account("mynapoint-test-nobody")
    assert units.useradd_command(account) == [
        "useradd",
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/var/lib/mynapoint-kiosk",
        "--shell",
        "/usr/sbin/nologin",
        "--comment",
        "Mynapoint kiosk",
        "mynapoint-test-nobody",
    ]
    ran: list[Sequence[str]] = []
    lines = units.ensure_user(account, runner=ran.append)
    assert ran[0] == units.useradd_command(account)
    existing = [g for g in units.KIOSK_DEVICE_GROUPS if group_exists(g)]
    if existing:
        assert ran[1] == [
            "usermod",
            "--append",
            "--groups",
            ",".join(existing),
            "mynapoint-test-nobody",
        ]
    assert "input" not in units.KIOSK_DEVICE_GROUPS  # seatd opens the touch panel for cage
    assert lines[0] == "user mynapoint-test-nobody: created (system user, no login)"


def group_exists(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


@pytest.mark.parametrize(
    ("prefix", "user", "which"),
    [
        (Path("relative/venv"), "mynapoint-kiosk", ["kiosk"]),
        (Path("/opt/my kiosk/.venv"), "mynapoint-kiosk", ["kiosk"]),
        (Path("/opt/100%/.venv"), "mynapoint-kiosk", ["kiosk"]),
        (VENV, "Root User", ["kiosk"]),
        (VENV, "mynapoint-kiosk", ["kiosk-ui"]),
        (VENV, "mynapoint-kiosk", ["kiosk.timer"]),  # the kiosk has no timer
        (VENV, "mynapoint-kiosk", []),
    ],
)
def test_bad_requests_are_refused_before_anything_is_written(
    tmp_path: Path, prefix: Path, user: str, which: list[str]
) -> None:
    with pytest.raises(units.UnitInstallError):
        units.install_units(
            prefix=prefix, kiosk_user=user, which=which, root=tmp_path, run_systemctl=False
        )
    assert list(tmp_path.iterdir()) == []
