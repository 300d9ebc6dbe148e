"""``kiosk-provision`` as a field technician runs it: console scripts in subprocesses, a
real ``grant-service serve`` on loopback, the virtual card reader, and an ESC/POS network
printer on loopback (``LoopbackPrinter``) in the states a store's printer gets into."""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from grant_service.models import AuditEntry
from kiosk.devices.sim.escpos_printer import LoopbackPrinter, PrinterState
from kiosk.devices.sim.virtual_card import VirtualJpkiCard
from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.enrollment import service_client
from kiosk.link.service_client import ServiceClient
from kiosk.offline_queue.store import open_queue
from kiosk.settings import load_kiosk_settings
from kiosk.technician.pin import pin_matches
from mynapoint.database import make_engine, make_session_factory
from mynapoint.envelope import ReservationPayload, build_envelope
from mynapoint.private_files import write_private
from provisioning import locations
from provisioning.errors import ProvisioningError
from provisioning.printer_spec import parse_printer_spec
from provisioning.rotation import NEXT_KEY_FILE
from tests.conftest import run_cli
from tests.support.kiosk_harness import BIN, GrantServiceProcess, free_port
from tests.support.service_harness import CARD_PIN, TestCard

# A technician PIN no output could contain by accident.
TECHNICIAN_PIN = "80516243"


@dataclass
class Grant:
    """The grant service the tests' kiosks enroll with, and where its test CA lives."""

    service: GrantServiceProcess
    home: Path
    database_url: str

    @property
    def env(self) -> dict[str, str]:
        return {"XDG_DATA_HOME": str(self.home / "xdg")}

    @property
    def card_file(self) -> Path:
        return self.home / "xdg" / "mynapoint-kiosk" / "virtual-card.json"

    def token(self, kiosk_id: str, *args: str) -> str:
        made = self.service.cli(
            "enrollment-token", "--kiosk-id", kiosk_id, "--channel", "convenience_store", *args
        )
        assert made.returncode == 0, made.stderr
        return made.stdout.strip()


def start_service(home: Path) -> GrantServiceProcess:
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "XDG_DATA_HOME": str(home / "xdg"),
        "GRANT_SERVICE_DATA_DIR": str(home / "grant-service"),
        "GRANT_SERVICE_DATABASE_URL": f"sqlite:///{home / 'grant-service.sqlite3'}",
        "GRANT_SERVICE_APPLICATION_DEADLINE": "2099-12-31",
    }
    service = GrantServiceProcess(home / "grant-service.log", env=env)
    service.start()
    return service


