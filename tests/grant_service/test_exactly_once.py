"""Exactly once under real concurrency: copies of one envelope racing each other on two
service processes over one database, on SQLite and on PostgreSQL (where nothing
serialises writers for us).

However many copies of a UUID arrive at once, exactly one is processed; every other copy
gets the stored result (a replay) or 409 IN_FLIGHT; nothing deadlocks, nothing is a 5xx;
what is stored agrees with the tables and the audit trail holds one outcome per UUID.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from grant_service import audit
from grant_service.models import Application, AuditEntry, MyKey, Submission
from grant_service.operators import account_entry
from mynapoint.request_signing import sign_request
from tests.grant_service.test_points import Operator, applied_person
from tests.support.service_cluster import at_once, copies, outcome, running_cluster
from tests.support.service_harness import SECURITY_CODE, ServiceEnv

pytestmark = pytest.mark.slow

ROUNDS = 30


def add_accounts(service: ServiceEnv, service_code: str, count: int) -> list[str]:
    """``count`` more valid accounts of ``service_code`` in the operators' registry file
    (the service processes read it when they start)."""
    path = service.settings.operator_registry_file
    registry = json.loads(path.read_text())
    ids = [f"090-5{n // 10000:03d}-{n % 10000:04d}" for n in range(count)]
    registry["operators"][service_code]["accounts"] += [
        account_entry(service_code, payment_id, SECURITY_CODE) for payment_id in ids
    ]
    path.write_text(json.dumps(registry))
    return ids


def processed_once(replies: list[object]) -> dict[str, object]:
    """The one reply that processed the envelope; the others replayed it or were told it
    is in flight. Never a 5xx, never a second processing."""
    outcomes = [outcome(r) for r in replies]
    assert all(status < 500 for status, _, _ in outcomes), outcomes
    fresh = [
        r
        for r, (status, _, replayed) in zip(replies, outcomes, strict=True)
        if status != 409 and not replayed
    ]
    assert len(fresh) == 1, f"processed {len(fresh)} times: {outcomes}"
    first = fresh[0].body  # type: ignore[attr-defined]
    for reply, (status, reason, replayed) in zip(replies, outcomes, strict=True):
        if replayed:
            body = {k: v for k, v in reply.body.items() if k != "replayed"}  # type: ignore[attr-defined]
            assert body == {k: v for k, v in first.items() if k != "replayed"}
        elif status == 409:
            assert reason == "IN_FLIGHT"
    return first


def audit_outcomes(service: ServiceEnv, uuid: str) -> Counter[tuple[str, str]]:
    with service.sessions() as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.outcome).where(AuditEntry.subject == uuid)
        ).all()
    return Counter(
        (action, result)
        for action, result in rows
        if not action.endswith(".replay") and result != "error"
    )


def test_two_copies_at_the_same_instant_on_two_processes_are_processed_once(
    service: ServiceEnv, tmp_path: Path
) -> None:
    kiosk = service.kiosk()
    cards = [service.card() for _ in range(ROUNDS)]
    accounts = add_accounts(service, "paypay", ROUNDS)
    with running_cluster(service, tmp_path) as cluster:
        clients = [cluster.client(kiosk, 0), cluster.client(kiosk, 1)]
        for card, account in zip(cards, accounts, strict=True):
            reservation = kiosk.reservation(card)
            reserved = processed_once(at_once(copies(clients, reservation)))
            assert reserved["status"] == "accepted"
            application = kiosk.application(card, "paypay", account)
            applied = processed_once(at_once(copies(clients, application)))
            assert applied["status"] == "accepted", applied
            for envelope in (reservation, application):
                assert audit_outcomes(service, envelope.uuid) == {
                    (f"submission.{envelope.kind}", "accepted"): 1
                }
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(MyKey)) == ROUNDS
        assert session.scalar(select(func.count()).select_from(Application)) == ROUNDS
        results = [json.loads(r) for r in session.scalars(select(Submission.result_json))]
    assert {r["status"] for r in results} == {"accepted"}, "a stored result was overwritten"
    with service.sessions() as session:
        assert audit.verify(session, service.audit_key).ok


def test_eight_copies_many_rounds_never_deadlock_nor_fail(
    service: ServiceEnv, tmp_path: Path
) -> None:
    kiosk = service.kiosk()
    rounds = 12
    cards = [service.card() for _ in range(rounds)]
    accounts = add_accounts(service, "paypay", rounds)
    with running_cluster(service, tmp_path) as cluster:
        clients = [cluster.client(kiosk, i) for i in range(8)]
        for card, account in zip(cards, accounts, strict=True):
            reservation = kiosk.reservation(card)
            assert processed_once(at_once(copies(clients, reservation)))["status"] == "accepted"
            application = kiosk.application(card, "paypay", account)
            assert processed_once(at_once(copies(clients, application)))["status"] == "accepted"
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Application)) == rounds
        assert set(session.scalars(select(Submission.state))) == {"done"}


def test_copies_of_a_cancellation_cancel_once(service: ServiceEnv, tmp_path: Path) -> None:
    kiosk = service.kiosk("city_hall")
    rounds = 10
    cards = [service.card() for _ in range(rounds)]
    accounts = add_accounts(service, "paypay", rounds)
    with running_cluster(service, tmp_path) as cluster:
        clients = [cluster.client(kiosk, i) for i in range(4)]
        for card, account in zip(cards, accounts, strict=True):
            assert clients[0].submit(kiosk.reservation(card)).status_code == 200
            applied = clients[1].submit(kiosk.application(card, "paypay", account))
            assert applied.status_code == 200, applied.body
            cancellation = kiosk.cancellation(card, applied.body["receipt_number"])
            cancelled = processed_once(at_once(copies(clients, cancellation)))
            assert cancelled["status"] == "accepted", cancelled
            assert audit_outcomes(service, cancellation.uuid) == {
                ("submission.cancellation", "accepted"): 1
            }
    with service.sessions() as session:
        statuses = Counter(session.scalars(select(Application.status)))
    assert statuses == {"cancelled": rounds}


def test_one_service_per_person_holds_across_processes(service: ServiceEnv, tmp_path: Path) -> None:
    """The same person applies with two accounts at once, at two kiosks, through two
    processes: one application stands, the other is refused as already applied."""
    kiosk, other_kiosk = service.kiosk(), service.kiosk()
    rounds = 10
    cards = [service.card() for _ in range(rounds)]
    accounts = add_accounts(service, "paypay", 2 * rounds)
    with running_cluster(service, tmp_path) as cluster:
        first, second = cluster.client(kiosk, 0), cluster.client(other_kiosk, 1)
        for n, card in enumerate(cards):
            assert first.submit(kiosk.reservation(card)).status_code == 200
            a = kiosk.application(card, "paypay", accounts[2 * n])
            b = other_kiosk.application(card, "paypay", accounts[2 * n + 1])
            replies = at_once([lambda a=a: first.submit(a), lambda b=b: second.submit(b)])
            reasons = sorted(str(outcome(r)[1]) for r in replies)
            assert reasons == ["ALREADY_APPLIED", "None"], [outcome(r) for r in replies]
    with service.sessions() as session:
        per_person = session.execute(
            select(Application.mykey_id, func.count()).group_by(Application.mykey_id)
        ).all()
    assert len(per_person) == rounds and {count for _, count in per_person} == {1}


def test_replays_are_recognised_across_processes(service: ServiceEnv, tmp_path: Path) -> None:
    kiosk, card = service.kiosk(), service.card()
    with running_cluster(service, tmp_path) as cluster:
        first, second = cluster.client(kiosk, 0), cluster.client(kiosk, 1)
        envelope = kiosk.reservation(card)
        accepted = first.submit(envelope)
        assert accepted.status_code == 200
        again = second.submit(envelope)  # the kiosk's retry lands on the other process
        assert again.body["replayed"] is True
        assert again.body["result"] == accepted.body["result"]
        # A captured request replayed to the other process: its nonce was seen.
        body = json.dumps(kiosk.reservation(card).to_json(), separators=(",", ":")).encode()
        identity = kiosk.client.identity
        headers = {
            **sign_request(identity.key, identity.kiosk_id, "POST", "/v1/submissions", body),
            "Content-Type": "application/json",
        }
        assert first.http.post("/v1/submissions", content=body, headers=headers).status_code == 200
        replayed = second.http.post("/v1/submissions", content=body, headers=headers)
        assert (replayed.status_code, replayed.json()["reason_code"]) == (401, "REQUEST_REPLAYED")


@pytest.mark.parametrize("processes", [2])
def test_the_budget_cap_is_exact_across_processes(
    make_service: object, tmp_path: Path, processes: int
) -> None:
    cap, people = 20, 60
    service: ServiceEnv = make_service(reservation_cap=cap)  # type: ignore[operator]
    kiosk = service.kiosk()
    envelopes = [kiosk.reservation(service.card()) for _ in range(people)]
    with running_cluster(service, tmp_path, processes) as cluster:
        clients = [cluster.client(kiosk, i) for i in range(people)]
        replies = at_once(
            [lambda c=c, e=e: c.submit(e) for c, e in zip(clients, envelopes, strict=True)]
        )
    reasons = Counter(outcome(r)[1] for r in replies)
    assert reasons == {None: cap, "RESERVATIONS_CLOSED": people - cap}, reasons
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(MyKey)) == cap


# --- a card's items in kiosk order, across a crash between claim and apply ----------------


class ServiceDied(BaseException):
    """Not an Exception: nothing in the service catches it, as nothing survives a kill."""


def test_after_a_crash_between_claim_and_apply_a_later_item_waits(
    service: ServiceEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service dies after claiming a reservation, before applying it: the same card's
    application sent meanwhile waits (it is not refused NO_RESERVATION for good), and once
    the claim's lease has ended both go through, in the kiosk's order."""
    kiosk, card = service.kiosk(), service.card()
    reservation, application = kiosk.reservation(card), kiosk.application(card)
    processor = type(service.app.state.service.processor)

    def die(*_args: object, **_kwargs: object) -> None:
        raise ServiceDied

    with monkeypatch.context() as patch:
        patch.setattr(processor, "_apply_batch", die)
        with pytest.raises(ServiceDied):
            kiosk.client.submit(reservation)
    with service.sessions() as session:
        assert session.get(Submission, reservation.uuid).state == "in_flight"
    waiting = kiosk.client.submit(application)
    assert outcome(waiting)[:2] == (503, "BLOCKED_BY_EARLIER_ITEM")
    assert outcome(kiosk.client.submit(reservation))[:2] == (409, "IN_FLIGHT")
    service.clock.advance(seconds=service.settings.in_flight_lease_seconds + 1)
    assert outcome(kiosk.client.submit(reservation))[:2] == (200, None)
    assert outcome(kiosk.client.submit(application))[:2] == (200, None)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_killed_process_between_claim_and_apply_keeps_the_kiosk_order(
    make_service: object, tmp_path: Path
) -> None:
    """The same on two real processes over PostgreSQL: the reservation's apply is held (its
    insert waits for a table lock the test holds), its process is killed with SIGKILL, and
    the application goes to the other process."""
    service: ServiceEnv = make_service(in_flight_lease_seconds=3)  # type: ignore[operator]
    kiosk, card = service.kiosk(), service.card()
    reservation, application = kiosk.reservation(card), kiosk.application(card)
    engine = service.sessions.kw["bind"]
    with running_cluster(service, tmp_path) as cluster:
        doomed, survivor = cluster.client(kiosk, 0), cluster.client(kiosk, 1)
        with engine.connect() as hold:
            hold.exec_driver_sql("LOCK TABLE mykeys IN EXCLUSIVE MODE")  # reads go on
            sent = threading.Thread(target=lambda: _quietly(doomed.submit, reservation))
            sent.start()
            _wait_for(lambda: _state(service, reservation.uuid) == "in_flight")
            cluster.processes[0].stop(kill=True)
            hold.rollback()
        sent.join(30)
        _wait_for(lambda: _busy_backends(engine) == 0)  # the killed one's apply is gone
        assert _state(service, reservation.uuid) == "in_flight"  # claimed, never applied
        assert outcome(survivor.submit(application))[:2] == (503, "BLOCKED_BY_EARLIER_ITEM")
        time.sleep(3.5)  # the lease of the dead process's claim ends
        assert outcome(survivor.submit(reservation))[:2] == (200, None)
        assert outcome(survivor.submit(application))[:2] == (200, None)
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(MyKey)) == 1
        assert session.scalar(select(func.count()).select_from(Application)) == 1
        assert audit.verify(session, service.audit_key).ok


