"""The MyKey platform's "exactly once" under real concurrency: copies racing on two
service processes over one database, on SQLite and on PostgreSQL.

A voucher is used once however many shops present it at the same instant; a voucher
cancelled at the kiosk while shops present it is either used or cancelled, never both; a
balance is never spent twice by vouchers issued at once; a municipality's grant makes one
lot however often it is sent at once; one library card number goes to one person.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from grant_service import audit
from grant_service.models import MunicipalPointLot, PointVoucher, ServiceLink
from kiosk.link.service_client import Reply
from mynapoint.envelope import ServiceLinkPayload
from mynapoint.platform_requests import VoucherCancel, VoucherIssue
from tests.grant_service.test_mykey_platform import CHIYODA, a_grant, grant, issue, reserved
from tests.support.service_cluster import Cluster, at_once, outcome, running_cluster
from tests.support.service_harness import ServiceEnv

pytestmark = pytest.mark.slow


def bearer_post(
    cluster: Cluster, index: int, token: str, path: str, body: dict[str, Any]
) -> Callable[[], Reply]:
    """A call to process ``index`` with a bearer token (a shop, a municipality)."""
    url = cluster.urls[index % len(cluster.urls)]

    def call() -> Reply:
        with httpx.Client(base_url=url, timeout=120) as http:
            response = http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        return Reply(response.status_code, response.json(), response.headers)

    return call


def no_server_errors(replies: list[Any]) -> list[tuple[int, str | None, bool]]:
    outcomes = [outcome(r) for r in replies]
    assert all(status < 500 for status, _, _ in outcomes), outcomes
    return outcomes


def test_a_voucher_presented_by_eight_shops_at_once_is_used_once(
    service: ServiceEnv, tmp_path: Path
) -> None:
    kiosk = service.kiosk()
    card, mykey = reserved(service, kiosk)
    rounds = 8
    grant(service, service.credential("municipality", scope=CHIYODA), a_grant(mykey, 100 * rounds))
    shops = [service.credential("shop", scope=CHIYODA, label=f"shop {i}") for i in range(8)]
    vouchers = [issue(kiosk, card, 100).body for _ in range(rounds)]
    with running_cluster(service, tmp_path) as cluster:
        for n, voucher in enumerate(vouchers):
            calls = [
                bearer_post(
                    cluster,
                    i,
                    token,
                    "/v1/vouchers/redeem",
                    {"redemption_id": f"sale-{n}-{i}", "vouchers": [voucher["code"]]},
                )
                for i, token in enumerate(shops)
            ]
            replies = at_once(calls)
            no_server_errors(replies)
            bodies = [r.body for r in replies]  # type: ignore[union-attr]
            accepted = [b for b in bodies if b.get("outcome") == "accepted"]
            assert len(accepted) == 1, bodies
            winner = bodies.index(accepted[0])
            refused = [b["problems"][0] for b in bodies if b.get("outcome") == "rejected"]
            assert len(refused) == 7, bodies
            assert {p["reason_code"] for p in refused} == {"VOUCHER_ALREADY_USED"}
            assert {p["first_used_by"] for p in refused} == {f"shop {winner}"}
    with service.sessions() as session:
        states = Counter(session.scalars(select(PointVoucher.state)))
        assert states == {"used": rounds}
        assert audit.verify(session, service.audit_key).ok


def test_a_voucher_cancelled_while_shops_present_it_is_used_or_cancelled_never_both(
    service: ServiceEnv, tmp_path: Path
) -> None:
    """The citizen cancels at the kiosk (its retries are fresh signed requests) while the
    paper is presented at shops, all at once: either one shop gets the points and every
    cancellation is refused, or the points go back and every shop is refused."""
    kiosk = service.kiosk()
    card, mykey = reserved(service, kiosk)
    grant(service, service.credential("municipality", scope=CHIYODA), a_grant(mykey, 500))
    voucher = issue(kiosk, card, 300).body
    shops = [service.credential("shop", scope=CHIYODA, label=f"shop {i}") for i in range(4)]
    cancels = [
        kiosk.platform_request(card, VoucherCancel, voucher_number=voucher["number"])
        for _ in range(4)
    ]
    with running_cluster(service, tmp_path) as cluster:
        clients = [cluster.client(kiosk, i) for i in range(4)]
        redeems = [
            bearer_post(cluster, i, token, "/v1/vouchers/redeem",
                        {"redemption_id": f"sale-{i}", "vouchers": [voucher["code"]]})
            for i, token in enumerate(shops)
        ]  # fmt: skip
        cancelling = [lambda c=c, r=r: c.platform(r) for c, r in zip(clients, cancels, strict=True)]
        replies = at_once([x for pair in zip(cancelling, redeems, strict=True) for x in pair])
    no_server_errors(replies)
    bodies = [r.body for r in replies]  # type: ignore[union-attr]
    cancel_bodies, shop_bodies = bodies[0::2], bodies[1::2]
    used = [b for b in shop_bodies if b.get("outcome") == "accepted"]
    cancelled = [b for b in cancel_bodies if b.get("state") == "cancelled"]
    with service.sessions() as session:
        [state] = session.scalars(select(PointVoucher.state))
        remaining = session.scalar(select(func.sum(MunicipalPointLot.remaining)))
        assert audit.verify(session, service.audit_key).ok
    if state == "used":
        assert len(used) == 1 and cancelled == [], bodies
        assert {b["reason_code"] for b in cancel_bodies} == {"VOUCHER_ALREADY_USED"}
        assert remaining == 200
    else:
        assert state == "cancelled" and used == [], bodies
        assert len(cancelled) == 4 and [b["already"] for b in cancelled].count(False) == 1
        refused = {b["problems"][0]["reason_code"] for b in shop_bodies}
        assert refused == {"VOUCHER_CANCELLED"}, shop_bodies
        assert remaining == 500


def test_copies_of_one_redemption_are_answered_as_replays(
    service: ServiceEnv, tmp_path: Path
) -> None:
    kiosk = service.kiosk()
    card, mykey = reserved(service, kiosk)
    grant(service, service.credential("municipality", scope=CHIYODA), a_grant(mykey, 500))
    shop = service.credential("shop", scope=CHIYODA, label="神田パン店")
    codes = [issue(kiosk, card, 100).body["code"] for _ in range(3)]
    body = {"redemption_id": "sale-42", "vouchers": codes}
    with running_cluster(service, tmp_path) as cluster:
        replies = at_once(
            [bearer_post(cluster, i, shop, "/v1/vouchers/redeem", body) for i in range(8)]
        )
    no_server_errors(replies)
    bodies = [r.body for r in replies]  # type: ignore[union-attr]
    assert {(b["outcome"], b["points"]) for b in bodies} == {("accepted", 300)}
    assert Counter(b["replayed"] for b in bodies) == {True: 7, False: 1}


def test_vouchers_issued_at_once_never_spend_a_balance_twice(
    service: ServiceEnv, tmp_path: Path
) -> None:
    kiosk = service.kiosk()
    card, mykey = reserved(service, kiosk)
    grant(service, service.credential("municipality", scope=CHIYODA), a_grant(mykey, 1000))
    requests = [
        kiosk.platform_request(
            card,
            VoucherIssue,
            request_uuid=str(uuid.uuid4()),
            municipality_code=CHIYODA,
            points=300,
        )
        for _ in range(8)
    ]
    with running_cluster(service, tmp_path) as cluster:
        clients = [cluster.client(kiosk, i) for i in range(8)]
        replies = at_once(
            [lambda c=c, r=r: c.platform(r) for c, r in zip(clients, requests, strict=True)]
        )
    outcomes = no_server_errors(replies)
    assert Counter((status, reason) for status, reason, _ in outcomes) == {
        (200, None): 3,
        (422, "POINTS_NOT_ENOUGH"): 5,
    }
    with service.sessions() as session:
        left = session.scalar(select(func.sum(MunicipalPointLot.remaining)))
        held = session.scalar(select(func.sum(PointVoucher.points)))
    assert (left, held) == (100, 900)


def test_copies_of_one_issue_request_make_one_voucher(service: ServiceEnv, tmp_path: Path) -> None:
    kiosk = service.kiosk()
    card, mykey = reserved(service, kiosk)
    grant(service, service.credential("municipality", scope=CHIYODA), a_grant(mykey, 1000))
    request = kiosk.platform_request(
        card, VoucherIssue, request_uuid=str(uuid.uuid4()), municipality_code=CHIYODA, points=250
    )
    with running_cluster(service, tmp_path) as cluster:
        clients = [cluster.client(kiosk, i) for i in range(8)]
        replies = at_once([lambda c=c: c.platform(request) for c in clients])
        later = clients[0].platform(request)  # a retry after the race: the same voucher
    outcomes = no_server_errors(replies)
    fresh = [o for o in outcomes if o[0] == 200 and not o[2]]
    assert len(fresh) == 1, outcomes
    # The others came while the first held the challenge: told to try again, or a replay.
    assert {o for o in outcomes if o not in fresh} <= {
        (422, "CHALLENGE_INVALID", False),
        (200, None, True),
    }
    assert later.body["replayed"] is True
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PointVoucher)) == 1
        assert session.scalar(select(func.sum(MunicipalPointLot.remaining))) == 750


def test_copies_of_one_grant_make_one_lot(service: ServiceEnv, tmp_path: Path) -> None:
    kiosk = service.kiosk()
    _card, mykey = reserved(service, kiosk)
    token = service.credential("municipality", scope=CHIYODA)
    rounds = 6
    with running_cluster(service, tmp_path) as cluster:
        for n in range(rounds):
            body = {"grants": [a_grant(mykey, 10, grant_id=f"festival-{n}")]}
            replies = at_once(
                [
                    bearer_post(cluster, i, token, "/v1/municipal-points/grants", body)
                    for i in range(8)
                ]
            )
            no_server_errors(replies)
            results = [r.body["results"][0] for r in replies]  # type: ignore[union-attr]
            assert {r["outcome"] for r in results} == {"granted"}
            assert Counter(bool(r.get("replayed")) for r in results) == {True: 7, False: 1}
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(MunicipalPointLot)) == rounds
        assert session.scalar(select(func.sum(MunicipalPointLot.remaining))) == 10 * rounds


def test_one_library_card_linked_by_two_people_at_once_goes_to_one(
    service: ServiceEnv, tmp_path: Path
) -> None:
    kiosk = service.kiosk()
    rounds = 6
    with running_cluster(service, tmp_path) as cluster:
        clients = [cluster.client(kiosk, i) for i in range(2)]
        for n in range(rounds):
            people = [reserved(service, kiosk)[0] for _ in range(2)]
            number = f"13000{n:05d}"
            envelopes = [
                kiosk.envelope(
                    ServiceLinkPayload(facility_code="chiyoda_library", user_number=number), p
                )
                for p in people
            ]
            replies = at_once(
                [lambda c=c, e=e: c.submit(e) for c, e in zip(clients, envelopes, strict=True)]
            )
            outcomes = no_server_errors(replies)
            assert sorted(outcomes) == [(200, None, False), (422, "SERVICE_ID_TAKEN", False)]
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ServiceLink)) == rounds
