"""Whether a payment service can be chosen at a kiosk (``mynapoint.availability``): the rule
as a function of plain values, and the two sides that call it (the kiosk's catalog before
anything is typed, the grant service's ``rules.check_available`` when it refuses)."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

import pytest

from grant_service import rules
from grant_service.catalog import ENTRY_FIELDS, CatalogData
from grant_service.models import PaymentService
from grant_service.refusals import Refused
from kiosk.catalog.queries import Catalog
from kiosk.catalog.store import Freshness, Source
from mynapoint.availability import Unavailable, unavailable
from mynapoint.packaged_catalog import PACKAGED_CATALOG, packaged_document

FIRST_DAY = dt.date(2020, 10, 1)
CHANNELS = ("convenience_store", "city_hall")


def reason(channel: str, day: dt.date, **changed: bool) -> Unavailable | None:
    """The rule for a service that can be chosen anywhere from ``FIRST_DAY``, but for
    the flags ``changed``."""
    flags = {"app_only": False, "card_credentials": False, "not_at_convenience_store": False}
    service = SimpleNamespace(selectable_from=FIRST_DAY, **{**flags, **changed})
    return unavailable(service, channel=channel, day=day)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_plain_service_can_be_chosen_from_its_first_day_on_both_channels(channel: str) -> None:
    assert reason(channel, FIRST_DAY) is None
    assert reason(channel, dt.date.max) is None
    before = FIRST_DAY - dt.timedelta(days=1)
    assert reason(channel, before) is Unavailable.NOT_YET_SELECTABLE


@pytest.mark.parametrize("channel", CHANNELS)
def test_an_app_only_service_is_never_chosen_at_a_kiosk(channel: str) -> None:
    assert reason(channel, FIRST_DAY, app_only=True) is Unavailable.APP_ONLY


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_card_number_and_security_code_are_never_taken_at_a_kiosk(channel: str) -> None:
    assert reason(channel, FIRST_DAY, card_credentials=True) is Unavailable.CARD_CREDENTIALS


def test_some_services_are_not_chosen_at_a_convenience_store_but_are_at_city_hall() -> None:
    konbini = reason("convenience_store", FIRST_DAY, not_at_convenience_store=True)
    assert konbini is Unavailable.NOT_AT_CONVENIENCE_STORE
    assert reason("city_hall", FIRST_DAY, not_at_convenience_store=True) is None


def test_the_reasons_that_last_come_before_the_first_day() -> None:
    """Every combination: the first reason in the order app only, card's number and code,
    not at a convenience store, first day; a citizen told "from 1 October" is not told on
    1 October that the service is never taken here."""
    order = [
        Unavailable.APP_ONLY,
        Unavailable.CARD_CREDENTIALS,
        Unavailable.NOT_AT_CONVENIENCE_STORE,
        Unavailable.NOT_YET_SELECTABLE,
    ]
    for app_only, card, not_konbini, early, channel in itertools.product(
        (False, True), (False, True), (False, True), (False, True), CHANNELS
    ):
        holds = {
            Unavailable.APP_ONLY: app_only,
            Unavailable.CARD_CREDENTIALS: card,
            Unavailable.NOT_AT_CONVENIENCE_STORE: not_konbini and channel == "convenience_store",
            Unavailable.NOT_YET_SELECTABLE: early,
        }
        expected = next((r for r in order if holds[r]), None)
        day = FIRST_DAY - dt.timedelta(days=1) if early else FIRST_DAY
        flags = {
            "app_only": app_only,
            "card_credentials": card,
            "not_at_convenience_store": not_konbini,
        }
        assert reason(channel, day, **flags) is expected, (flags, channel, day)


def test_the_reasons_are_the_grant_services_reason_codes() -> None:
    from mynapoint.reasons import R

    for reason in Unavailable:
        assert R.by_code(reason.value).value.code == reason.value


# --- both sides call the rule ----------------------------------------------------------------


@pytest.fixture(scope="module")
def kiosk_catalog() -> Catalog:
    return Catalog.from_document(packaged_document(), Freshness(Source.PACKAGED, "test"))


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("day", [dt.date(2020, 7, 1), dt.date(2020, 10, 1)])
def test_the_kiosk_refuses_what_the_service_would(
    kiosk_catalog: Catalog, channel: str, day: dt.date
) -> None:
    """For every packaged service, the rule's answer on its published flags is what the
    kiosk's availability shows and what the grant service's rules refuse with (the same
    reason code), so the citizen learns it before typing."""
    for data in CatalogData.from_file(PACKAGED_CATALOG).services:
        expected = unavailable(data, channel=channel, day=day)
        code = None if expected is None else expected.value
        row = PaymentService(**data.model_dump(exclude={"sources", *ENTRY_FIELDS}))
        try:
            rules.check_available(row, channel, day)
            refused = None
        except Refused as refusal:
            refused = refusal.reason.value.code
        assert refused == code, data.code
        assert kiosk_catalog.availability(data.code, channel, day).key == code, data.code  # type: ignore[arg-type]
