"""``kiosk-card-sim``: test CA, virtual My Number Cards, and putting them behind real readers.

    kiosk-card-sim make-ca
    kiosk-card-sim issue [--expired | --fresh] [--revoked] [--pin-stdin]
    kiosk-card-sim revoke
    kiosk-card-sim serve --vpcd 127.0.0.1:35963      # pcscd then sees the card
    kiosk-card-sim serve --nfc-udp 127.0.0.1:54321   # for --reader nfc:udp:127.0.0.1:54321

Cards and the CA live under ``$XDG_DATA_HOME/mynapoint-kiosk`` unless ``--card`` /
``--ca`` (or ``KIOSK_VIRTUAL_CARD`` / ``KIOSK_TEST_CA``) say otherwise.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from kiosk.cli.common import explain_card_errors, format_time, name_text
from kiosk.devices.sim.test_ca import JpkiTestCa, Validity
from kiosk.devices.sim.virtual_card import (
    RemoveAfter,
    VirtualJpkiCard,
    default_ca_dir,
    default_card_path,
    ensure_demo_card,
    issue_card,
)

VPCD_DEFAULT_PORT = 0x8C7B  # 35963, as in Debian's /etc/reader.conf.d/vpcd
NFC_UDP_DEFAULT_PORT = 54321  # nfcpy's default for udp:

ca_option = click.option(
    "--ca",
    "ca_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_ca_dir,
    show_default="$XDG_DATA_HOME/mynapoint-kiosk/test-ca",
    help="Test CA directory.",
)
card_option = click.option(
    "--card",
    "card_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=default_card_path,
    show_default="$XDG_DATA_HOME/mynapoint-kiosk/virtual-card.json",
    help="Virtual card file.",
)


@click.group()
def main() -> None:
    """Make test certificates and virtual My Number Cards, and serve them to readers."""


@main.command("make-ca")
@ca_option
def make_ca(ca_dir: Path) -> None:
    """Create a test CA shaped like the JPKI user-authentication CA (with an empty CRL)."""
    if (ca_dir / "ca-key.pem").exists():
        raise click.ClickException(f"{ca_dir} already holds a CA")
    ca = JpkiTestCa.create(ca_dir)
    click.echo(f"Test CA created in {ca_dir}")
    click.echo(f"  Subject: {name_text(ca.certificate.subject)}")
    click.echo(f"  CRL:     {ca_dir / 'crl.der'}")


@main.command()
@ca_option
@card_option
@click.option("--pin", default="1234", show_default=True, help="The card's 4-digit PIN.")
@click.option("--pin-stdin", is_flag=True, help="Read the PIN from standard input instead.")
@click.option("--expired", is_flag=True, help="Certificate already expired.")
@click.option("--fresh", is_flag=True, help="Certificate issued 1 hour ago (24-hour rule).")
@click.option("--revoked", is_flag=True, help="Revoke the certificate at once (in the CRL).")
@click.option("--my-number", help="The fake My Number in the input-helper applet (12 digits).")
@click.option("--force", is_flag=True, help="Replace an existing card file.")
def issue(
    ca_dir: Path,
    card_path: Path,
    pin: str,
    pin_stdin: bool,
    expired: bool,
    fresh: bool,
    revoked: bool,
    my_number: str | None,
    force: bool,
) -> None:
    """Issue a virtual card: new RSA-2048 key, user-authentication certificate, PIN."""
    if expired and fresh:
        raise click.UsageError("--expired and --fresh exclude each other")
    if pin_stdin:
        pin = sys.stdin.readline().strip()
    if len(pin) != 4 or not pin.isdigit():
        raise click.UsageError("the PIN must be exactly 4 digits")
    if my_number is not None and (len(my_number) != 12 or not my_number.isdigit()):
        raise click.UsageError("--my-number takes 12 digits")
    if card_path.exists() and not force:
        raise click.ClickException(f"{card_path} exists; use --force to replace it")
    if not (ca_dir / "ca-key.pem").exists():
        raise click.ClickException(f"no test CA in {ca_dir}; run 'kiosk-card-sim make-ca' first")
    ca = JpkiTestCa.load(ca_dir)
    validity = Validity.expired() if expired else Validity.just_renewed() if fresh else None
    certificate = issue_card(
        ca, card_path, pin=pin, validity=validity, revoked=revoked, my_number=my_number
    )
    click.echo(f"Virtual card issued: {card_path}")
    click.echo(f"  Serial number: {certificate.serial_number:X}")
    click.echo(f"  Valid from:    {format_time(certificate.not_valid_before_utc)}")
    click.echo(f"  Valid until:   {format_time(certificate.not_valid_after_utc)}")
    if revoked:
        click.echo(f"  Revoked: listed in {ca_dir / 'crl.der'}")


@main.command()
@ca_option
@card_option
def revoke(ca_dir: Path, card_path: Path) -> None:
    """Revoke a virtual card's certificate and rewrite the CRL."""
    ca = JpkiTestCa.load(ca_dir)
    serial = VirtualJpkiCard(card_path).certificate.serial_number
    ca.revoke(serial)
    click.echo(f"Revoked serial {serial:X}; CRL rewritten at {ca_dir / 'crl.der'}")


