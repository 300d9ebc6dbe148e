"""A place to run the docs' commands as written: a fresh home that is also the working
directory (with the checkout's ``.venv``, ``scripts`` and ``bench`` linked in), and, as
root, its own network, ``/run/pcscd`` and ``/var/log`` (Linux namespaces), so that fixed
ports such as the service's 8700 and a pcscd of its own touch nothing outside.

A block of commands runs in one bash script, in order, as a reader would type them; each
command's output and exit status are kept apart.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import REPO

LINKED = (".venv", "scripts", "bench", "pyproject.toml")
# Used by `before` steps: wait until a local TCP port takes connections.
PREAMBLE = """
wait_port() {
    for _ in $(seq 200); do
        (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1
    done
    echo "nothing listens on port $1" >&2; return 1
}
"""
ISOLATE = """
ip link set lo up
mkdir -p /run/pcscd && mount -t tmpfs sandbox /run/pcscd
mount -t tmpfs sandbox /var/log
"""


@dataclass
class Step:
    """One command to run: what the doc shows, as run (placeholders filled), and how."""

    shown: str
    command: str
    before: str = ""
    daemon: float = 0  # a daemon: it must still run after this many seconds
    in_repo: bool = False  # run in the checkout (the scripts set up its .venv), not the home


@dataclass
class Outcome:
    shown: str
    command: str
    status: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"$ {self.command}\nexit status {self.status}\n"
            f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"
        )


def isolated() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None


class Sandbox:
    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.home.mkdir(parents=True)
        self.out = root / "out"
        self.out.mkdir()
        for name in LINKED:
            (self.home / name).symlink_to(REPO / name)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TERM", "TMPDIR")
        env = {name: os.environ[name] for name in keep if name in os.environ}
        # The console scripts by their bare names, as in a shell with the venv activated.
        system = env.get("PATH") or "/usr/sbin:/usr/bin:/sbin:/bin"
        env["PATH"] = f"{system}:{self.home / '.venv' / 'bin'}"
        env.update(HOME=str(self.home), SDL_AUDIODRIVER="dummy", PYTHONDONTWRITEBYTECODE="1")
        return {**env, **(extra or {})}

    def script(self, steps: list[Step]) -> str:
        lines = ["set +e", PREAMBLE, ISOLATE if isolated() else "", f"cd {self.home}"]
        for i, step in enumerate(steps):
            out = self.out / str(i)
            lines.append(f"cd {REPO if step.in_repo else self.home}")
            if step.before:
                lines.append(f"{{\n{step.before}\n}} >{out}.before 2>&1 </dev/null")
            if step.daemon:
                (self.out / f"{i}.sh").write_text(step.command + "\n")
                lines.append(
                    f"timeout -s TERM {step.daemon} bash {self.out / f'{i}.sh'}"
                    f" >{out}.out 2>{out}.err </dev/null; echo $? >{out}.rc"
                )
            else:
                lines.append(f"{{\n{step.command}\n}} >{out}.out 2>{out}.err </dev/null")
                lines.append(f"echo $? >{out}.rc")
        return "\n".join(lines) + "\n"

    def run(
        self, steps: list[Step], env: dict[str, str] | None = None, timeout: float = 600
    ) -> list[Outcome]:
        script = self.out / "script.sh"
        script.write_text(self.script(steps))
        # A new PID namespace ends every daemon a step left behind with its script.
        namespace = ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc"]
        command = [*(namespace if isolated() else []), "bash", str(script)]
        done = subprocess.run(
            command, cwd=self.home, env=self.env(env), capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        outcomes = []
        for i, step in enumerate(steps):
            read = (self.out / f"{i}.{{}}").as_posix()
            rc = Path(read.format("rc"))
            if not rc.exists():
                raise AssertionError(f"the script stopped before {step.command!r}:\n{done}")
            before = Path(read.format("before"))
            outcomes.append(
                Outcome(
                    step.shown,
                    step.command,
                    int(rc.read_text()),
                    Path(read.format("out")).read_text(errors="replace"),
                    (before.read_text(errors="replace") if before.exists() else "")
                    + Path(read.format("err")).read_text(errors="replace"),
                )
            )
        return outcomes
