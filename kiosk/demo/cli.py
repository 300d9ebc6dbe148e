"""``kiosk-demo``: the kiosk's procedure end to end on its embedded defaults.

A virtual My Number Card, a local grant service on SQLite (started in this process, on
loopback), and the kiosk enrolled with it through its enrollment client: the card is
read, its PIN verified, and a reservation and an application, each signed by the card,
go through the kiosk's submit path (the durable queue first, then the service). Halfway,
the store's network "goes down" (the local service stops): the application is queued
and the citizen is told it is pending; the slip is printed (to a file: the ESC/POS bytes,
and the same image as a PNG); when the network is back, the sync sends it. Later work
puts the touch screens around this.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import click
from cryptography.hazmat.primitives import serialization

from grant_service import audit
from grant_service.keys import ServiceKeys
from kiosk.catalog.queries import Catalog
from kiosk.catalog.store import Freshness, Source
from kiosk.cli.common import explain_card_errors
from kiosk.demo.environment import LocalService, demo_service_settings, prepare_service
from kiosk.devices.jpki import JpkiCard
from kiosk.devices.sim.loopback import VirtualReader
from kiosk.devices.sim.virtual_card import DEMO_PIN, ensure_demo_card
from kiosk.link.enrollment import enroll
from kiosk.link.service_client import ServiceClient
from kiosk.link.submit import Submitted, Submitter
from kiosk.offline_queue.lock import SyncLock
from kiosk.offline_queue.sync import Syncer
from kiosk.settings import KioskSettings
from kiosk.slip.builder import SlipTerms, procedure_for, slip_for
from kiosk.slip.desk import SlipDesk
from mynapoint import devpaths
from mynapoint.database import make_engine, make_session_factory
from mynapoint.envelope import (
    ApplicationPayload,
    Envelope,
    Payload,
    ReservationPayload,
    build_envelope,
)
from mynapoint.mypage import build_status_query
from mynapoint.packaged_catalog import packaged_document

KIOSK_ID = "kiosk-demo"
# A demo account of the packaged (simulated) operator registry; see the README.
DEMO_SERVICE, DEMO_PAYMENT_ID, DEMO_SECURITY_CODE = "paypay", "090-0000-0001", "1234"


def describe(body: dict[str, Any] | None) -> str:
    body = body or {}
    messages = f"{body.get('message_en', '')} / {body.get('message_ja', '')}"
    return f"{body.get('status', 'refused')} {body.get('reason_code', '')}: {messages}"


def show_my_page(client: ServiceClient, card_path: Path) -> None:
    """My Page: the card signs a fresh challenge and sees its whole story."""
    challenge = client.challenge().body["challenge"]
    with VirtualReader(card_path).wait_for_card(5) as connection:
        card = JpkiCard(connection)
        certificate = card.read_certificate().public_bytes(serialization.Encoding.DER)
        card.verify_pin(DEMO_PIN)
        query = build_status_query(
            challenge,
            kiosk_id=client.identity.kiosk_id,
            certificate_der=certificate,
            sign=card.sign,
        )
    reply = client.card_status(query)
    if reply.status_code != 200:
        click.echo(f"9. My Page: {describe(reply.body)}")
        return
    page = reply.body
    application = page["application"]
    click.echo(
        f"9. My Page: MyKey ID {page['reservation'].get('mykey_id', '-')}; application "
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
    settings = demo_service_settings()
    deadline = settings.application_deadline
    token = prepare_service(settings, KIOSK_ID, "city_hall")
    sessions = make_session_factory(make_engine(settings.database_url))
    audit_key = ServiceKeys.load(settings.data_dir).audit_hmac
    click.echo(f"1. Card: virtual My Number Card at {card_path} (demo PIN {DEMO_PIN})")
    click.echo(f"2. Grant service: SQLite at {settings.database_url.removeprefix('sqlite:///')}")
    click.echo(f"   programme deadline set to {deadline} (the 2020-21 edition has ended)")
    service = LocalService(settings)
    service.start()
    try:
        kiosk = KioskSettings(data_dir=demo_kiosk_dir(), service_url=service.url)
        identity = enroll(kiosk, token)
        click.echo(
            f"3. Kiosk enrolled at {service.url} as {identity.kiosk_id} (city hall); "
            f"its queue: {kiosk.queue_database}"
        )
        with Submitter.opened(kiosk) as submitter:
            reservation, application = _card_signs(card_path, submitter)
            reserved = submitter.submit(reservation)
            _show("5. Reservation", reserved)
            service.stop()
            click.echo("6. The store's network goes down (the grant service is unreachable)")
            applied = submitter.submit(application)
            _show("   Application", applied)
        # Printed once both submissions are durable (in the queue or at the service).
        _issue_slip(kiosk, identity.kiosk_id, [(reservation, reserved), (application, applied)])
        service.start()
        with SyncLock(kiosk.sync_lock_file), Syncer.opened(kiosk) as syncer:
            syncer.store.due_now()
            report = syncer.drain()
            click.echo(
                f"7. The network is back: the sync sent {report.sent} queued item(s), "
                f"{report.accepted} accepted, {report.rejected} rejected"
            )
            for row in syncer.store.items(limit=report.sent):
                result = json.loads(row.result_json or "{}")
                _show(f"   {row.kind.capitalize()}", _settled(row.receipt_number, result))
            unsent = syncer.store.status().unsent
            click.echo(f"8. Queue: {unsent} unsent (the security code was erased on receipt)")
            client = syncer.client
            show_my_page(client, card_path)
    finally:
        service.stop()
    with sessions() as session:
        trail = audit.verify(session, audit_key)
    sessions.kw["bind"].dispose()
    state = "intact" if trail.ok else f"BROKEN: {trail.problem}"
    click.echo(f"10. Audit trail: {state} ({trail.entries} entries)")


def demo_kiosk_dir() -> Path:
    """The demo kiosk's own data directory (it enrolls afresh on every run, so it keeps
    out of the way of a kiosk a technician enrolled on this machine)."""
    return devpaths.data_home() / "mynapoint-kiosk" / "demo-kiosk"


def _card_signs(card_path: Path, submitter: Submitter) -> tuple[Envelope, Envelope]:
    """The citizen's card, PIN verified, signs the reservation and the application."""
    with VirtualReader(card_path).wait_for_card(5) as connection:
        card = JpkiCard(connection)
        certificate = card.read_certificate()
        tries = card.pin_status().tries_left
        card.verify_pin(DEMO_PIN)
        click.echo(
            f"4. Card read: certificate {certificate.serial_number:X}; "
            f"PIN tries left {tries}; PIN verified by the card"
        )
        certificate_der = certificate.public_bytes(serialization.Encoding.DER)

        def signed(payload: Payload) -> Envelope:
            return build_envelope(
                payload,
                kiosk_id=submitter.kiosk_id,
                sequence=submitter.next_sequence(),
                certificate_der=certificate_der,
                sign=card.sign,
            )

        reservation = signed(ReservationPayload(terms_version="2020-07"))
        application = signed(
            ApplicationPayload(
                service_code=DEMO_SERVICE,
                payment_id=DEMO_PAYMENT_ID,
                security_code=DEMO_SECURITY_CODE,
            )
        )
    return reservation, application


