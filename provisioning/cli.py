"""``kiosk-provision``: the field technician's tool, from a new kiosk to a retired one.

    kiosk-provision enroll --service URL --token-stdin --store-id ID [--store-name NAME]
        [--reader SPEC] [--printer SPEC] [--service-ca FILE] [--config PATH]
        [--data-dir PATH] [--owner USER] [--technician-pin-stdin] [--force]
    kiosk-provision check [--config PATH] [--wait-card SECONDS] [--json]
    kiosk-provision show [--config PATH]
    kiosk-provision rotate-key [--config PATH]
    kiosk-provision decommission [--config PATH] [--drain [--timeout S]] [--yes]
        [--discard-unsent]
    kiosk-provision install-units [--prefix VENV] [--which UNIT]... [--root DIR]
        [--no-create-user] [--no-systemctl]

``enroll`` sets a kiosk up: it enrolls with the grant service using a one-time token
(``grant-service enrollment-token --kiosk-id ID --channel convenience_store|city_hall``;
the kiosk's ID and channel come from the token), keeps the device key and certificate,
makes the queue's encryption key, and writes the kiosk's configuration (service URL, data
directory, store, card reader, printer, the technician PIN's scrypt hash). The PIN is
asked twice at a hidden prompt, or read as one line of standard input with
``--technician-pin-stdin`` (after the token's line with ``--token-stdin``). Printers:
``file:PATH``, ``network:HOST[:PORT]``, ``usb:VENDOR:PRODUCT`` (hex, as lsusb prints),
``serial:DEVICE[:BAUD]``. As root the configuration goes to /etc/mynapoint-kiosk/kiosk.toml
and the data to /var/lib/mynapoint-kiosk, owned by ``--owner`` (default: the units' user
mynapoint-kiosk, if it exists); otherwise to the user's own places (``$KIOSK_CONFIG`` and
``$KIOSK_DATA_DIR`` count too). Files are 0600, directories 0700, each written whole. An
enrolled kiosk is replaced only with ``--force``, and never while its queue holds
submissions not yet sent.

``check`` is the self-test: the card reader and a card on it, the printer (paper near
its end is a warning; out of paper, offline or silent a failure), the device identity,
the grant service reached with a device-signed request (a revoked or unknown kiosk
fails), the clock against the service's (60 s or more fails), free disk, the queue (an
unsent item older than an hour is a warning), kiosk-sync, the technician PIN. One row
each, with the next step for every warning and failure; the exit status is 1 when
anything failed.

``show`` prints what the kiosk is: its ID and channel, store, service, certificate
validity, configuration file, data directory, reader, printer, whether a technician PIN
is set (never its hash), and the queue.

``rotate-key`` gives the kiosk a new device key, certified by the service on a request
signed with the current key (no token). The old key is replaced only once the new
certificate is stored; an interrupted rotation is finished by running it again. The
running app and kiosk-sync need no restart: refused once with the old key, they reread
the stored one (``ServiceClient.reload_identity``).

``decommission`` retires the kiosk: it refuses while submissions wait to be sent, unless
``--drain`` sends them now (through the running kiosk-sync, or by itself) or
``--discard-unsent`` (after ``kiosk-queue export``) gives them up; then it erases the
device key and certificate, the queue key and the queue, the slip archive, the not-me
reports and the technician PIN's hash, and says which operator command revokes the
device at the service.

``install-units`` installs the systemd units of ``provisioning/units.py`` (by default
``kiosk`` and ``kiosk-sync``, for the virtualenv this runs from): as root, before
``enroll``, so that the kiosk's user exists when enroll gives it its files.

Errors are one line with the next step, never a traceback.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
from cryptography import x509

from kiosk.cli.common import format_time
from kiosk.devices.errors import CardError
from kiosk.devices.printer import PrinterError
from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.enrollment import EnrollmentFailed, NotEnrolled, load_identity
from kiosk.link.service_client import InsecureServiceUrl
from kiosk.offline_queue.lock import SyncRunning
from kiosk.offline_queue.store import QueueFull, QueueStatus
from kiosk.settings import KioskSettings
from kiosk.technician.pin import hash_pin
from provisioning import checks, decommission
from provisioning.config_file import read_settings
from provisioning.enroll import Enrollment, EnrollOptions
from provisioning.errors import ProvisioningError
from provisioning.files import ownership_kept
from provisioning.locations import (
    KIOSK_USER,
    default_config_path,
    default_data_dir,
    file_owner,
    running_as_root,
)
from provisioning.printer_spec import PRINTER_SPECS, printer_spec_of
from provisioning.queue_state import queue_status
from provisioning.rotation import rotate_key

R = TypeVar("R")


def explained(command: Callable[..., R]) -> Callable[..., R]:
    """Every error the technician can act on as one line (``Error: ...``), exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: object, **kwargs: object) -> R:
        try:
            return command(*args, **kwargs)
        except (ProvisioningError, EnrollmentFailed, NotEnrolled, QueueFull, PrinterError,
                CardError) as exc:  # fmt: skip
            raise click.ClickException(exc.detail) from None
        except (SyncRunning, InsecureServiceUrl) as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:  # a file the technician's account may not touch
            where = f" {exc.filename}" if exc.filename else ""
            raise click.ClickException(
                f"cannot use{where}: {exc.strerror or exc}; run as root, or check the path"
            ) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