def _quietly(call: object, *args: object) -> None:
    with contextlib.suppress(Exception):  # the process is killed under it
        call(*args)  # type: ignore[operator]


def _state(service: ServiceEnv, uuid: str) -> str | None:
    with service.sessions() as session:
        row = session.get(Submission, uuid)
        return row.state if row else None


def _busy_backends(engine: object) -> int:
    with engine.connect() as connection:  # type: ignore[attr-defined]
        return connection.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state NOT IN ('idle')"
        ).scalar_one()


def _wait_for(condition: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# --- behind PgBouncer in transaction mode (docs/deployment.md) ----------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_exactly_once_through_pgbouncer_in_transaction_mode(
    make_service: object, postgres: object, tmp_path: Path
) -> None:
    """Two processes whose connections go through a real PgBouncer that hands each
    transaction to any of 4 server connections: copies are processed once, and the cap
    holds (the service's locks are all transaction-level, so pooling cannot split them)."""
    from grant_service.testing.pgbouncer import PrivatePgBouncer

    cap, rounds = 6, 8
    service: ServiceEnv = make_service(reservation_cap=cap)  # type: ignore[operator]
    kiosk = service.kiosk()
    cards = [service.card() for _ in range(rounds)]
    accounts = add_accounts(service, "paypay", rounds)
    database = make_url(service.settings.database_url).database
    with PrivatePgBouncer(postgres, pool_size=4) as bouncer:  # type: ignore[arg-type]
        pooled = {"database_url": bouncer.url(str(database)), "db_behind_pgbouncer": "true"}
        with running_cluster(service, tmp_path, **pooled) as cluster:
            clients = [cluster.client(kiosk, i) for i in range(4)]
            accepted = 0
            for card, account in zip(cards, accounts, strict=True):
                reserved = processed_once(at_once(copies(clients, kiosk.reservation(card))))
                if reserved["status"] != "accepted":
                    assert reserved["reason_code"] == "RESERVATIONS_CLOSED"
                    continue
                accepted += 1
                application = kiosk.application(card, "paypay", account)
                assert processed_once(at_once(copies(clients, application)))["status"] == "accepted"
    assert accepted == cap
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(MyKey)) == cap
        assert audit.verify(session, service.audit_key).ok