def _issue_slip(
    kiosk: KioskSettings, kiosk_id: str, done: list[tuple[Envelope, Submitted]]
) -> None:
    # What the slip says of the service: the packaged catalog's (the demo's kiosk prints
    # before asking the service for a fresher one).
    packaged = Catalog.from_document(packaged_document(), Freshness(Source.PACKAGED, "packaged"))
    terms = SlipTerms.of(packaged)
    procedures = [procedure_for(envelope, answer, terms) for envelope, answer in done]
    slip = slip_for(procedures, kiosk, language="ja", kiosk_id=kiosk_id, terms=terms)
    desk = SlipDesk(kiosk)
    try:
        issued = desk.issue(slip)
    finally:
        desk.close()
    preview = kiosk.data_dir / "slip.png"
    issued.image.save(preview)
    if not issued.printed:
        assert issued.problem is not None
        click.echo(f"   Slip: not printed ({issued.problem.detail}); shown as {preview}")
        return
    click.echo(
        f"   Slip: printed to {kiosk.printer_output_file} (ESC/POS, appended); "
        f"the same image as a PNG: {preview}"
    )


def _settled(receipt_number: str, result: dict[str, Any]) -> Submitted:
    state: Literal["confirmed", "rejected"]
    state = "confirmed" if result.get("status") == "accepted" else "rejected"
    return Submitted(state, receipt_number, result)


def _show(label: str, submitted: Submitted) -> None:
    receipt = submitted.receipt_number
    if submitted.state == "pending":
        click.echo(f"{label} {receipt}: pending, queued on the kiosk (the citizen is told so)")
        return
    if submitted.state == "rejected":
        click.echo(f"{label} {receipt}: {describe(submitted.result)}")
        return
    result = (submitted.result or {}).get("result", {})
    if "service_name_en" in result:  # an application
        click.echo(
            f"{label} {receipt}: {result['service_name_en']}, account "
            f"****{result.get('account_last4', '')}: accepted"
        )
    else:
        note = " (already reserved earlier)" if result.get("already_reserved") else ""
        click.echo(f"{label} {receipt}: MyKey ID {result.get('mykey_id', '-')}{note}")


if __name__ == "__main__":
    main()