config_option = click.option(
    "--config",
    type=click.Path(dir_okay=True, path_type=Path),
    help="The kiosk's configuration file (default: $KIOSK_CONFIG, else "
    "/etc/mynapoint-kiosk/kiosk.toml as root, else ~/.config/mynapoint-kiosk/kiosk.toml).",
)


def _config_path(config: Path | None) -> Path:
    return (config or default_config_path()).absolute()


def _settings(config: Path | None) -> KioskSettings:
    return read_settings(_config_path(config))


@click.group()
def main() -> None:
    """Set up, check, show, re-key and retire this kiosk (for field technicians)."""


# --- enroll -----------------------------------------------------------------------------


@main.command()
@click.option("--service", "service_url", required=True, help="The grant service's URL.")
@click.option("--token", help="The one-time enrollment token (better: --token-stdin).")
@click.option("--token-stdin", is_flag=True, help="Read the token from standard input.")
@click.option("--store-id", required=True, help="The store this kiosk stands in.")
@click.option("--store-name", help="The store's name, printed on slips.")
@click.option("--reader", default="pcsc", show_default=True, help="The card reader.")
@click.option("--printer", help=f"The slip printer: {', '.join(PRINTER_SPECS)}.")
@click.option(
    "--service-ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The CA certificate of the service's TLS certificate, if not a public one.",
)
@config_option
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The kiosk's data (default: $KIOSK_DATA_DIR, else /var/lib/mynapoint-kiosk as root).",
)
@click.option("--owner", help="As root: the user the kiosk runs as (default: mynapoint-kiosk).")
@click.option(
    "--technician-pin-stdin",
    is_flag=True,
    help="Read the technician PIN from standard input (after the token's line).",
)
@click.option("--force", is_flag=True, help="Replace an enrolled kiosk's identity and config.")
@explained
def enroll(
    service_url: str,
    token: str | None,
    token_stdin: bool,
    store_id: str,
    store_name: str | None,
    reader: str,
    printer: str | None,
    service_ca: Path | None,
    config: Path | None,
    data_dir: Path | None,
    owner: str | None,
    technician_pin_stdin: bool,
    force: bool,
) -> None:
    """Enroll this kiosk with the grant service and write its configuration."""
    if token and token_stdin:
        raise click.UsageError("give the token once: --token or --token-stdin")
    if token_stdin:
        token = sys.stdin.readline().strip()
    if not token:
        raise click.UsageError("give the one-time token: --token-stdin (or --token)")
    enrollment = Enrollment(
        EnrollOptions(
            service_url=service_url,
            store_id=store_id,
            store_name=store_name,
            reader=reader,
            printer=printer,
            service_ca=service_ca.absolute() if service_ca else None,
            config=_config_path(config),
            data_dir=(data_dir or default_data_dir()).absolute(),
            owner=file_owner(owner),
            force=force,
        )
    )
    pin_hash = _technician_pin_hash(technician_pin_stdin)
    with ownership_kept(enrollment.settings.data_dir):
        identity = enrollment.run(token, pin_hash)
    options, settings = enrollment.options, enrollment.settings
    certificate = x509.load_pem_x509_certificate(identity.certificate_pem.encode())
    click.echo(f"enrolled {identity.kiosk_id} ({identity.channel}) with {settings.service_url}")
    click.echo(f"certificate:   valid until {format_time(certificate.not_valid_after_utc)}")
    click.echo(f"configuration: {options.config}")
    click.echo(f"data:          {options.data_dir}")
    if options.owner is not None:
        click.echo(f"owner:         {options.owner.name}")
    elif running_as_root():
        click.echo(
            f"note: there is no {KIOSK_USER} user on this machine, so the files stay root's "
            "and the kiosk's services cannot read them; once kiosk-provision install-units "
            f"has made the user: chown -R {KIOSK_USER}: {options.config} {options.data_dir}"
        )
    click.echo(f"next: kiosk-provision check --config {options.config}")


