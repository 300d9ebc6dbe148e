"""What the command-line tools share: settings, and errors turned into messages, never
tracebacks."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

import click
from cryptography import x509
from pydantic import ValidationError

from kiosk.devices import errors
from kiosk.devices.apdu import CommandAPDU, ResponseAPDU
from kiosk.devices.jpki import JpkiCard
from kiosk.devices.printer import PrinterError
from kiosk.devices.readers import READER_SPECS, open_reader
from kiosk.devices.sim.virtual_card import ensure_demo_card
from kiosk.link.enrollment import EnrollmentFailed, NotEnrolled
from kiosk.link.service_client import InsecureServiceUrl
from kiosk.offline_queue.lock import SyncRunning
from kiosk.offline_queue.store import QueueFull
from kiosk.settings import load_kiosk_settings

P = ParamSpec("P")
R = TypeVar("R")

# Exit statuses the kiosk's tools share (besides 0, 1 for other errors and 2 for usage):
# kiosk-queue status says 3 (items wait) and 4 (alerts); every tool says QUEUE_FULL when
# the queue cannot be written (its disk, or its size cap, is full).
QUEUE_FULL = 5


class QueueFullError(click.ClickException):
    exit_code = QUEUE_FULL


# Errors after which the citizen should simply place the card again, correctly.
_READING_PROBLEMS = (errors.CardRemoved, errors.NoCard, errors.CardProtocolError)


def explain_card_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print a card error as one clear message (and what to do), exit with status 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except errors.CardError as error:
            click.secho(f"error: {error.detail}", fg="red", err=True)
            if isinstance(error, _READING_PROBLEMS):
                click.echo(f"hint: {errors.READING_TIPS}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


def name_text(name: x509.Name) -> str:
    """A distinguished name in the order it is written in the certificate (C=JP first)."""
    return ", ".join(attribute.rfc4514_string() for attribute in name)


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def with_kiosk_settings(command: Callable[..., R]) -> Callable[..., R]:
    """``--config`` for a kiosk command, resolved into ``settings``; the kiosk's own
    errors (not enrolled, queue full, sync already running, printer unreachable...) become
    one clear message (exit status 1; ``QUEUE_FULL`` for a full queue)."""

    @click.option(
        "--config",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="The kiosk's TOML settings file (default: $KIOSK_CONFIG).",
    )
    @functools.wraps(command)
    def wrapper(config: Path | None, **kwargs: object) -> R:
        try:
            settings = load_kiosk_settings(config)
        except ValidationError as exc:
            raise click.ClickException(f"invalid kiosk settings: {exc}") from exc
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            named = config or os.environ.get("KIOSK_CONFIG", "")
            raise click.ClickException(
                f"cannot read the kiosk settings file {named}: {exc}"
            ) from exc
        try:
            return command(settings=settings, **kwargs)
        except QueueFull as exc:
            raise QueueFullError(exc.detail) from exc
        except (NotEnrolled, EnrollmentFailed, PrinterError) as exc:
            raise click.ClickException(exc.detail) from exc
        except (SyncRunning, InsecureServiceUrl) as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


reader_option = click.option(
    "--reader",
    "reader_spec",
    default="virtual",
    show_default=True,
    envvar="KIOSK_CARD_READER",
    help=f"Card reader: {', '.join(READER_SPECS)}.",
)
# kiosk-submit's, on an enrolled kiosk: its own reader unless told otherwise.
kiosk_reader_option = click.option(
    "--reader",
    "reader_spec",
    default=None,
    show_default="the kiosk's card_reader setting",
    help=f"Card reader: {', '.join(READER_SPECS)}.",
)
wait_option = click.option(
    "--wait",
    default=20.0,
    show_default=True,
    help="Seconds to wait for a card on the reader.",
)


@contextlib.contextmanager
def card_session(
    reader_spec: str, wait: float, trace: list[tuple[CommandAPDU, ResponseAPDU]] | None = None
) -> Iterator[JpkiCard]:
    """A connected card with its JPKI applet selected; the card is reset afterwards."""
    if reader_spec == "virtual":
        path, created = ensure_demo_card()
        if created:
            click.echo(f"Made a demo virtual card at {path} (its PIN is in the README).", err=True)
    with open_reader(reader_spec) as reader:
        click.echo(f"Reader: {reader.name}. Waiting for a card...", err=True)
        observers = [lambda c, r: trace.append((c, r))] if trace is not None else []
        with reader.wait_for_card(wait) as connection:
            yield JpkiCard(connection, observers)


def pin_status_text(tries_left: int | None, locked: bool) -> str:
    if locked:
        return "0 (LOCKED: the holder must reset the PIN at the municipal office)"
    if tries_left is None:
        return "verified in this session"
    if tries_left == 1:
        return "1 (WARNING: one more wrong PIN locks the card)"
    return str(tries_left)


def check_pin_tries(card: JpkiCard) -> None:
    status = card.pin_status()
    if status.locked:
        raise errors.PinLocked(0x6984)
    click.echo(f"PIN tries left: {pin_status_text(status.tries_left, status.locked)}", err=True)


def read_secret(from_stdin: bool, prompt: str, option: str = "--pin-stdin") -> str:
    """A PIN or security code: one line of standard input, or typed at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not os.isatty(sys.stdin.fileno()):
        raise click.UsageError(f"no terminal to type the {prompt} at: use {option}")
    return click.prompt(prompt, hide_input=True, err=True)