# --- no lock that every transaction takes ----------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_slow_transaction_about_one_person_holds_up_nobody_else(
    make_service: object, tmp_path: Path
) -> None:
    """One citizen's application is held mid-transaction (its insert waits for a table
    lock the test holds); meanwhile other citizens reserve and a payment operator posts
    points, through the other process: none of them waits for the held one. Before, every
    writing transaction queued on the one audit head row."""
    service: ServiceEnv = make_service()  # type: ignore[operator]
    kiosk, other_kiosk = service.kiosk(), service.kiosk()
    slow, others = service.card(), [service.card() for _ in range(3)]
    assert kiosk.reserve(slow).status_code == 200
    operator = service.as_role(service.credential("operator", "paypay"))
    engine = service.sessions.kw["bind"]
    with running_cluster(service, tmp_path) as cluster:
        held, free = cluster.client(kiosk, 0), cluster.client(other_kiosk, 1)
        with engine.connect() as hold:
            hold.exec_driver_sql("LOCK TABLE applications IN EXCLUSIVE MODE")  # reads go on
            application = kiosk.application(slow)
            waiting = threading.Thread(target=lambda: _quietly(held.submit, application))
            waiting.start()
            _wait_for(lambda: _state(service, application.uuid) == "in_flight")
            time.sleep(0.3)  # well inside its transaction now
            started = time.monotonic()
            for card in others:
                assert free.submit(other_kiosk.reservation(card)).status_code == 200
            charge = {
                "tx_id": "T1",
                "service_code": "paypay",
                "payment_id": "090-0000-0009",
                "kind": "charge",
                "amount_yen": 100,
                "occurred_at": "2026-12-01T00:00:00Z",
            }
            posted = free.http.post(
                "/v1/points/transactions", json={"transactions": [charge]}, headers=operator
            )
            elapsed = time.monotonic() - started
            assert posted.status_code == 200
            assert waiting.is_alive(), "the held application did not wait"
            hold.rollback()
        waiting.join(30)
    assert elapsed < 3, f"the others waited {elapsed:.1f} s for the held transaction"
    assert _state(service, application.uuid) == "done"


