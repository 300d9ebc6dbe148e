"""The programme's rules called as plain functions, without HTTP (``grant_service.rules``
and the budget's one comparison): each test names a rule and provokes it. The same rules
through the API, on SQLite and PostgreSQL, are in test_rules.py, test_pki.py,
test_cancellation.py and test_concurrency.py; whether a service can be chosen at a kiosk
is tested in tests/mynapoint/test_availability.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from grant_service import budget, migrate, rules
from grant_service.catalog import Catalog, CatalogData
from grant_service.ledger import ActiveApplication, Ledger, Person
from grant_service.models import BudgetSlot, CertificateRenewal, CrlState, RevokedCertificate
from grant_service.pki import CardIdentity
from grant_service.refusals import Refused
from mynapoint.database import make_engine, make_session_factory
from mynapoint.dates import JST, japan_day
from mynapoint.packaged_catalog import PACKAGED_CATALOG

PROGRAMME = CatalogData.from_file(PACKAGED_CATALOG).programme
ISSUER = "CN=Test JPKI User Authentication CA"
NOW = dt.datetime(2020, 9, 15, 3, 0, tzinfo=dt.UTC)  # 12:00 in Japan


def refused_with(check: Callable[[], object]) -> str | None:
    """The reason code ``check`` refuses with, or None when it passes."""
    try:
        check()
    except Refused as refusal:
        return refusal.reason.value.code
    return None


def catalog(**programme: dt.date) -> Catalog:
    """The packaged catalog's programme, with other dates."""
    terms = PROGRAMME.model_copy(update=programme)
    return Catalog(
        version="test",
        etag="test",
        programme=terms,
        services={},
        application_deadline=terms.application_deadline,
    )


# --- days -----------------------------------------------------------------------------------


def test_the_programmes_days_begin_at_midnight_in_japan() -> None:
    assert japan_day(dt.datetime(2020, 9, 30, 14, 59, 59, tzinfo=dt.UTC)) == dt.date(2020, 9, 30)
    assert japan_day(dt.datetime(2020, 9, 30, 15, 0, tzinfo=dt.UTC)) == dt.date(2020, 10, 1)


def test_reservations_start_on_the_catalogs_reservation_start() -> None:
    start = PROGRAMME.reservation_start
    rules_catalog = catalog()
    assert not rules.reservations_started(rules_catalog, start - dt.timedelta(days=1))
    assert rules.reservations_started(rules_catalog, start)
    early = start - dt.timedelta(days=1)
    assert refused_with(lambda: rules.check_reservation_window(rules_catalog, early)) == (
        "RESERVATIONS_NOT_OPEN"
    )
    assert refused_with(lambda: rules.check_reservation_window(rules_catalog, start)) is None


def test_applications_are_open_from_their_start_to_the_deadline_both_included() -> None:
    rules_catalog = catalog()
    start, deadline = PROGRAMME.application_start, rules_catalog.application_deadline
    day = dt.timedelta(days=1)
    window = rules.check_application_window
    for open_day in (start, deadline):
        assert rules.applications_open(rules_catalog, open_day)
        assert refused_with(lambda d=open_day: window(rules_catalog, d)) is None  # type: ignore[misc]
    assert not rules.applications_open(rules_catalog, start - day)
    assert not rules.applications_open(rules_catalog, deadline + day)
    assert refused_with(lambda: window(rules_catalog, start - day)) == "APPLICATIONS_NOT_OPEN"
    assert refused_with(lambda: window(rules_catalog, deadline + day)) == "APPLICATIONS_CLOSED"


# --- people ---------------------------------------------------------------------------------


def test_a_suspended_or_superseded_mykey_id_does_no_procedure() -> None:
    assert refused_with(lambda: rules.check_person_active(Person("K7QM3XPA", "active"))) is None
    suspended, superseded = Person("K7QM3XPA", "suspended"), Person("K7QM3XPA", "superseded")
    assert refused_with(lambda: rules.check_person_active(suspended)) == "MYKEY_SUSPENDED"
    assert refused_with(lambda: rules.check_person_active(superseded)) == "MYKEY_SUPERSEDED"


def test_mykey_ids_have_no_look_alike_characters() -> None:
    for _ in range(200):
        mykey_id = rules.new_mykey_id()
        assert len(mykey_id) == rules.MYKEY_LENGTH and not set(mykey_id) & set("0O1IL")


# --- cancellation ---------------------------------------------------------------------------


def applied(at: dt.datetime) -> ActiveApplication:
    return ActiveApplication("K7QM3XPA", "20200930-0001", "paypay", "f" * 64, at)


def test_only_a_city_hall_terminal_cancels() -> None:
    assert rules.cancels_on("city_hall") and not rules.cancels_on("convenience_store")
    assert refused_with(lambda: rules.check_cancellation_channel("city_hall")) is None
    assert refused_with(lambda: rules.check_cancellation_channel("convenience_store")) == (
        "CANCEL_NOT_AT_CONVENIENCE_STORE"
    )


def test_an_application_is_cancelled_on_its_own_japan_day_only() -> None:
    made = dt.datetime(2020, 9, 30, 23, 50, tzinfo=JST)
    before_midnight = made + dt.timedelta(minutes=9)
    after_midnight = made + dt.timedelta(minutes=11)
    assert rules.same_day(made, before_midnight) and not rules.same_day(made, after_midnight)
    assert refused_with(lambda: rules.check_same_day(applied(made), before_midnight)) is None
    late = refused_with(lambda: rules.check_same_day(applied(made), after_midnight))
    assert late == "CANCEL_TOO_LATE"
    # Dated before the application: a kiosk's clock set back, never "the same day".
    earlier = made - dt.timedelta(minutes=1)
    assert rules.same_day(made, earlier)
    too_early = refused_with(lambda: rules.check_same_day(applied(made), earlier))
    assert too_early == "CANCEL_BEFORE_APPLICATION"


