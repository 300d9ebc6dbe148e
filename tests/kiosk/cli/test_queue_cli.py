"""The kiosk's queue as a technician and the kiosk's flow use it: ``kiosk-submit``,
``kiosk-sync``, ``kiosk-queue``, against a real grant-service process on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kiosk.offline_queue.sync import Syncer
from tests.conftest import run_cli
from tests.support.kiosk_harness import BIN, KioskRig
from tests.support.leaks import leaked
from tests.support.service_harness import CARD_PIN

# An account the simulated operator does not know: the application is refused, but only
# after it was sent, which is what the privacy checks need.
UNKNOWN_ID, UNKNOWN_CODE = "090-7351-2468", "8642"


def kiosk(rig: KioskRig, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(args[0], *args[1:], stdin=stdin, env=rig.env)


def apply_unknown_account(rig: KioskRig) -> subprocess.CompletedProcess[str]:
    account = ("--service", "paypay", "--payment-id", UNKNOWN_ID)
    stdin = f"{CARD_PIN}\n{UNKNOWN_CODE}\n"
    return kiosk(rig, "kiosk-submit", "application", *account, "--pin-stdin", stdin=stdin)


def test_kiosk_submit_confirms_refuses_or_queues_and_never_shows_a_secret(
    kiosk_rig: KioskRig,
) -> None:
    reserved = kiosk(kiosk_rig, "kiosk-submit", "reservation", "--pin-stdin", stdin=f"{CARD_PIN}\n")
    assert reserved.returncode == 0, reserved.stderr
    assert reserved.stdout.startswith("confirmed: receipt ")
    refused = apply_unknown_account(kiosk_rig)
    assert refused.returncode == 0, refused.stderr
    assert refused.stdout.startswith("rejected: receipt ")
    kiosk_rig.service.stop()
    queued = apply_unknown_account(kiosk_rig)
    assert queued.stdout.startswith("pending: receipt "), queued.stdout + queued.stderr
    for run in (reserved, refused, queued):
        for secret in (CARD_PIN, UNKNOWN_CODE, UNKNOWN_ID):
            assert secret not in run.stdout + run.stderr


def test_kiosk_submit_never_takes_a_card_number_with_its_security_code(
    kiosk_rig: KioskRig,
) -> None:
    """The technician's tool applies the catalog's availability as the screens do: no PIN
    and no code is read, and nothing is queued."""
    account = ("--service", "d_card", "--payment-id", "5300123456789012")
    stdin = f"{CARD_PIN}\n123\n"
    done = kiosk(kiosk_rig, "kiosk-submit", "application", *account, "--pin-stdin", stdin=stdin)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "SERVICE_CARD_CREDENTIALS" in done.stderr and "Traceback" not in done.stderr
    assert sum(kiosk_rig.store().status().counts.values()) == 0


def test_kiosk_submit_says_clearly_when_the_kiosk_is_not_enrolled(
    kiosk_rig: KioskRig, tmp_path: Path
) -> None:
    result = run_cli(
        "kiosk-submit",
        "reservation",
        "--pin-stdin",
        stdin=f"{CARD_PIN}\n",
        env={**kiosk_rig.env, "KIOSK_DATA_DIR": str(tmp_path / "new-kiosk")},
    )
    assert result.returncode == 1
    assert "this kiosk is not enrolled" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_full_queue_refuses_the_submission_clearly_and_keeps_the_rest(
    kiosk_rig: KioskRig,
) -> None:
    kiosk_rig.service.stop()
    kiosk_rig.queue(3)
    env = {**kiosk_rig.env, "KIOSK_QUEUE_MAX_PAGES": "1"}  # smaller than it already is
    result = run_cli("kiosk-submit", "reservation", "--pin-stdin", stdin=f"{CARD_PIN}\n", env=env)
    assert result.returncode == 5  # a full queue's own status
    assert "queue cannot be written" in result.stderr and "Nothing queued" in result.stderr
    assert "Traceback" not in result.stderr
    status = json.loads(kiosk(kiosk_rig, "kiosk-queue", "status", "--json").stdout)
    assert status["counts"]["pending"] == 3


def files_of(database: Path) -> list[Path]:
    return [p for p in (database, Path(f"{database}-wal"), Path(f"{database}-shm")) if p.exists()]


def found_in(files: list[Path], needle: bytes) -> bool:
    return any(needle in path.read_bytes() for path in files)


def test_secrets_are_gone_from_the_queue_files_once_acknowledged(kiosk_rig: KioskRig) -> None:
    kiosk_rig.service.stop()
    store = kiosk_rig.store()
    try:
        envelopes = [
            kiosk_rig.envelope(store),
            kiosk_rig.envelope(store, "application"),
            kiosk_rig.envelope(store, "application"),  # refused: already applied
        ]
        for envelope in envelopes:
            store.enqueue(envelope)
        with sqlite3.connect(store.database) as raw:
            ciphertexts = [bytes(p) for (p,) in raw.execute("SELECT payload FROM queue")]
        # The search finds what the queue writes: a planted marker and the ciphertexts.
        store.raise_alert("PLANTED", "marker 090-5555-0000")
        files = files_of(store.database)
        assert found_in(files, b"090-5555-0000")
        assert all(found_in(files, c[13:45]) for c in ciphertexts)
        assert not found_in(files, b'"security_code"')  # encrypted at rest from the start
    finally:
        store.close()

    kiosk_rig.service.start()
    with Syncer.opened(kiosk_rig.settings) as syncer:
        report = syncer.drain()
    assert (report.accepted, report.rejected) == (2, 1)

    store = kiosk_rig.store()
    try:
        rows = store.items()
        assert {row.state for row in rows} == {"accepted", "rejected"}
        assert all(row.payload is None for row in rows)
        assert all(row.receipt_number for row in rows)
    finally:
        store.close()
    files = files_of(kiosk_rig.settings.queue_database)
    for needle in (b'"security_code"', b"090-0000-0001", b'"payment_id"'):
        assert not found_in(files, needle), needle
    for ciphertext in ciphertexts:  # not even the key could bring them back
        assert not found_in(files, ciphertext[13:45])


def test_a_row_that_cannot_be_decrypted_is_quarantined_and_the_rest_drain(
    kiosk_rig: KioskRig,
) -> None:
    envelopes = kiosk_rig.queue(4)
    with sqlite3.connect(kiosk_rig.settings.queue_database) as raw:
        raw.execute("UPDATE queue SET payload = zeroblob(80) WHERE uuid = ?", (envelopes[1].uuid,))
    synced = kiosk(kiosk_rig, "kiosk-sync", "--once")
    assert "3 accepted" in synced.stdout
    kiosk_rig.assert_exactly_once([envelopes[0].uuid, *[e.uuid for e in envelopes[2:]]])

    status = kiosk(kiosk_rig, "kiosk-queue", "status")
    assert status.returncode == 4  # an open alert
    assert "quarantined: 1" in status.stdout
    assert "QUEUE_ROW_UNREADABLE" in status.stdout and envelopes[1].receipt_number in status.stdout
    listed = kiosk(kiosk_rig, "kiosk-queue", "list", "--state", "quarantined")
    assert envelopes[1].receipt_number in listed.stdout
    # A technician may try it again; it still cannot be read, and says so again.
    retried = kiosk(kiosk_rig, "kiosk-queue", "retry", envelopes[1].receipt_number)
    assert retried.returncode == 0, retried.stderr
    kiosk(kiosk_rig, "kiosk-sync", "--once")
    assert (
        json.loads(kiosk(kiosk_rig, "kiosk-queue", "status", "--json").stdout)["counts"][
            "quarantined"
        ]
        == 1
    )
    assert kiosk(kiosk_rig, "kiosk-queue", "retry", "R-NO-SUCH").returncode == 1


def test_an_export_carried_by_hand_is_imported_once(kiosk_rig: KioskRig, tmp_path: Path) -> None:
    envelopes = kiosk_rig.queue(3, "reservation")
    out = tmp_path / "queue-export.json"
    exported = kiosk(kiosk_rig, "kiosk-queue", "export", str(out), "--per-file", "2")
    assert exported.returncode == 0, exported.stderr
    files = [tmp_path / "queue-export-1-of-2.json", tmp_path / "queue-export-2-of-2.json"]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert b"certificate" not in path.read_bytes()  # sealed: not even the envelopes show
    again = kiosk(kiosk_rig, "kiosk-queue", "export", str(out), "--per-file", "2")
    assert again.returncode == 1 and "exists" in again.stderr  # never overwritten

    token = kiosk_rig.service.cli("admin-token").stdout.strip().splitlines()[0]
    statuses = []
    for path in files:
        imported = httpx.post(
            f"{kiosk_rig.service.url}/v1/submissions/import",
            content=path.read_bytes(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert imported.status_code == 200, imported.text
        statuses += [r["status"] for r in imported.json()["results"]]
    assert statuses == ["accepted"] * 3
    # The kiosk comes online later: its own sends are recognised as the same envelopes.
    synced = kiosk(kiosk_rig, "kiosk-sync", "--once")
    assert synced.returncode == 0, synced.stderr
    kiosk_rig.assert_exactly_once([e.uuid for e in envelopes])


@pytest.fixture
def notify_socket(tmp_path: Path) -> tuple[socket.socket, str]:
    """What systemd listens on for ``sd_notify``."""
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(20)
    return listener, path


def start_sync(rig: KioskRig, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "kiosk-sync")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **rig.env, **env},
    )


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.timeout(90)
def test_the_daemon_reports_to_systemd_drains_on_request_and_stops_cleanly(
    kiosk_rig: KioskRig, notify_socket: tuple[socket.socket, str]
) -> None:
    listener, path = notify_socket
    daemon = start_sync(kiosk_rig, NOTIFY_SOCKET=path, KIOSK_SYNC_INTERVAL_SECONDS="3600")
    try:
        assert listener.recv(4096).decode().startswith("READY=1\nSTATUS=0 unsent")
        assert listener.recv(4096).decode().startswith("WATCHDOG=1\nSTATUS=0 unsent")
        # A second sync would race the first: refused, clearly.
        second = kiosk(kiosk_rig, "kiosk-sync", "--once")
        assert second.returncode == 1 and "already running" in second.stderr
        # New items wait for the next round (an hour away): "drain" asks for it now.
        envelopes = kiosk_rig.queue(5)
        drained = kiosk(kiosk_rig, "kiosk-queue", "drain", "--timeout", "30")
        assert drained.returncode == 0, drained.stdout + drained.stderr
        assert f"asked kiosk-sync (pid {daemon.pid})" in drained.stdout
        kiosk_rig.assert_exactly_once([e.uuid for e in envelopes])
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
        messages = []
        with pytest.raises(TimeoutError):
            listener.settimeout(0.5)
            while True:
                messages.append(listener.recv(4096).decode())
        assert any(m.startswith("WATCHDOG=1") for m in messages)
        assert messages[-1] == "STOPPING=1"
    finally:
        if daemon.poll() is None:
            daemon.kill()
        _, stderr = daemon.communicate(timeout=10)
    assert "kiosk-sync started" in stderr and "kiosk-sync stopped" in stderr
    assert not leaked(stderr, [CARD_PIN])  # UUIDs in the log may hold the digits


def test_the_daemon_refuses_to_start_unenrolled(kiosk_rig: KioskRig, tmp_path: Path) -> None:
    result = run_cli("kiosk-sync", env={**kiosk_rig.env, "KIOSK_DATA_DIR": str(tmp_path / "x")})
    assert result.returncode == 1
    assert "not enrolled" in result.stderr


def test_kiosk_settings_come_from_a_toml_file(kiosk_rig: KioskRig, tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'data_dir = "{kiosk_rig.settings.data_dir}"\nservice_url = "{kiosk_rig.service.url}"\n'
    )
    env = {"KIOSK_CONFIG": str(config)}
    shown = run_cli("kiosk-device", "show", env=env)
    assert shown.returncode == 0, shown.stderr
    assert kiosk_rig.kiosk_id in shown.stdout
    config.write_text('servce_url = "http://127.0.0.1:1"\n')  # a technician's typo
    typo = run_cli("kiosk-queue", "status", env=env)
    assert typo.returncode == 1 and "servce_url" in typo.stderr


def test_plain_http_off_loopback_is_refused(kiosk_rig: KioskRig) -> None:
    env = {**kiosk_rig.env, "KIOSK_SERVICE_URL": "http://192.0.2.10:8700"}
    result = run_cli("kiosk-sync", "--once", env=env)
    assert result.returncode == 1
    assert "plain HTTP is allowed only to loopback" in result.stderr
