"""Points: 25% of what counts, rounded down, up to 5,000 yen per person; replays change
nothing; the service keeps no purchase history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import text

from grant_service import point_answers
from grant_service.points import grant_increment
from mynapoint.dates import JST
from mynapoint.envelope import format_time
from tests.support.leaks import database_rows_text, leaked
from tests.support.service_harness import MY_SECRET_IDS, PAYPAY_ID, ServiceEnv


@pytest.mark.parametrize(
    ("before", "amount", "expected"),
    [
        (0, 1000, (1000, 250)),
        (0, 3, (3, 0)),  # 0.75 yen: rounded down...
        (3, 1, (1, 1)),  # ...and the running total catches up: 4 yen of base, 1 point
        (0, 25_000, (20_000, 5_000)),  # the base stops at 20,000 yen: 5,000 points
        (19_000, 5_000, (1_000, 250)),
        (20_000, 1_000, (0, 0)),
        (19_999, 1, (1, 1)),  # 4,999.75 -> 4,999, then 5,000
    ],
)
def test_the_arithmetic(before: int, amount: int, expected: tuple[int, int]) -> None:
    assert grant_increment(before, amount, rate_percent=25, cap_yen=5000) == expected


def test_many_small_charges_never_gain_or_lose_a_yen() -> None:
    counted = points = 0
    for _ in range(7_001):  # 7,001 charges of 3 yen: 21,003 yen
        base, granted = grant_increment(counted, 3, rate_percent=25, cap_yen=5000)
        counted, points = counted + base, points + granted
    assert (counted, points) == (20_000, 5_000)


class Operator:
    def __init__(self, service: ServiceEnv, service_code: str = "paypay") -> None:
        self.service = service
        self.service_code = service_code
        self.headers = service.as_role(service.credential("operator", service_code))

    def post(self, *transactions: dict[str, Any]) -> Any:
        return self.service.http.post(
            "/v1/points/transactions",
            json={"transactions": list(transactions)},
            headers=self.headers,
        )

    def tx(
        self,
        tx_id: str,
        amount: int,
        *,
        payment_id: str = PAYPAY_ID,
        kind: str = "charge",
        at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        return {
            "tx_id": tx_id,
            "service_code": self.service_code,
            "payment_id": payment_id,
            "kind": kind,
            "amount_yen": amount,
            "occurred_at": format_time(at or self.service.clock() + dt.timedelta(minutes=1)),
        }


def applied_person(service: ServiceEnv) -> tuple[Any, Any]:
    kiosk, card = service.kiosk(), service.card()
    kiosk.reserve(card)
    assert kiosk.apply(card).status_code == 200
    return kiosk, card


def test_a_stream_grants_exactly_25_percent_up_to_5000_and_replays_change_nothing(
    service: ServiceEnv,
) -> None:
    kiosk, card = applied_person(service)
    operator = Operator(service)
    stream = [
        operator.tx(f"tx-{i}", amount) for i, amount in enumerate([3_001, 7_003, 9_999, 4_000])
    ]
    first = operator.post(*stream).json()["results"]
    # 25% of the running base, rounded down: 750.25 -> 750; 2,501 -> +1,751; 5,000 -> +2,499.
    assert [r["points"] for r in first] == [750, 1751, 2499, 0]
    assert [r["counted_yen"] for r in first] == [3001, 7003, 9996, 0]
    assert first[-1]["reason_code"] == "POINTS_CAP_REACHED"
    assert first[-2]["total_points"] == 5000
    replay = operator.post(*stream).json()["results"]
    assert all(r["replayed"] for r in replay)
    assert [r["points"] for r in replay] == [r["points"] for r in first]
    more = operator.post(operator.tx("tx-late", 5_000)).json()["results"][0]
    assert (more["status"], more["reason_code"], more["points"]) == (
        "not_counted",
        "POINTS_CAP_REACHED",
        0,
    )
    assert kiosk.my_page(card).body["points"] == {"counted_yen": 20_000, "points": 5_000}


def test_a_transaction_id_with_other_content_is_refused(service: ServiceEnv) -> None:
    applied_person(service)
    operator = Operator(service)
    operator.post(operator.tx("tx-1", 1000))
    changed = operator.post(operator.tx("tx-1", 9000)).json()["results"][0]
    assert (changed["status"], changed["reason_code"]) == ("error", "TX_ID_REUSED")


def test_what_does_not_count(make_service: Callable[..., ServiceEnv]) -> None:
    service = make_service(points_period_end=dt.date(2099, 12, 31))
    applied_person(service)
    operator = Operator(service)
    before = service.clock() - dt.timedelta(hours=1)
    results = operator.post(
        operator.tx("a", 1000, kind="purchase"),  # PayPay grants on charges
        operator.tx("b", 1000, at=before),  # before the application
        operator.tx("c", 1000, payment_id=MY_SECRET_IDS["paypay"][2]),  # nobody's account
        operator.tx("d", 1000, at=dt.datetime(2100, 1, 1, tzinfo=JST)),  # after the period
    ).json()["results"]
    assert [r["reason_code"] for r in results] == [
        "WRONG_GRANT_TYPE",
        "BEFORE_APPLICATION",
        "NO_APPLICATION_FOR_ACCOUNT",
        "OUTSIDE_POINTS_PERIOD",
    ]
    assert all(r["status"] == "not_counted" and r["points"] == 0 for r in results)


def test_the_programme_period_comes_from_the_catalog(
    make_service: Callable[..., ServiceEnv],
) -> None:
    # Seed 001: charges and purchases from 2020-09 to the end of 2021-09 count.
    service = make_service(
        now=dt.datetime(2020, 8, 20, 12, tzinfo=JST),
        application_deadline=None,
        points_period_end=None,
    )
    applied_person(service)
    operator = Operator(service)
    early = operator.post(operator.tx("early", 1000)).json()["results"][0]
    assert early["reason_code"] == "OUTSIDE_POINTS_PERIOD"
    september = operator.post(
        operator.tx("sep", 1000, at=dt.datetime(2020, 9, 1, 0, 0, 1, tzinfo=JST))
    ).json()["results"][0]
    assert september["points"] == 250


def test_after_a_cancellation_the_account_earns_nothing(service: ServiceEnv) -> None:
    kiosk, card = applied_person(service)
    receipt = kiosk.my_page(card).body["application"]["receipt_number"]
    assert kiosk.cancel(card, receipt).status_code == 200
    operator = Operator(service)
    result = operator.post(operator.tx("after-cancel", 1000)).json()["results"][0]
    assert result["reason_code"] == "NO_APPLICATION_FOR_ACCOUNT"


def test_operators_post_only_for_their_own_service(service: ServiceEnv) -> None:
    applied_person(service)
    waon = Operator(service, "waon")
    reply = waon.post({**waon.tx("x", 100), "service_code": "paypay"})
    assert (reply.status_code, reply.json()["reason_code"]) == (403, "FORBIDDEN_SERVICE")
    anonymous = service.http.post(
        "/v1/points/transactions", json={"transactions": [waon.tx("y", 1)]}
    )
    assert (anonymous.status_code, anonymous.json()["reason_code"]) == (401, "CREDENTIAL_INVALID")
    kiosk_token = service.http.post(
        "/v1/points/transactions",
        json={"transactions": [waon.tx("z", 1)]},
        headers=service.as_role(service.credential("admin")),
    )
    assert kiosk_token.status_code == 401, "an admin token is not an operator token"


def test_bad_transactions_are_400(service: ServiceEnv) -> None:
    operator = Operator(service)
    for broken in (
        {**operator.tx("n", 100), "amount_yen": 0},
        {**operator.tx("n", 100), "amount_yen": "100"},
        {**operator.tx("n", 100), "kind": "refund"},
        {**operator.tx("n", 100), "occurred_at": "yesterday"},
    ):
        reply = operator.post(broken)
        assert (reply.status_code, reply.json()["reason_code"]) == (400, "MALFORMED")
        assert PAYPAY_ID not in reply.text


# --- no purchase history (seed 002 line 213, seed 004 #4017) ---------------------------


def time_forms(moment: dt.datetime) -> list[str]:
    """The ways a database or a log could hold a moment: UTC and JST, as sent, as epoch."""
    forms = [format_time(moment), str(int(moment.timestamp()))]
    for zone in (dt.UTC, JST):
        local = moment.astimezone(zone)
        forms += [f"{local:%Y-%m-%d %H:%M:%S}", f"{local:%Y-%m-%dT%H:%M:%S}"]
    return forms


def test_a_kept_answer_opens_only_with_its_own_transaction() -> None:
    answer = point_answers.Answer("granted", 12_345, 3_086, None, "QK7M4TZ9")
    fingerprint, other = "ab" * 32, "ac" * 32  # HMACs of two transactions' contents
    sealed = point_answers.seal(fingerprint, answer)
    assert point_answers.open_sealed(fingerprint, sealed) == answer
    with pytest.raises(InvalidTag):
        point_answers.open_sealed(other, sealed)
    assert point_answers.content_check(fingerprint) != point_answers.content_check(other)
    assert not {b"12345", b"3086", b"QK7M4TZ9", b"granted"} & {
        sealed[i : i + n] for n in (4, 5, 7, 8) for i in range(len(sealed))
    }


def test_the_database_keeps_no_purchase_history(service: ServiceEnv) -> None:
    """After a stream of charges (distinctive amounts, times and ids), replays and a reused
    id, no table holds an amount, a time of purchase or of receipt, or an operator's id,
    while the totals, the cap, the replays and TX_ID_REUSED are exact."""
    kiosk, card = applied_person(service)
    operator = Operator(service)
    applied = service.clock()
    service.clock.advance(hours=5, minutes=17, seconds=29)
    received = service.clock()  # the batch's time of receipt
    amounts = [12_345, 6_789, 2_468, 3_579]  # the third crosses the 20,000-yen base
    times = [
        applied + dt.timedelta(hours=1, minutes=2 * i + 1, seconds=7 * i + 13)
        for i in range(len(amounts))
    ]
    tx_ids = [f"op-7QZ-{i}-X9" for i in range(len(amounts))]
    stream = [operator.tx(i, a, at=t) for i, a, t in zip(tx_ids, amounts, times, strict=True)]
    nobody = operator.tx(
        "op-7QZ-nobody-X9", 11_213, at=times[0], payment_id=MY_SECRET_IDS["paypay"][2]
    )
    first = operator.post(*stream, nobody).json()["results"]
    assert [(r["status"], r["counted_yen"], r["points"]) for r in first] == [
        ("granted", 12_345, 3_086),
        ("granted", 6_789, 1_697),
        ("granted", 866, 217),
        ("not_counted", 0, 0),
        ("not_counted", 0, 0),
    ]
    assert [r["reason_code"] for r in first[3:]] == [
        "POINTS_CAP_REACHED",
        "NO_APPLICATION_FOR_ACCOUNT",
    ]
    service.clock.advance(minutes=3)
    replay = operator.post(*stream, nobody).json()["results"]
    # The first answers again (total_points is the person's total now, as it always was).
    same = [{k: v for k, v in r.items() if k not in ("replayed", "total_points")} for r in first]
    assert [
        {k: v for k, v in r.items() if k not in ("replayed", "total_points")} for r in replay
    ] == same
    assert all(r["replayed"] for r in replay)
    assert [r["total_points"] for r in replay] == [5_000] * 4 + [None]
    reused = operator.post({**stream[0], "amount_yen": 12_346}).json()["results"][0]
    assert (reused["status"], reused["reason_code"]) == ("error", "TX_ID_REUSED")
    assert kiosk.my_page(card).body["points"] == {"counted_yen": 20_000, "points": 5_000}

    kept = database_rows_text(service.settings.database_url)
    # The amounts, the base the capping charge counted, and each charge's points.
    purchases = [str(a) for a in [*amounts, 11_213, 866, 3_086, 1_697]]
    purchases += [f"{a:,}" for a in amounts]
    moments = [form for t in [*times, received] for form in time_forms(t)]
    assert leaked(kept, purchases + tx_ids + ["op-7QZ-nobody-X9"]) == []
    # The batch's receipt is in the audit trail (when an operator posted, counts only),
    # nowhere else: nothing ties it to a person.
    not_audit = "\n".join(line for line in kept.splitlines() if not line.startswith("audit_log:"))
    assert leaked(not_audit, moments) == []
    assert leaked(kept, [form for t in times for form in time_forms(t)]) == []
    with service.sessions() as session:
        kept_rows = session.execute(text("SELECT COUNT(*) FROM point_transaction_answers"))
        assert kept_rows.scalar() == len(stream) + 1  # one per transaction, none per replay

    # The search finds what it looks for, in any table.
    with service.sessions.begin() as session:
        session.execute(text("CREATE TABLE planted (amount INTEGER, at VARCHAR(40))"))
        session.execute(
            text("INSERT INTO planted VALUES (:a, :t)"),
            {"a": amounts[0], "t": format_time(times[1])},
        )
    planted = database_rows_text(service.settings.database_url)
    assert leaked(planted, purchases) == ["12345"]
    assert leaked(planted, time_forms(times[1])) == [format_time(times[1])]
