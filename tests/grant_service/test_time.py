"""The kiosk's clock cannot move the programme's dates (grant_service/envelope_time.py).

Every date rule is judged at the envelope's time, because a queued envelope arrives late
and must be judged as of when the citizen was there. So each way of setting a kiosk's
clock back to slip past a date is tried here on a kiosk sending online: an expired card,
a card revoked since, the application deadline, a cancellation days later or dated before
its application, and an application dated back so that earlier charges earn points. Each
must fail; an envelope genuinely made offline is still judged at its own time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from grant_service.models import Submission
from kiosk.devices.sim.test_ca import Validity
from mynapoint.dates import JST
from mynapoint.envelope import format_time
from tests.support.service_harness import PAYPAY_ID, Kiosk, ServiceEnv

DAY = dt.timedelta(days=1)


def reason(reply: object) -> tuple[int, str | None]:
    return reply.status_code, reply.body.get("reason_code")  # type: ignore[attr-defined]


def kiosk_enrolled(service: ServiceEnv, days_ago: float) -> Kiosk:
    """A kiosk enrolled ``days_ago`` days ago that has sent nothing yet."""
    now = service.clock()
    service.clock.now = now - dt.timedelta(days=days_ago)
    kiosk = service.kiosk("city_hall")
    service.clock.now = now
    return kiosk


def kiosk_in_use(service: ServiceEnv, *, last_used: dt.timedelta = dt.timedelta(0)) -> Kiosk:
    """A kiosk enrolled 40 days ago whose latest citizen was ``last_used`` ago (online)."""
    kiosk = kiosk_enrolled(service, 40)
    latest = service.clock() - last_used
    assert kiosk.reserve(service.card(), at=latest).status_code == 200
    return kiosk


def test_an_expired_card_cannot_be_dated_back_to_when_it_was_valid(service: ServiceEnv) -> None:
    kiosk = kiosk_in_use(service)
    now = service.clock()
    expired = service.card(Validity(now - 400 * DAY, now - DAY))
    assert reason(kiosk.reserve(expired)) == (422, "CERT_EXPIRED")
    backdated = kiosk.reserve(expired, at=now - 2 * DAY)
    assert reason(backdated) == (422, "ENVELOPE_TIME_INCONSISTENT")
    assert "before an envelope the kiosk made earlier" in backdated.body["detail"]


def test_a_new_kiosk_cannot_date_an_envelope_before_its_enrolment(service: ServiceEnv) -> None:
    kiosk = service.kiosk()  # enrolled now, nothing sent yet
    now = service.clock()
    expired = service.card(Validity(now - 400 * DAY, now - DAY))
    backdated = kiosk.reserve(expired, at=now - 2 * DAY)
    assert reason(backdated) == (422, "ENVELOPE_TIME_INCONSISTENT")
    assert "before the kiosk was enrolled" in backdated.body["detail"]


def test_a_revoked_card_cannot_be_dated_before_its_revocation(service: ServiceEnv) -> None:
    kiosk = kiosk_in_use(service)
    card = service.card()
    service.ca.revoke(int(card.serial_hex, 16), service.clock() - dt.timedelta(hours=1))
    service.import_crl()
    assert reason(kiosk.reserve(card)) == (422, "CERT_REVOKED")
    backdated = kiosk.reserve(card, at=service.clock() - dt.timedelta(hours=2))
    assert reason(backdated) == (422, "ENVELOPE_TIME_INCONSISTENT")


def test_an_application_cannot_be_dated_back_before_the_deadline(
    make_service: Callable[..., ServiceEnv],
) -> None:
    yesterday = (dt.datetime.now(JST) - DAY).date()
    service = make_service(application_deadline=yesterday)
    kiosk = kiosk_in_use(service)
    card = service.card()
    assert kiosk.reserve(card).status_code == 200
    assert reason(kiosk.apply(card)) == (422, "APPLICATIONS_CLOSED")
    backdated = kiosk.apply(card, at=service.clock() - 2 * DAY)
    assert reason(backdated) == (422, "ENVELOPE_TIME_INCONSISTENT")


def test_a_cancellation_days_later_cannot_be_dated_back_to_the_day(service: ServiceEnv) -> None:
    kiosk = kiosk_in_use(service)
    card = service.card()
    assert kiosk.reserve(card).status_code == 200
    applied = kiosk.apply(card)
    assert applied.status_code == 200
    service.clock.advance(days=3)
    service.import_crl()  # a fresh CRL, as every day
    assert kiosk.reserve(service.card()).status_code == 200  # the kiosk goes on serving
    receipt = applied.body["receipt_number"]
    assert reason(kiosk.cancel(card, receipt)) == (422, "CANCEL_TOO_LATE")
    backdated = kiosk.cancel(card, receipt, at=service.clock() - 3 * DAY)
    assert reason(backdated) == (422, "ENVELOPE_TIME_INCONSISTENT")


def test_a_cancellation_is_never_dated_before_its_application(service: ServiceEnv) -> None:
    """Even where the kiosk's record cannot tell (another kiosk of the city hall, which
    has not been used since), a cancellation before the application is no cancellation."""
    kiosk, other = kiosk_in_use(service), kiosk_enrolled(service, 40)
    card = service.card()
    assert kiosk.reserve(card).status_code == 200
    applied = kiosk.apply(card)
    receipt = applied.body["receipt_number"]
    early = other.cancel(card, receipt, at=service.clock() - dt.timedelta(hours=1))
    assert reason(early) == (422, "CANCEL_BEFORE_APPLICATION")


def test_an_application_cannot_be_dated_back_to_earn_points_on_earlier_charges(
    service: ServiceEnv,
) -> None:
    kiosk = kiosk_in_use(service)
    card = service.card()
    now = service.clock()
    assert kiosk.reserve(card).status_code == 200
    backdated = kiosk.apply(card, at=now - 20 * DAY)
    assert reason(backdated) == (422, "ENVELOPE_TIME_INCONSISTENT")
    operator = service.as_role(service.credential("operator", "paypay"))
    charge = {
        "tx_id": "T-10-days-ago",
        "service_code": "paypay",
        "payment_id": PAYPAY_ID,
        "kind": "charge",
        "amount_yen": 20_000,
        "occurred_at": format_time(now - 10 * DAY),
    }
    posted = service.http.post(
        "/v1/points/transactions", json={"transactions": [charge]}, headers=operator
    )
    assert posted.json()["results"][0]["points"] == 0


def test_an_envelope_made_offline_is_judged_at_its_own_time(service: ServiceEnv) -> None:
    """The kiosk was offline for two days; the card it read then has expired since. Its
    envelopes are in the kiosk's order and after its enrolment: accepted as of then."""
    kiosk = kiosk_in_use(service, last_used=3 * DAY)  # then the network went down
    now = service.clock()
    card = service.card(Validity(now - 400 * DAY, now - DAY))  # valid two days ago
    made_offline = [
        kiosk.reservation(card, at=now - 2 * DAY),
        kiosk.application(card, at=now - 2 * DAY + dt.timedelta(minutes=3)),
    ]
    results = kiosk.client.submit_batch(made_offline).body["results"]
    assert [r["status"] for r in results] == ["accepted", "accepted"], results


