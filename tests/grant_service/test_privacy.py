"""No security code, full payment-service ID or My Number in the database or the logs.

Each search first runs on the real data (it must find nothing), then on the same data
with one secret planted (it must find it): a search that cannot find is no evidence.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from mynapoint.envelope import format_time
from mynapoint.payment_ids import normalise_payment_id
from mynapoint.queue_export import seal_export
from tests.support.service_harness import MY_SECRET_IDS, PAYPAY_ID, SECURITY_CODE, ServiceEnv


def secrets_of(service: ServiceEnv) -> list[str]:
    values = [SECURITY_CODE, PAYPAY_ID, normalise_payment_id(PAYPAY_ID)]
    for card_file in service.workdir.glob("card-*.json"):
        values.append(json.loads(card_file.read_text())["my_number"])
    return values


def database_text(service: ServiceEnv, request: pytest.FixtureRequest) -> str:
    """Everything the database holds, as an attacker with its files or a dump would see it."""
    url = service.settings.database_url
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())
    database = url.rsplit("/", 1)[1]
    return request.getfixturevalue("postgres").dump(database)


def found(haystack: str, needles: list[str]) -> list[str]:
    return [n for n in needles if n in haystack]


def use_the_service(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    card, other = service.card(), service.card()
    kiosk.reserve(card)
    kiosk.apply(card, "paypay", PAYPAY_ID, "WRONG1")  # rejected
    kiosk.apply(card)  # accepted
    kiosk.reserve(other)
    kiosk.apply(other, "paypay", PAYPAY_ID)  # the account is taken: rejected
    broken = {**kiosk.application(other).to_json(), "certificate": "!!"}  # malformed
    kiosk.client._signed("POST", "/v1/submissions/batch", {"items": [broken]})
    service.app.state.service.processor.registry.unavailable.add("waon")
    kiosk.apply(other, "waon", MY_SECRET_IDS["waon"][0])  # pending
    kiosk.my_page(card)
    operator = service.as_role(service.credential("operator", "paypay"))
    charge = {
        "tx_id": "t-1",
        "service_code": "paypay",
        "payment_id": PAYPAY_ID,
        "kind": "charge",
        "amount_yen": 1000,
        "occurred_at": format_time(service.clock() + dt.timedelta(minutes=1)),
    }
    service.http.post("/v1/points/transactions", json={"transactions": [charge]}, headers=operator)
    exported = seal_export(
        [kiosk.reservation(service.card()).to_json()],
        kiosk_id=kiosk.kiosk_id,
        device_key=kiosk.client.identity.key,
        import_public_key=kiosk.client.identity.import_public_key,
        now=service.clock(),
    )
    service.http.post(
        "/v1/submissions/import",
        json=exported.model_dump(),
        headers=service.as_role(service.credential("admin")),
    )


def test_the_database_holds_no_secret(
    service: ServiceEnv, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    use_the_service(service)
    secrets = secrets_of(service)
    assert len(secrets) == 6  # the code, the ID twice, three cards' My Numbers
    assert found(database_text(service, request), secrets) == []
    log_text = "\n".join(r.getMessage() for r in caplog.records)
    assert found(log_text, secrets) == []

    # The searches can find: plant one secret where each looks.
    with service.sessions.begin() as session:
        session.execute(text("CREATE TABLE planted (value VARCHAR(64))"))
        session.execute(text("INSERT INTO planted VALUES (:v)"), {"v": SECURITY_CODE})
    assert found(database_text(service, request), secrets) == [SECURITY_CODE]
    logging.getLogger("grant_service").warning("planted %s", normalise_payment_id(PAYPAY_ID))
    log_text = "\n".join(r.getMessage() for r in caplog.records)
    assert found(log_text, secrets) == [normalise_payment_id(PAYPAY_ID)]


def test_refusals_never_echo_what_was_sent(make_service: Callable[..., ServiceEnv]) -> None:
    service = make_service()
    kiosk = service.kiosk()
    card = service.card()
    bad = {**kiosk.application(card).to_json(), "sequence": "not a number"}
    reply = kiosk.client._signed("POST", "/v1/submissions", bad)
    assert reply.status_code == 400
    assert SECURITY_CODE not in json.dumps(reply.body)
    assert PAYPAY_ID not in json.dumps(reply.body)


def test_the_operator_is_told_the_id_and_the_code_only_and_the_phone_digits_stay(
    service: ServiceEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the consent says (``tests/test_citizen_texts.py``), as the service does it: the
    payment company receives the payment service ID and the security code only; the last 4
    phone digits stay on the application. Its calls to the operator recorded
    (``grant_service/rules.py`` ``check_with_operator``)."""
    from sqlalchemy import select

    from grant_service.models import Application
    from mynapoint.envelope import ApplicationPayload
    from tests.support.service_harness import PAYPAY_ID, SECURITY_CODE

    registry = service.app.state.service.processor.registry
    calls: list[tuple[object, ...]] = []
    verify = registry.verify

    def recorded(*args: object, **kwargs: object) -> object:
        calls.append((*args, *kwargs.values()))
        return verify(*args, **kwargs)

    monkeypatch.setattr(registry, "verify", recorded)
    kiosk, card = service.kiosk(), service.card()
    kiosk.reserve(card)
    payload = ApplicationPayload(
        service_code="paypay", payment_id=PAYPAY_ID, security_code=SECURITY_CODE, phone_last4="5396"
    )
    assert kiosk.client.submit(kiosk.envelope(payload, card)).status_code == 200
    assert calls == [("paypay", PAYPAY_ID, SECURITY_CODE)]  # all the operator is told
    with service.sessions.begin() as session:
        assert session.scalars(select(Application.phone_last4)).one() == "5396"
