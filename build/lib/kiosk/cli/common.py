"""What the command-line tools share: turning card errors into messages, never tracebacks."""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click
from cryptography import x509

from kiosk.devices import errors

P = ParamSpec("P")
R = TypeVar("R")

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