def test_queued_envelopes_whose_times_contradict_their_order_are_refused(
    service: ServiceEnv,
) -> None:
    """Offline for three days: the envelopes must follow the kiosk's order. Of two that
    contradict each other the service cannot tell which clock was wrong: both go."""
    kiosk = kiosk_in_use(service, last_used=3 * DAY)
    now = service.clock()
    hour = dt.timedelta(hours=1)
    batch = [
        kiosk.reservation(service.card(), at=now - 4 * DAY),  # before the kiosk went offline
        kiosk.reservation(service.card(), at=now - 2 * DAY),
        kiosk.reservation(service.card(), at=now - DAY),  # later than the next one...
        kiosk.reservation(service.card(), at=now - DAY - 5 * hour),  # ...made after it
        kiosk.reservation(service.card(), at=now - hour),
    ]
    results = kiosk.client.submit_batch(batch).body["results"]
    assert [(r["status"], r.get("reason_code")) for r in results] == [
        ("rejected", "ENVELOPE_TIME_INCONSISTENT"),
        ("accepted", None),
        ("rejected", "ENVELOPE_TIME_INCONSISTENT"),
        ("rejected", "ENVELOPE_TIME_INCONSISTENT"),
        ("accepted", None),
    ], results
    with service.sessions() as session:  # kept like any rejection: My Page shows why
        stored = session.get(Submission, batch[0].uuid)
    assert (stored.state, stored.reason_code) == ("done", "ENVELOPE_TIME_INCONSISTENT")


def test_a_small_step_back_of_the_kiosk_clock_is_tolerated(service: ServiceEnv) -> None:
    """An NTP correction of a few seconds between two envelopes is no attack."""
    kiosk = kiosk_in_use(service, last_used=2 * DAY)
    now = service.clock()
    made_offline = [
        kiosk.reservation(service.card(), at=now - DAY),
        kiosk.reservation(service.card(), at=now - DAY - dt.timedelta(seconds=30)),
    ]
    results = kiosk.client.submit_batch(made_offline).body["results"]
    assert [r["status"] for r in results] == ["accepted", "accepted"]
