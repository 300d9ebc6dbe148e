"""The units started, killed, frozen and probed by a real systemd: a Debian container
booted with systemd-nspawn (``tests/support/kiosk_machine.py``), in which the kiosk and
its grant service were installed with ``scripts/install-kiosk`` and ``kiosk-provision
install-units`` and enrolled as a technician would. Every test boots its own copy.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kiosk_machine import (
    BIN,
    CARD_PIN,
    CARD_READER,
    GRANT_USER,
    INSTALL_DIR,
    KIOSK_USER,
    PAYMENT_ID,
    SECURITY_CODE,
    KioskMachine,
    installed_layers,
)

# The first test on a fresh machine also builds the Debian root and installs the kiosk in
# it (about two minutes, docs/testing.md); another worker waits for that build.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SYNC, SERVICE, KIOSK = "kiosk-sync.service", "grant-service.service", "kiosk.service"


@pytest.fixture(scope="session")
def machine_layers() -> list[Path]:
    """Built once per machine (the Debian root) and once per checkout (the install)."""
    return installed_layers()


@pytest.fixture
def machine(machine_layers: list[Path], tmp_path: Path) -> Iterator[KioskMachine]:
    booted = KioskMachine(machine_layers, tmp_path / "machine").boot()
    try:
        booted.wait_active(SERVICE)
        booted.wait_active(SYNC)
        yield booted
    finally:
        booted.poweroff()


def queued_while_the_service_is_down(machine: KioskMachine) -> list[str]:
    """A reservation and an application made at the kiosk while the service is stopped:
    the citizen is told "pending", the envelopes wait in the queue. Their receipts."""
    machine.systemctl("stop", SERVICE)
    receipts = []
    for submitted in (machine.submit_reservation(), machine.submit_application()):
        assert submitted["state"] == "pending", submitted
        receipts.append(submitted["receipt_number"])
    assert machine.queue_status()["unsent"] == 2
    return receipts


def synced(machine: KioskMachine, receipts: list[str], timeout: float = 90) -> None:
    """Until the queue is empty; then each receipt is on the service exactly once, done."""
    machine.wait_for("the queue sent", lambda: machine.queue_status()["unsent"] == 0, timeout)
    for receipt in receipts:
        rows = machine.service_sql(
            "SELECT state, outcome FROM submissions WHERE receipt_number = ?", receipt
        )
        assert rows == [("done", "accepted")], (receipt, rows)


def assert_journal_keeps_no_secrets(machine: KioskMachine) -> None:
    """Every field of every journal entry of this boot (all units, the kernel's too)."""
    journal = machine.run(["journalctl", "--boot", "--no-pager", "--output=verbose"]).stdout
    assert "kiosk-sync" in journal and "grant-service" in journal  # it is the right journal
    for secret in (CARD_PIN, SECURITY_CODE, PAYMENT_ID, PAYMENT_ID.replace("-", "")):
        found = re.findall(rf".*(?<!\d){re.escape(secret)}(?!\d).*", journal)
        assert not found, f"{secret!r} in the journal: {found[:3]}"


def check_rows(machine: KioskMachine) -> tuple[int, dict[str, dict[str, str]]]:
    """``kiosk-provision check --json`` as the technician runs it (root)."""
    done = machine.run(
        [f"{BIN}/kiosk-provision", "check", "--json"],
        check=False,
        env={"KIOSK_CONFIG": "/etc/mynapoint-kiosk/kiosk.toml"},
    )
    return done.returncode, {row["name"]: row for row in json.loads(done.stdout)["checks"]}


def test_the_daemons_start_for_real_and_report_ready(machine: KioskMachine) -> None:
    for unit in (SERVICE, SYNC):
        assert machine.systemctl("is-active", unit).stdout.strip() == "active"
        assert machine.show(unit, "Type")["Type"] == "notify"
    # READY=1 came with a status line: from a uvicorn worker, and from kiosk-sync.
    assert machine.show(SERVICE, "StatusText")["StatusText"].startswith("serving (worker ")
    assert machine.show(SYNC, "StatusText")["StatusText"] == "0 unsent, 0 quarantined"
    # As the units say, not as root.
    users = machine.run(
        [
            "ps",
            "-o",
            "user:20=",
            "-p",
            ",".join(str(machine.main_pid(unit)) for unit in (SERVICE, SYNC)),
        ]
    ).stdout.split()
    assert users == [GRANT_USER, KIOSK_USER]
    _, rows = check_rows(machine)
    assert rows[SYNC]["result"] == "ok" and rows[SYNC]["detail"] == "active (running)"


def test_a_queued_submission_is_synced_through_the_units(machine: KioskMachine) -> None:
    receipts = queued_while_the_service_is_down(machine)
    machine.systemctl("start", SERVICE)
    synced(machine, receipts)  # by kiosk-sync's own retries: nobody pokes it
    sync = machine.show(SYNC, "StatusText", "NRestarts")
    assert sync == {"StatusText": "0 unsent, 0 quarantined", "NRestarts": "0"}
    assert_journal_keeps_no_secrets(machine)


def test_a_killed_sync_is_restarted_and_nothing_queued_is_lost(machine: KioskMachine) -> None:
    receipts = queued_while_the_service_is_down(machine)
    killed = machine.main_pid(SYNC)
    machine.systemctl("kill", "--signal=SIGKILL", SYNC)
    machine.wait_for("a new kiosk-sync", lambda: machine.main_pid(SYNC) not in (0, killed))
    state = machine.wait_active(SYNC)
    assert machine.restarts(SYNC) == 1
    assert state["StatusText"].startswith("2 unsent, 0 quarantined")
    assert machine.journal_lines(SYNC, r"Main process exited, code=killed, status=9/KILL")
    machine.systemctl("start", SERVICE)
    synced(machine, receipts)


def test_a_frozen_sync_is_restarted_by_its_watchdog(machine: KioskMachine) -> None:
    watchdog = machine.show(SYNC, "WatchdogUSec", "RestartUSec")
    assert watchdog == {"WatchdogUSec": "1min", "RestartUSec": "5s"}
    frozen = machine.main_pid(SYNC)
    machine.systemctl("kill", "--signal=SIGSTOP", SYNC)
    stopped_at = time.monotonic()
    machine.wait_for(
        "a new kiosk-sync",
        lambda: machine.main_pid(SYNC) not in (0, frozen),
        timeout=60 + 5 + 20,  # WatchdogSec, RestartSec, a margin
    )
    took = time.monotonic() - stopped_at
    assert 60 <= took <= 85, took
    assert machine.journal_lines(SYNC, r"Watchdog timeout \(limit 1min\)!")
    assert machine.journal_lines(SYNC, r"Failed with result 'watchdog'")
    assert machine.wait_active(SYNC)["StatusText"] == "0 unsent, 0 quarantined"
    # The restarted sync works: a submission queued now is sent.
    receipts = queued_while_the_service_is_down(machine)
    machine.systemctl("start", SERVICE)
    synced(machine, receipts)


def test_the_service_killed_mid_batch_is_restarted_and_answers_the_retry_as_a_replay(
    machine: KioskMachine,
) -> None:
    # kiosk-sync talks to the service through a link that kills the service (SIGKILL)
    # as soon as it has answered the first batch, and drops that answer.
    link = [
        "systemd-run",
        "--unit=lost-answer-link",
        "--property=Environment=PYTHONPATH=" + INSTALL_DIR,
        f"{BIN}/python",
        f"{INSTALL_DIR}/tests/support/lost_answer_link.py",
        "8701",
        "8700",
    ]
    machine.run(link)
    machine.run(
        [
            "sed",
            "-i",
            's#^service_url = .*#service_url = "http://127.0.0.1:8701"#',
            "/etc/mynapoint-kiosk/kiosk.toml",
        ]
    )
    machine.systemctl("restart", SYNC)
    receipts = queued_while_the_service_is_down(machine)
    machine.systemctl("start", SERVICE)

    machine.wait_for(
        "the link to kill the service",
        lambda: machine.journal_lines("lost-answer-link", "killed grant-service"),
    )
    assert machine.journal_lines(SERVICE, r"Main process exited, code=killed, status=9/KILL")
    synced(machine, receipts)  # the retry, once systemd brought the service back
    assert machine.restarts(SERVICE) == 1
    assert machine.journal_lines(SYNC, r"sync: 2 of 2 items answered as replays")


def test_a_unit_failing_again_and_again_hits_its_start_limit_and_check_says_so(
    machine: KioskMachine,
) -> None:
    assert machine.show(SYNC, "StartLimitBurst", "StartLimitIntervalUSec") == {
        "StartLimitBurst": "5",
        "StartLimitIntervalUSec": "2min",
    }
    # kiosk.service fails here (no screen) and, through its Wants=, would start the sync
    # early while it waits to restart: one start more than the crashes below make.
    machine.systemctl("stop", KIOSK)
    # A sync that dies as soon as it is up (killed here: a crash on start looks the same).
    crashes, last = 0, "0"

    def up_again_or_given_up() -> str | None:
        state = machine.show(SYNC, "ActiveState", "MainPID")
        if state["ActiveState"] == "failed":  # Restart=always: failed only when given up
            return "given up"
        fresh = state["ActiveState"] == "active" and state["MainPID"] not in ("0", last)
        return state["MainPID"] if fresh else None

    while (pid := machine.wait_for("kiosk-sync up, or given up", up_again_or_given_up)) != (
        "given up"
    ):
        machine.run(["kill", "-KILL", pid])
        crashes, last = crashes + 1, pid
        assert crashes <= 6
    # Started at boot, then restarted 4 times: the 5th crash's restart is refused.
    assert crashes == 5
    assert machine.systemctl("is-failed", SYNC, check=False).stdout.strip() == "failed"
    assert machine.journal_lines(SYNC, r"Start request repeated too quickly")

    status, rows = check_rows(machine)
    assert status == 1
    row = rows[SYNC]
    assert row["result"] == "FAIL"
    assert row["detail"] == (
        "systemd stopped restarting it: it failed again and again (5 starts in 2min) and stays down"
    )
    assert f"systemctl reset-failed {SYNC} && systemctl start {SYNC}" in row["next_step"]
    # The next step given works.
    machine.systemctl("reset-failed", SYNC)
    machine.systemctl("start", SYNC)
    assert machine.wait_active(SYNC)["StatusText"] == "0 unsent, 0 quarantined"


HEADLESS = """[Service]
# No screen in the container: wlroots' headless back end, software rendering, no VT.
TTYPath=
StandardInput=null
TTYReset=no
TTYVHangup=no
TTYVTDisallocate=no
Environment=WLR_BACKENDS=headless WLR_LIBINPUT_NO_DEVICES=1 WLR_RENDERER=pixman
"""


def test_the_kiosk_without_a_screen_fails_and_says_so_and_headless_it_runs_and_is_watched(
    machine: KioskMachine,
) -> None:
    # No tty1 here, as on a machine without its screen: the unit cannot start cage,
    # says why, tries five times, and stays failed.
    machine.wait_for(
        "kiosk.service given up on",
        lambda: machine.show(KIOSK, "ActiveState")["ActiveState"] == "failed",
    )
    assert machine.journal_lines(KIOSK, r"Start request repeated too quickly")
    assert machine.journal_lines(KIOSK, r"Failed to set up standard input: No such file")
    assert machine.journal_lines(KIOSK, r"status=208/STDIN")
    _, rows = check_rows(machine)
    assert rows[KIOSK]["result"] == "FAIL" and "stopped restarting" in rows[KIOSK]["detail"]

    # Headless, the whole session starts under the unit's sandbox: cage, Xwayland, the
    # app, whose READY=1 (after its first frame) makes the unit active.
    machine.drop_in(KIOSK, "headless", HEADLESS)
    machine.systemctl("reset-failed", KIOSK)
    machine.systemctl("start", "--no-block", KIOSK)
    state = machine.wait_active(KIOSK, timeout=120)
    assert state["StatusText"] == "showing welcome"
    tree = machine.systemctl("status", KIOSK, check=False).stdout
    assert "/usr/bin/cage" in tree and "Xwayland" in tree and ".venv/bin/kiosk run" in tree

    # A frozen app stops its pings: systemd ends the session (SIGTERM) and starts it again.
    app = machine.run(["pgrep", "-u", KIOSK_USER, "-f", f"^{BIN}/python {BIN}/kiosk run"])
    cage = machine.main_pid(KIOSK)
    machine.run(["kill", "-STOP", app.stdout.strip()])
    machine.wait_for(
        "a new kiosk session", lambda: machine.main_pid(KIOSK) not in (0, cage), timeout=30 + 3 + 30
    )
    assert machine.journal_lines(KIOSK, r"Watchdog timeout \(limit 30s\)!")
    assert machine.wait_active(KIOSK, timeout=120)["StatusText"] == "showing welcome"


PROBE = f"{BIN}/python {INSTALL_DIR}/tests/support/sandbox_probe.py"


@pytest.mark.parametrize(
    ("unit", "user", "state_dir"),
    [
        (SYNC, KIOSK_USER, "/var/lib/mynapoint-kiosk"),
        (SERVICE, GRANT_USER, "/var/lib/mynapoint-grant"),
    ],
    ids=["kiosk-sync", "grant-service"],
)
def test_the_sandbox_holds_inside_the_running_service(
    machine: KioskMachine, unit: str, user: str, state_dir: str
) -> None:
    own = f"/srv/owned-by-{user}"  # the user's, but outside the unit's ReadWritePaths
    machine.sh(
        f"install -d -o {user} {own}; install -d /home/citizen; "
        "echo private > /home/citizen/notes.txt"
    )
    # The probe runs as an ExecStartPost= of the real unit: its user, namespaces, filters.
    machine.drop_in(unit, "probe", f"[Service]\nExecStartPost={PROBE} {state_dir} {own}\n")
    machine.systemctl("restart", unit)
    machine.wait_active(unit)
    inside = probe_report(
        machine.wait_for("the probe's line", lambda: machine.journal_lines(unit, "SANDBOX-PROBE"))
    )
    outside = probe_report(machine.run([*PROBE.split(), state_dir, own], user=user).stdout)

    assert inside["user"] == outside["user"] == user
    assert inside["cgroup"].endswith(f"/system.slice/{unit}")
    assert (inside["no_new_privs"], inside["seccomp"]) == ("1", "2")  # 2: a filter
    # Writes: the state directory only. Without the sandbox the user could write the
    # others it owns (ProtectSystem=strict makes them read-only).
    assert inside["write"] == {state_dir: "ok", own: "EROFS", "/etc": "EROFS"}
    assert outside["write"] == {state_dir: "ok", own: "ok", "/etc": "EACCES"}
    # ProtectHome=yes: the homes cannot be read at all.
    assert (inside["home"], inside["root"]) == ("EACCES", "EACCES")
    assert outside["home"] == ["citizen"]
    # System calls every user may make, refused by the unit's filters.
    assert inside["syscall"] == {
        "sched_setaffinity": "EPERM",  # SystemCallFilter=~@resources
        "setuid": "EPERM",  # ~@privileged
        "socket(AF_NETLINK)": "EAFNOSUPPORT",  # RestrictAddressFamilies=
        "mmap(write+exec)": "EPERM",  # MemoryDenyWriteExecute=
    }
    assert set(outside["syscall"].values()) == {"ok"}


def probe_report(output: str | list[str]) -> dict:
    text = output if isinstance(output, str) else "\n".join(output)
    line = next(line for line in text.splitlines() if "SANDBOX-PROBE " in line)
    return json.loads(line.split("SANDBOX-PROBE ", 1)[1])


CRL_IMPORT = "grant-service-crl-import.service"
INBOX = "/var/lib/mynapoint-grant/crl-inbox"


def test_a_crl_dropped_into_the_inbox_is_imported_by_its_timers_unit(
    machine: KioskMachine,
) -> None:
    timer = machine.show("grant-service-crl-import.timer", "ActiveState", "UnitFileState")
    assert timer == {"ActiveState": "active", "UnitFileState": "enabled"}
    # The card is revoked: its CA's new CRL goes where the operator's fetcher puts CRLs.
    card = CARD_READER.removeprefix("virtual:")
    ca = str(Path(card).parent / "test-ca")
    machine.kiosk_command("kiosk-card-sim", "revoke", "--ca", ca, "--card", card)
    machine.sh(
        f"install -d -o {GRANT_USER} -m 0700 {INBOX}; "
        f"install -o {GRANT_USER} -m 0600 {ca}/crl.der {INBOX}/crl.der.partial; "
        f"mv {INBOX}/crl.der.partial {INBOX}/revoked-one.der"
    )
    machine.systemctl("start", CRL_IMPORT)  # as the timer does, every ten minutes

    assert machine.journal_lines(CRL_IMPORT, r"revoked-one.der: CRL imported for .*: 1 revoked")
    assert machine.show(CRL_IMPORT, "Result")["Result"] == "success"
    moved = machine.run(["ls", f"{INBOX}/imported"], user=GRANT_USER).stdout.split()
    assert moved == ["revoked-one.der"]
    # In force at once: the revoked card is refused.
    refused = machine.submit_reservation()
    assert refused["state"] == "rejected" and refused["reason_code"] == "CERT_REVOKED"


# The actions a pcscd built with polkit asks for, with its defaults (pcsc-lite's
# org.debian.pcsc-lite.policy): any process of an active login session, nobody else.
PCSCD_POLICY = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE policyconfig PUBLIC "-//freedesktop//DTD PolicyKit Policy Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/PolicyKit/1.0/policyconfig.dtd">
<policyconfig>
  <action id="org.debian.pcsc-lite.access_pcsc">
    <description>Access to the PC/SC daemon</description>
    <defaults><allow_any>no</allow_any><allow_inactive>no</allow_inactive>
      <allow_active>yes</allow_active></defaults>
  </action>
  <action id="org.debian.pcsc-lite.access_card">
    <description>Access to the smart card</description>
    <defaults><allow_any>no</allow_any><allow_inactive>no</allow_inactive>
      <allow_active>yes</allow_active></defaults>
  </action>
</policyconfig>
"""


def test_the_kiosks_user_reads_a_card_through_the_systems_pcscd(machine: KioskMachine) -> None:
    # The virtual card placed on vpcd's reader, as the kiosk's user (its card file).
    card = CARD_READER.removeprefix("virtual:")
    machine.run(
        [
            "systemd-run",
            "--unit=card-on-reader",
            f"--property=User={KIOSK_USER}",
            f"{BIN}/kiosk-card-sim",
            "serve",
            "--vpcd",
            "127.0.0.1:35963",
            "--card",
            card,
        ]
    )
    assert machine.systemctl("is-active", "pcscd.service", check=False).stdout.strip() != "active"
    # The first client starts Debian's pcscd through its socket; the card is read, the PIN
    # checked and the envelope signed through it, by the kiosk's user.
    done = machine.submit("reservation", "--reader", "pcsc", input=f"{CARD_PIN}\n")
    assert done["state"] == "confirmed"
    assert machine.show("pcscd.service", "ActiveState", "TriggeredBy") == {
        "ActiveState": "active",
        "TriggeredBy": "pcscd.socket",
    }

    # Debian 12's pcscd asks no one; a pcscd built with polkit asks polkit, which serves
    # only login sessions, and the kiosk has none. The rule install-units wrote lets the
    # kiosk's user, and nobody else.
    machine.run(
        ["sh", "-c", "cat > /usr/share/polkit-1/actions/org.debian.pcsc-lite.policy"],
        input=PCSCD_POLICY,
    )
    machine.systemctl("restart", "polkit")
    assert machine.journal_lines("polkit", r"Finished loading, compiling and executing")
    assert not machine.journal_lines("polkit", r"Error compiling")
    for unit, allowed in ((SYNC, True), (SERVICE, False)):
        asked = machine.run(
            [
                "pkcheck",
                "--action-id",
                "org.debian.pcsc-lite.access_card",
                "--process",
                str(machine.main_pid(unit)),
            ],
            check=False,
        )
        assert (asked.returncode == 0) is allowed, (unit, asked.stdout, asked.stderr)
