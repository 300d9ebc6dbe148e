"""``kiosk-demo``: the kiosk's procedure end to end on its embedded defaults.

A virtual My Number Card, a local grant service on SQLite (started in this process, on
loopback), an enrolled kiosk device: the card is read, its PIN verified, and a
reservation and an application, each signed by the card, go to the service over HTTP.
Later work puts the touch screens, the offline queue and the slip around this.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import uvicorn
from cryptography.hazmat.primitives import serialization

from grant_service import audit, devices, pki
from grant_service.api import create_app
from grant_service.cli import prepare_database
from grant_service.keys import ServiceKeys
from grant_service.settings import Settings
from kiosk.cli.common import explain_card_errors
from kiosk.device_identity import DeviceIdentity
from kiosk.devices.jpki import JpkiCard
from kiosk.devices.jpki_test_ca import JpkiTestCa
from kiosk.devices.loopback import VirtualReader
from kiosk.devices.virtual_card import DEMO_PIN, default_ca_dir, ensure_demo_card
from kiosk.service_client import Reply, ServiceClient
from mynapoint.database import make_engine, make_session_factory
from mynapoint.envelope import ApplicationPayload, ReservationPayload, build_envelope
from mynapoint.mypage import build_status_query

KIOSK_ID = "kiosk-demo"
# A demo account of the packaged (simulated) operator registry; see the README.
DEMO_SERVICE, DEMO_PAYMENT_ID, DEMO_SECURITY_CODE = "paypay", "090-0000-0001", "1234"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_service(settings: Settings) -> Iterator[str]:
    """The grant service on loopback in a background thread, for the demo's lifetime."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="grant-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise click.ClickException("the local grant service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def describe(reply: Reply) -> str:
    body = reply.body or {}
    if reply.status_code == 200:
        return "accepted"
    code = body.get("reason_code", reply.status_code)
    messages = f"{body.get('message_en', '')} / {body.get('message_ja', '')}"
    return f"{body.get('status', 'refused')} {code}: {messages}"


def show_my_page(client: ServiceClient, card_path: Path) -> None:
    """My Page: the card signs a fresh challenge and sees its whole story."""
    challenge = client.challenge().body["challenge"]
    with VirtualReader(card_path).wait_for_card(5) as connection:
        card = JpkiCard(connection)
        certificate = card.read_certificate().public_bytes(serialization.Encoding.DER)
        card.verify_pin(DEMO_PIN)
        query = build_status_query(
            challenge, kiosk_id=KIOSK_ID, certificate_der=certificate, sign=card.sign
        )
    reply = client.card_status(query)
    if reply.status_code != 200:
        click.echo(f"7. My Page: {describe(reply)}")
        return
    page = reply.body
    application = page["application"]
    click.echo(
        f"7. My Page: MyKey ID {page['reservation'].get('mykey_id', '-')}; application "
        f"{application['state']} ({application.get('service_code', '-')}); "
        f"points {page['points']['points']} yen; {len(page['submissions'])} submissions:"
    )
    for item in page["submissions"][:6]:
        why = f" {item['reason_code']}" if item.get("reason_code") else ""
        click.echo(f"   {item['receipt_number']}  {item['kind']:<12} {item['state']}{why}")


@click.command()
@explain_card_errors
def main() -> None:
    """Run the card, the kiosk and the grant service end to end on this machine."""
    click.echo("Mynapoint kiosk - end-to-end demo on embedded defaults")
    card_path, _ = ensure_demo_card()
    ca = JpkiTestCa.load(default_ca_dir())
    # The seeds describe the 2020-21 edition, whose deadline has passed: the demo runs a
    # new edition with the deadline a year from today.
    deadline = dt.date.today() + dt.timedelta(days=365)
    settings = Settings(application_deadline=deadline)
    prepare_database(settings)
    now = dt.datetime.now(dt.UTC)
    sessions = make_session_factory(make_engine(settings.database_url))
    audit_key = ServiceKeys.load(settings.data_dir).audit_hmac
    with sessions.begin() as session:
        crl = ca.write_crl(now)  # the test CA's CRL, fresh, as a CA publishes it
        pki.import_crl(
            session, audit_key, pki.CardTrust.from_files(settings.trusted_ca_files),
            crl.public_bytes(serialization.Encoding.DER), now,
        )  # fmt: skip
        token = devices.create_enrollment_token(
            session, audit_key, KIOSK_ID, "city_hall", dt.timedelta(minutes=10), now
        )
    click.echo(f"1. Card: virtual My Number Card at {card_path} (demo PIN {DEMO_PIN})")
    click.echo(f"2. Grant service: SQLite at {settings.database_url.removeprefix('sqlite:///')}")
    click.echo(f"   programme deadline set to {deadline} (the 2020-21 edition has ended)")
    with local_service(settings) as url:
        client = ServiceClient(url, DeviceIdentity.generate(KIOSK_ID))
        enrolled = client.enroll(token)
        if enrolled.status_code != 200:
            raise click.ClickException(f"enrollment failed: {describe(enrolled)}")
        click.echo(f"3. Kiosk enrolled at {url} as {KIOSK_ID} (city hall), device key certified")

        with VirtualReader(card_path).wait_for_card(5) as connection:
            card = JpkiCard(connection)
            certificate = card.read_certificate()
            tries = card.pin_status().tries_left
            card.verify_pin(DEMO_PIN)
            click.echo(
                f"4. Card read: certificate {certificate.serial_number:X}; "
                f"PIN tries left {tries}; PIN verified by the card"
            )
            common = {
                "kiosk_id": KIOSK_ID,
                "certificate_der": certificate.public_bytes(serialization.Encoding.DER),
                "sign": card.sign,
            }
            sequence = time.time_ns() // 1_000_000  # increasing across demo runs
            reservation = build_envelope(
                ReservationPayload(terms_version="2020-07"), sequence=sequence, **common
            )
            application = build_envelope(
                ApplicationPayload(
                    service_code=DEMO_SERVICE,
                    payment_id=DEMO_PAYMENT_ID,
                    security_code=DEMO_SECURITY_CODE,
                ),
                sequence=sequence + 1,
                **common,
            )
        reserved = client.submit(reservation)
        if reserved.status_code == 200:
            result = reserved.body["result"]
            note = " (already reserved earlier)" if result["already_reserved"] else ""
            click.echo(
                f"5. Reservation {reservation.receipt_number}: MyKey ID {result['mykey_id']}{note}"
            )
        else:
            click.echo(f"5. Reservation {reservation.receipt_number}: {describe(reserved)}")
        applied = client.submit(application)
        if applied.status_code == 200:
            result = applied.body["result"]
            click.echo(
                f"6. Application {application.receipt_number}: {result['service_name_en']}, "
                f"account ****{result['account_last4']}: accepted"
            )
        else:
            click.echo(f"6. Application {application.receipt_number}: {describe(applied)}")
        show_my_page(client, card_path)
        client.close()
    with sessions() as session:
        report = audit.verify(session, audit_key)
    sessions.kw["bind"].dispose()
    state = "intact" if report.ok else f"BROKEN: {report.problem}"
    click.echo(f"8. Audit trail: {state} ({report.entries} entries)")


if __name__ == "__main__":
    main()
