"""``kiosk-slip``: the confirmation slip and its printer, for technicians.

    kiosk-slip preview --sample [--lang en] [--large] [--paper 58] [--pending] slip.png
    kiosk-slip status                  # the printer's own answer: online, paper
    kiosk-slip test-print [--lang en]  # a sample slip, marked as such, on the printer
    kiosk-slip reprint [--last N]      # the last slips this kiosk issued, marked reprints

The printer is the one the kiosk's settings name (``printer_backend`` and friends; the
embedded default appends the ESC/POS bytes to ``<data_dir>/printer.bin``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

import click

from kiosk.cli.common import with_kiosk_settings
from kiosk.devices.printer import open_printer
from kiosk.settings import KioskSettings
from kiosk.slip.desk import SlipDesk, SlipIssued
from receipts.model import Language, Slip
from receipts.render import save_preview
from receipts.sample import sample_slip


@click.group()
def main() -> None:
    """Preview, print and reprint the kiosk's confirmation slip."""


def _sample(language: Language, pending: bool, settings: KioskSettings | None = None) -> Slip:
    store = settings.store_name if settings else "マイナポイント市役所 1階"
    return sample_slip(language=language, pending=pending, store_name=store)


@main.command()
@click.option("--sample", is_flag=True, required=True, help="A sample slip (no real data).")
@click.option("--lang", "language", type=click.Choice(["ja", "en"]), default="ja")
@click.option("--large", is_flag=True, help="Large type, for elderly readers.")
@click.option("--paper", type=click.Choice(["58", "80"]), default="80", help="Paper, mm.")
@click.option("--pending", is_flag=True, help="As when the network is down.")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
def preview(
    sample: bool,
    language: Literal["ja", "en"],
    large: bool,
    paper: str,
    pending: bool,
    output: Path,
) -> None:
    """Write the slip as a PNG: the very image the printer prints."""
    image = save_preview(_sample(language, pending), output, paper_mm=int(paper), large=large)
    click.echo(f"{output}: {image.width} x {image.height} dots ({paper} mm paper)")


@main.command()
@with_kiosk_settings
def status(settings: KioskSettings) -> None:
    """Ask the printer how it is (exit status 0: it can print; 1: it cannot; 2: unknown)."""
    with open_printer(settings) as printer:
        current = printer.status()
    click.echo(current.detail)
    if current.online is None:
        sys.exit(2)
    sys.exit(0 if current.online and current.paper != "out" else 1)


@main.command("test-print")
@click.option("--lang", "language", type=click.Choice(["ja", "en"]), default="ja")
@click.option("--pending", is_flag=True, help="As when the network is down.")
@with_kiosk_settings
def test_print(settings: KioskSettings, language: Literal["ja", "en"], pending: bool) -> None:
    """Print a sample slip on this kiosk's printer (it is not archived)."""
    desk = SlipDesk(settings)
    try:
        issued = desk.print(_sample(language, pending, settings))
    finally:
        desk.close()
    _report(issued)


@main.command()
@click.option("--last", "count", type=click.IntRange(1, 50), default=1, show_default=True)
@with_kiosk_settings
def reprint(settings: KioskSettings, count: int) -> None:
    """Print the last slips this kiosk issued again, marked as reprints."""
    desk = SlipDesk(settings)
    try:
        issued = desk.reprint(count)
    finally:
        desk.close()
    if not issued:
        raise click.ClickException("no slip has been issued on this kiosk yet")
    for each in issued:
        _report(each)


def _report(issued: SlipIssued) -> None:
    assert isinstance(issued.slip, Slip)  # reprints are of archived slips, never vouchers
    numbers = ", ".join(p.receipt_number or "-" for p in issued.slip.procedures)
    if not issued.printed:
        assert issued.problem is not None
        click.secho(f"not printed ({numbers}): {issued.problem.detail}", fg="red", err=True)
        sys.exit(1)
    click.echo(f"printed ({numbers})")
    if issued.status is not None:
        click.echo(f"printer: {issued.status.detail}")
