"""A minimal Debian root with systemd, for booting the units in a container, and the
wheels the kiosk installs from inside it. Both are built once per machine and cached
outside the repository (``$MYNAPOINT_TEST_CACHE``, default ``/var/cache/mynapoint-tests``):

    root = base_root()        # debootstrap: the kiosk's own Debian packages, systemd, D-Bus
    wheels = wheelhouse()     # the project's dependencies as wheels, at this venv's versions

The root holds exactly the packages ``scripts/install-kiosk`` would install (read from
that script, the one place they are named), so that the installer finds nothing missing
and a container needs no network. The first build fetches from Debian's archive only;
its time is written beside it (``build-seconds``). A changed package list makes a new
root under a new name, and the stale one is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import REPO

CACHE = Path(os.environ.get("MYNAPOINT_TEST_CACHE", "/var/cache/mynapoint-tests")) / "nspawn"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# Besides the kiosk's packages: PID 1 and systemctl's bus (systemd, dbus); ps for a test
# looking into the container (procps); a virtual card reader for the system's pcscd
# (vsmartcard-vpcd).
CONTAINER_PACKAGES = ("systemd", "dbus", "procps", "vsmartcard-vpcd")
# Installed by apt in the new root (their set-up needs a running system: polkitd's fails
# under debootstrap): polkit, which pcscd asks whether a client may use a reader, as on a
# kiosk whose Debian has a desktop.
APT_PACKAGES = ("polkitd",)
# Bump to rebuild every cached root (a change in how it is made, not in what it holds).
RECIPE = "1"
DONE = "build-seconds"  # written last: a root without it is a build that was cut short

_PACKAGES_LINE = re.compile(r'^PACKAGES="([^"]+)"$', re.MULTILINE)


class RootUnavailable(Exception):
    """The root cannot be built here (a tool is missing, or the archive cannot be reached)."""


def kiosk_packages() -> list[str]:
    """The Debian packages ``scripts/install-kiosk`` installs on a kiosk."""
    found = _PACKAGES_LINE.search((REPO / "scripts" / "install-kiosk").read_text())
    if found is None:
        raise RootUnavailable('scripts/install-kiosk has no PACKAGES="..." line')
    return found.group(1).split()


def base_root() -> Path:
    """The cached Debian root (built on first use, about 80 s and 1.3 GB)."""
    packages = sorted({*kiosk_packages(), *CONTAINER_PACKAGES})
    key = _digest(RECIPE, SUITE, MIRROR, *packages, "then", *APT_PACKAGES)
    path = CACHE / f"debian-{SUITE}-{key}"
    with cache_lock():
        if not (path / DONE).exists():
            _remove_stale("debian-", keep=path)
            _debootstrap(path, packages)
    return path


def wheelhouse() -> Path:
    """The project's dependencies as wheels (and pip, setuptools, wheel: ``pip install .``
    builds the project in the container with no index), at the versions this virtualenv
    has, so the container runs what the tests ran."""
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = _frozen_versions()
    key = _digest(RECIPE, sys.version, *dependencies, *pinned)
    path = CACHE / f"wheels-{key}"
    with cache_lock():
        if not (path / DONE).exists():
            _remove_stale("wheels-", keep=path)
            _build_wheels(path, ["pip", "setuptools", "wheel", *dependencies], pinned)
    return path


def _debootstrap(path: Path, packages: list[str]) -> None:
    if shutil.which("debootstrap") is None:
        raise RootUnavailable("debootstrap is not installed (scripts/bootstrap installs it)")
    building = path.with_name(path.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    started = time.monotonic()
    command = [
        "debootstrap", "--variant=minbase", f"--include={','.join(packages)}",
        SUITE, str(building), MIRROR,
    ]  # fmt: skip
    _must_build(command, building, "debootstrap")
    apt = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES]
    env = "--setenv=DEBIAN_FRONTEND=noninteractive"
    nspawn = ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", env, "--pipe"]
    _must_build([*nspawn, f"--directory={building}", *apt], building, "apt-get in the root")
    _must_build([*nspawn, f"--directory={building}", "apt-get", "clean"], building, "apt-get")
    # The container's own name resolution, not the build host's.
    (building / "etc" / "hostname").write_text("kiosk-under-test\n")
    (building / DONE).write_text(f"{time.monotonic() - started:.0f}\n")
    building.rename(path)


def _must_build(command: list[str], building: Path, what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        log = building / "debootstrap" / "debootstrap.log"
        details = log.read_text(errors="replace") if log.exists() else ""
        shutil.rmtree(building, ignore_errors=True)
        tail = (done.stdout + done.stderr + details).strip().splitlines()[-8:]
        raise RootUnavailable(f"{what} failed ({done.returncode}): {' / '.join(tail)}")


def _frozen_versions() -> list[str]:
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    return sorted(line for line in frozen.splitlines() if "==" in line)


def _build_wheels(path: Path, requirements: list[str], pinned: list[str]) -> None:
    building = path.with_name(path.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    constraints = building / "constraints.txt"
    constraints.write_text("\n".join(pinned) + "\n")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(building),
         "--constraint", str(constraints), *requirements],
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        raise RootUnavailable(f"pip wheel failed: {done.stderr.strip()[-500:]}")
    (building / DONE).write_text(f"{time.monotonic() - started:.0f}\n")
    building.rename(path)


def _remove_stale(prefix: str, *, keep: Path) -> None:
    for old in CACHE.glob(f"{prefix}*"):
        if old != keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def cache_lock() -> Iterator[None]:
    """One builder at a time (pytest-xdist's workers share the cache)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]
