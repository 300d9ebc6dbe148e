"""What the rules read and write, for one batch of envelopes: read once, written once.

The rules (``rules.py``) ask questions of a ``Ledger`` ("has this
card a MyKey ID?", "is this account taken?") and tell it what to record. The ledger
loads everything a batch can ask about in a few queries up front, answers from memory
(including what earlier items of the same batch recorded), and writes all new rows in
one bulk insert per table at the end. A batch of 500 envelopes thus costs a handful of
statements instead of thousands, which is what makes batching pay.

Consistency: the caller locks the batch's cards and payment accounts first
(``locking.lock_people``), so no other transaction changes what this ledger read about
them until it commits; the unique indexes stay as the last line of defence (two cards of
one person, a clash of random MyKey IDs), and the caller redoes the batch if they bite.
The budget is taken once, for as many MyKey IDs as the batch could issue
(``prepare_budget``), from slots that other transactions do not wait for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import (
    BindParameter,
    String,
    bindparam,
    insert,
    literal,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from grant_service import budget
from grant_service.models import (
    Application,
    CardCertificate,
    CertificateRenewal,
    CodeFailures,
    CrlState,
    MyKey,
    RevokedCertificate,
)
from grant_service.pki import CardIdentity
from mynapoint.database import UtcDateTime, in_chunks

CardKey = tuple[str, str]  # issuer, serial (hex)


@dataclass(frozen=True)
class Person:
    mykey_id: str
    status: str


@dataclass
class FailureCount:
    """Wrong codes counted for one account or card (see ``rules.check_code_attempts``)."""

    failures: int
    window_start: dt.datetime
    changed: bool = False
    stored: bool = True


@dataclass
class ActiveApplication:
    mykey_id: str
    receipt_number: str
    service_code: str
    account_hmac: str
    applied_at: dt.datetime
    id: int | None = None  # None: recorded by this batch, not yet written
    new_row: dict[str, object] | None = None


# The statements every batch runs, built once with their parameters (SQLAlchemy then
# neither builds nor keys them again for each request).
_CARDS: BindParameter[list[CardKey]] = bindparam("cards", expanding=True)
_NONE = literal(None, String())
# In one statement (one round trip): the revocations, the people and the renewals (J-LIS
# feed) of the batch's cards, and the time of every CA's current CRL (they are few).
_CARDS_QUERY = union_all(
    select(
        literal("revoked"), RevokedCertificate.issuer, RevokedCertificate.serial_hex, _NONE,
        _NONE, RevokedCertificate.revoked_at,
    ).where(tuple_(RevokedCertificate.issuer, RevokedCertificate.serial_hex).in_(_CARDS)),
    select(
        literal("person"), CardCertificate.issuer, CardCertificate.serial_hex, MyKey.mykey_id,
        MyKey.status, literal(None, UtcDateTime()),
    )
    .join(MyKey, MyKey.mykey_id == CardCertificate.mykey_id)
    .where(tuple_(CardCertificate.issuer, CardCertificate.serial_hex).in_(_CARDS)),
    select(
        literal("renewal"), CertificateRenewal.issuer, CertificateRenewal.serial_hex, _NONE,
        _NONE, CertificateRenewal.not_before,
    ).where(tuple_(CertificateRenewal.issuer, CertificateRenewal.serial_hex).in_(_CARDS)),
    select(literal("crl"), CrlState.issuer, _NONE, _NONE, _NONE, CrlState.this_update),
)  # fmt: skip
_APPLICATIONS_QUERY = select(
    Application.id, Application.mykey_id, Application.receipt_number, Application.service_code,
    Application.account_hmac, Application.applied_at,
).where(
    Application.mykey_id.in_(bindparam("people", expanding=True)),
    Application.status == "active",
)  # fmt: skip
_ACCOUNTS_QUERY = select(Application.service_code, Application.account_hmac).where(
    tuple_(Application.service_code, Application.account_hmac).in_(
        bindparam("accounts", expanding=True)
    ),
    Application.status == "active",
)
_FAILURES_QUERY = select(
    CodeFailures.kind, CodeFailures.key, CodeFailures.failures, CodeFailures.window_start
).where(tuple_(CodeFailures.kind, CodeFailures.key).in_(bindparam("keys", expanding=True)))
_FAILURES_UPDATE = (
    update(CodeFailures.__table__)
    .where(CodeFailures.kind == bindparam("b_kind"), CodeFailures.key == bindparam("b_key"))
    .values(failures=bindparam("b_failures"), window_start=bindparam("b_window_start"))
)
_CANCEL = (
    update(Application.__table__)
    .where(Application.id == bindparam("b_id"))
    .values(
        status="cancelled", cancelled_at=bindparam("b_cancelled_at"),
        cancel_reason=bindparam("b_cancel_reason"),
        cancel_receipt_number=bindparam("b_cancel_receipt_number"),
        cancelled_by_device_id=bindparam("b_cancelled_by_device_id"),
    )
)  # fmt: skip


def _same_keys(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows for one executemany: each with every key (an application cancelled in its own
    batch has more than the others; the rest are NULL)."""
    keys = {key for row in rows for key in row}
    return [{key: row.get(key) for key in keys} for row in rows]


