"""``kiosk-provision check``: the kiosk's self-test, one row per check, each ``ok``, ``warn``
or ``FAIL`` (``skip`` when an earlier failure makes it meaningless), with the next step
for every row that is not ok.

The card and the printer are asked through the checks technician mode uses
(``kiosk/technician/checks.py``); the verdicts and next steps here are the technician's
at the command line. Nothing here changes the kiosk: the card is only asked for its
certificate and its PIN tries left (no PIN is asked, no personal data is shown), the
printer for its status, the service for a one-time My Page challenge (a device-signed
request it checks like any other), and the queue is read only if it exists.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import subprocess
from dataclasses import dataclass
from typing import Literal

import httpx
from cryptography import x509

from kiosk.devices import errors
from kiosk.devices.printer import PrinterError, PrinterStatus, open_printer
from kiosk.devices.readers import open_reader
from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.enrollment import (
    NotEnrolled,
    load_identity,
    refusal_detail,
    service_client,
    unreachable_detail,
)
from kiosk.link.service_client import Reply, ServiceClient
from kiosk.offline_queue.ballast import Ballast
from kiosk.offline_queue.lock import SyncLock
from kiosk.offline_queue.store import QueueStatus
from kiosk.settings import KioskSettings
from kiosk.technician.checks import printer_status, read_card
from provisioning.errors import ProvisioningError
from provisioning.queue_state import queue_status
from provisioning.rotation import NEXT_KEY_FILE
from provisioning.unit_state import (
    Show,
    read_unit_states,
    systemctl_show,
    systemd_running,
    unit_verdict,
)
from provisioning.units import UNITS

Result = Literal["ok", "warn", "FAIL", "skip"]
MiB = 1024 * 1024
MAX_CLOCK_SKEW_SECONDS = 60  # well inside the service's limit (clock_skew_seconds, 300)
CERTIFICATE_WARN_DAYS = 30
OLDEST_UNSENT_WARN = dt.timedelta(hours=1)
DISK_WARN_FACTOR = 10  # warn below this many times queue_min_free_mib
ENROLL = "kiosk-provision enroll --service URL --token-stdin --store-id ID"


@dataclass(frozen=True)
class Check:
    """One row of the table (``--json``: one object, these keys)."""

    name: str
    result: Result
    detail: str
    next_step: str = ""


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def warn(name: str, detail: str, next_step: str) -> Check:
    return Check(name, "warn", detail, next_step)


def fail(name: str, detail: str, next_step: str = "") -> Check:
    return Check(name, "FAIL", detail, next_step)


def skip(name: str, detail: str) -> Check:
    return Check(name, "skip", detail)


def run_checks(settings: KioskSettings, *, wait_card: float) -> list[Check]:
    return [
        card_reader(settings, wait_card),
        printer(settings),
        *grant_service(settings),
        disk(settings),
        *queue(settings),
        sync_daemon(settings),
        *systemd_units(),
        technician_pin(settings),
    ]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- devices ------------------------------------------------------------------------------


def card_reader(settings: KioskSettings, wait: float) -> Check:
    name = settings.card_reader
    try:
        with open_reader(settings.card_reader) as reader:
            name = reader.name
            card = read_card(reader, wait)
    except errors.NoCard:
        return fail(
            "card reader",
            f"{name}: no card on the reader within {wait:g} s",
            "place a My Number Card on the reader (only its certificate's validity is read) "
            "and check again; --wait-card SECONDS waits longer",
        )
    except errors.ReaderServiceUnavailable as exc:
        return fail("card reader", exc.detail, "systemctl enable --now pcscd.socket")
    except errors.NoReader as exc:
        return fail(
            "card reader",
            f"{name}: {exc.detail}",
            "check the reader's USB cable and the card_reader setting; kiosk-card readers "
            "lists the readers this machine sees",
        )
    except errors.CardError as exc:
        return fail("card reader", f"{name}: {exc.detail}", errors.READING_TIPS)
    until = f"{card.valid_until:%Y-%m-%d}"
    return ok("card reader", f"{name}: a card answers (certificate valid until {until})")


def printer(settings: KioskSettings) -> Check:
    if settings.printer_backend in ("file", "dummy"):
        # Not opened: a status look must not create the file (as root, in the kiosk's dir).
        where = settings.printer_output_file if settings.printer_backend == "file" else "memory"
        config = settings.config_file or "the configuration"
        return warn(
            "printer",
            f"slips are written to {where}, which cannot report paper or online status",
            f"a store's printer is best set in {config} as printer_backend = "
            '"network", "usb" or "serial" (with printer_host, printer_usb_*_id or '
            "printer_serial_device), so the kiosk knows its state",
        )
    try:
        with open_printer(settings) as slip_printer:
            status = printer_status(slip_printer)
    except PrinterError as exc:
        return fail(
            "printer",
            exc.detail,
            "switch the printer on, check its cable or network, then check again",
        )
    return printer_verdict(status)


def printer_verdict(status: PrinterStatus) -> Check:
    """FAIL when no slip can be trusted to come out (no paper, offline, no answer),
    warn when the paper runs short."""
    if status.paper == "out":
        return fail("printer", status.detail, "load a new paper roll, close the cover")
    if status.online is False:
        return fail(
            "printer",
            status.detail,
            "close the printer's cover and clear its error (see its lamp), then check again",
        )
    if status.online is None or status.paper == "unknown":
        return fail(
            "printer",
            status.detail,
            "the printer does not report its state: check its cable, switch it off and on; "
            "is it an ESC/POS printer?",
        )
    if status.paper == "near_end":
        return warn("printer", status.detail, "change the paper roll soon")
    return ok("printer", status.detail)


# --- the grant service ------------------------------------------------------------------


def grant_service(settings: KioskSettings) -> list[Check]:
    """The device identity, the service reached with it, and the clock against the
    service's."""
    try:
        identity: DeviceIdentity | None = load_identity(settings)
    except NotEnrolled as exc:
        identity, rows = None, [fail("device identity", exc.detail, ENROLL)]
    else:
        assert identity is not None
        rows = [device_identity(settings, identity)]
    client = service_client(
        settings, identity or DeviceIdentity.generate("not-enrolled"), timeout=10
    )
    try:
        return rows + _service_rows(settings, client, identity)
    finally:
        client.close()


