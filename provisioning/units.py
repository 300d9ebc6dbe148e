"""Installs the systemd units (``provisioning/systemd/*.service`` and ``*.timer``) on a
kiosk or a service host: the units for this machine's virtualenv, the service users, their
directories, then ``systemctl daemon-reload`` and ``enable``.

    lines = install_units(prefix=Path("/opt/mynapoint-kiosk/.venv"))            # a kiosk
    lines = install_units(prefix=venv, which=["grant-service"])                # the service
    lines = install_units(prefix=venv, which=["grant-service-audit-checkpoint"])  # its timer
    lines = install_units(prefix=venv, which=["grant-service-crl-import"])        # its timer
    lines = install_units(prefix=venv, root=tmp, create_user=False)            # a test

The unit files are real units for the default virtualenv (``/opt/mynapoint-kiosk/.venv``)
and the default users; rendering replaces only those. ``root`` installs into another
file-system root (an image being prepared, a test): nothing outside it is touched, users
are not created, and ``systemctl --root`` only enables.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mynapoint.atomic_files import replace_file
from provisioning.unit_state import systemd_running

DEFAULT_PREFIX = Path("/opt/mynapoint-kiosk/.venv")
DEFAULT_UNIT_DIR = Path("/etc/systemd/system")
KIOSK_USER = "mynapoint-kiosk"
GRANT_USER = "mynapoint-grant"
# seatd's socket (video), the GPU's render node (render), a USB printer (lp), serial
# printers and readers (dialout). Not input: seatd opens the touch panel for cage.
KIOSK_DEVICE_GROUPS = ("video", "render", "lp", "dialout")
NOLOGIN = "/usr/sbin/nologin"

Runner = Callable[[Sequence[str]], None]


class UnitInstallError(Exception):
    """The units cannot be installed as asked (a bad name or path, a command failed)."""


@dataclass(frozen=True)
class Account:
    """A service user and the directories it owns or reads."""

    name: str
    comment: str
    state_dir: Path  # the user's home: 0700, owned by it
    config_dir: Path  # 0750, root and the user's group
    device_groups: tuple[str, ...] = ()
    reads_cards: bool = False  # it talks to pcscd: a polkit rule lets it


@dataclass(frozen=True)
class UnitSpec:
    name: str  # kiosk.service
    default_user: str
    account: Callable[[str], Account]
    # A oneshot started by NAME.timer: both are installed, the timer is what is enabled.
    timer: bool = False

    @property
    def timer_name(self) -> str:
        return self.name.removesuffix(".service") + ".timer"

    @property
    def files(self) -> tuple[str, ...]:
        return (self.name, self.timer_name) if self.timer else (self.name,)

    @property
    def enabled(self) -> str:
        return self.timer_name if self.timer else self.name


def kiosk_account(user: str) -> Account:
    return Account(
        user, "Mynapoint kiosk", Path("/var/lib/mynapoint-kiosk"),
        Path("/etc/mynapoint-kiosk"), KIOSK_DEVICE_GROUPS, reads_cards=True,
    )  # fmt: skip


def grant_account(user: str) -> Account:
    return Account(
        user, "Mynapoint grant service", Path("/var/lib/mynapoint-grant"),
        Path("/etc/mynapoint-grant"),
    )  # fmt: skip


UNITS = {
    "kiosk": UnitSpec("kiosk.service", KIOSK_USER, kiosk_account),
    "kiosk-sync": UnitSpec("kiosk-sync.service", KIOSK_USER, kiosk_account),
    "grant-service": UnitSpec("grant-service.service", GRANT_USER, grant_account),
    "grant-service-audit-checkpoint": UnitSpec(
        "grant-service-audit-checkpoint.service", GRANT_USER, grant_account, timer=True
    ),
    "grant-service-crl-import": UnitSpec(
        "grant-service-crl-import.service", GRANT_USER, grant_account, timer=True
    ),
    "grant-service-points-expiry": UnitSpec(
        "grant-service-points-expiry.service", GRANT_USER, grant_account, timer=True
    ),
}

_USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# What ExecStart= would take apart or expand: whitespace, quotes, specifiers, variables.
_UNSAFE_IN_PATH = re.compile(r"[\s\"'\\%$;]")
_OWNER_LINE = re.compile(r"^(User|Group)=.*$", re.MULTILINE)


# --- rendering ----------------------------------------------------------------------------


def template(name: str) -> str:
    """The unit file as shipped (``kiosk``, ``kiosk-sync``, ``grant-service``,
    ``grant-service-audit-checkpoint``, ``grant-service-crl-import``,
    ``grant-service-points-expiry``; ``NAME.timer`` for a
    unit's timer)."""
    spec = _spec(name)
    file = spec.timer_name if name.endswith(".timer") else spec.name
    return resources.files("provisioning").joinpath("systemd", file).read_text()


def render_unit(name: str, *, prefix: Path = DEFAULT_PREFIX, user: str | None = None) -> str:
    """The unit for the virtualenv ``prefix`` and the service user ``user``."""
    spec = _spec(name)
    _check_prefix(prefix)
    user = user or spec.default_user
    _check_user(user)
    text = template(name).replace(f"{DEFAULT_PREFIX}/", f"{prefix}/")
    return _OWNER_LINE.sub(lambda line: f"{line.group(1)}={user}", text)


def _spec(name: str) -> UnitSpec:
    spec = UNITS.get(name.removesuffix(".service").removesuffix(".timer"))
    if spec is None or (name.endswith(".timer") and not spec.timer):
        raise UnitInstallError(f"no unit {name!r}: the units are {', '.join(UNITS)}")
    return spec


def _check_prefix(prefix: Path) -> None:
    if not prefix.is_absolute() or _UNSAFE_IN_PATH.search(str(prefix)):
        raise UnitInstallError(
            f"the virtualenv must be an absolute path without spaces, quotes, % or $: {prefix}"
        )


def _check_user(user: str) -> None:
    if not _USER_NAME.fullmatch(user):
        raise UnitInstallError(f"not a system user name: {user!r}")


# --- the card reader ----------------------------------------------------------------------

POLKIT_RULES_DIR = Path("/etc/polkit-1/rules.d")
READER_RULE_FILE = "60-mynapoint-kiosk-pcscd.rules"


def reader_rule(user: str) -> str:
    """A polkit rule letting ``user`` use the card readers through pcscd. A pcscd built
    with polkit (upstream's default since pcsc-lite 1.8.9; not Debian 12's) serves only
    active login sessions, and the kiosk's screen runs under seatd without one. Without
    polkit installed the rule is inert."""
    return f"""// Written by kiosk-provision install-units. The kiosk's user ({user}) has no login
// session (its screen runs under seatd), so pcscd's default polkit policy, which serves
// active sessions only, would refuse it the card reader.
polkit.addRule(function(action, subject) {{
    if ((action.id == "org.debian.pcsc-lite.access_pcsc" ||
         action.id == "org.debian.pcsc-lite.access_card") &&
        subject.user == "{user}") {{
        return polkit.Result.YES;
    }}
}});
"""


# --- users --------------------------------------------------------------------------------


def useradd_command(account: Account) -> list[str]:
    """Creates the service user: a system account with its own group, no login, its home
    the state directory (made by ``install_units``, not by useradd)."""
    return [
        "useradd", "--system", "--user-group", "--no-create-home",
        "--home-dir", str(account.state_dir), "--shell", NOLOGIN,
        "--comment", account.comment, account.name,
    ]  # fmt: skip


def groups_command(account: Account, groups: Sequence[str]) -> list[str]:
    """Adds the user to ``groups`` (those of its device groups this machine has)."""
    return ["usermod", "--append", "--groups", ",".join(groups), account.name]


def _existing_groups(names: Sequence[str]) -> list[str]:
    found = []
    for name in names:
        try:
            grp.getgrnam(name)
        except KeyError:
            continue
        found.append(name)
    return found


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _run(command: Sequence[str]) -> None:
    try:
        subprocess.run(list(command), check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        raise UnitInstallError(
            f"{' '.join(command)} failed ({exc.returncode}): {exc.stderr.strip()}"
        ) from exc
    except FileNotFoundError as exc:
        raise UnitInstallError(f"{command[0]} is not installed") from exc


# --- installing ---------------------------------------------------------------------------


def install_units(
    unit_dir: Path = DEFAULT_UNIT_DIR,
    *,
    prefix: Path,
    kiosk_user: str = KIOSK_USER,
    grant_user: str = GRANT_USER,
    which: Sequence[str] = ("kiosk", "kiosk-sync"),
    root: Path = Path("/"),
    create_user: bool = True,
    run_systemctl: bool = True,
    runner: Runner = _run,
) -> list[str]:
    """Install the units ``which`` into ``unit_dir`` (under ``root``), each for the
    virtualenv ``prefix``; returns what it did, a line per step."""
    specs = [_spec(name) for name in dict.fromkeys(which)]
    if not specs:
        raise UnitInstallError("no unit to install")
    _check_prefix(prefix)
    for user in (kiosk_user, grant_user):
        _check_user(user)
    users = {KIOSK_USER: kiosk_user, GRANT_USER: grant_user}
    on_this_machine = root.resolve() == Path("/")
    if on_this_machine and os.geteuid() != 0:
        raise UnitInstallError("installing units on this machine needs root")
    lines: list[str] = []
    accounts: dict[str, Account] = {}

    for spec in specs:
        user = users[spec.default_user]
        accounts.setdefault(user, spec.account(user))
        for file in spec.files:
            path = _under(root, unit_dir) / file
            _write(path, render_unit(file, prefix=prefix, user=user))
            lines.append(f"wrote {path} (for {prefix})")

    for account in accounts.values():
        if create_user and on_this_machine:
            lines += ensure_user(account, runner)
        elif create_user:
            lines.append(f"user {account.name}: not created (installing under {root})")
        else:
            lines.append(f"user {account.name}: not created (asked not to)")
        lines += _make_directories(account, root, set_owners=on_this_machine)
        if account.reads_cards:
            path = _under(root, POLKIT_RULES_DIR) / READER_RULE_FILE
            _write(path, reader_rule(account.name))
            lines.append(f"wrote {path} (pcscd may serve {account.name} without a session)")

    if on_this_machine:
        lines += _missing_programs(specs, prefix)
    lines += _systemctl(specs, root, on_this_machine, run_systemctl, runner)
    return lines


def _under(root: Path, path: Path) -> Path:
    return root / path.relative_to("/") if path.is_absolute() else root / path


def _write(path: Path, text: str) -> None:
    """Written whole or not at all: a unit half-written by an interrupted run would not
    load at the next boot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, text.encode(), mode=0o644)


def ensure_user(account: Account, runner: Runner = _run) -> list[str]:
    """Create the service user if it is missing, and put it in its device groups."""
    lines = []
    if _user_exists(account.name):
        lines.append(f"user {account.name}: exists")
    else:
        runner(useradd_command(account))
        lines.append(f"user {account.name}: created (system user, no login)")
    groups = _existing_groups(account.device_groups)
    if groups:
        runner(groups_command(account, groups))
        lines.append(f"user {account.name}: in groups {', '.join(groups)}")
    return lines


def _make_directories(account: Account, root: Path, *, set_owners: bool) -> list[str]:
    """The state directory (0700, the user's) and the config directory (0750, root and
    the user's group). Owners are set on this machine only, once the user exists."""
    state, config = _under(root, account.state_dir), _under(root, account.config_dir)
    for path, mode in ((state, 0o700), (config, 0o750)):
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
    made = f"made {state} (0700) and {config} (0750)"
    if not set_owners:
        return [f"{made}; owners not set (installing under {root})"]
    try:
        entry = pwd.getpwnam(account.name)
    except KeyError:
        return [f"{made}; owners not set (no user {account.name})"]
    os.chown(state, entry.pw_uid, entry.pw_gid)
    os.chown(config, 0, entry.pw_gid)
    return [f"{made}, owned by {account.name} and root:{account.name}"]


# What each unit runs besides the virtualenv's programs (kiosk: Debian's cage, xwayland
# and seatd).
_PROGRAMS = {
    "kiosk.service": ("bin/kiosk", "/usr/bin/cage", "/usr/bin/Xwayland", "/usr/sbin/seatd"),
    "kiosk-sync.service": ("bin/kiosk-sync",),
    "grant-service.service": ("bin/grant-service",),
    "grant-service-audit-checkpoint.service": ("bin/grant-service",),
    "grant-service-crl-import.service": ("bin/grant-service",),
    "grant-service-points-expiry.service": ("bin/grant-service",),
}


def _missing_programs(specs: Sequence[UnitSpec], prefix: Path) -> list[str]:
    # prefix / "/usr/bin/cage" is /usr/bin/cage: absolute paths stay as they are.
    needed = {prefix / program for spec in specs for program in _PROGRAMS[spec.name]}
    return [f"warning: {path} is missing" for path in sorted(needed) if not path.exists()]


def _systemctl(
    specs: Sequence[UnitSpec], root: Path, on_this_machine: bool, wanted: bool, runner: Runner
) -> list[str]:
    names = [spec.enabled for spec in specs]  # a timer's oneshot is started by the timer
    by_hand = f"systemctl daemon-reload && systemctl enable {' '.join(names)}"
    if not wanted:
        return [f"systemctl: skipped (asked not to); to finish: {by_hand}"]
    if not on_this_machine:
        # Enabling only makes the symlinks: systemctl does it in another root offline.
        runner(["systemctl", f"--root={root}", "enable", *names])
        return [f"enabled {' '.join(names)} under {root} (no daemon-reload: not this machine)"]
    if not systemd_running():
        return [f"systemctl: skipped (systemd is not PID 1 here); to finish: {by_hand}"]
    runner(["systemctl", "daemon-reload"])
    runner(["systemctl", "enable", *names])
    return [
        "systemctl daemon-reload: done",
        f"enabled {' '.join(names)}; start now with: systemctl start {' '.join(names)}",
    ]
