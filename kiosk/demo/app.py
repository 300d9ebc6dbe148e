"""``kiosk demo`` with a screen: the app on the embedded defaults, and a keyboard for
what a demonstration cannot do with its hands.

    C   place the virtual card on the reader, or take it away
    N   a new citizen (a new virtual card, taken away from the reader)
    O   the store's network off, or back on (the local grant service stops or starts)

The operators' console of the local service shows this kiosk as its kiosk-sync reports
it (state, paper, queue, alerts such as "call staff"): the demo prints its address and
the demo operator's name and key.

Each run starts afresh (a new local service and kiosk under ``base``); the slips are
kept as PNG files in ``base/slips``. The card's PIN is ``1234``; the technician's (five
taps in the top-left corner) is ``DEMO_TECHNICIAN_PIN``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from kiosk.demo.environment import CONSOLE_USER, DemoEnvironment, demo_environment
from kiosk.devices.sim.loopback import VirtualReader
from kiosk.devices.sim.virtual_card import DEMO_PIN
from kiosk.health.reporter import Reporter
from kiosk.technician.pin import hash_pin

DEMO_TECHNICIAN_PIN = "24681357"
# The window opens at the size of the smaller panel the kiosk ships with (theme.PANELS):
# a size the UI tests cover, and one that fits a laptop's or a 1080p display. Kivy's own
# default (800x600) is no kiosk's, and cut the start screen's heading off.
DEMO_WINDOW = (1280, 800)


class DemoKeys:
    def __init__(self, env: DemoEnvironment, reader: VirtualReader) -> None:
        self.env = env
        self.reader = reader
        self.present = False

    def on_key_down(self, _window: Any, _key: int, _scancode: int, text: str | None,
                    _modifiers: list[str]) -> bool:  # fmt: skip
        letter = (text or "").lower()
        if letter == "c":
            if self.present:
                self.reader.remove()
            else:
                self.reader.insert()
            self.present = not self.present
            click.echo(f"card {'placed on' if self.present else 'taken from'} the reader")
        elif letter == "n":
            self.reader.remove()
            self.present = False
            self.reader.card = self.env.new_card()
            click.echo(f"a new citizen: {self.reader.card}")
        elif letter == "o":
            if self.env.service.running:
                self.env.service.stop()
                click.echo("the store's network is down (the grant service stopped)")
            else:
                self.env.service.start()
                click.echo("the store's network is back")
        else:
            return False
        return True


def run_demo_app(base: Path, *, channel: str = "convenience_store") -> int:
    # Kivy reads KCFG_<SECTION>_<KEY> once, on import: set before kiosk.ui.app imports it.
    os.environ.setdefault("KCFG_GRAPHICS_WIDTH", str(DEMO_WINDOW[0]))
    os.environ.setdefault("KCFG_GRAPHICS_HEIGHT", str(DEMO_WINDOW[1]))
    from kiosk.shell.assembly import assembled
    from kiosk.ui.app import KioskApp  # Kivy starts here, after its environment is set

    slips = base / "slips"
    technician = hash_pin(DEMO_TECHNICIAN_PIN)
    with demo_environment(base, channel=channel, slip_png_dir=slips,
                          technician_pin_hash=technician) as env:  # fmt: skip
        reader = VirtualReader(env.new_card())
        reader.remove()
        click.echo(__doc__.split("\n\n")[1])
        click.echo(f"card PIN {DEMO_PIN}; technician PIN {DEMO_TECHNICIAN_PIN}; slips in {slips}")
        click.echo(
            f"operators' console: {env.service.url}/console/ "
            f"(name {CONSOLE_USER!r}, key {env.console_key})"
        )
        with (
            assembled(env.kiosk, reader=reader) as kiosk,
            Reporter.opened(env.kiosk) as reporter,
            reporter.running(),
        ):
            app = KioskApp(kiosk)
            keys = DemoKeys(env, reader)
            from kivy.core.window import Window

            Window.bind(on_key_down=keys.on_key_down)
            app.run()
    return 0