def device_identity(settings: KioskSettings, identity: DeviceIdentity) -> Check:
    certificate = x509.load_pem_x509_certificate(identity.certificate_pem.encode())
    until = certificate.not_valid_after_utc
    who = f"{identity.kiosk_id} ({identity.channel or 'channel unknown'})"
    if (settings.device_dir / NEXT_KEY_FILE).exists():
        return warn(
            "device identity",
            f"{who}: a key rotation was interrupted",
            "run kiosk-provision rotate-key again: it finishes the rotation",
        )
    if until <= _now():
        expired = f"{who}: the certificate expired on {until:%Y-%m-%d}"
        return fail(
            "device identity",
            expired,
            "kiosk-provision rotate-key (the service certifies a new key on the current one)",
        )
    days = (until - _now()).days
    detail = f"{who}, certificate valid until {until:%Y-%m-%d} ({days} days)"
    if days < CERTIFICATE_WARN_DAYS:
        return warn("device identity", detail, "kiosk-provision rotate-key")
    return ok("device identity", detail)


def _service_rows(
    settings: KioskSettings, client: ServiceClient, identity: DeviceIdentity | None
) -> list[Check]:
    url = settings.service_url
    try:
        sent = _now()
        status = client.status()
        received = _now()
        signed = client.challenge() if identity is not None and status.status_code == 200 else None
    except httpx.HTTPError as exc:
        return [
            fail(
                "grant service",
                unreachable_detail(url, exc),
                "check the network (cable, the store's router) and service_url in the "
                "configuration, then check again",
            ),
            skip("clock", "not compared: the grant service cannot be reached"),
        ]
    if status.status_code != 200:
        answered = f"{url} answered {status.status_code} to GET /v1/status"
        return [
            fail(
                "grant service",
                answered,
                "check service_url in the configuration: is it the grant service's address?",
            ),
            skip("clock", "not compared: no answer from the grant service"),
        ]
    clock_row = clock(status, sent, received)
    if identity is None or signed is None:
        return [skip("grant service", f"{url} answers; no device key to sign with"), clock_row]
    return [device_accepted(url, identity, signed, clock_row), clock_row]


def device_accepted(url: str, identity: DeviceIdentity, reply: Reply, clock_row: Check) -> Check:
    kiosk = identity.kiosk_id
    if reply.status_code == 200:
        return ok("grant service", f"{url} accepts {kiosk}'s device-signed requests")
    code, text = refusal_detail(reply)
    if code == "DEVICE_REVOKED":
        revoked = f"{url}: kiosk {kiosk}'s enrollment was revoked"
        return fail(
            "grant service",
            revoked,
            "if this kiosk stays in service, ask an operator for a new enrollment token and "
            "run kiosk-provision enroll --force",
        )
    if code == "DEVICE_UNKNOWN":
        return fail(
            "grant service",
            f"{url} does not know kiosk {kiosk}",
            "check service_url (was the kiosk enrolled with another service?), or enroll "
            "again with a new token",
        )
    if code == "REQUEST_SIGNATURE_INVALID":
        refused = f"{url} refuses this kiosk's signature ({text})"
        if clock_row.result == "FAIL":
            return fail("grant service", refused, "fix the clock first (see the clock row)")
        return fail(
            "grant service",
            refused,
            "the key on disk is not the one the service holds: run kiosk-provision "
            "rotate-key (it finishes an interrupted rotation), or enroll again",
        )
    answered = f"{url} answered {reply.status_code} {code}: {text}"
    return fail("grant service", answered, "see the grant service's log; check service_url")


