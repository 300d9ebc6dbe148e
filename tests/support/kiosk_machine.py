"""A kiosk, installed and enrolled, booted under a real systemd in a container: the
machine the units' tests start, kill and freeze.

    layers = installed_layers()          # built once per checkout, cached
    machine = KioskMachine(layers, tmp_path).boot()
    machine.submit_application()         # a citizen's application, through the card
    machine.wait_for_synced()

The installed layer is the base Debian root (``debian_root.base_root``) after
``tests/support/provision_machine.sh`` ran in it: ``scripts/install-kiosk`` and
``kiosk-provision install-units`` as on a kiosk, a grant service on SQLite on the same
machine, and a kiosk enrolled with it. It is keyed by the checkout's files, so a change
to the code installs again (about a minute); every machine boots on a copy-on-write
overlay of it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

from tests.support.booted_machine import Machine
from tests.support.debian_root import CACHE, DONE, base_root, cache_lock, wheelhouse
from tests.support.paths import REPO

INSTALL_DIR = "/opt/mynapoint-kiosk"
BIN = f"{INSTALL_DIR}/.venv/bin"
KIOSK_USER = "mynapoint-kiosk"
GRANT_USER = "mynapoint-grant"
KIOSK_ENV = {"KIOSK_CONFIG": "/etc/mynapoint-kiosk/kiosk.toml"}
# The reader provision_machine.sh enrolls the kiosk with: the virtual card's file.
CARD_READER = "virtual:/var/lib/mynapoint-kiosk/card/mynapoint-kiosk/virtual-card.json"
CARD_PIN = "4827"  # provision_machine.sh issues the card with it
# A demo account of the simulated operators (README): its code is 1234.
PAYMENT_SERVICE, PAYMENT_ID, SECURITY_CODE = "paypay", "090-0000-0001", "1234"
SERVICE_URL = "http://127.0.0.1:8700"


def installed_layers() -> list[Path]:
    """The layers a kiosk machine boots on, the top one first."""
    base, wheels = base_root(), wheelhouse()
    files = _checkout_files()
    key = hashlib.sha256(base.name.encode() + wheels.name.encode())
    for relative in files:
        key.update(relative.encode() + b"\0" + (REPO / relative).read_bytes())
    path = CACHE / f"installed-{key.hexdigest()[:12]}"
    with cache_lock():
        if not (path / DONE).exists():
            # The newest two stay: a machine of another test run may still boot on one.
            older = sorted(CACHE.glob("installed-*"), key=lambda p: p.stat().st_mtime)[:-2]
            for old in older:
                shutil.rmtree(old, ignore_errors=True)
            _install(path, base, wheels, files)
    return [path / "upper", base]


def _checkout_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(name for name in listed.split("\0") if name and (REPO / name).is_file())


def _install(path: Path, base: Path, wheels: Path, files: list[str]) -> None:
    started = time.monotonic()
    machine = Machine([base], path, name="kiosk-install", binds={wheels: "/wheels"})
    machine.boot()
    try:
        checkout = machine.path(INSTALL_DIR)
        for relative in files:
            target = checkout / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / relative, target)
        machine.run(
            ["sh", f"{INSTALL_DIR}/tests/support/provision_machine.sh"],
            env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/wheels"},
            timeout=900,
        )
    finally:
        machine.poweroff()
    shutil.rmtree(path / "merged", ignore_errors=True)
    (path / DONE).write_text(f"{time.monotonic() - started:.0f}\n")


class KioskMachine(Machine):
    """A booted kiosk-and-service machine, with what a test does to it."""

    def __init__(self, layers: list[Path], workdir: Path, name: str = "kiosk-under-test"):
        super().__init__(layers, workdir, name=name)

    def boot(self, timeout: float = 90) -> KioskMachine:
        super().boot(timeout)
        return self

    # --- the citizen's side -------------------------------------------------------------

    def kiosk_command(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """A kiosk program (``kiosk-submit``, ``kiosk-queue``...), as the kiosk's user."""
        return self.run(
            [f"{BIN}/{args[0]}", *args[1:]],
            user=KIOSK_USER,
            env=KIOSK_ENV,
            input=input,
            check=check,
        )

    def submit(self, kind: str, *args: str, input: str) -> dict:
        """``kiosk-submit KIND ARGS`` as a technician would: the card on the kiosk's own
        reader (its setting), the PIN (and code) on stdin; the JSON answer."""
        done = self.kiosk_command("kiosk-submit", kind, *args, "--pin-stdin", "--json",
                                  input=input)  # fmt: skip
        return json.loads(done.stdout)

    def submit_reservation(self) -> dict:
        return self.submit("reservation", input=f"{CARD_PIN}\n")

    def submit_application(self) -> dict:
        return self.submit("application", "--service", PAYMENT_SERVICE, "--payment-id",
                           PAYMENT_ID, input=f"{CARD_PIN}\n{SECURITY_CODE}\n")  # fmt: skip

    def queue_status(self) -> dict:
        # Its exit status tells the state (3: items unsent); the JSON says it all.
        done = self.kiosk_command("kiosk-queue", "status", "--json", check=False)
        return json.loads(done.stdout)

    # --- the operator's side ------------------------------------------------------------

    def grant_command(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``grant-service ARGS`` as the service's user, with its unit's settings."""
        script = 'set -a; . /etc/mynapoint-grant/grant-service.env; set +a; exec "$@"'
        return self.run(
            ["sh", "-c", script, "as-grant", f"{BIN}/grant-service", *args],
            user=GRANT_USER,
            env={"GRANT_SERVICE_DATA_DIR": "/var/lib/mynapoint-grant"},
            check=check,
        )

    def service_sql(self, query: str, *params: str) -> list[tuple]:
        """A read of the service's SQLite database (rows as tuples)."""
        code = (
            "import json, sqlite3, sys; "
            "db = sqlite3.connect('file:/var/lib/mynapoint-grant/grant-service.sqlite3?mode=ro',"
            " uri=True); print(json.dumps(db.execute(sys.argv[1], sys.argv[2:]).fetchall()))"
        )
        done = self.run([f"{BIN}/python", "-c", code, query, *params], user=GRANT_USER)
        return [tuple(row) for row in json.loads(done.stdout)]

    # --- systemd ------------------------------------------------------------------------

    def main_pid(self, unit: str) -> int:
        return int(self.show(unit, "MainPID")["MainPID"])

    def restarts(self, unit: str) -> int:
        return int(self.show(unit, "NRestarts")["NRestarts"])

    def wait_active(self, unit: str, timeout: float = 60) -> dict[str, str]:
        """Until ``unit`` is active (for a notify unit: READY=1 came); its state."""

        def active() -> dict[str, str] | None:
            state = self.show(unit, "ActiveState", "SubState", "MainPID", "StatusText")
            return state if state["ActiveState"] == "active" else None

        return self.wait_for(f"{unit} active", active, timeout)

    def drop_in(self, unit: str, name: str, text: str) -> None:
        """A runtime drop-in for ``unit`` (gone at the next boot), loaded at once."""
        directory = f"/run/systemd/system/{unit}.d"
        self.run(["sh", "-c", f"mkdir -p {directory} && cat > {directory}/{name}.conf"], input=text)
        self.systemctl("daemon-reload")

    def journal_lines(self, unit: str, pattern: str) -> list[str]:
        return [line for line in self.journal(unit).splitlines() if re.search(pattern, line)]
