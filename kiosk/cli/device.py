"""``kiosk-device``: the kiosk's identity with the grant service, for technicians.

    kiosk-device enroll --token-stdin     # the one-time token from the grant service
    kiosk-device show

Enrollment makes a device key on the kiosk (it never leaves it), sends a CSR with the
token, and keeps the certificate the service returns under the kiosk's data directory.
"""

from __future__ import annotations

import sys

import click
from cryptography import x509

from kiosk.cli.common import format_time, with_kiosk_settings
from kiosk.link.enrollment import enroll, load_identity
from kiosk.settings import KioskSettings


@click.group()
def main() -> None:
    """Enroll this kiosk with the grant service, or show its identity."""


@main.command("enroll")
@click.argument("token", required=False)
@click.option("--token-stdin", is_flag=True, help="Read the token from standard input.")
@with_kiosk_settings
def enroll_command(settings: KioskSettings, token: str | None, token_stdin: bool) -> None:
    """Enroll with a technician's one-time TOKEN (replaces any earlier identity)."""
    if token_stdin:
        token = sys.stdin.readline().strip()
    if not token:
        raise click.UsageError("give the one-time token (or --token-stdin)")
    identity = enroll(settings, token)
    click.echo(f"enrolled as {identity.kiosk_id} at {settings.service_url}")
    click.echo(f"device key and certificate in {settings.device_dir}")


@main.command()
@with_kiosk_settings
def show(settings: KioskSettings) -> None:
    """The kiosk's enrolled identity and its certificate's validity."""
    identity = load_identity(settings)
    certificate = x509.load_pem_x509_certificate(identity.certificate_pem.encode())
    click.echo(f"kiosk ID:     {identity.kiosk_id}")
    click.echo(f"service:      {settings.service_url}")
    click.echo(f"certificate:  serial {certificate.serial_number:X}")
    click.echo(f"valid until:  {format_time(certificate.not_valid_after_utc)}")
    click.echo(f"stored in:    {settings.device_dir}")