def clock(reply: Reply, sent: dt.datetime, received: dt.datetime) -> Check:
    """The kiosk's clock against the service's: its reported time (else its Date header),
    taken as read half-way through the request."""
    service_time = _service_time(reply)
    if service_time is None:
        return skip("clock", "the grant service did not say its time")
    skew = (service_time - (sent + (received - sent) / 2)).total_seconds()
    if abs(skew) >= MAX_CLOCK_SKEW_SECONDS:
        way = "behind" if skew > 0 else "ahead of"
        return fail(
            "clock",
            f"the kiosk's clock is {abs(skew):.0f} s {way} the service's",
            "set the time right and keep it synchronised (timedatectl set-ntp true; "
            "timedatectl status): past 5 minutes the service refuses every request",
        )
    shown = round(skew, 1) + 0.0  # no "-0.0"
    return ok("clock", f"{shown:+.1f} s from the grant service's clock")


def _service_time(reply: Reply) -> dt.datetime | None:
    body = reply.body if isinstance(reply.body, dict) else {}
    try:
        if isinstance(body.get("time"), str):
            return dt.datetime.fromisoformat(body["time"])
        if date := reply.headers.get("date"):
            return email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return None
    return None


# --- the kiosk's own state ------------------------------------------------------------------


def disk(settings: KioskSettings) -> Check:
    ballast = Ballast(settings.queue_ballast_file, int(settings.queue_ballast_mib * MiB))
    try:
        free = ballast.free_bytes()  # as the queue counts it: the ballast is its room
    except FileNotFoundError:
        return fail("disk", f"no data directory {settings.data_dir}", ENROLL)
    minimum = settings.queue_min_free_mib * MiB
    detail = f"{free / MiB:,.0f} MiB free for {settings.data_dir}"
    if free < minimum:
        below = (
            f"{detail}: below queue_min_free_mib ({settings.queue_min_free_mib:g} MiB), "
            "new submissions are refused"
        )
        return fail(
            "disk", below, "free disk space (e.g. journalctl --vacuum-size=100M), then check again"
        )
    if free < DISK_WARN_FACTOR * minimum:
        return warn("disk", f"{detail}: little room left", "free some disk space soon")
    return ok("disk", detail)


def queue(settings: KioskSettings) -> list[Check]:
    try:
        status = queue_status(settings)
    except ProvisioningError as exc:
        return [fail("queue", exc.detail)]
    if status is None:
        return [ok("queue", "empty (the kiosk makes its queue at its first submission)")]
    counts = status.counts
    quarantined = counts.get("quarantined", 0)
    detail = f"{status.unsent} unsent"
    if status.oldest_unsent is not None:
        age = _now() - status.oldest_unsent
        detail += f" (the oldest made {_age(age)} ago)"
    detail += (
        f", {quarantined} quarantined; {counts.get('accepted', 0)} accepted, "
        f"{counts.get('rejected', 0)} rejected"
    )
    return [_queue_row(status, detail), *_alert_rows(status)]


def _queue_row(status: QueueStatus, detail: str) -> Check:
    if status.oldest_unsent is not None and _now() - status.oldest_unsent > OLDEST_UNSENT_WARN:
        return warn(
            "queue",
            detail,
            "check the network and that kiosk-sync runs (systemctl status kiosk-sync); "
            "kiosk-queue drain sends now",
        )
    if status.counts.get("quarantined", 0):
        return warn(
            "queue",
            detail,
            "kiosk-queue list --state quarantined shows them; kiosk-queue retry ID",
        )
    return ok("queue", detail)


def _alert_rows(status: QueueStatus) -> list[Check]:
    if not status.alerts:
        return []
    codes = ", ".join(f"{alert.code} (x{alert.count})" for alert in status.alerts)
    return [
        warn(
            "queue alerts",
            f"{codes}: {status.alerts[0].message}",
            "kiosk-queue status explains each; kiosk-queue clear-alert CODE once dealt with",
        )
    ]


def _age(age: dt.timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def sync_daemon(settings: KioskSettings) -> Check:
    pid = SyncLock(settings.sync_lock_file).holder()
    if pid is not None:
        return ok("kiosk-sync", f"running (pid {pid})")
    return warn(
        "kiosk-sync",
        "not running: queued submissions wait until it runs",
        "systemctl enable --now kiosk-sync",
    )


KIOSK_UNITS = (UNITS["kiosk"].name, UNITS["kiosk-sync"].name)


def systemd_units(show: Show = systemctl_show) -> list[Check]:
    """A row per kiosk unit: running, restarting after a crash, or given up on."""
    if not systemd_running():
        return [skip("units", "systemd is not running here: no unit to ask")]
    try:
        states = read_unit_states(KIOSK_UNITS, show)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return [warn("units", f"cannot ask systemd: {exc}", "systemctl status kiosk kiosk-sync")]
    verdicts = [(state.name, unit_verdict(state)) for state in states]
    return [Check(name, v.result, v.detail, v.next_step) for name, v in verdicts]


def technician_pin(settings: KioskSettings) -> Check:
    if settings.technician_pin_hash:
        return ok("technician PIN", "set (only its hash is kept)")
    return warn(
        "technician PIN",
        "not set: technician mode stays closed",
        "kiosk technician-pin prints a hash for technician_pin_hash in the configuration",
    )
