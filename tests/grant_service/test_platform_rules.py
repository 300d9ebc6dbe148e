"""The MyKey platform's rules at the function level, on a session (SQLite and PostgreSQL):
lots spent oldest first and given back where they came from, expiry by day, vouchers held
and released, the yes/no of a library link. The HTTP paths are in test_mykey_platform.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select

from grant_service import municipal_points, service_links, vouchers
from grant_service.models import Device, MunicipalPointLot, PointVoucher, PointVoucherHold
from grant_service.refusals import Refused
from mynapoint import vouchers as voucher_codes
from mynapoint.platform_catalog import PACKAGED_PLATFORM_CATALOG, PlatformCatalog
from tests.grant_service.test_mykey_platform import CHIYODA, NOW, reserved
from tests.support.service_harness import ServiceEnv

PLATFORM = PlatformCatalog.from_file(PACKAGED_PLATFORM_CATALOG)
TODAY = dt.date(2026, 12, 6)
KEY = b"k" * 32


@pytest.fixture
def person(make_service: Any) -> tuple[ServiceEnv, str]:
    service = make_service(now=NOW)
    _card, mykey = reserved(service, service.kiosk())
    return service, mykey


def lot(mykey: str, points: int, granted: dt.date, expires: dt.date) -> MunicipalPointLot:
    return MunicipalPointLot(
        mykey_id=mykey,
        municipality_code=CHIYODA,
        points=points,
        remaining=points,
        granted_on=granted,
        expires_on=expires,
        lapsed=0,
    )


def test_points_are_taken_oldest_grant_first_and_given_back_to_their_own_lots(
    person: tuple[ServiceEnv, str],
) -> None:
    service, mykey = person
    with service.sessions.begin() as session:
        old = lot(mykey, 300, dt.date(2026, 10, 1), dt.date(2027, 6, 30))
        new = lot(mykey, 500, dt.date(2026, 11, 1), dt.date(2027, 1, 31))
        past = lot(mykey, 900, dt.date(2026, 1, 1), dt.date(2026, 12, 5))  # yesterday
        session.add_all([new, old, past])
        session.flush()
        taken = municipal_points.take(session, mykey, CHIYODA, 450, TODAY)
        assert [(t.id, part) for t, part in taken] == [(old.id, 300), (new.id, 150)]
        with pytest.raises(Refused) as short:
            municipal_points.take(session, mykey, CHIYODA, 351, TODAY)
        assert short.value.reason.value.code == "POINTS_NOT_ENOUGH"
        municipal_points.give_back(session, [(new.id, 150), (old.id, 300)])
        session.expire_all()
        assert [(t.remaining) for t in (old, new, past)] == [300, 500, 900]
        [balance] = municipal_points.balances(session, mykey, TODAY)
        assert balance.points == 800  # the expired lot counts for nothing, run or not
        assert balance.expiring == ((dt.date(2027, 1, 31), 500), (dt.date(2027, 6, 30), 300))


def test_expiry_lapses_only_what_is_past_and_only_once(person: tuple[ServiceEnv, str]) -> None:
    service, mykey = person
    with service.sessions.begin() as session:
        session.add_all(
            [
                lot(mykey, 100, dt.date(2026, 1, 1), dt.date(2026, 12, 5)),
                lot(mykey, 200, dt.date(2026, 1, 1), dt.date(2026, 12, 6)),
            ]
        )
    with service.sessions.begin() as session:
        first = municipal_points.expire(session, service.audit_key, TODAY, NOW)
        again = municipal_points.expire(session, service.audit_key, TODAY, NOW)
    assert (first.lots, first.points, again.lots, again.points) == (1, 100, 0, 0)
    with service.sessions() as session:
        rows = session.scalars(select(MunicipalPointLot).order_by(MunicipalPointLot.id)).all()
        assert [(r.remaining, r.lapsed) for r in rows] == [(0, 100), (200, 0)]  # through today


def test_a_voucher_holds_its_points_lot_by_lot_until_used_then_forgets_its_holder(
    person: tuple[ServiceEnv, str],
) -> None:
    service, mykey = person
    key = ed25519.Ed25519PrivateKey.generate()
    chiyoda = PLATFORM.municipality(CHIYODA)
    assert chiyoda is not None
    with service.sessions.begin() as session:
        session.add_all(
            [
                lot(mykey, 100, dt.date(2026, 10, 1), dt.date(2027, 6, 30)),
                lot(mykey, 500, dt.date(2026, 11, 1), dt.date(2027, 1, 31)),
            ]
        )
        device_id = session.scalars(select(Device.id)).first()
        assert device_id is not None
        issued = vouchers.issue(
            session,
            vouchers.IssueRequest("kiosk-0001", device_id, "u-1", mykey, chiyoda, 250),
            account_key=KEY,
            voucher_key=key,
            audit_key=service.audit_key,
            today=TODAY,
            now=NOW,
        )
        holds = session.scalars(select(PointVoucherHold.points).order_by(PointVoucherHold.lot_id))
        assert list(holds) == [100, 150]
        # valid 90 days in Chiyoda, but not after 2027-01-31, when the points it holds end
        assert issued["expires_on"] == "2027-01-31"
        face = voucher_codes.verify(issued["code"], key.public_key())
        shop = vouchers.Shop("神田パン店", CHIYODA)
        used = vouchers.redeem(
            session,
            [issued["number"]],
            shop=shop,
            redemption_id="r1",
            account_key=KEY,
            audit_key=service.audit_key,
            public_key=key.public_key(),
            today=TODAY,
            now=NOW,
        )
        assert used["points"] == face.points == 250
        voucher = session.get(PointVoucher, issued["number"])
        assert voucher is not None and voucher.mykey_id is None and voucher.state == "used"
        assert session.scalars(select(PointVoucherHold)).all() == []
        check = vouchers.check(
            session, issued["code"], shop=shop, public_key=key.public_key(), today=TODAY
        )
        assert (check["usable"], check["reason_code"]) == (False, "VOUCHER_ALREADY_USED")
        assert check["first_used_by"] == "神田パン店"


def test_a_typed_number_with_a_wrong_check_digit_is_no_voucher() -> None:
    number = voucher_codes.new_voucher_number()
    assert voucher_codes.is_valid_number(number)
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    with pytest.raises(Refused) as refused:
        vouchers.number_of(wrong, key)
    assert refused.value.reason.value.code == "VOUCHER_UNKNOWN"
    assert vouchers.number_of(voucher_codes.grouped(number), key) == (number, None)


def test_a_library_number_is_kept_only_as_a_keyed_digest_of_its_normal_form() -> None:
    a = service_links.number_digest(KEY, "chiyoda_library", "１３００-０９８７６５")
    b = service_links.number_digest(KEY, "chiyoda_library", "1300098765")
    other_library = service_links.number_digest(KEY, "chiyoda_hibiya_library", "1300098765")
    other_key = service_links.number_digest(b"x" * 32, "chiyoda_library", "1300098765")
    assert a == b and len({b, other_library, other_key}) == 3 and "1300098765" not in b