def _host_port(value: str, default_port: int) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host:
        return value or "127.0.0.1", default_port
    return host, int(port)


@main.command()
@card_option
@click.option("--vpcd", metavar="HOST:PORT", help="Insert the card into vpcd (pcscd's driver).")
@click.option("--nfc-udp", metavar="HOST:PORT", help="Be the card behind nfcpy's udp driver.")
@click.option("--remove-after", type=int, help="Pull the card out after N APDUs.")
@click.option("--t0", is_flag=True, help="Answer like a T=0 card (61xx / GET RESPONSE).")
@click.option("-v", "--verbose", is_flag=True, help="Log insertions and removals.")
@explain_card_errors
def serve(
    card_path: Path,
    vpcd: str | None,
    nfc_udp: str | None,
    remove_after: int | None,
    t0: bool,
    verbose: bool,
) -> None:
    """Put the virtual card on a reader until Ctrl-C (or the scripted removal)."""
    if bool(vpcd) == bool(nfc_udp):
        raise click.UsageError("give exactly one of --vpcd HOST:PORT or --nfc-udp HOST:PORT")
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    if card_path == default_card_path():
        _, created = ensure_demo_card(
            card_path
        )  # the same card 'kiosk-card --reader virtual' reads
        if created:
            click.echo(f"Made a demo virtual card at {card_path} (its PIN is in the README).")
    elif not card_path.exists():
        raise click.ClickException(f"no card at {card_path}; make one with 'kiosk-card-sim issue'")
    card = VirtualJpkiCard(card_path, t0=t0)
    removal = RemoveAfter(remove_after)
    if vpcd:
        _serve_vpcd(card, _host_port(vpcd, VPCD_DEFAULT_PORT), removal)
    else:
        _serve_nfc_udp(card, _host_port(nfc_udp or "", NFC_UDP_DEFAULT_PORT), removal)


def _serve_vpcd(card: VirtualJpkiCard, address: tuple[str, int], removal: RemoveAfter) -> None:
    from kiosk.devices.sim.vpcd import VpcdCardLink

    link = VpcdCardLink(card, *address, removal=removal)
    click.echo(f"Waiting for vpcd at {address[0]}:{address[1]} (pcscd with the vpcd driver)...")
    while True:
        try:
            link.connect(timeout=24 * 3600)
        except ConnectionError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo("Card inserted; read it with: kiosk-card info --reader pcsc. Ctrl-C removes it.")
        link.serve()
        if removal.apdus is not None and removal.answered >= removal.apdus:
            click.echo(f"Card removed after {removal.answered} APDUs.")
            return
        click.echo("vpcd closed the connection (pcscd stopped?); inserting again when it is back.")


def _serve_nfc_udp(card: VirtualJpkiCard, address: tuple[str, int], removal: RemoveAfter) -> None:
    from kiosk.devices.sim.nfc_udp import NfcUdpCard

    sim = NfcUdpCard(card, *address, removal=removal)
    click.echo(f"Card in the field; read it with: kiosk-card info --reader nfc:{sim.reader_path}")
    click.echo("Ctrl-C removes it.")
    try:
        sim.serve()
    finally:
        sim.close()


if __name__ == "__main__":
    main()
