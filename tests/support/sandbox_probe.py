"""Run inside a unit (an ``ExecStartPost=`` of a drop-in: the unit's own sandbox, user and
system-call filter) or outside it for comparison: tries what the sandbox must refuse and
prints one JSON line of what happened, each attempt ``"ok"`` or the errno's name.

    python sandbox_probe.py STATE_DIR OWN_DIR

STATE_DIR is the unit's writable state directory; OWN_DIR a directory the unit's user
owns outside its ReadWritePaths (writable without the sandbox, read-only inside). It
always exits 0: a failing ExecStartPost= would stop the unit it probes.
"""

from __future__ import annotations

import errno
import json
import mmap
import os
import pwd
import socket
import sys
from collections.abc import Callable
from pathlib import Path

MARK = "SANDBOX-PROBE "


def attempt(action: Callable[[], object]) -> str:
    try:
        action()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc))
    return "ok"


def write(path: Path) -> Callable[[], object]:
    def do() -> None:
        path.write_text("probe\n")
        path.unlink()

    return do


def listing(path: str) -> str | list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc))


def status_field(name: str) -> str:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    return ""


def main() -> None:
    state_dir, own_dir = Path(sys.argv[1]), Path(sys.argv[2])
    cpus = os.sched_getaffinity(0)
    report = {
        "user": pwd.getpwuid(os.getuid()).pw_name,
        "cgroup": Path("/proc/self/cgroup").read_text().strip().splitlines()[-1],
        "no_new_privs": status_field("NoNewPrivs"),
        "seccomp": status_field("Seccomp"),
        "write": {
            str(state_dir): attempt(write(state_dir / "probe")),
            str(own_dir): attempt(write(own_dir / "probe")),
            "/etc": attempt(write(Path("/etc/probe"))),
        },
        "home": listing("/home"),
        "root": listing("/root"),
        "syscall": {
            # Each succeeds for any user without the filter; @resources, @privileged and
            # RestrictAddressFamilies=, MemoryDenyWriteExecute= refuse them.
            "sched_setaffinity": attempt(lambda: os.sched_setaffinity(0, cpus)),
            "setuid": attempt(lambda: os.setuid(os.getuid())),
            "socket(AF_NETLINK)": attempt(
                lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close()
            ),
            "mmap(write+exec)": attempt(
                lambda: mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            ),
        },
    }
    print(MARK + json.dumps(report, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
