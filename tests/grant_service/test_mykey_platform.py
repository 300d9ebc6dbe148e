"""The MyKey platform through HTTP, on SQLite and PostgreSQL (seed 004): municipal points
granted by a municipality, vouchers printed against them and used once at a shop of their
municipality, library cards linked to the MyKey ID, and revoking the MyKey ID for good."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from grant_service.models import MunicipalPointLot
from mynapoint import vouchers as voucher_codes
from mynapoint.envelope import ServiceLinkPayload, ServiceUnlinkPayload
from mynapoint.platform_requests import (
    REVOCATION_TERMS_VERSION,
    BalancesQuery,
    Revocation,
    VoucherCancel,
    VoucherIssue,
)
from tests.support.leaks import database_rows_text, leaked
from tests.support.service_harness import Kiosk, ServiceEnv, TestCard

CHIYODA, YOKOHAMA, OSAKA = "131016", "141003", "271004"
NOW = dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC)  # 10:00 in Japan
LIBRARY_CARD = "1300098765"  # a Chiyoda library card number (10 digits)


@pytest.fixture
def platform(make_service: Any) -> ServiceEnv:
    return make_service(now=NOW)


def reason(reply: Any) -> str | None:
    return reply.body.get("reason_code")


def reserved(service: ServiceEnv, kiosk: Kiosk) -> tuple[TestCard, str]:
    card = service.card()
    reply = kiosk.reserve(card)
    assert reply.body["status"] == "accepted", reply.body
    return card, reply.body["result"]["mykey_id"]


def grant(service: ServiceEnv, token: str, *grants: dict[str, Any]) -> list[dict[str, Any]]:
    assert service.http is not None
    response = service.http.post(
        "/v1/municipal-points/grants", json={"grants": list(grants)}, headers=service.as_role(token)
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


def a_grant(
    mykey_id: str, points: int, expires_on: str = "2027-03-31", **extra: Any
) -> dict[str, Any]:
    return {
        "grant_id": extra.pop("grant_id", f"g-{uuid.uuid4().hex[:12]}"),
        "mykey_id": mykey_id,
        "points": points,
        "expires_on": expires_on,
        **extra,
    }


def issue(
    kiosk: Kiosk,
    card: TestCard,
    points: int,
    municipality: str = CHIYODA,
    request_uuid: str | None = None,
) -> Any:
    return kiosk.platform(
        card,
        VoucherIssue,
        request_uuid=request_uuid or str(uuid.uuid4()),
        municipality_code=municipality,
        points=points,
    )


def balances(kiosk: Kiosk, card: TestCard) -> dict[str, Any]:
    reply = kiosk.platform(card, BalancesQuery)
    assert reply.status_code == 200, reply.body
    return reply.body


def points_in(page: dict[str, Any], municipality: str) -> int:
    return next(
        (b["points"] for b in page["balances"] if b["municipality_code"] == municipality), 0
    )


def shop_post(service: ServiceEnv, token: str, path: str, body: dict[str, Any]) -> Any:
    assert service.http is not None
    return service.http.post(path, json=body, headers=service.as_role(token))


# --- municipal points -----------------------------------------------------------------------


def test_a_municipality_grants_points_once_per_grant_id_with_their_expiry(
    platform: ServiceEnv,
) -> None:
    kiosk = platform.kiosk()
    card, mykey = reserved(platform, kiosk)
    chiyoda = platform.credential("municipality", scope=CHIYODA, label="千代田区 健康ポイント")
    yokohama = platform.credential("municipality", scope=YOKOHAMA, label="横浜市")
    first = a_grant(mykey, 1200, "2027-03-31", grant_id="walk-2026-11")
    results = grant(platform, chiyoda, first, a_grant(mykey, 300, "2026-12-31"))
    assert [r["outcome"] for r in results] == ["granted", "granted"]
    assert grant(platform, yokohama, a_grant(mykey, 500, "2027-01-31"))[0]["outcome"] == "granted"
    # The municipality's retry: the first answer, and no second lot.
    again = grant(platform, chiyoda, first)[0]
    assert again["replayed"] is True and again["points"] == 1200
    reused = grant(platform, chiyoda, {**first, "points": 9999})[0]
    assert (reused["outcome"], reused["reason_code"]) == ("error", "GRANT_ID_REUSED")
    page = balances(kiosk, card)
    assert points_in(page, CHIYODA) == 1500 and points_in(page, YOKOHAMA) == 500
    chiyoda_row = next(b for b in page["balances"] if b["municipality_code"] == CHIYODA)
    assert chiyoda_row["expiring"] == [
        {"expires_on": "2026-12-31", "points": 300},
        {"expires_on": "2027-03-31", "points": 1200},
    ]


def test_grants_that_cannot_be_made_are_refused_each_on_its_own(platform: ServiceEnv) -> None:
    kiosk = platform.kiosk()
    _card, mykey = reserved(platform, kiosk)
    token = platform.credential("municipality", scope=CHIYODA)
    results = grant(
        platform,
        token,
        a_grant("NOSUCH42", 100),
        a_grant(mykey, 100, "2026-12-05"),  # yesterday in Japan
        a_grant(mykey, 100),
    )
    assert [r.get("reason_code") for r in results] == ["NOT_FOUND", "MALFORMED", None]
    assert results[2]["outcome"] == "granted"


def test_points_cannot_be_bought_moved_or_given_only_granted(platform: ServiceEnv) -> None:
    """No payment operator, shop or facility may grant; a grant names no source to move
    points from (#4030, #1013, #4042); a municipality grants only its own points."""
    assert platform.http is not None
    kiosk = platform.kiosk()
    _card, mykey = reserved(platform, kiosk)
    for role, kwargs in (
        ("operator", {"service_code": "paypay"}),
        ("shop", {"scope": CHIYODA}),
        ("facility", {"scope": "chiyoda_library"}),
    ):
        token = platform.credential(role, **kwargs)
        response = platform.http.post(
            "/v1/municipal-points/grants",
            json={"grants": [a_grant(mykey, 100)]},
            headers=platform.as_role(token),
        )
        assert response.status_code == 401, role
    token = platform.credential("municipality", scope=CHIYODA)
    moved = platform.http.post(
        "/v1/municipal-points/grants",
        json={"grants": [a_grant(mykey, 100, from_municipality=YOKOHAMA)]},
        headers=platform.as_role(token),
    )
    assert moved.status_code == 400  # no such field: nothing moves between municipalities
    paths = set(platform.app.openapi()["paths"])
    assert not [p for p in paths if any(w in p for w in ("transfer", "purchase", "buy", "move"))]


# --- vouchers ---------------------------------------------------------------------------------


def test_a_voucher_holds_its_points_at_once_oldest_grant_first_and_checks_offline(
    platform: ServiceEnv,
) -> None:
    kiosk = platform.kiosk()
    card, mykey = reserved(platform, kiosk)
    token = platform.credential("municipality", scope=CHIYODA)
    grant(platform, token, a_grant(mykey, 300, "2027-06-30"))
    platform.clock.advance(days=1)
    grant(platform, token, a_grant(mykey, 1000, "2027-01-15"))
    reply = issue(kiosk, card, 500)
    assert reply.status_code == 200, reply.body
    voucher = reply.body
    assert (voucher["points"], voucher["municipality_code"], voucher["balance"]) == (
        500,
        CHIYODA,
        800,
    )
    # The older grant went first, though it expires later (#4028): 300 from it, 200 from the new.
    with platform.sessions() as session:
        lots = session.scalars(select(MunicipalPointLot).order_by(MunicipalPointLot.id)).all()
        assert [(lot.points, lot.remaining) for lot in lots] == [(300, 0), (1000, 800)]
    # Valid 90 days in Chiyoda, but never after the points it holds expire.
    assert voucher["expires_on"] == "2027-01-15"
    # A shop with no network checks it with the service's public key.
    assert platform.http is not None
    pem = platform.http.get("/v1/platform/voucher-key").content
    face = voucher_codes.verify(voucher["code"], voucher_codes.load_public_key(pem))
    assert face == voucher_codes.VoucherFace(voucher["number"], CHIYODA, 500, dt.date(2027, 1, 15))
    assert voucher_codes.is_valid_number(voucher["number"])
    page = balances(kiosk, card)
    assert points_in(page, CHIYODA) == 800
    assert [v["number"] for v in page["vouchers"]] == [voucher["number"]]


def test_a_retried_issue_gets_the_same_voucher_and_takes_nothing_twice(
    platform: ServiceEnv,
) -> None:
    kiosk = platform.kiosk()
    card, mykey = reserved(platform, kiosk)
    grant(platform, platform.credential("municipality", scope=CHIYODA), a_grant(mykey, 1000))
    request = kiosk.platform_request(
        card, VoucherIssue, request_uuid=str(uuid.uuid4()), municipality_code=CHIYODA, points=400
    )
    first = kiosk.client.platform(request)
    again = kiosk.client.platform(request)  # its answer was lost: the same signed request
    assert first.status_code == again.status_code == 200
    assert again.body["replayed"] is True
    assert (again.body["number"], again.body["code"]) == (first.body["number"], first.body["code"])
    assert points_in(balances(kiosk, card), CHIYODA) == 600


def test_an_issue_the_balance_cannot_cover_or_outside_city_hall_holds_nothing(
    platform: ServiceEnv,
) -> None:
    kiosk, store = platform.kiosk(), platform.kiosk("convenience_store")
    card, mykey = reserved(platform, kiosk)
    grant(platform, platform.credential("municipality", scope=CHIYODA), a_grant(mykey, 100))
    assert reason(issue(kiosk, card, 101)) == "POINTS_NOT_ENOUGH"
    assert reason(issue(kiosk, card, 50, YOKOHAMA)) == "POINTS_NOT_ENOUGH"  # points stay put
    assert reason(issue(kiosk, card, 50, "999999")) == "MUNICIPALITY_UNKNOWN"
    assert reason(issue(store, card, 50)) == "NOT_AT_CITY_HALL"
    assert points_in(balances(store, card), CHIYODA) == 100  # balances: any kiosk
    stranger = platform.card()
    assert reason(issue(kiosk, stranger, 1)) == "NO_RESERVATION"


def test_a_voucher_is_used_once_in_its_municipality_and_a_second_use_says_when_and_where(
    platform: ServiceEnv,
) -> None:
    kiosk = platform.kiosk()
    card, mykey = reserved(platform, kiosk)
    grant(platform, platform.credential("municipality", scope=CHIYODA), a_grant(mykey, 1000))
    first, second = issue(kiosk, card, 300).body, issue(kiosk, card, 200).body
    bakery = platform.credential("shop", scope=CHIYODA, label="神田パン店")
    grocer = platform.credential("shop", scope=CHIYODA, label="秋葉原青果店")
    yokohama_shop = platform.credential("shop", scope=YOKOHAMA, label="元町商店")
    checked = shop_post(platform, bakery, "/v1/vouchers/check", {"voucher": first["code"]}).json()
    assert checked == {
        "number": first["number"],
        "usable": True,
        "points": 300,
        "expires_on": first["expires_on"],
    }
    wrong_place = shop_post(
        platform,
        yokohama_shop,
        "/v1/vouchers/redeem",
        {"redemption_id": "y-1", "vouchers": [first["code"]]},
    ).json()
    assert wrong_place["outcome"] == "rejected"
    assert wrong_place["problems"][0]["reason_code"] == "VOUCHER_WRONG_MUNICIPALITY"
    # Two at once (#4025), one by its QR code and one by its number as typed; no change.
    typed = voucher_codes.grouped(second["number"])
    used = shop_post(
        platform,
        bakery,
        "/v1/vouchers/redeem",
        {"redemption_id": "sale-0001", "vouchers": [first["code"], typed]},
    ).json()
    assert (used["outcome"], used["points"], used["replayed"]) == ("accepted", 500, False)
    replay = shop_post(
        platform,
        bakery,
        "/v1/vouchers/redeem",
        {"redemption_id": "sale-0001", "vouchers": [first["code"], typed]},
    ).json()
    assert (replay["outcome"], replay["points"], replay["replayed"]) == ("accepted", 500, True)
    platform.clock.advance(minutes=30)
    twice = shop_post(
        platform,
        grocer,
        "/v1/vouchers/redeem",
        {"redemption_id": "g-77", "vouchers": [first["number"]]},
    ).json()
    problem = twice["problems"][0]
    assert problem["reason_code"] == "VOUCHER_ALREADY_USED"
    assert problem["first_used_by"] == "神田パン店"
    assert dt.datetime.fromisoformat(problem["first_used_at"]) == NOW
    reused = shop_post(
        platform,
        bakery,
        "/v1/vouchers/redeem",
        {"redemption_id": "sale-0001", "vouchers": [first["number"]]},
    )
    assert reused.json()["reason_code"] == "IDEMPOTENCY_KEY_REUSED"
    # Used: the balance stays where the issue left it, and the vouchers are no longer held.
    page = balances(kiosk, card)
    assert points_in(page, CHIYODA) == 500 and page["vouchers"] == []


def test_a_forged_or_mistyped_voucher_is_refused(platform: ServiceEnv) -> None:
    kiosk = platform.kiosk()
    card, mykey = reserved(platform, kiosk)
    grant(platform, platform.credential("municipality", scope=CHIYODA), a_grant(mykey, 1000))
    voucher = issue(kiosk, card, 100).body
    shop = platform.credential("shop", scope=CHIYODA)
    signature = voucher["code"].split(".")[2]
    richer = voucher_codes.VoucherFace(
        voucher["number"], CHIYODA, 10_000, dt.date.fromisoformat(voucher["expires_on"])
    )
    forged = ".".join(["MKV1", voucher_codes._b64(richer.payload()), signature])
    for item in (forged, voucher["code"][:-3] + "AAA"):
        reply = shop_post(
            platform, shop, "/v1/vouchers/redeem", {"redemption_id": "r-1", "vouchers": [item]}
        )
        assert reply.json()["reason_code"] == "VOUCHER_FORGED", item
    number = voucher["number"]
    mistyped = number[:-2] + number[-1] + number[-2]  # two neighbours swapped
    if mistyped != number:
        reply = shop_post(platform, shop, "/v1/vouchers/check", {"voucher": mistyped})
        assert reply.json()["reason_code"] == "VOUCHER_UNKNOWN"
    with pytest.raises(voucher_codes.VoucherCodeInvalid):
        voucher_codes.verify(
            forged,
            voucher_codes.load_public_key(platform.http.get("/v1/platform/voucher-key").content),
        )  # type: ignore[union-attr]


def test_cancelling_a_voucher_at_city_hall_returns_its_points(platform: ServiceEnv) -> None:
    kiosk = platform.kiosk()
    card, mykey = reserved(platform, kiosk)
    other_card, _ = reserved(platform, kiosk)
    grant(platform, platform.credential("municipality", scope=CHIYODA), a_grant(mykey, 1000))
    voucher = issue(kiosk, card, 700).body
    assert reason(kiosk.platform(other_card, VoucherCancel, voucher_number=voucher["number"])) == (
        "VOUCHER_NOT_YOURS"
    )
    cancelled = kiosk.platform(card, VoucherCancel, voucher_number=voucher["number"])
    assert cancelled.body["state"] == "cancelled" and cancelled.body["points_returned"] == 700
    assert points_in(balances(kiosk, card), CHIYODA) == 1000
    again = kiosk.platform(card, VoucherCancel, voucher_number=voucher["number"])
    assert again.body["already"] is True
    assert points_in(balances(kiosk, card), CHIYODA) == 1000  # returned once
    shop = platform.credential("shop", scope=CHIYODA)
    refused = shop_post(
        platform, shop, "/v1/vouchers/redeem", {"redemption_id": "r", "vouchers": [voucher["code"]]}
    ).json()
    assert refused["problems"][0]["reason_code"] == "VOUCHER_CANCELLED"
    used = issue(kiosk, card, 100).body
    shop_post(
        platform, shop, "/v1/vouchers/redeem", {"redemption_id": "r2", "vouchers": [used["number"]]}
    )
    assert reason(kiosk.platform(card, VoucherCancel, voucher_number=used["number"])) == (
        "VOUCHER_ALREADY_USED"
    )


def test_points_and_vouchers_expire_on_their_own_days(platform: ServiceEnv) -> None:
    from click.testing import CliRunner

    from grant_service.cli import main

    kiosk = platform.kiosk()
    card, mykey = reserved(platform, kiosk)
    token = platform.credential("municipality", scope=CHIYODA)
    grant(platform, token, a_grant(mykey, 400, "2026-12-10"), a_grant(mykey, 600, "2027-02-28"))
    voucher = issue(kiosk, card, 100).body  # from the older grant: it expires 2026-12-10
    assert voucher["expires_on"] == "2026-12-10"
    platform.clock.advance(days=5)  # 2026-12-11 in Japan: the first grant is past
    platform.import_crl()  # the CRL of the day (cards are checked against it)
    assert points_in(balances(kiosk, card), CHIYODA) == 600
    shop = platform.credential("shop", scope=CHIYODA)
    late = shop_post(
        platform,
        shop,
        "/v1/vouchers/redeem",
        {"redemption_id": "late", "vouchers": [voucher["code"]]},
    ).json()
    assert late["problems"][0]["reason_code"] == "VOUCHER_EXPIRED"
    env = {
        f"GRANT_SERVICE_{k.upper()}": str(v)
        for k, v in (
            ("data_dir", platform.settings.data_dir),
            ("database_url", platform.settings.database_url),
        )
    }
    run = CliRunner().invoke(main, ["expire-points", "--today", "2026-12-11"], env=env)
    assert run.exit_code == 0, run.output
    # The voucher's 100 went back to its lot, which had lapsed: all 400 lapse.
    assert "1 voucher(s) closed, 400 point(s) of 1 grant(s) lapsed" in run.output
    again = CliRunner().invoke(main, ["expire-points", "--today", "2026-12-11"], env=env)
    assert "0 voucher(s) closed, 0 point(s) of 0 grant(s) lapsed" in again.output
    with platform.sessions() as session:
        lots = session.scalars(select(MunicipalPointLot).order_by(MunicipalPointLot.id)).all()
        assert [(lot.remaining, lot.lapsed) for lot in lots] == [(0, 400), (600, 0)]


# --- library cards ------------------------------------------------------------------------------


def link(kiosk: Kiosk, card: TestCard, facility: str, number: str) -> Any:
    envelope = kiosk.envelope(ServiceLinkPayload(facility_code=facility, user_number=number), card)
    return kiosk.client.submit(envelope)


def check_link(service: ServiceEnv, token: str, mykey: str, number: str) -> Any:
    return shop_post(
        service, token, "/v1/facility-links/check", {"mykey_id": mykey, "user_number": number}
    )


def test_a_library_card_is_linked_checked_yes_or_no_and_unlinked(platform: ServiceEnv) -> None:
    kiosk = platform.kiosk()
    card, mykey = reserved(platform, kiosk)
    linked = link(kiosk, card, "chiyoda_library", "１３００-０９８７６５")  # full width, hyphen
    assert linked.body["status"] == "accepted", linked.body
    assert linked.body["result"]["number_last4"] == "8765"
    assert (
        link(kiosk, card, "yokohama_central_library", "140000123456").body["status"] == "accepted"
    )
    library = platform.credential("facility", scope="chiyoda_library")
    other_library = platform.credential("facility", scope="yokohama_central_library")
    assert check_link(platform, library, mykey, LIBRARY_CARD).json() == {"linked": True}
    assert check_link(platform, library, mykey, "1300000000").json() == {"linked": False}
    assert check_link(platform, other_library, mykey, LIBRARY_CARD).json() == {"linked": False}
    page = balances(kiosk, card)
    assert {(x["facility_code"], x["number_last4"]) for x in page["links"]} == {
        ("chiyoda_library", "8765"),
        ("yokohama_central_library", "3456"),
    }
    # Someone else cannot take the number.
    other, other_mykey = reserved(platform, kiosk)
    taken = link(kiosk, other, "chiyoda_library", LIBRARY_CARD).body
    assert (taken["status"], taken["reason_code"]) == ("rejected", "SERVICE_ID_TAKEN")
    # A new card at the same library replaces the old one.
    replaced = link(kiosk, card, "chiyoda_library", "1300011111").body
    assert replaced["result"]["replaced"] is True
    assert check_link(platform, library, mykey, LIBRARY_CARD).json() == {"linked": False}
    unlinked = kiosk.client.submit(
        kiosk.envelope(ServiceUnlinkPayload(facility_code="chiyoda_library"), card)
    ).body
    assert unlinked["status"] == "accepted"
    assert check_link(platform, library, mykey, "1300011111").json() == {"linked": False}
    again = kiosk.client.submit(
        kiosk.envelope(ServiceUnlinkPayload(facility_code="chiyoda_library"), card)
    ).body
    assert again["reason_code"] == "SERVICE_ID_NOT_LINKED"
    assert other_mykey != mykey


def test_a_link_is_refused_when_it_cannot_be_made(platform: ServiceEnv) -> None:
    kiosk, store = platform.kiosk(), platform.kiosk("convenience_store")
    card, _ = reserved(platform, kiosk)
    cases = [
        (kiosk, card, "no_such_library", LIBRARY_CARD, "FACILITY_UNKNOWN"),
        (kiosk, card, "chiyoda_library", "12345", "SERVICE_ID_INVALID"),
        (store, card, "chiyoda_library", LIBRARY_CARD, "NOT_AT_CITY_HALL"),
        (kiosk, platform.card(), "chiyoda_library", LIBRARY_CARD, "NO_RESERVATION"),
    ]
    for where, who, facility, number, expected in cases:
        assert link(where, who, facility, number).body["reason_code"] == expected, expected


def test_nothing_is_kept_of_purchases_loans_or_numbers(platform: ServiceEnv) -> None:
    """What was sent is not in the database: the library card number, the shops'
    redemption ids; and no table has a field for what was bought or borrowed."""
    kiosk = platform.kiosk()
    card, mykey = reserved(platform, kiosk)
    grant(platform, platform.credential("municipality", scope=CHIYODA), a_grant(mykey, 1000))
    link(kiosk, card, "chiyoda_library", LIBRARY_CARD)
    voucher = issue(kiosk, card, 300).body
    shop = platform.credential("shop", scope=CHIYODA, label="神田パン店")
    shop_post(
        platform,
        shop,
        "/v1/vouchers/redeem",
        {"redemption_id": "receipt-7QZ31-X", "vouchers": [voucher["code"]]},
    )
    kept = database_rows_text(platform.settings.database_url)
    assert leaked(kept, [LIBRARY_CARD, "receipt-7QZ31-X", voucher["code"]]) == []
    # A used voucher no longer names its holder: no person's spending is kept.
    with platform.sessions() as session:
        from grant_service.models import PointVoucher

        used = session.get(PointVoucher, voucher["number"])
        assert used is not None and used.mykey_id is None and used.used_by == "神田パン店"
    from grant_service.models import Base

    columns = {c.name for t in Base.metadata.tables.values() for c in t.columns}
    assert not columns & {"item", "items", "product", "purchase", "book", "loan", "title", "isbn"}


# --- revocation ----------------------------------------------------------------------------------


def test_revoking_a_mykey_id_is_for_good_and_forfeits_every_right(platform: ServiceEnv) -> None:
    kiosk, store = platform.kiosk(), platform.kiosk("convenience_store")
    card, mykey = reserved(platform, kiosk)
    assert kiosk.apply(card).body["status"] == "accepted"
    grant(platform, platform.credential("municipality", scope=CHIYODA), a_grant(mykey, 1000))
    voucher = issue(kiosk, card, 300).body
    link(kiosk, card, "chiyoda_library", LIBRARY_CARD)
    terms = {"terms_version": REVOCATION_TERMS_VERSION, "confirmations": 2}
    assert reason(store.platform(card, Revocation, **terms)) == "NOT_AT_CITY_HALL"
    stale = kiosk.platform(card, Revocation, terms_version="2020-01-01", confirmations=2)
    assert reason(stale) == "MALFORMED"
    revoked = kiosk.platform(card, Revocation, **terms)
    assert revoked.status_code == 200, revoked.body
    assert revoked.body | {"revoked_at": None} == {
        "mykey_id": mykey,
        "revoked": True,
        "already": False,
        "revoked_at": None,
        "points_lapsed": 1000,
        "vouchers_void": 1,
        "links_removed": 1,
        "application_stopped": True,
    }
    assert kiosk.platform(card, Revocation, **terms).body["already"] is True
    # Every right is gone, and stays gone.
    assert reason(kiosk.platform(card, BalancesQuery)) == "MYKEY_REVOKED"
    again = kiosk.reserve(card).body
    assert (again["status"], again["reason_code"]) == ("rejected", "MYKEY_REVOKED")
    assert "有効に戻せず" in again["message_ja"]
    shop = platform.credential("shop", scope=CHIYODA)
    void = shop_post(
        platform, shop, "/v1/vouchers/redeem", {"redemption_id": "r", "vouchers": [voucher["code"]]}
    ).json()
    assert void["problems"][0]["reason_code"] == "VOUCHER_CANCELLED"
    library = platform.credential("facility", scope="chiyoda_library")
    assert check_link(platform, library, mykey, LIBRARY_CARD).json() == {"linked": False}
    late_grant = grant(
        platform, platform.credential("municipality", scope=CHIYODA), a_grant(mykey, 5)
    )
    assert late_grant[0]["reason_code"] == "MYKEY_REVOKED"
    assert platform.http is not None
    admin = platform.credential("admin")
    reinstate = platform.http.post(f"/v1/mykeys/{mykey}/reinstate", headers=platform.as_role(admin))
    assert reinstate.status_code == 404  # not suspended: nothing brings it back