def test_copies_of_a_point_batch_count_once_across_processes(
    service: ServiceEnv, tmp_path: Path
) -> None:
    """A payment operator's batch posted eight times at once through two processes (its
    retries racing each other): each transaction counts once, the person's points stop at
    the cap once, and every copy gets the same answers (fresh once, replayed otherwise)."""
    kiosk, card = applied_person(service)
    operator = Operator(service)
    batch = [operator.tx(f"race-{n}", amount) for n, amount in enumerate([9_000, 9_000, 4_000])]
    with running_cluster(service, tmp_path) as cluster:
        clients = [cluster.client(kiosk, n) for n in range(8)]
        post = [
            lambda c=c: c.http.post(
                "/v1/points/transactions", json={"transactions": batch}, headers=operator.headers
            )
            for c in clients
        ]
        replies = at_once(post)  # type: ignore[arg-type]
    assert all(not isinstance(r, BaseException) and r.status_code == 200 for r in replies), replies
    answers = [r.json()["results"] for r in replies]  # type: ignore[union-attr]
    for index in range(len(batch)):
        fresh = [a[index] for a in answers if not a[index]["replayed"]]
        assert len(fresh) == 1, f"race-{index} counted {len(fresh)} times"
        assert {a[index]["points"] for a in answers} == {fresh[0]["points"]}
    assert [answers[0][i]["points"] for i in range(3)] == [2250, 2250, 500]
    assert kiosk.my_page(card).body["points"] == {"counted_yen": 20_000, "points": 5_000}