def test_my_page_says_cancellable_where_and_when_the_rules_would_cancel() -> None:
    made = dt.datetime(2020, 9, 30, 10, 0, tzinfo=JST)
    later_that_day, next_day = made + dt.timedelta(hours=13), made + dt.timedelta(hours=14)
    assert rules.cancellable("city_hall", made, later_that_day)
    assert not rules.cancellable("city_hall", made, next_day)
    assert not rules.cancellable("convenience_store", made, later_that_day)


# --- the budget -----------------------------------------------------------------------------


def test_the_budget_has_room_while_the_count_is_below_the_cap() -> None:
    assert budget.has_room(0, 1) and budget.has_room(39_999_999, 40_000_000)
    assert not budget.has_room(1, 1) and not budget.has_room(0, 0)


@pytest.mark.parametrize("cap", [0, 1, 63, 64, 65, 40_000_000])
def test_the_slots_shares_add_up_to_the_cap(cap: int) -> None:
    shares = [budget.allotment(slot, cap) for slot in range(budget.SLOTS)]
    assert sum(shares) == cap and max(shares) - min(shares) <= 1


def test_the_same_comparison_is_the_budgets_sql() -> None:
    """The statements that take a slot compare with the same function (a column: SQL)."""
    compared = budget.has_room(BudgetSlot.issued, 5)
    assert compared.compare(BudgetSlot.issued < 5)


# --- what a ledger is asked -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    """A migrated SQLite database; every test works in a transaction it never commits."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('rules')) / 'grant-service.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session
        session.rollback()


def card(serial: str, *, issued: dt.datetime = NOW - dt.timedelta(days=30)) -> CardIdentity:
    return CardIdentity(ISSUER, serial, issued, issued + dt.timedelta(days=5 * 365))


def crl(session: Session, this_update: dt.datetime) -> None:
    session.add(CrlState(issuer=ISSUER, this_update=this_update, imported_at=this_update))
    session.flush()


def validity(session: Session, identity: CardIdentity, at: dt.datetime = NOW) -> str | None:
    ledger = Ledger(session, cards=[identity], accounts=[])
    return refused_with(
        lambda: rules.check_validity(
            ledger,
            identity,
            at,
            NOW,
            max_queue_age=dt.timedelta(days=30),
            crl_max_age=dt.timedelta(hours=48),
        )
    )


def test_one_person_chooses_one_service(session: Session) -> None:
    ledger = Ledger(session, cards=[], accounts=[])
    assert refused_with(lambda: rules.check_one_service_per_person(ledger, "K7QM3XPA")) is None
    ledger.add_application(
        {
            "mykey_id": "K7QM3XPA",
            "receipt_number": "20200915-0001",
            "service_code": "paypay",
            "account_hmac": "f" * 64,
            "applied_at": NOW,
        }
    )
    again = refused_with(lambda: rules.check_one_service_per_person(ledger, "K7QM3XPA"))
    assert again == "ALREADY_APPLIED"
    assert refused_with(lambda: rules.check_one_service_per_person(ledger, "M2NP4QRT")) is None


def test_a_valid_card_with_a_fresh_crl_may_do_a_procedure(session: Session) -> None:
    crl(session, NOW - dt.timedelta(hours=47))
    assert validity(session, card("0A")) is None


def test_no_crl_or_a_stale_one_leaves_the_card_unjudged(session: Session) -> None:
    assert validity(session, card("0A")) == "CRL_STALE"
    crl(session, NOW - dt.timedelta(hours=49))
    assert validity(session, card("0A")) == "CRL_STALE"


def test_a_card_is_judged_at_the_envelopes_time(session: Session) -> None:
    crl(session, NOW)
    expired = card("0B", issued=NOW - dt.timedelta(days=5 * 365 + 1))
    assert validity(session, expired) == "CERT_EXPIRED"
    assert validity(session, expired, at=NOW - dt.timedelta(days=2)) is None  # made in time
    assert validity(session, card("0C", issued=NOW + dt.timedelta(hours=1))) == (
        "CERT_NOT_YET_VALID"
    )
    assert validity(session, card("0A"), at=NOW - dt.timedelta(days=31)) == "ENVELOPE_TOO_OLD"


def test_a_renewed_certificate_waits_24_hours(session: Session) -> None:
    crl(session, NOW)
    renewed = card("0D", issued=NOW - dt.timedelta(hours=23))
    assert validity(session, renewed) is None  # the feed has not said: a first certificate
    session.add(CertificateRenewal(issuer=ISSUER, serial_hex="0D", not_before=renewed.not_before))
    session.flush()
    assert validity(session, renewed) == "CERT_TOO_RECENT"
    assert validity(session, card("0D", issued=NOW - dt.timedelta(hours=24))) is None


def test_a_revocation_counts_from_its_own_time(session: Session) -> None:
    crl(session, NOW)
    session.add(RevokedCertificate(issuer=ISSUER, serial_hex="0E", revoked_at=NOW))
    session.flush()
    assert validity(session, card("0E")) == "CERT_REVOKED"
    assert validity(session, card("0E"), at=NOW - dt.timedelta(seconds=1)) is None