class Ledger:
    def __init__(
        self,
        session: Session,
        *,
        cards: Iterable[CardIdentity],
        accounts: Iterable[tuple[str, str]],
        failure_keys: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.session = session
        card_keys = sorted({(c.issuer, c.serial_hex) for c in cards})
        self._people: dict[CardKey, Person] = {}
        self._revoked: dict[CardKey, dt.datetime] = {}
        self._renewals: set[CardKey] = set()
        self._crls: dict[str, dt.datetime] = {}
        for chunk in in_chunks(card_keys) if card_keys else [[]]:
            for kind, issuer, serial, mykey_id, status, at in session.execute(
                _CARDS_QUERY, {"cards": chunk}
            ):
                if kind == "revoked":
                    self._revoked[(issuer, serial)] = at
                elif kind == "person":
                    self._people[(issuer, serial)] = Person(mykey_id, status)
                elif kind == "renewal":
                    self._renewals.add((issuer, serial))
                else:
                    self._crls[issuer] = at
        people = sorted({p.mykey_id for p in self._people.values()})
        self._applications: dict[str, ActiveApplication] = {}
        for chunk_of_people in in_chunks(people):
            for row in session.execute(_APPLICATIONS_QUERY, {"people": chunk_of_people}):
                self._applications[row.mykey_id] = ActiveApplication(
                    row.mykey_id, row.receipt_number, row.service_code, row.account_hmac,
                    row.applied_at, id=row.id,
                )  # fmt: skip
        account_keys = sorted(set(accounts))
        self._accounts: set[tuple[str, str]] = set()
        for chunk in in_chunks(account_keys):
            self._accounts.update(
                (service, fingerprint)
                for service, fingerprint in session.execute(_ACCOUNTS_QUERY, {"accounts": chunk})
            )
        self._failures: dict[tuple[str, str], FailureCount] = {}
        for chunk in in_chunks(sorted(set(failure_keys))):
            for kind, key, failures, window_start in session.execute(
                _FAILURES_QUERY, {"keys": chunk}
            ):
                self._failures[(kind, key)] = FailureCount(failures, window_start)
        self._budget: list[budget.HeldSlot] | None = None
        self._new_people: list[dict[str, object]] = []
        self._new_cards: list[dict[str, object]] = []
        self._new_applications: list[dict[str, object]] = []
        self._cancellations: list[dict[str, object]] = []

    # --- questions ------------------------------------------------------------------------

    def person_of_card(self, identity: CardIdentity) -> Person | None:
        return self._people.get((identity.issuer, identity.serial_hex))

    def crl_updated(self, issuer: str) -> dt.datetime | None:
        return self._crls.get(issuer)

    def revoked_at(self, identity: CardIdentity) -> dt.datetime | None:
        return self._revoked.get((identity.issuer, identity.serial_hex))

    def is_renewal(self, identity: CardIdentity) -> bool:
        """Whether the J-LIS feed reported this certificate as renewing or replacing one."""
        return (identity.issuer, identity.serial_hex) in self._renewals

    def has_active_application(self, mykey_id: str) -> bool:
        return mykey_id in self._applications

    def active_application(self, mykey_id: str) -> ActiveApplication | None:
        return self._applications.get(mykey_id)

    def account_in_use(self, service_code: str, fingerprint: str) -> bool:
        return (service_code, fingerprint) in self._accounts

    def prepare_budget(self, need: int, cap: int) -> None:
        """Hold budget slots for up to ``need`` new MyKey IDs (those the batch could issue),
        until this transaction commits."""
        self._budget = budget.take_slots(self.session, need, cap)

    def take_budget(self) -> bool:
        """One MyKey ID from the budget the batch holds; False when the budget is spent
        (the batch held all that was left)."""
        assert self._budget is not None, "prepare_budget first"
        for slot in self._budget:
            if budget.has_room(slot.issued + slot.taken, slot.share):
                slot.taken += 1
                return True
        return False

    def code_failures(self, kind: str, key: str) -> FailureCount | None:
        return self._failures.get((kind, key))

    def count_code_failure(
        self, kind: str, key: str, now: dt.datetime, window: dt.timedelta
    ) -> None:
        """One more wrong code for this account or card (a new window once the last ended)."""
        current = self._failures.get((kind, key))
        if current is None:
            self._failures[(kind, key)] = FailureCount(1, now, changed=True, stored=False)
        elif now - current.window_start >= window:
            current.failures, current.window_start, current.changed = 1, now, True
        else:
            current.failures += 1
            current.changed = True

    # --- records ---------------------------------------------------------------------------

    def add_person(self, identity: CardIdentity, mykey: dict[str, object]) -> Person:
        person = Person(str(mykey["mykey_id"]), str(mykey["status"]))
        self._people[(identity.issuer, identity.serial_hex)] = person
        self._new_people.append(mykey)
        self._new_cards.append(
            {
                "issuer": identity.issuer,
                "serial_hex": identity.serial_hex,
                "mykey_id": person.mykey_id,
                "not_before": identity.not_before,
                "not_after": identity.not_after,
                "linked_at": mykey["received_at"],
            }
        )
        return person

    def add_application(self, application: dict[str, object]) -> None:
        applied_at = application["applied_at"]
        if not isinstance(applied_at, dt.datetime):
            raise TypeError(f"applied_at must be a datetime, not {type(applied_at).__name__}")
        self._applications[str(application["mykey_id"])] = ActiveApplication(
            str(application["mykey_id"]), str(application["receipt_number"]),
            str(application["service_code"]), str(application["account_hmac"]),
            applied_at, new_row=application,
        )  # fmt: skip
        self._accounts.add((str(application["service_code"]), str(application["account_hmac"])))
        self._new_applications.append(application)

    def cancel_application(
        self, application: ActiveApplication, changes: dict[str, object]
    ) -> None:
        """The person may apply again, and the account is free for someone else."""
        del self._applications[application.mykey_id]
        self._accounts.discard((application.service_code, application.account_hmac))
        changes = {**changes, "status": "cancelled"}
        if application.new_row is not None:  # made earlier in this same batch
            application.new_row.update(changes)
        else:
            self._cancellations.append({"id": application.id, **changes})

    def flush(self) -> None:
        """Write what the batch recorded: one statement per table (Core executemany)."""
        execute = self.session.execute
        if self._new_people:
            execute(insert(MyKey.__table__), self._new_people)
            execute(insert(CardCertificate.__table__), self._new_cards)
        if self._cancellations:
            execute(
                _CANCEL,
                [{f"b_{k}": v for k, v in c.items() if k != "status"} for c in self._cancellations],
            )
        if self._new_applications:
            execute(insert(Application.__table__), _same_keys(self._new_applications))
        if self._budget:
            budget.record_taken(self.session, self._budget)
        changed = [((kind, key), f) for (kind, key), f in self._failures.items() if f.changed]
        new_failures = [
            {"kind": kind, "key": key, "failures": f.failures, "window_start": f.window_start}
            for (kind, key), f in changed
            if not f.stored
        ]
        if new_failures:
            execute(insert(CodeFailures.__table__), new_failures)
        stored = [
            {"b_kind": kind, "b_key": key, "b_failures": f.failures,
             "b_window_start": f.window_start}
            for (kind, key), f in changed
            if f.stored
        ]  # fmt: skip
        if stored:
            execute(_FAILURES_UPDATE, stored)
