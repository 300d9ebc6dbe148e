"""The programme's rules, each in one function, each raising ``Refused`` with its reason.

Routes and the submission processor call ``check_validity`` and then ``reserve``, ``apply``
or ``cancel``; those call the rule functions below in the order the checks must happen.
Dates are calendar days in Japan (``mynapoint.dates.japan_day``): "selectable from",
"deadline" and "same day" are judged on the day the envelope was made at the kiosk. Where
the kiosk must know a rule too, the rule itself is in ``mynapoint`` (``card_validity``,
``availability``) and called from here.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from grant_service import budget
from grant_service.catalog import Catalog
from grant_service.ledger import ActiveApplication, Ledger, Person
from grant_service.models import PaymentService
from grant_service.operators import OperatorRegistry, OperatorUnavailable
from grant_service.pki import CardIdentity
from grant_service.refusals import Refused
from mynapoint import card_validity, platform_catalog
from mynapoint.availability import Unavailable, unavailable
from mynapoint.dates import JST, japan_day
from mynapoint.envelope import ApplicationPayload, CancellationPayload
from mynapoint.payment_ids import last4, normalise_payment_id
from mynapoint.reasons import R

# MyKey IDs: 8 characters, no look-alikes (0/O, 1/I/L), so they can be read out and typed.
MYKEY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MYKEY_LENGTH = 8


@dataclass(frozen=True)
class Device:
    """The kiosk that sent the envelope, as enrolled (the channel is never the kiosk's say)."""

    id: int
    kiosk_id: str
    channel: str  # convenience_store | city_hall
    # When the kiosk was first enrolled: none of its envelopes can be older.
    enrolled_at: dt.datetime | None = None
    # The time of the device-signed request that carried the envelopes (None for a queue
    # file a technician imported): an envelope made "now" must be within the skew of it.
    request_time: dt.datetime | None = None


# --- Every envelope ----------------------------------------------------------------------


def check_validity(
    ledger: Ledger,
    identity: CardIdentity,
    at: dt.datetime,
    now: dt.datetime,
    *,
    max_queue_age: dt.timedelta,
    crl_max_age: dt.timedelta,
) -> None:
    """May this card do a procedure at ``at`` (the envelope's time)? Not queued too long,
    the certificate valid then, at least 24 hours after its notBefore if it renews or
    replaces an earlier certificate (``mynapoint.card_validity``), and not revoked by then
    per an imported CRL that is fresh enough. Failing is a *final* rejection, except a CRL
    too old to judge by: then the item stays *pending* (``CRL_STALE``).

    A certificate is a renewal when the J-LIS feed said so (``people.link_reissue`` records
    every one it is told about). One the feed has not reported yet counts as a card's
    first certificate, usable at once: the service cannot tell them apart, and a person
    who reserves with it before the feed arrives is caught when it does (two MyKey IDs for
    one person go to the link-conflict queue, ``people.py``).

    All is judged at the envelope's time (the kiosk's clock, which the device-signed
    request vouches for), because an envelope may arrive days late after an outage. Clock
    skew is checked on the request (``envelope_time``), not here."""
    if now - at > max_queue_age:
        raise Refused(R.ENVELOPE_TOO_OLD, f"made {now - at} ago, longer than {max_queue_age}")
    state = card_validity.validity(
        identity.not_before, identity.not_after, at, renewal=ledger.is_renewal(identity)
    )
    if state == "expired":
        raise Refused(R.CERT_EXPIRED, f"expired {identity.not_after:%Y-%m-%d}")
    if state == "not_yet_valid":
        raise Refused(R.CERT_NOT_YET_VALID)
    if state == "too_recent":
        raise Refused(R.CERT_TOO_RECENT, f"renewed {identity.not_before:%Y-%m-%d %H:%M} UTC")
    crl_updated = ledger.crl_updated(identity.issuer)
    if crl_updated is None:
        raise Refused(R.CRL_STALE, "no CRL imported for this CA")
    if now - crl_updated > crl_max_age:
        raise Refused(R.CRL_STALE, f"the CRL dates from {crl_updated:%Y-%m-%d %H:%M} UTC")
    revoked_at = ledger.revoked_at(identity)
    if revoked_at is not None and revoked_at <= at:
        raise Refused(R.CERT_REVOKED, f"revoked {revoked_at:%Y-%m-%d %H:%M} UTC")


def check_person_active(person: Person) -> None:
    """A suspended MyKey ID (leak or misuse, seed 004 #1022) may do no procedure; one merged
    into another after a re-issued card's conflict is no longer the person's; a revoked one
    is gone for good."""
    if person.status == "suspended":
        raise Refused(R.MYKEY_SUSPENDED, person.mykey_id)
    if person.status == "superseded":
        raise Refused(R.MYKEY_SUPERSEDED, person.mykey_id)
    if person.status == "revoked":  # for ever (seed 004 #5016; 000: every right is lost)
        raise Refused(R.MYKEY_REVOKED, person.mykey_id)


def check_at_city_hall(device: Device) -> None:
    """The MyKey platform's procedures (vouchers, library cards, revocation; seed 004) are
    done at city hall only: a convenience-store terminal says where to go instead."""
    if not platform_catalog.offered_on(device.channel):
        raise Refused(R.NOT_AT_CITY_HALL, f"channel {device.channel}")


# --- Reservation ----------------------------------------------------------------------


def new_mykey_id() -> str:
    return "".join(secrets.choice(MYKEY_ALPHABET) for _ in range(MYKEY_LENGTH))


def take_reservation_budget(ledger: Ledger) -> None:
    """First come, first served under the national budget (exact: see ``budget.py``)."""
    if not ledger.take_budget():
        raise Refused(R.RESERVATIONS_CLOSED, "the cap of MyKey IDs is reached")


def reservations_started(catalog: Catalog, day: dt.date) -> bool:
    """The catalog's ``reservation_start``, on Japan's calendar."""
    return day >= catalog.programme.reservation_start


def check_reservation_window(catalog: Catalog, day: dt.date) -> None:
    if not reservations_started(catalog, day):
        raise Refused(
            R.RESERVATIONS_NOT_OPEN, f"reservations open {catalog.programme.reservation_start}"
        )


def reservations_open(session: Session, cap: int, catalog: Catalog, day: dt.date) -> bool:
    """Whether a new card reserving on ``day`` could get a MyKey ID: reservations have
    started and the budget has room (``budget.has_room``, as ``take_reservation_budget``
    spends it)."""
    return reservations_started(catalog, day) and budget.is_open(session, cap)


def reserve(
    ledger: Ledger,
    identity: CardIdentity,
    *,
    device: Device,
    at: dt.datetime,
    now: dt.datetime,
    receipt_number: str,
    catalog: Catalog,
) -> dict[str, object]:
    """Set a MyKey ID for the card (bound to its issuer and serial), or return the one it
    already has: a second reservation never spends the budget. The caller has the ledger
    hold budget for the batch's new cards (``Ledger.prepare_budget``).

    Before the catalog's ``reservation_start`` (JST day of the envelope) no new MyKey ID
    is set; a card that has one already is told it, as on any other day."""
    existing = ledger.person_of_card(identity)
    if existing is not None:
        check_person_active(existing)
        return {"mykey_id": existing.mykey_id, "already_reserved": True}
    check_reservation_window(catalog, japan_day(at))
    take_reservation_budget(ledger)
    # 31**8 IDs: a clash with an existing one fails the insert and the batch is redone.
    person = ledger.add_person(
        identity,
        {
            "mykey_id": new_mykey_id(),
            "status": "active",
            "reserved_at": at,
            "received_at": now,
            "device_id": device.id,
            "receipt_number": receipt_number,
        },
    )
    return {"mykey_id": person.mykey_id, "already_reserved": False}


# --- Application ----------------------------------------------------------------------


def applications_open(catalog: Catalog, day: dt.date) -> bool:
    """From the catalog's ``application_start`` to its deadline (which may be overridden),
    on Japan's calendar."""
    return catalog.programme.application_start <= day <= catalog.application_deadline


def check_application_window(catalog: Catalog, day: dt.date) -> None:
    if applications_open(catalog, day):
        return
    if day < catalog.programme.application_start:
        raise Refused(
            R.APPLICATIONS_NOT_OPEN, f"applications open {catalog.programme.application_start}"
        )
    raise Refused(R.APPLICATIONS_CLOSED, f"the deadline was {catalog.application_deadline}")


def check_available(service: PaymentService, channel: str, day: dt.date) -> None:
    """The service can be chosen on the kiosk's channel on ``day`` (the rule, which the
    kiosk shows before anything is typed, is ``mynapoint.availability``): not app-only,
    not one whose ID and code are the card's number and security code, not a service
    kept from convenience stores at one, and not before its first day. Checked before the
    operator is asked."""
    reason = unavailable(service, channel=channel, day=day)
    if reason is not None:
        detail = service.code
        if reason is Unavailable.NOT_YET_SELECTABLE:
            detail = f"{service.code} from {service.selectable_from}"
        raise Refused(R.by_code(reason.value), detail)


def check_one_service_per_person(ledger: Ledger, mykey_id: str) -> None:
    """One person chooses one payment service, once, for good: a second application is
    refused while the first stands (cancelling it the same day frees the person)."""
    if ledger.has_active_application(mykey_id):
        raise Refused(R.ALREADY_APPLIED, mykey_id)


def account_fingerprint(key: bytes, service_code: str, normalised_id: str) -> str:
    """A keyed hash of the account: equal accounts match, the ID itself is not kept."""
    message = f"{service_code}\x1f{normalised_id}".encode()
    return hmac.new(key, message, "sha256").hexdigest()


def check_one_person_per_account(ledger: Ledger, service_code: str, fingerprint: str) -> None:
    """One payment account receives one person's points (each child needs its own)."""
    if ledger.account_in_use(service_code, fingerprint):
        raise Refused(R.ACCOUNT_ALREADY_USED, service_code)


@dataclass(frozen=True)
class CodeAttemptPolicy:
    """How many wrong payment IDs or security codes an account, or a card, may have in a
    window before applications with it pause until the window ends: a security code is
    short, and the operator's answer would otherwise be an oracle for guessing it."""

    per_account: int
    per_card: int
    window: dt.timedelta

    @classmethod
    def of(cls, settings: Any) -> CodeAttemptPolicy:
        return cls(
            settings.code_failures_per_account,
            settings.code_failures_per_card,
            dt.timedelta(hours=settings.code_failure_window_hours),
        )


def check_code_attempts(
    ledger: Ledger, policy: CodeAttemptPolicy, *, card_key: str, account: str, now: dt.datetime
) -> None:
    """Refuse before asking the operator when the account or the card had too many wrong
    codes in the current window; say until when (JST)."""
    for kind, key, limit in (("account", account, policy.per_account),
                             ("card", card_key, policy.per_card)):  # fmt: skip
        count = ledger.code_failures(kind, key)
        if count is None or now - count.window_start >= policy.window:
            continue
        if count.failures >= limit:
            until = (count.window_start + policy.window).astimezone(JST)
            raise Refused(
                R.TOO_MANY_CODE_FAILURES, f"{kind}: try again after {until:%Y-%m-%d %H:%M} JST"
            )


def count_code_failure(
    ledger: Ledger,
    policy: CodeAttemptPolicy,
    *,
    card_key: str,
    account: str | None,
    now: dt.datetime,
) -> None:
    """One more wrong attempt for the card and (unless None) the account."""
    ledger.count_code_failure("card", card_key, now, policy.window)
    if account is not None:
        ledger.count_code_failure("account", account, now, policy.window)


def check_with_operator(
    registry: OperatorRegistry, service: PaymentService, payload: ApplicationPayload
) -> None:
    try:
        verification = registry.verify(service.code, payload.payment_id, payload.security_code)
    except OperatorUnavailable as exc:
        raise Refused(
            R.OPERATOR_UNAVAILABLE, f"operator of {service.code} does not answer"
        ) from exc
    if not verification.valid:
        raise Refused(R.PAYMENT_ID_REJECTED, f"{service.code}: unknown ID or wrong security code")
    if service.pre_registration and not verification.pre_registered:
        raise Refused(R.PRE_REGISTRATION_REQUIRED, service.code)


def apply(
    ledger: Ledger,
    identity: CardIdentity,
    payload: ApplicationPayload,
    *,
    device: Device,
    at: dt.datetime,
    now: dt.datetime,
    receipt_number: str,
    submission_uuid: str,
    for_whom: str,
    catalog: Catalog,
    registry: OperatorRegistry,
    account_key: bytes,
    attempts: CodeAttemptPolicy,
    card_key: str,
) -> dict[str, object]:
    """Choose one payment service, once, for good.

    What the service can decide itself comes before asking the operator, so that the
    operator's answer (is this ID and code right?) is given only when the application
    could otherwise go through, and at most a few times per account and card."""
    person = ledger.person_of_card(identity)
    if person is None:
        raise Refused(R.NO_RESERVATION)
    check_person_active(person)
    check_one_service_per_person(ledger, person.mykey_id)
    service = catalog.services.get(payload.service_code)
    if service is None:
        raise Refused(R.SERVICE_UNKNOWN, payload.service_code)
    day = japan_day(at)
    check_application_window(catalog, day)
    check_available(service, device.channel, day)
    normalised = normalise_payment_id(payload.payment_id)
    fingerprint = account_fingerprint(account_key, service.code, normalised)
    check_code_attempts(ledger, attempts, card_key=card_key, account=fingerprint, now=now)
    try:
        check_one_person_per_account(ledger, service.code, fingerprint)
        check_with_operator(registry, service, payload)
    except Refused as refusal:
        if refusal.reason is R.PAYMENT_ID_REJECTED:
            count_code_failure(ledger, attempts, card_key=card_key, account=fingerprint, now=now)
        elif refusal.reason is R.ACCOUNT_ALREADY_USED:
            # Probing for accounts in use counts against the card, not against the
            # account's holder, who did nothing wrong.
            count_code_failure(ledger, attempts, card_key=card_key, account=None, now=now)
        raise
    ledger.add_application(
        {
            "mykey_id": person.mykey_id,
            "service_code": service.code,
            "account_hmac": fingerprint,
            "account_last4": last4(normalised),
            "phone_last4": payload.phone_last4,
            "status": "active",
            "applied_at": at,
            "received_at": now,
            "operator_verified_at": now,
            "device_id": device.id,
            "channel": device.channel,
            "for_whom": for_whom,
            "receipt_number": receipt_number,
            "submission_uuid": submission_uuid,
        }
    )
    return {
        "mykey_id": person.mykey_id,
        "service_code": service.code,
        "service_name_ja": service.name_ja,
        "service_name_en": service.name_en,
        "account_last4": last4(normalised),
    }


# --- Cancellation ---------------------------------------------------------------------


def cancels_on(channel: str) -> bool:
    """A city-hall terminal counts as a procedure-spot PC (it may cancel); a
    convenience-store terminal counts as a multi-copier (it may not)."""
    return channel == "city_hall"


def same_day(applied_at: dt.datetime, at: dt.datetime) -> bool:
    """Whether ``at`` is on the Japan day the application was made."""
    return japan_day(at) == japan_day(applied_at)


def cancellable(channel: str, applied_at: dt.datetime, at: dt.datetime) -> bool:
    """Whether a kiosk on ``channel`` could cancel, at ``at``, an active application made
    at ``applied_at`` (what My Page tells the citizen; ``cancel`` refuses the rest)."""
    return cancels_on(channel) and same_day(applied_at, at)


def check_cancellation_channel(channel: str) -> None:
    """Only where ``cancels_on``; a convenience-store terminal says where to go instead."""
    if not cancels_on(channel):
        raise Refused(R.CANCEL_NOT_AT_CONVENIENCE_STORE, f"channel {channel}")


def check_same_day(application: ActiveApplication, at: dt.datetime) -> None:
    """Cancelling is possible on the day the application was made (JST, ``same_day``);
    later, only the contact centre can help. A cancellation dated before the application
    is a wrong (or set back) kiosk clock, never a same-day cancellation."""
    if at < application.applied_at:
        raise Refused(
            R.CANCEL_BEFORE_APPLICATION, f"applied {application.applied_at:%Y-%m-%d %H:%M} UTC"
        )
    if not same_day(application.applied_at, at):
        raise Refused(R.CANCEL_TOO_LATE, f"applied {japan_day(application.applied_at)}")


def cancel(
    ledger: Ledger,
    identity: CardIdentity,
    payload: CancellationPayload,
    *,
    device: Device,
    at: dt.datetime,
    now: dt.datetime,
    receipt_number: str,
) -> dict[str, object]:
    """Cancel today's application (a wrong entry, or one the holder did not make); the
    person may then apply again, and the payment account is free."""
    check_cancellation_channel(device.channel)
    person = ledger.person_of_card(identity)
    if person is None:
        raise Refused(R.CANCEL_NO_APPLICATION, "no MyKey ID for this card")
    check_person_active(person)
    application = ledger.active_application(person.mykey_id)
    if application is None or application.receipt_number != payload.application_receipt_number:
        raise Refused(R.CANCEL_NO_APPLICATION, payload.application_receipt_number)
    check_same_day(application, at)
    ledger.cancel_application(
        application,
        {
            "cancelled_at": now,
            "cancel_reason": payload.reason,
            "cancel_receipt_number": receipt_number,
            "cancelled_by_device_id": device.id,
        },
    )
    return {
        "mykey_id": person.mykey_id,
        "cancelled_receipt_number": application.receipt_number,
        "service_code": application.service_code,
        "reported_not_made_by_holder": payload.reason == "not_made_by_me",
    }
