"""``kiosk``: the touchscreen kiosk.

    kiosk run [--config FILE]        the kiosk on its configured devices (enrolled first)
    kiosk demo                       a local grant service on SQLite, a virtual card, slips
                                     kept as PNG files, then the app in a window
    kiosk technician-pin [--stdin]   the hash of a new technician PIN, for the settings
    kiosk demo --headless --walkthrough OUTDIR [--voice]
                                     no screen needed: simulated touches through a whole
                                     reservation and application, a screenshot of every
                                     screen and the slip in OUTDIR; then the same with the
                                     service stopped (a pending slip), synced once it is back;
                                     --voice: what each screen said, as WAV in OUTDIR/voice

On a machine without a display, ``kiosk demo`` runs the walkthrough (into
``./kiosk-walkthrough``) instead of opening a window.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from kiosk.cli.common import with_kiosk_settings
from kiosk.settings import KioskSettings
from mynapoint import devpaths


@click.group()
def main() -> None:
    """The Mynapoint kiosk's touch screens."""


@main.command()
@with_kiosk_settings
def run(settings: KioskSettings) -> None:
    """Run the kiosk on the devices its settings name."""
    from kiosk.shell.assembly import assembled
    from kiosk.ui.app import KioskApp

    with assembled(settings) as kiosk:
        KioskApp(kiosk).run()


@main.command("technician-pin")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the PIN from standard input.")
def technician_pin(from_stdin: bool) -> None:
    """Print the settings line for a new technician PIN (6 to 12 digits): only its scrypt
    hash is kept, never the PIN."""
    from kiosk.technician.pin import hash_pin

    if from_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = click.prompt("New technician PIN", hide_input=True,
                           confirmation_prompt="The same PIN again")  # fmt: skip
    try:
        digest = hash_pin(pin)
    except ValueError as problem:
        raise click.ClickException(str(problem)) from None
    click.echo(f"KIOSK_TECHNICIAN_PIN_HASH={digest}")


def demo_dir() -> Path:
    return devpaths.data_home() / "mynapoint-kiosk" / "app-demo"


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@main.command()
@click.option("--headless", is_flag=True, help="No window: simulated touches, offscreen.")
@click.option(
    "--walkthrough",
    "outdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the walkthrough puts its screenshots and slips.",
)
@click.option("--channel", type=click.Choice(["convenience_store", "city_hall"]),
              default="convenience_store", show_default=True)  # fmt: skip
@click.option("--voice", is_flag=True, help="Also what each screen said, in OUTDIR/voice/.")
def demo(headless: bool, outdir: Path | None, channel: str, voice: bool) -> None:
    """The kiosk on its embedded defaults: virtual card, local service, slips as PNG."""
    if headless or outdir is not None or not has_display():
        from kiosk.demo.walkthrough import walk

        target = outdir or Path("kiosk-walkthrough")
        if not has_display() and not headless:
            click.echo("no display here: running the headless walkthrough instead")
        walk(target, channel=channel, echo=click.echo, voice=voice)
        return
    from kiosk.demo.app import run_demo_app

    sys.exit(run_demo_app(demo_dir(), channel=channel))
