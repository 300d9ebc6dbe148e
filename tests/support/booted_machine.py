"""A container booted by systemd-nspawn with a real systemd as its PID 1, for the units'
tests. PID 1 on the development machines is not systemd; in a container it is.

    machine = Machine([installed, base], tmp_path / "machine").boot()
    machine.run(["systemctl", "is-active", "kiosk-sync"])
    machine.show("kiosk-sync", "MainPID", "StatusText")   # {"MainPID": "84", ...}
    machine.poweroff()

The root is an overlay: the cached layers stay read-only below, and everything the
machine writes goes to an upper directory of its own, so every test boots the same
machine and may break it. The container has its own network namespace (``--private-network``:
a loopback of its own and nothing else, so nothing can be fetched and no two machines
clash on a port). It is not registered with machined (``--register=no``: the host has no
system bus), so it is driven by entering its namespaces with ``nsenter``, as
``machinectl shell`` would.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HOMES = {
    "root": "/root",
    "mynapoint-kiosk": "/var/lib/mynapoint-kiosk",
    "mynapoint-grant": "/var/lib/mynapoint-grant",
}


class MachineError(Exception):
    """The machine did not boot, or a command in it failed."""


class Machine:
    def __init__(
        self,
        layers: Sequence[Path],
        workdir: Path,
        *,
        name: str = "kiosk-under-test",
        binds: Mapping[Path, str] | None = None,
        upper: Path | None = None,
    ) -> None:
        """``layers``: read-only roots, the top one first; ``upper`` (default under
        ``workdir``) receives what the machine writes; ``binds``: host directories
        mounted read-only in the machine."""
        self.layers = list(layers)
        self.workdir = workdir
        self.name = name
        self.binds = dict(binds or {})
        self.upper = upper or workdir / "upper"
        self.root = workdir / "merged"
        self.console_log = workdir / "console.log"
        self._nspawn: subprocess.Popen[bytes] | None = None
        self.leader = 0

    # --- boot and stop ----------------------------------------------------------------

    def boot(self, timeout: float = 90) -> Machine:
        work = self.workdir / "work"
        for path in (self.upper, work, self.root):
            path.mkdir(parents=True, exist_ok=True)
        lower = ":".join(str(layer) for layer in self.layers)
        _must(
            [
                "mount",
                "-t",
                "overlay",
                "overlay",
                "-o",
                f"lowerdir={lower},upperdir={self.upper},workdir={work}",
                str(self.root),
            ]
        )
        command = [
            "systemd-nspawn",
            "--quiet",
            "--register=no",
            "--keep-unit",
            "--private-network",
            f"--machine={self.name}",
            f"--directory={self.root}",
            "--boot",
            *(f"--bind-ro={host}:{inside}" for host, inside in self.binds.items()),
        ]
        with open(self.console_log, "wb") as console:
            self._nspawn = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                preexec_fn=self._enter_own_cgroup,
            )
        self.leader = self._wait_for_leader(timeout=30)
        state = self.run(
            ["systemctl", "is-system-running", "--wait"], check=False, timeout=timeout
        ).stdout.strip()
        if state not in ("running", "degraded"):
            raise MachineError(f"the machine did not finish booting ({state}): {self.console()}")
        return self

    def _cgroups(self) -> list[Path]:
        """This machine's own cgroup in each hierarchy systemd uses (cgroup v2, or v1's
        name=systemd and v2's beside it on a hybrid host)."""
        name = f"mynapoint-{self.name}-{hashlib.sha256(bytes(self.workdir)).hexdigest()[:8]}"
        roots = [Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup/unified")]
        found = [root / name for root in roots if (root / "cgroup.procs").exists()]
        return found or [Path("/sys/fs/cgroup") / name]

    def _enter_own_cgroup(self) -> None:
        """In nspawn's child, before exec: with --keep-unit the container's systemd makes
        its tree under nspawn's cgroup, so two machines in one cgroup would share
        /payload/system.slice/... and signal each other's units."""
        for group in self._cgroups():
            group.mkdir(exist_ok=True)
            (group / "cgroup.procs").write_text("0")

    def _remove_cgroups(self) -> None:
        for group in self._cgroups():
            for path in sorted(group.rglob("*"), key=lambda p: -len(p.parts)):
                if path.is_dir():
                    with contextlib.suppress(OSError):
                        path.rmdir()
            with contextlib.suppress(OSError):
                group.rmdir()

    def _wait_for_leader(self, timeout: float) -> int:
        """The container's PID 1 (systemd), seen from the host: nspawn's child."""
        assert self._nspawn is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._nspawn.poll() is not None:
                raise MachineError(f"systemd-nspawn exited: {self.console()}")
            children = Path(f"/proc/{self._nspawn.pid}/task/{self._nspawn.pid}/children")
            for pid in children.read_text().split() if children.exists() else []:
                comm = Path(f"/proc/{pid}/comm")
                is_systemd = comm.exists() and comm.read_text().strip() == "systemd"
                # systemctl works once PID 1 has made its private socket.
                if is_systemd and Path(f"/proc/{pid}/root/run/systemd/private").exists():
                    return int(pid)
            time.sleep(0.1)
        raise MachineError(f"no systemd in the container after {timeout} s: {self.console()}")

    def poweroff(self, timeout: float = 60) -> None:
        """A clean shutdown (nspawn asks the container's systemd on SIGTERM); killed if it
        takes longer than ``timeout``. The overlay is unmounted; the upper layer stays."""
        if self._nspawn is not None and self._nspawn.poll() is None:
            self._nspawn.send_signal(signal.SIGTERM)
            try:
                self._nspawn.wait(timeout)
            except subprocess.TimeoutExpired:
                self._nspawn.kill()
                self._nspawn.wait(10)
        self._nspawn = None
        self._remove_cgroups()
        if os.path.ismount(self.root):
            _must(["umount", str(self.root)])
        shutil.rmtree(self.workdir / "work", ignore_errors=True)

    def console(self, lines: int = 30) -> str:
        text = self.console_log.read_text(errors="replace") if self.console_log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    # --- commands -----------------------------------------------------------------------

    def run(
        self,
        command: Sequence[str],
        *,
        user: str = "root",
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """``command`` in the machine, as ``user``, with a clean environment."""
        environment = {"PATH": PATH, "HOME": HOMES.get(user, "/"), "LANG": "C.UTF-8", **(env or {})}
        inner = ["env", "-i", *(f"{k}={v}" for k, v in environment.items()), *command]
        if user != "root":
            # setpriv, not runuser: no PAM session, so nothing of the command line is
            # journaled (runuser logs it, with any argument a test passes).
            inner = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *inner]
        enter = [
            "nsenter",
            f"--target={self.leader}",
            "--mount",
            "--uts",
            "--ipc",
            "--net",
            "--pid",
            "--root",
            "--wd",
            "--",
        ]
        done = subprocess.run(
            [*enter, *inner],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise MachineError(
                f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def sh(self, script: str) -> subprocess.CompletedProcess[str]:
        """A shell script in the machine, as root; any failing command fails it."""
        return self.run(["sh", "-euc", script])

    def systemctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(["systemctl", "--no-pager", *args], check=check)

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        shown = self.systemctl("show", unit, *(f"--property={p}" for p in properties)).stdout
        return dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)

    def journal(self, *units: str) -> str:
        """The journal of this boot (every unit's, or only ``units``), messages only."""
        selected = [arg for unit in units for arg in ("--unit", unit)]
        return self.run(["journalctl", "--no-pager", "--boot", "--output=cat", *selected]).stdout

    def path(self, inside: str) -> Path:
        """A path of the machine, seen from the host (while it runs)."""
        return self.root / inside.lstrip("/")

    def wait_for(self, what: str, probe: Callable[[], T], timeout: float = 60) -> T:
        """``probe()`` until it returns something true; fails with ``what`` and the
        machine's failed units if it never does."""
        deadline = time.monotonic() + timeout
        while True:
            found = probe()
            if found:
                return found
            if time.monotonic() > deadline:
                failed = self.systemctl("--failed", "--plain", check=False).stdout
                raise MachineError(f"{what}: not within {timeout} s; failed units:\n{failed}")
            time.sleep(0.5)


def _must(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise MachineError(f"{' '.join(command)}: {done.stderr.strip()}")
