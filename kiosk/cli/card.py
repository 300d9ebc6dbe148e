"""``kiosk-card``: read a My Number Card's JPKI user-authentication side, for technicians.

    kiosk-card readers
    kiosk-card info --reader pcsc
    kiosk-card sign --reader nfc:usb --pin-stdin --data-file consent.txt
    kiosk-card demo

The PIN is read from standard input (``--pin-stdin``) or typed at a hidden prompt; it is
never echoed, logged or kept.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import click
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kiosk.cli.common import (
    card_session,
    check_pin_tries,
    explain_card_errors,
    format_time,
    name_text,
    pin_status_text,
    read_secret,
    reader_option,
    wait_option,
)
from kiosk.devices import errors
from kiosk.devices.apdu import CommandAPDU, ResponseAPDU
from kiosk.devices.jpki import check_pin_format, is_permitted
from kiosk.devices.sim.virtual_card import DEMO_PIN, default_card_path, ensure_demo_card


@click.group()
def main() -> None:
    """Read the JPKI user-authentication certificate of a My Number Card, check its PIN, sign."""


@main.command()
@explain_card_errors
def readers() -> None:
    """List the card readers this machine can use."""
    click.echo("PC/SC (pcscd):")
    try:
        from kiosk.devices.pcsc import list_readers

        names = list_readers()
        for name in names:
            click.echo(f"  pcsc:{name}")
        if not names:
            click.echo("  (pcscd is running but sees no reader)")
    except errors.ReaderError as error:
        click.echo(f"  unavailable: {error.detail}")
    click.echo("NFC (nfcpy):")
    try:
        from kiosk.devices.nfc import NfcReader

        with NfcReader("usb") as reader:
            click.echo(f"  {reader.name}")
    except errors.NoReader:
        click.echo("  no USB NFC reader found")
    click.echo("Virtual card (in-process):")
    path = default_card_path()
    state = "" if path.exists() else " (made on first use)"
    click.echo(f"  virtual  -> {path}{state}")


@main.command()
@reader_option
@wait_option
@explain_card_errors
def info(reader_spec: str, wait: float) -> None:
    """Show the user-authentication certificate and the PIN tries left (no PIN needed)."""
    with card_session(reader_spec, wait) as card:
        certificate = card.read_certificate()
        ca_certificate = card.read_ca_certificate()
        status = card.pin_status()
    click.echo("My Number Card: JPKI applet found")
    for line in describe_certificate(certificate, ca_certificate):
        click.echo(line)
    click.echo(f"PIN tries left:   {pin_status_text(status.tries_left, status.locked)}")


@main.command()
@reader_option
@wait_option
@click.option("--pin-stdin", is_flag=True, help="Read the PIN from standard input.")
@click.option(
    "--data-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="File whose SHA-256 digest the card signs.",
)
@explain_card_errors
def sign(reader_spec: str, wait: float, pin_stdin: bool, data_file: Path) -> None:
    """Sign a file with the user-authentication key; print the signature in base64."""
    data = data_file.read_bytes()
    pin = read_secret(pin_stdin, "PIN (4 digits)")
    check_pin_format(pin)  # a mistyped PIN is refused here, before the card is touched
    with card_session(reader_spec, wait) as card:
        certificate = card.read_certificate()
        check_pin_tries(card)
        card.verify_pin(pin)
        signature = card.sign(data)
    click.echo(base64.b64encode(signature).decode("ascii"))
    verify_signature(certificate, signature, data)
    click.echo(
        f"Signature verified against the certificate (serial {certificate.serial_number:X}).",
        err=True,
    )


@main.command()
@explain_card_errors
def demo() -> None:
    """Run the card's part of the kiosk on the virtual card: read, check PIN, verify, sign."""
    path, created = ensure_demo_card()
    click.echo("Mynapoint kiosk - card demo on a virtual My Number Card (embedded defaults)")
    click.echo(f"Card file: {path}{' (new)' if created else ''}")
    trace: list[tuple[CommandAPDU, ResponseAPDU]] = []
    consent = f"Mynapoint kiosk demo consent, {dt.datetime.now(dt.UTC).isoformat()}".encode()
    with card_session(f"virtual:{path}", 5, trace) as card:
        certificate = card.read_certificate()
        ca_certificate = card.read_ca_certificate()
        click.echo("\n1. Card read: JPKI applet found")
        for line in describe_certificate(certificate, ca_certificate):
            click.echo(f"   {line}")
        status = card.pin_status()
        click.echo(f"2. PIN tries left: {pin_status_text(status.tries_left, status.locked)}")
        if status.locked:
            raise errors.PinLocked(
                0x6984, f"the demo card is locked; remove {path} to get a new demo card"
            )
        card.verify_pin(DEMO_PIN)
        click.echo("3. PIN verified by the card (the PIN went to the card only)")
        signature = card.sign(consent)
    verify_signature(certificate, signature, consent)
    click.echo("4. Consent signed by the card; signature checked with the certificate")
    click.echo(f"\nAPDU trace ({len(trace)} commands; the PIN is masked):")
    for command, response in trace:
        shown = command.describe()[:60]
        click.echo(f"   {shown:<60} -> {len(response.data):4d} bytes, SW {response.sw:04X}")
    forbidden = [c for c, _ in trace if not is_permitted(c)]
    if forbidden:
        raise errors.ForbiddenCommand(f"{len(forbidden)} APDUs outside the allow-list")
    click.echo(
        f"\nAll {len(trace)} APDUs are JPKI user-authentication commands: the card-face "
        "applets were never selected, the My Number was never read."
    )


def describe_certificate(
    certificate: x509.Certificate, ca_certificate: x509.Certificate | None = None
) -> list[str]:
    now = dt.datetime.now(dt.UTC)
    if now > certificate.not_valid_after_utc:
        state = "EXPIRED: cannot be used to apply"
    elif now < certificate.not_valid_before_utc:
        state = "not yet valid"
    else:
        state = "valid"
    lines = [
        f"Certificate:      user authentication (利用者証明用電子証明書), {state}",
        f"  Subject:        {name_text(certificate.subject)}",
        f"  Issuer:         {name_text(certificate.issuer)}",
        f"  Serial number:  {certificate.serial_number:X}",
        f"  Valid from:     {format_time(certificate.not_valid_before_utc)}",
        f"  Valid until:    {format_time(certificate.not_valid_after_utc)}",
    ]
    if ca_certificate is not None:
        try:
            certificate.verify_directly_issued_by(ca_certificate)
            chain = f"signed by {name_text(ca_certificate.subject)}"
        except (ValueError, TypeError, InvalidSignature):
            chain = "NOT signed by the CA certificate on the card"
        lines.append(f"  Issued by:      {chain}")
    return lines


def verify_signature(certificate: x509.Certificate, signature: bytes, data: bytes) -> None:
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise errors.CardProtocolError("the certificate's key is not RSA")
    try:
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise errors.CardProtocolError(
            "the card's signature does not match its certificate"
        ) from exc


if __name__ == "__main__":
    main()