@pytest.fixture(scope="module")
def grant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Grant]:
    """One service for the module (each test enrolls its own kiosk ID), trusting the test
    CA that issued the virtual card, with that CA's fresh CRL."""
    home = tmp_path_factory.mktemp("provisioning")
    env = {**os.environ, "XDG_DATA_HOME": str(home / "xdg")}
    for args in (("make-ca",), ("issue", "--pin", CARD_PIN)):
        made = subprocess.run(
            [str(BIN / "kiosk-card-sim"), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert made.returncode == 0, made.stderr
    service = start_service(home)
    crl = home / "xdg" / "mynapoint-kiosk" / "test-ca" / "crl.der"
    imported = service.cli("import-crl", str(crl))
    assert imported.returncode == 0, imported.stderr
    yield Grant(service, home, f"sqlite:///{home / 'grant-service.sqlite3'}")
    service.stop()


@dataclass
class Kiosk:
    """One kiosk's files under a test's directory, and the technician's commands."""

    root: Path
    grant: Grant
    outputs: list[str]

    @property
    def config(self) -> Path:
        return self.root / "etc" / "kiosk.toml"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        done = run_cli("kiosk-provision", *args, stdin=stdin, env=self.grant.env)
        self.outputs.append(done.stdout + done.stderr)
        return done

    def enroll(
        self, token: str, *args: str, service: str | None = None, pin: str = TECHNICIAN_PIN
    ) -> subprocess.CompletedProcess[str]:
        url = service or self.grant.service.url
        where = ["--service", url, "--token-stdin", "--store-id", "FM-0042", "--reader", "virtual"]
        paths = ["--config", str(self.config), "--data-dir", str(self.data_dir)]
        stdin = f"{token}\n{pin}\n"
        return self.run("enroll", *where, *paths, "--technician-pin-stdin", *args, stdin=stdin)

    def command(
        self, name: str, *args: str, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run(name, "--config", str(self.config), *args, stdin=stdin)

    def check(self) -> tuple[int, dict[str, dict[str, str]]]:
        done = self.command("check", "--json", "--wait-card", "1")
        rows = {row["name"]: row for row in json.loads(done.stdout)["checks"]}
        return done.returncode, rows

    def queue_reservations(self, count: int) -> list[str]:
        """Envelopes the card signed, committed to the queue as the kiosk does offline."""
        settings = load_kiosk_settings(self.config)
        card = TestCard(self.grant.card_file)
        identity = DeviceIdentity.load(settings.device_dir)
        store = open_queue(settings)
        uuids = []
        try:
            for _ in range(count):
                envelope = build_envelope(
                    ReservationPayload(terms_version="2020-07"),
                    kiosk_id=identity.kiosk_id,
                    sequence=store.next_sequence(),
                    certificate_der=card.certificate_der,
                    sign=card.sign,
                )
                store.enqueue(envelope)
                uuids.append(envelope.uuid)
        finally:
            store.close()
        return uuids

    def assert_pin_never_shown(self) -> None:
        for output in self.outputs:
            assert TECHNICIAN_PIN not in output
        for path in self.root.rglob("*"):
            if path.is_file():
                assert TECHNICIAN_PIN.encode() not in path.read_bytes(), path


@pytest.fixture
def kiosk(grant: Grant, tmp_path: Path) -> Kiosk:
    return Kiosk(tmp_path / "kiosk", grant, [])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The error a failed command printed: one line, no traceback."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    return lines[0]


def wait_for_line(process: subprocess.Popen[str], text: str) -> None:
    """Read the process's standard error until ``text`` shows (it logs as it starts)."""
    assert process.stderr is not None
    for line in process.stderr:
        if text in line:
            return
    raise AssertionError(f"{process.args[0]} ended before saying {text!r}")


def processed_by_service(grant: Grant, uuids: list[str]) -> set[str]:
    engine = make_engine(grant.database_url)
    try:
        with make_session_factory(engine)() as session:
            return set(
                session.scalars(
                    select(AuditEntry.subject).where(
                        AuditEntry.subject.in_(uuids), AuditEntry.action.like("submission.%")
                    )
                )
            )
    finally:
        engine.dispose()


# --- the printer string -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "settings"),
    [
        ("file:/tmp/slips.bin", {"printer_backend": "file", "printer_file": "/tmp/slips.bin"}),
        (
            "network:192.168.1.50",
            {"printer_backend": "network", "printer_host": "192.168.1.50", "printer_port": 9100},
        ),
        (
            "network:printer.local:9101",
            {"printer_backend": "network", "printer_host": "printer.local", "printer_port": 9101},
        ),
        (
            "network:[fe80::1]:9100",
            {"printer_backend": "network", "printer_host": "fe80::1", "printer_port": 9100},
        ),
        (
            "network:fe80::1",
            {"printer_backend": "network", "printer_host": "fe80::1", "printer_port": 9100},
        ),
        (
            "usb:04b8:0E15",
            {
                "printer_backend": "usb",
                "printer_usb_vendor_id": "04b8",
                "printer_usb_product_id": "0e15",
            },
        ),
        (
            "usb:0x4b8:e15",
            {
                "printer_backend": "usb",
                "printer_usb_vendor_id": "04b8",
                "printer_usb_product_id": "0e15",
            },
        ),
        (
            "serial:/dev/ttyUSB0",
            {"printer_backend": "serial", "printer_serial_device": "/dev/ttyUSB0"},
        ),
        (
            "serial:/dev/ttyS1:38400",
            {
                "printer_backend": "serial",
                "printer_serial_device": "/dev/ttyS1",
                "printer_serial_baudrate": 38400,
            },
        ),
    ],
)
def test_a_printer_string_becomes_the_printer_settings(spec: str, settings: dict) -> None:
    assert parse_printer_spec(spec) == settings


@pytest.mark.parametrize(
    "spec",
    [
        "epson",
        "file:",
        "network:",
        "network:host:99999",
        "network:host:abc",
        "usb:04b8",
        "usb:zz:0e15",
        "usb:12345:0e15",
        "serial:",
        "network:[::1",
    ],
)
def test_a_wrong_printer_string_is_refused_with_the_forms_it_could_take(spec: str) -> None:
    with pytest.raises(ProvisioningError, match="cannot read the printer"):
        parse_printer_spec(spec)


# --- a kiosk's life ----------------------------------------------------------------------


def test_enroll_show_check_then_decommission_with_the_queue_drained_first(
    grant: Grant, kiosk: Kiosk, start_cli: Callable[..., subprocess.Popen[str]]
) -> None:
    second_token = grant.token("kiosk-e2e-2")
    with LoopbackPrinter(port=0, state=PrinterState.OK) as printer:
        store = ("--store-name", "ファミリーマート 霞が関店")
        printer_spec = f"network:127.0.0.1:{printer.port}"
        enrolled = kiosk.enroll(grant.token("kiosk-e2e"), *store, "--printer", printer_spec)
        assert enrolled.returncode == 0, enrolled.stderr
        assert "enrolled kiosk-e2e (convenience_store)" in enrolled.stdout

        # Private files, written whole; the configuration the kiosk reads.
        device = kiosk.data_dir / "device"
        assert mode(kiosk.config.parent) == mode(kiosk.data_dir) == mode(device) == 0o700
        assert mode(kiosk.config) == mode(kiosk.data_dir / "queue.key") == 0o600
        assert all(mode(path) == 0o600 for path in device.iterdir())
        assert len((kiosk.data_dir / "queue.key").read_bytes()) == 32
        assert not [p for p in kiosk.root.rglob(".*") if p.is_file()]  # no file left aside
        written = tomllib.loads(kiosk.config.read_text())
        assert written["store_id"] == "FM-0042"
        assert written["store_name"] == "ファミリーマート 霞が関店"
        assert (written["printer_backend"], written["printer_port"]) == ("network", printer.port)
        assert written["data_dir"] == str(kiosk.data_dir)
        assert pin_matches(TECHNICIAN_PIN, written["technician_pin_hash"])

        shown = kiosk.command("show")
        assert shown.returncode == 0, shown.stderr
        expected = [
            "kiosk-e2e (convenience_store)",
            "FM-0042 ファミリーマート 霞が関店",
            grant.service.url,
            f"network:127.0.0.1:{printer.port}",
            "valid until",
            "technician PIN: set",
            "empty (no queue yet)",
            str(kiosk.config),
        ]
        for line in expected:
            assert line in shown.stdout, shown.stdout
        assert "scrypt" not in shown.stdout

        status, rows = kiosk.check()
        assert status == 0, rows
        passed = [
            "card reader",
            "printer",
            "device identity",
            "grant service",
            "clock",
            "disk",
            "queue",
            "technician PIN",
        ]
        for name in passed:
            assert rows[name]["result"] == "ok", rows[name]
        assert rows["kiosk-sync"]["result"] == "warn"  # not running here: exit status 0
        table = kiosk.command("check", "--wait-card", "1")
        assert table.returncode == 0 and "all checks passed" in table.stdout

    # An enrolled kiosk is not replaced by mistake, nor while its queue holds submissions.
    error = one_line_error(kiosk.enroll(second_token))
    assert "provisioned already" in error and "--force" in error
    uuids = kiosk.queue_reservations(2)
    error = one_line_error(kiosk.enroll(second_token, "--force"))
    assert "2 submission(s)" in error and "decommission --drain" in error

    error = one_line_error(kiosk.command("decommission", "--yes"))
    assert "2 submission(s)" in error and "would be lost" in error and "--drain" in error
    assert (device / "device-key.pem").exists()

    # The slips (MyKey IDs) and the not-me reports go too; asked first.
    slip = kiosk.data_dir / "slips" / "slip-20261122T000000000000Z-abc123.json"
    slip.parent.mkdir()
    slip.write_text('{"mykey_id": "QCEGF2TM"}')
    (kiosk.data_dir / "not-me-reports.jsonl").write_text('{"receipt": "4NVC-G3DC-CP7S"}\n')
    declined = kiosk.command("decommission", "--drain", stdin="n\n")
    assert declined.returncode == 1 and "Traceback" not in declined.stderr
    assert declined.stderr.splitlines()[-1].startswith("Error: nothing was erased")
    assert "sent 2: " in declined.stdout and "0 unsent" in declined.stdout
    assert processed_by_service(grant, uuids) == set(uuids)
    assert slip.exists() and (device / "device-key.pem").exists()

    # With kiosk-sync running, --drain asks it (SIGUSR1), and nothing is erased under it.
    sync = start_cli(
        "kiosk-sync",
        env={**grant.env, "KIOSK_CONFIG": str(kiosk.config), "KIOSK_SYNC_INTERVAL_SECONDS": "3600"},
    )
    wait_for_line(sync, "kiosk-sync started")
    later = kiosk.queue_reservations(1)  # waits: the sync's next round is an hour away
    asked = kiosk.command("decommission", "--drain", "--yes")
    assert f"asked kiosk-sync (pid {sync.pid})" in asked.stdout
    error = one_line_error(asked)
    assert f"kiosk-sync is running (pid {sync.pid})" in error and "systemctl stop" in error
    assert processed_by_service(grant, later) == set(later)
    sync.terminate()
    sync.wait(10)

    retired = kiosk.command("decommission", stdin="y\n")
    assert retired.returncode == 0, retired.stderr
    erased_parts = [
        "the queue key",
        "the queue ",
        "the slip archive",
        "the not-me reports",
        "the device key and certificate",
        "the technician PIN's hash",
    ]
    for erased in erased_parts:
        assert f"erased {erased}" in retired.stdout, retired.stdout
    assert "grant-service device-revoke kiosk-e2e" in retired.stdout
    assert not device.exists() and not slip.parent.exists()
    assert not (kiosk.data_dir / "not-me-reports.jsonl").exists()
    assert not (kiosk.data_dir / "queue.key").exists()
    assert not (kiosk.data_dir / "queue.sqlite3").exists()
    assert "technician_pin_hash" not in kiosk.config.read_text()

    # The token the refusals left unspent enrolls the kiosk again.
    again = kiosk.enroll(second_token, "--force")
    assert again.returncode == 0, again.stderr
    assert "enrolled kiosk-e2e-2" in again.stdout
    kiosk.assert_pin_never_shown()


# --- check: what fails, and the next step ----------------------------------------------


def test_check_warns_or_fails_with_the_next_step_for_the_printer_and_a_revoked_kiosk(
    grant: Grant, kiosk: Kiosk
) -> None:
    owner = ("--owner", "nobody") if os.geteuid() == 0 else ()
    with LoopbackPrinter(port=0, state=PrinterState.NEAR_END) as printer:
        enrolled = kiosk.enroll(
            grant.token("kiosk-checks"), "--printer", f"network:127.0.0.1:{printer.port}", *owner
        )
        assert enrolled.returncode == 0, enrolled.stderr
        if owner:  # root gives the kiosk's files to the user the kiosk runs as
            nobody = pwd.getpwnam("nobody").pw_uid
            paths = [kiosk.config, kiosk.config.parent, *kiosk.data_dir.rglob("*")]
            assert all(path.stat().st_uid == nobody for path in [*paths, kiosk.data_dir])

        status, rows = kiosk.check()
        assert status == 0 and rows["printer"]["result"] == "warn"
        assert "near end" in rows["printer"]["detail"]
        assert rows["printer"]["next_step"] == "change the paper roll soon"

        printer.state = PrinterState.PAPER_OUT
        status, rows = kiosk.check()
        assert status == 1 and rows["printer"]["result"] == "FAIL"
        assert "paper out" in rows["printer"]["detail"]
        assert "load a new paper roll" in rows["printer"]["next_step"]

        printer.state = PrinterState.DOWN
        table = kiosk.command("check", "--wait-card", "1")
        assert table.returncode == 1 and "1 failed" in table.stdout
        printer_row = table.stdout.splitlines()[1:3]
        assert printer_row[0].startswith("printer ") and " FAIL " in printer_row[0]
        assert "cannot open the network printer" in printer_row[0]
        assert printer_row[1].split()[:4] == ["next", "switch", "the", "printer"]

        printer.state = PrinterState.OK
        revoked = grant.service.cli("device-revoke", "kiosk-checks")
        assert revoked.returncode == 0, revoked.stderr
        status, rows = kiosk.check()
    assert status == 1 and rows["printer"]["result"] == "ok"
    assert rows["grant service"]["result"] == "FAIL"
    assert "kiosk-checks's enrollment was revoked" in rows["grant service"]["detail"]
    assert "enroll --force" in rows["grant service"]["next_step"]
    if owner:  # what root's check opened in the kiosk's directory stays the kiosk's
        assert all(path.stat().st_uid == nobody for path in kiosk.data_dir.rglob("*"))


def test_a_kiosk_that_cannot_reach_the_service_is_retired_with_discard_unsent(
    grant: Grant, kiosk: Kiosk, tmp_path: Path
) -> None:
    """The last way out: the queue exported for an operator, then given up, said loudly."""
    service = start_service(tmp_path / "service")  # its own, to stop for good
    token = service.cli(
        "enrollment-token", "--kiosk-id", "kiosk-gone", "--channel", "city_hall"
    ).stdout.strip()
    assert kiosk.enroll(token, service=service.url).returncode == 0
    kiosk.queue_reservations(2)
    service.stop()
    tried = kiosk.command("decommission", "--drain", "--timeout", "5", "--yes")
    assert tried.returncode == 1 and "Traceback" not in tried.stderr
    assert "cannot reach the service" in tried.stderr  # what the drain met, then the error
    error = tried.stderr.splitlines()[-1]
    assert "2 submission(s) could still not be sent" in error
    assert "kiosk-queue export" in error and "--discard-unsent" in error
    assert (kiosk.data_dir / "device" / "device-key.pem").exists()  # nothing erased

    asked = kiosk.command("decommission", "--discard-unsent", stdin="n\n")
    assert asked.returncode == 1 and "2 submission(s) NEVER SENT" in asked.stderr
    assert (kiosk.data_dir / "queue.sqlite3").exists()
    retired = kiosk.command("decommission", "--discard-unsent", "--yes")
    assert retired.returncode == 0, retired.stderr
    assert "erased the queue key" in retired.stdout
    assert not (kiosk.data_dir / "queue.sqlite3").exists()
    assert "grant-service device-revoke kiosk-gone" in retired.stdout


@pytest.mark.pcsc
def test_check_finds_the_card_through_a_real_pcscd_reader(
    grant: Grant, kiosk: Kiosk, insert_vpcd: Callable[..., object]
) -> None:
    """``--reader pcsc``: pyscard, libpcsclite, a private pcscd and its vpcd reader."""
    assert kiosk.enroll(grant.token("kiosk-pcsc"), "--reader", "pcsc").returncode == 0
    status, rows = kiosk.check()  # the reader is there, no card on it
    assert status == 1 and rows["card reader"]["result"] == "FAIL"
    assert "no card on the reader within 1 s" in rows["card reader"]["detail"]
    assert "place a My Number Card on the reader" in rows["card reader"]["next_step"]
    insert_vpcd(VirtualJpkiCard(grant.card_file))
    status, rows = kiosk.check()
    assert rows["card reader"]["result"] == "ok", rows["card reader"]
    assert "a card answers" in rows["card reader"]["detail"]


def test_check_fails_when_the_grant_service_is_down(
    grant: Grant, kiosk: Kiosk, tmp_path: Path
) -> None:
    service = start_service(tmp_path / "service")  # its own, to stop
    try:
        token = service.cli(
            "enrollment-token", "--kiosk-id", "kiosk-down", "--channel", "city_hall"
        ).stdout.strip()
        assert kiosk.enroll(token, service=service.url).returncode == 0
        status, rows = kiosk.check()
        assert status == 0 and rows["grant service"]["result"] == "ok", rows
    finally:
        service.stop()
    status, rows = kiosk.check()
    assert status == 1
    assert rows["grant service"]["result"] == "FAIL"
    assert f"cannot reach the grant service at {service.url}" in rows["grant service"]["detail"]
    assert "check the network" in rows["grant service"]["next_step"]
    assert rows["clock"]["result"] == "skip"


# --- enroll's errors -----------------------------------------------------------------------


def test_enroll_explains_a_bad_or_expired_token_and_an_unreachable_service(
    grant: Grant, kiosk: Kiosk
) -> None:
    refused = one_line_error(kiosk.enroll("not-a-token-at-all"))
    assert "refused the enrollment token" in refused and "unknown, used or expired" in refused
    assert "grant-service enrollment-token" in refused
    # The service cannot tell an expired token from an unknown one (one reason code).
    expired = one_line_error(kiosk.enroll(grant.token("kiosk-late", "--valid-hours=-1")))
    assert "refused the enrollment token" in expired and "expired" in expired
    nowhere = f"http://127.0.0.1:{free_port()}"
    unreachable = one_line_error(kiosk.enroll("some-token-1234", service=nowhere))
    assert f"cannot reach the grant service at {nowhere}" in unreachable
    assert "check the kiosk's network" in unreachable
    # Checked before the token is spent:
    assert "6 to 12 digits" in one_line_error(kiosk.enroll("some-token", pin="1234"))
    assert "cannot read the printer 'usb:04b8'" in one_line_error(
        kiosk.enroll("some-token", "--printer", "usb:04b8")
    )
    assert "use https" in one_line_error(kiosk.enroll("t", service="http://kiosk.example.jp"))
    assert not kiosk.config.exists()
    assert not (kiosk.data_dir / "device").exists()
    kiosk.assert_pin_never_shown()


def test_an_unreadable_configuration_is_named_with_its_problem(
    grant: Grant, kiosk: Kiosk, tmp_path: Path
) -> None:
    # As root, chmod 000 does not stop reading: a missing file, a directory, broken TOML
    # and an unknown setting stand for the files a technician cannot use.
    broken = tmp_path / "broken.toml"
    broken.write_text('service_url = "https://grant.example.jp"\nstore_id = FM-1\n')
    typo = tmp_path / "typo.toml"
    typo.write_text('store_id = "FM-1"\nprinter_colour = "red"\n')
    cases = [
        (tmp_path / "missing.toml", f"no kiosk configuration at {tmp_path / 'missing.toml'}"),
        (tmp_path, f"{tmp_path} is a directory"),
        (broken, f"{broken} is not valid TOML (Invalid value (at line 2, column 12))"),
        (typo, f"invalid kiosk settings in {typo}"),
    ]
    if os.geteuid() != 0:
        locked = tmp_path / "locked.toml"
        locked.write_text('store_id = "FM-1"\n')
        locked.chmod(0)
        cases.append((locked, f"cannot read {locked}: permission denied"))
    for config, problem in cases:
        error = one_line_error(kiosk.run("show", "--config", str(config)))
        assert problem in error, error
    # Every command reads the file the same way.
    assert "is not valid TOML" in one_line_error(kiosk.run("check", "--config", str(broken)))
    assert "printer_colour: not a kiosk setting" in one_line_error(
        kiosk.run("show", "--config", str(typo))
    )


# --- rotate-key ---------------------------------------------------------------------------


def test_rotate_key_replaces_the_key_the_service_accepts_and_finishes_an_interrupted_one(
    grant: Grant, kiosk: Kiosk
) -> None:
    assert kiosk.enroll(grant.token("kiosk-rotate")).returncode == 0
    settings = load_kiosk_settings(kiosk.config)
    old = DeviceIdentity.load(settings.device_dir)

    rotated = kiosk.command("rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert "new device key for kiosk-rotate" in rotated.stdout
    assert "no restart needed" in rotated.stdout
    new = DeviceIdentity.load(settings.device_dir)
    assert new.certificate_pem != old.certificate_pem
    assert new.key.public_key().public_numbers() != old.key.public_key().public_numbers()
    assert all(mode(path) == 0o600 for path in settings.device_dir.iterdir())
    assert not (settings.device_dir / NEXT_KEY_FILE).exists()

    stale = ServiceClient(settings.service_url, old)  # the old key alone: refused
    refused = stale.challenge()
    stale.close()
    assert (refused.status_code, refused.body["reason_code"]) == (401, "REQUEST_SIGNATURE_INVALID")
    # A process that loaded the old key at start (kiosk-sync, the app) is refused once,
    # takes the stored key, and goes on without a restart.
    running = service_client(settings, old)
    assert running.challenge().status_code == 200
    assert running.identity.key_pem() == new.key_pem()
    running.close()

    env = {**grant.env, "KIOSK_CONFIG": str(kiosk.config)}
    submitted = run_cli(
        "kiosk-submit", "reservation", "--pin-stdin", stdin=f"{CARD_PIN}\n", env=env
    )
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout.startswith("confirmed: receipt ")

    # A rotation cut off after the service switched keys, before the kiosk stored them:
    # the new key waits in device-key.pem.next, the service accepts only that one.
    fresh = DeviceIdentity.generate("kiosk-rotate")
    write_private(settings.device_dir / NEXT_KEY_FILE, fresh.key_pem())
    client = service_client(settings, DeviceIdentity.load(settings.device_dir))
    assert client.renew(fresh).status_code == 200
    client.close()
    status, rows = kiosk.check()
    assert status == 1 and rows["grant service"]["result"] == "FAIL"
    assert "rotate-key" in rows["grant service"]["next_step"]
    assert rows["device identity"]["result"] == "warn"
    finished = kiosk.command("rotate-key")
    assert finished.returncode == 0, finished.stderr
    assert "finished a key rotation that had been interrupted" in finished.stdout
    assert DeviceIdentity.load(settings.device_dir).key_pem() == fresh.key_pem()
    status, rows = kiosk.check()
    assert status == 0 and rows["grant service"]["result"] == "ok", rows
    kiosk.assert_pin_never_shown()


# --- where things go ------------------------------------------------------------------------


def test_the_default_places_follow_root_and_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, private_data_home: Path
) -> None:
    for name in ("KIOSK_CONFIG", "KIOSK_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(locations, "running_as_root", lambda: True)
    assert locations.default_config_path() == Path("/etc/mynapoint-kiosk/kiosk.toml")
    assert locations.default_data_dir() == Path("/var/lib/mynapoint-kiosk")
    with pytest.raises(ProvisioningError, match="no user 'no-such-kiosk-user'"):
        locations.file_owner("no-such-kiosk-user")
    assert locations.file_owner("nobody") == locations.Owner(
        "nobody", pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid
    )

    monkeypatch.setattr(locations, "running_as_root", lambda: False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert locations.default_config_path() == tmp_path / "config/mynapoint-kiosk/kiosk.toml"
    assert locations.default_data_dir() == private_data_home / "mynapoint-kiosk"
    assert locations.file_owner(None) is None
    with pytest.raises(ProvisioningError, match="only root can give"):
        locations.file_owner("someone-else-entirely")

    monkeypatch.setenv("KIOSK_CONFIG", str(tmp_path / "kiosk.toml"))
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    assert locations.default_config_path() == tmp_path / "kiosk.toml"
    assert locations.default_data_dir() == tmp_path / "data"


def test_install_units_writes_the_units_into_an_image(tmp_path: Path) -> None:
    offline = ("--no-create-user", "--no-systemctl")  # an image: no user, no running systemd
    done = run_cli("kiosk-provision", "install-units", "--root", str(tmp_path), *offline)
    assert done.returncode == 0, done.stderr
    for unit in ("kiosk.service", "kiosk-sync.service"):
        assert (tmp_path / "etc/systemd/system" / unit).is_file(), done.stdout
    assert (
        "Error: no unit 'bogus'"
        in run_cli(
            "kiosk-provision", "install-units", "--root", str(tmp_path), "--which", "bogus"
        ).stderr
    )
