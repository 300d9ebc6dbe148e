"""``kiosk-submit``: one submission through the kiosk's submit path, without the screens.

    kiosk-submit reservation [--reader pcsc] [--pin-stdin]
    kiosk-submit application --service paypay --payment-id 090-0000-0001 [--pin-stdin]
    kiosk-submit cancellation --receipt R2611220123456 --reason wrong_entry

The card is read on the kiosk's own reader (its ``card_reader`` setting) unless
``--reader`` names another. It signs the envelope; the envelope is committed to the
kiosk's queue, then tried
online. The answer is *confirmed*, *rejected* (with the reason), or *pending* (queued:
``kiosk-sync`` sends it when the service can be reached). With ``--pin-stdin`` the PIN
is the first line of standard input and, for an application, the security code the
second; otherwise both are typed at hidden prompts. Neither is ever shown or kept. When
the queue cannot take the envelope (its disk is full), it says so in one line and exits
with status 5.
"""

from __future__ import annotations

import json
from typing import Literal

import click
from cryptography.hazmat.primitives import serialization

from kiosk.catalog.store import load_catalog
from kiosk.cli.common import (
    card_session,
    check_pin_tries,
    explain_card_errors,
    kiosk_reader_option,
    read_secret,
    wait_option,
    with_kiosk_settings,
)
from kiosk.devices.jpki import check_pin_format
from kiosk.link.submit import Submitted, Submitter
from kiosk.settings import KioskSettings
from mynapoint.dates import japan_day
from mynapoint.envelope import (
    ApplicationPayload,
    CancellationPayload,
    Payload,
    ReservationPayload,
    build_envelope,
)

TERMS_VERSION = "2020-07"  # the terms the citizen accepts on the kiosk's screen

pin_stdin_option = click.option(
    "--pin-stdin", is_flag=True, help="Read the PIN (and security code) from standard input."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group()
def main() -> None:
    """Make a reservation, an application or a cancellation with a My Number Card."""


@main.command()
@kiosk_reader_option
@wait_option
@pin_stdin_option
@json_option
@explain_card_errors
@with_kiosk_settings
def reservation(
    settings: KioskSettings, reader_spec: str | None, wait: float, pin_stdin: bool, as_json: bool
) -> None:
    """Set up the card holder's MyKey ID."""
    pin = _read_pin(pin_stdin)
    _submit(settings, ReservationPayload(terms_version=TERMS_VERSION), reader_spec, wait, pin,
            as_json)  # fmt: skip


@main.command()
@click.option("--service", "service_code", required=True, help="Payment service code.")
@click.option("--payment-id", required=True, help="The account ID with that service.")
@click.option("--phone-last4", help="Last 4 digits of the phone, if the service asks.")
@kiosk_reader_option
@wait_option
@pin_stdin_option
@json_option
@explain_card_errors
@with_kiosk_settings
def application(
    settings: KioskSettings,
    service_code: str,
    payment_id: str,
    phone_last4: str | None,
    reader_spec: str | None,
    wait: float,
    pin_stdin: bool,
    as_json: bool,
) -> None:
    """Choose the cashless payment service that receives the points."""
    _refuse_what_no_kiosk_takes(settings, service_code)
    pin = _read_pin(pin_stdin)
    security_code = read_secret(pin_stdin, "Security code", "--pin-stdin")
    payload = ApplicationPayload(
        service_code=service_code,
        payment_id=payment_id,
        security_code=security_code,
        phone_last4=phone_last4,
    )
    _submit(settings, payload, reader_spec, wait, pin, as_json)


def _refuse_what_no_kiosk_takes(settings: KioskSettings, service_code: str) -> None:
    """The catalog's availability, as the touch screens apply it, before a PIN or a code is
    asked: a service no kiosk may take (a card number with its security code, an app-only
    service) never reaches the queue from here either. City hall is the channel that
    allows the most; the service judges the rest."""
    catalog = load_catalog(settings, online=False)
    service = catalog.get(service_code)
    if service is None:
        return  # unknown here: the service answers SERVICE_UNKNOWN
    availability = catalog.availability(service, "city_hall", japan_day())
    if not availability.available:
        raise click.UsageError(f"{availability.key}: {availability.text('en')}")


@main.command()
@click.option("--receipt", required=True, help="The application's receipt number.")
@click.option(
    "--reason", type=click.Choice(["wrong_entry", "not_made_by_me"]), default="wrong_entry"
)
@kiosk_reader_option
@wait_option
@pin_stdin_option
@json_option
@explain_card_errors
@with_kiosk_settings
def cancellation(
    settings: KioskSettings,
    receipt: str,
    reason: Literal["wrong_entry", "not_made_by_me"],
    reader_spec: str | None,
    wait: float,
    pin_stdin: bool,
    as_json: bool,
) -> None:
    """Cancel an application made today (city-hall kiosks only)."""
    pin = _read_pin(pin_stdin)
    payload = CancellationPayload(application_receipt_number=receipt, reason=reason)
    _submit(settings, payload, reader_spec, wait, pin, as_json)


def _read_pin(from_stdin: bool) -> str:
    pin = read_secret(from_stdin, "PIN (4 digits)")
    check_pin_format(pin)  # a mistyped PIN is refused before the card is touched
    return pin


def _submit(
    settings: KioskSettings,
    payload: Payload,
    reader_spec: str | None,
    wait: float,
    pin: str,
    as_json: bool,
) -> None:
    with Submitter.opened(settings) as submitter:
        with card_session(reader_spec or settings.card_reader, wait) as card:
            certificate = card.read_certificate().public_bytes(serialization.Encoding.DER)
            check_pin_tries(card)
            card.verify_pin(pin)
            envelope = build_envelope(
                payload,
                kiosk_id=submitter.kiosk_id,
                sequence=submitter.next_sequence(),
                certificate_der=certificate,
                sign=card.sign,
            )
        submitted = submitter.submit(envelope)
    if as_json:
        click.echo(json.dumps(_as_json(submitted)))
    else:
        click.echo(_describe(submitted))


def _as_json(submitted: Submitted) -> dict[str, object]:
    return {
        "state": submitted.state,
        "receipt_number": submitted.receipt_number,
        "reason_code": submitted.reason_code,
    }


def _describe(submitted: Submitted) -> str:
    receipt = submitted.receipt_number
    if submitted.state == "confirmed":
        return f"confirmed: receipt {receipt}"
    if submitted.state == "rejected":
        message = (submitted.result or {}).get("message_en", "")
        return f"rejected: receipt {receipt}: {submitted.reason_code}: {message}"
    return (
        f"pending: receipt {receipt} is queued on this kiosk and will be sent when the "
        "grant service can be reached"
    )
