"""A kiosk that cannot come online: its queue, exported sealed and signed, imported by a
technician, with the sync API's idempotency."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric import ec, x25519

from mynapoint.queue_export import import_key_bytes, seal_export
from tests.support.service_harness import SECURITY_CODE, Kiosk, ServiceEnv


def export_of(kiosk: Kiosk, envelopes: list, **overrides: object):  # type: ignore[no-untyped-def,type-arg]
    options = {
        "kiosk_id": kiosk.kiosk_id,
        "device_key": kiosk.client.identity.key,
        "import_public_key": kiosk.client.identity.import_public_key,
        "now": kiosk.clock(),
        **overrides,
    }
    return seal_export([e.to_json() for e in envelopes], **options).model_dump()  # type: ignore[arg-type]


def import_(service: ServiceEnv, export: dict, token: str | None = None):  # type: ignore[no-untyped-def,type-arg]
    headers = service.as_role(token or service.credential("admin"))
    return service.http.post("/v1/submissions/import", json=export, headers=headers)


def test_an_exported_queue_is_imported_once(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    envelopes = [kiosk.reservation(card), kiosk.application(card)]
    export = export_of(kiosk, envelopes)
    assert SECURITY_CODE not in str(export), "the file is sealed"
    first = import_(service, export)
    assert first.status_code == 200, first.text
    assert [r["status"] for r in first.json()["results"]] == ["accepted", "accepted"]
    again = import_(service, export)  # the technician imports the same file twice
    assert all(r["replayed"] for r in again.json()["results"])
    # The kiosk, back online, sends the same envelopes: still the first results.
    assert kiosk.client.submit(envelopes[0]).body["replayed"] is True


def test_the_channel_is_the_exporting_kiosks(service: ServiceEnv) -> None:
    store, card = service.kiosk("convenience_store"), service.card()
    application = [store.reservation(card), store.application(card)]
    import_(service, export_of(store, application))
    receipt = application[1].receipt_number
    refused = import_(service, export_of(store, [store.cancellation(card, receipt)]))
    assert refused.json()["results"][0]["reason_code"] == "CANCEL_NOT_AT_CONVENIENCE_STORE"


def test_a_file_not_from_this_kiosk_or_not_for_this_service_is_refused(service: ServiceEnv) -> None:
    kiosk, card = service.kiosk(), service.card()
    envelopes = [kiosk.reservation(card)]
    checks = {
        "signed by another key": export_of(
            kiosk, envelopes, device_key=ec.generate_private_key(ec.SECP256R1())
        ),
        "sealed to another service": export_of(
            kiosk,
            envelopes,
            import_public_key=import_key_bytes(x25519.X25519PrivateKey.generate().public_key()),
        ),
    }
    tampered = export_of(kiosk, envelopes)
    sealed = bytearray(base64.b64decode(tampered["sealed"]))
    sealed[-1] ^= 1
    checks["altered in transit"] = {**tampered, "sealed": base64.b64encode(bytes(sealed)).decode()}
    for what, export in checks.items():
        reply = import_(service, export)
        assert (reply.status_code, reply.json()["reason_code"]) == (422, "EXPORT_INVALID"), what


def test_only_a_technician_may_import(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    export = export_of(kiosk, [kiosk.reservation(service.card())])
    denied = import_(service, export, token=service.credential("operator", "paypay"))
    assert denied.status_code == 401
    unknown = import_(service, {**export, "kiosk_id": "kiosk-9999"})
    assert unknown.json()["reason_code"] == "DEVICE_UNKNOWN"