def _technician_pin_hash(from_stdin: bool) -> str:
    """The new technician PIN's hash (the PIN itself is kept nowhere)."""
    if from_stdin:
        pin = sys.stdin.readline().rstrip("\r\n")
    elif not os.isatty(sys.stdin.fileno()):
        raise click.UsageError(
            "no terminal to type the technician PIN at: use --technician-pin-stdin"
        )
    else:
        pin = click.prompt(
            "New technician PIN (6 to 12 digits)", hide_input=True,
            confirmation_prompt="The same PIN again", err=True,
        )  # fmt: skip
    try:
        return hash_pin(pin)
    except ValueError as exc:
        raise ProvisioningError(f"{exc}; nothing was changed") from None


# --- check ------------------------------------------------------------------------------

RESULT_COLOURS = {"ok": "green", "warn": "yellow", "FAIL": "red", "skip": None}


@main.command()
@config_option
@click.option("--wait-card", default=5.0, show_default=True, help="Seconds to wait for a card.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@explained
def check(config: Path | None, wait_card: float, as_json: bool) -> None:
    """Self-test: reader, printer, service, clock, disk, queue. Exit status 1 on a FAIL."""
    settings = _settings(config)
    with ownership_kept(settings.data_dir):
        rows = checks.run_checks(settings, wait_card=wait_card)
    failed = [row for row in rows if row.result == "FAIL"]
    if as_json:
        document = {"ok": not failed, "checks": [dataclasses.asdict(row) for row in rows]}
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        _print_table(rows)
    sys.exit(1 if failed else 0)


def _print_table(rows: list[checks.Check]) -> None:
    width = max(len(row.name) for row in rows)
    for row in rows:
        result = click.style(f"{row.result:<4}", fg=RESULT_COLOURS[row.result], bold=True)
        click.echo(f"{row.name:<{width}}  {result}  {row.detail}")
        if row.next_step and row.result in ("warn", "FAIL"):
            click.echo(f"{'':<{width}}  next  {row.next_step}")
    failed = sum(row.result == "FAIL" for row in rows)
    warned = sum(row.result == "warn" for row in rows)
    if failed:
        click.secho(f"{failed} failed, {warned} warning(s): fix the failures, then check "
                    "again", fg="red")  # fmt: skip
    else:
        click.secho(f"all checks passed ({warned} warning(s))", fg="green")


# --- show -------------------------------------------------------------------------------


@main.command()
@config_option
@explained
def show(config: Path | None) -> None:
    """What this kiosk is: identity, store, service, devices, technician PIN, queue."""
    settings = _settings(config)
    with ownership_kept(settings.data_dir):
        status = queue_status(settings)
    lines = _identity_lines(settings)
    store = settings.store_id or "- (no store_id)"
    lines += [
        ("store", f"{store} {settings.store_name}"),
        ("service", settings.service_url),
        ("configuration", str(settings.config_file)),
        ("data", str(settings.data_dir)),
        ("card reader", settings.card_reader),
        ("printer", printer_spec_of(settings)),
        ("technician PIN", "set" if settings.technician_pin_hash else "not set (mode closed)"),
        ("queue", _queue_text(status)),
    ]
    for name, value in lines:
        click.echo(f"{name + ':':<16}{value}")


def _identity_lines(settings: KioskSettings) -> list[tuple[str, str]]:
    try:
        identity = load_identity(settings)
    except NotEnrolled:
        return [("kiosk", f"not enrolled (no device key in {settings.device_dir})")]
    certificate = x509.load_pem_x509_certificate(identity.certificate_pem.encode())
    return [
        ("kiosk", f"{identity.kiosk_id} ({identity.channel or 'channel unknown'})"),
        ("certificate", f"serial {certificate.serial_number:X}"),
        ("valid from", format_time(certificate.not_valid_before_utc)),
        ("valid until", format_time(certificate.not_valid_after_utc)),
    ]


def _queue_text(status: QueueStatus | None) -> str:
    if status is None:
        return "empty (no queue yet)"
    counts = status.counts
    text = f"{status.unsent} unsent"
    if status.oldest_unsent is not None:
        text += f" (oldest made {format_time(status.oldest_unsent)})"
    return (
        f"{text}, {counts.get('quarantined', 0)} quarantined, {counts.get('accepted', 0)} "
        f"accepted, {counts.get('rejected', 0)} rejected"
    )


# --- rotate-key ---------------------------------------------------------------------------


@main.command("rotate-key")
@config_option
@explained
def rotate_key_command(config: Path | None) -> None:
    """A new device key, certified on the current one (no token); the old one is
    replaced once the new certificate is stored."""
    settings = _settings(config)
    with ownership_kept(settings.data_dir):
        rotated = rotate_key(settings)
    new = rotated.new_certificate
    if rotated.resumed:
        click.echo("finished a key rotation that had been interrupted")
    click.echo(
        f"new device key for {rotated.kiosk_id}: certificate serial {rotated.old_serial:X} -> "
        f"{new.serial_number:X}, valid until {format_time(new.not_valid_after_utc)}"
    )
    click.echo(
        "kiosk-sync and the kiosk take the new key at their next request to the service "
        "(no restart needed)"
    )


# --- decommission ---------------------------------------------------------------------------


@main.command("decommission")
@config_option
@click.option("--drain", is_flag=True, help="Send the unsent submissions now first.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds --drain may take.")
@click.option(
    "--discard-unsent",
    is_flag=True,
    help="Erase even submissions never sent (export them first: kiosk-queue export FILE).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@explained
def decommission_command(
    config: Path | None, drain: bool, timeout: float, discard_unsent: bool, yes: bool
) -> None:
    """Erase the kiosk's keys, queue, slips and technician PIN (after sending the queue)."""
    settings = _settings(config)
    try:
        identity: DeviceIdentity | None = load_identity(settings)
    except NotEnrolled:
        identity = None
    kiosk_id = identity.kiosk_id if identity else None
    with ownership_kept(settings.data_dir):
        waiting = decommission.items_waiting(settings)
        if waiting and drain:
            waiting = decommission.drain(settings, timeout, click.echo)
        if waiting and not discard_unsent:
            raise ProvisioningError(_still_waiting(waiting, drained=drain))
        decommission.refuse_while_sync_runs(settings)
    lost = f" and {waiting} submission(s) NEVER SENT" if waiting else ""
    question = (
        f"Erase kiosk {kiosk_id or '(not enrolled)'}'s device key, queue key and queue{lost}, "
        "slips, not-me reports and technician PIN?"
    )
    if not yes and not _confirmed(question):
        raise click.ClickException("nothing was erased (--yes skips the question)")
    erased = decommission.erase(settings)
    if not erased:
        click.echo("nothing to erase: this kiosk holds no keys or citizens' data")
    for what in erased:
        click.echo(f"erased {what}")
    when = format_time(dt.datetime.now(dt.UTC))
    if kiosk_id:
        click.echo(
            f"{kiosk_id} was decommissioned here at {when}. An operator now revokes it at the "
            f"grant service: grant-service device-revoke {kiosk_id}"
        )
    else:
        click.echo(
            "no device identity was found: if this kiosk was enrolled, an operator revokes "
            "it at the grant service (grant-service device-revoke KIOSK_ID)"
        )


def _confirmed(question: str) -> bool:
    try:
        answer = click.confirm(question, err=True)
    except click.Abort:  # no answer (end of input)
        answer = False
    if not sys.stdin.isatty():  # the answer was not echoed: end the prompt's line
        click.echo("", err=True)
    return answer


def _still_waiting(waiting: int, *, drained: bool) -> str:
    if drained:
        return (
            f"{waiting} submission(s) could still not be sent (see above): check the network "
            "and the grant service, then decommission --drain again; or kiosk-queue export "
            "FILE for an operator to import, then decommission --discard-unsent"
        )
    return (
        f"{waiting} submission(s) have not reached the grant service yet and would be lost: "
        "run decommission --drain to send them now (the service must be reachable)"
    )


# --- install-units ------------------------------------------------------------------------


@main.command("install-units")
@click.option(
    "--prefix",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(sys.prefix),
    show_default="this virtualenv",
    help="The virtualenv the units run the kiosk from.",
)
@click.option(
    "--which",
    multiple=True,
    default=("kiosk", "kiosk-sync"),
    show_default=True,
    help="A unit to install: kiosk, kiosk-sync, grant-service, "
    "grant-service-audit-checkpoint (its hourly timer), grant-service-crl-import (its "
    "ten-minute timer) or grant-service-points-expiry (its daily timer) (repeat for more).",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    help="Install into another file-system root (an image being prepared).",
)
@click.option("--no-create-user", is_flag=True, help="Do not create the service user.")
@click.option("--no-systemctl", is_flag=True, help="Do not run systemctl (reload, enable).")
@explained
def install_units_command(
    prefix: Path, which: tuple[str, ...], root: Path, no_create_user: bool, no_systemctl: bool
) -> None:
    """Install the systemd units (see provisioning/systemd/README.md): the service user,
    its directories, daemon-reload and enable. As root; before enroll."""
    from provisioning import units  # only this command needs it

    try:
        lines = units.install_units(
            prefix=prefix.absolute(),
            which=which,
            root=root.absolute(),
            create_user=not no_create_user,
            run_systemctl=not no_systemctl,
        )
    except units.UnitInstallError as exc:
        raise ProvisioningError(str(exc)) from None
    for line in lines:
        click.echo(line)
