"""What the rules read and write, for one batch of envelopes: read once, written once.

The rules (``rules.py``, ``pki.check_validity``) ask questions of a ``Ledger`` ("has this
card a MyKey ID?", "is this account taken?") and tell it what to record. The ledger
loads everything a batch can ask about in a few queries up front, answers from memory
(including what earlier items of the same batch recorded), and writes all new rows in
one bulk insert per table at the end. A batch of 500 envelopes thus costs a handful of
statements instead of thousands, which is what makes batching pay.

Consistency: the caller takes the audit chain's head lock before building a ledger, and
every transaction that writes people or applications appends to the audit chain, so
ledgers never overlap; the unique indexes stay as the last line of defence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.orm import Session

from grant_service.models import (
    Application,
    CardCertificate,
    CrlState,
    MyKey,
    ReservationBudget,
    RevokedCertificate,
)
from grant_service.pki import CardIdentity

CardKey = tuple[str, str]  # issuer, serial (hex)

# Row-value IN lists are cut into chunks well inside every database's parameter limit.
_CHUNK = 400


def _chunks(values: list[tuple[str, str]]) -> Iterable[list[tuple[str, str]]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


@dataclass(frozen=True)
class Person:
    mykey_id: str
    status: str


@dataclass
class ActiveApplication:
    mykey_id: str
    receipt_number: str
    service_code: str
    account_hmac: str
    applied_at: dt.datetime
    id: int | None = None  # None: recorded by this batch, not yet written
    new_row: dict[str, object] | None = None


class Ledger:
    def __init__(
        self,
        session: Session,
        *,
        cards: Iterable[CardIdentity],
        accounts: Iterable[tuple[str, str]],
    ) -> None:
        self.session = session
        card_keys = sorted({(c.issuer, c.serial_hex) for c in cards})
        self._people: dict[CardKey, Person] = {}
        self._revoked: dict[CardKey, dt.datetime] = {}
        for chunk in _chunks(card_keys):
            for issuer, serial, mykey_id, status in session.execute(
                select(
                    CardCertificate.issuer, CardCertificate.serial_hex, MyKey.mykey_id, MyKey.status
                )
                .join(MyKey, MyKey.mykey_id == CardCertificate.mykey_id)
                .where(tuple_(CardCertificate.issuer, CardCertificate.serial_hex).in_(chunk))
            ):
                self._people[(issuer, serial)] = Person(mykey_id, status)
            for issuer, serial, revoked_at in session.execute(
                select(
                    RevokedCertificate.issuer,
                    RevokedCertificate.serial_hex,
                    RevokedCertificate.revoked_at,
                ).where(tuple_(RevokedCertificate.issuer, RevokedCertificate.serial_hex).in_(chunk))
            ):
                self._revoked[(issuer, serial)] = revoked_at
        people = sorted({p.mykey_id for p in self._people.values()})
        self._applications: dict[str, ActiveApplication] = {}
        for start in range(0, len(people), _CHUNK):
            for row in session.execute(
                select(
                    Application.id, Application.mykey_id, Application.receipt_number,
                    Application.service_code, Application.account_hmac, Application.applied_at,
                ).where(
                    Application.mykey_id.in_(people[start : start + _CHUNK]),
                    Application.status == "active",
                )
            ):  # fmt: skip
                self._applications[row.mykey_id] = ActiveApplication(
                    row.mykey_id, row.receipt_number, row.service_code, row.account_hmac,
                    row.applied_at, id=row.id,
                )  # fmt: skip
        account_keys = sorted(set(accounts))
        self._accounts: set[tuple[str, str]] = set()
        for chunk in _chunks(account_keys):
            self._accounts.update(
                (service, fingerprint)
                for service, fingerprint in session.execute(
                    select(Application.service_code, Application.account_hmac).where(
                        tuple_(Application.service_code, Application.account_hmac).in_(chunk),
                        Application.status == "active",
                    )
                )
            )
        self._crls = {c.issuer: c.this_update for c in session.scalars(select(CrlState))}
        self._issued: int | None = None  # the budget counter, read (and locked) on first use
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

    def has_active_application(self, mykey_id: str) -> bool:
        return mykey_id in self._applications

    def active_application(self, mykey_id: str) -> ActiveApplication | None:
        return self._applications.get(mykey_id)

    def account_in_use(self, service_code: str, fingerprint: str) -> bool:
        return (service_code, fingerprint) in self._accounts

    def take_budget(self, cap: int) -> bool:
        """One MyKey ID from the national budget, first come first served: the counter row
        stays locked until this transaction commits, so the cap is exact."""
        if self._issued is None:
            self._issued = self.session.scalar(
                select(ReservationBudget.issued).where(ReservationBudget.id == 1).with_for_update()
            )
            assert self._issued is not None, "the budget row is made by the first migration"
        if self._issued >= cap:
            return False
        self._issued += 1
        return True

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
        self._applications[str(application["mykey_id"])] = ActiveApplication(
            str(application["mykey_id"]), str(application["receipt_number"]),
            str(application["service_code"]), str(application["account_hmac"]),
            application["applied_at"], new_row=application,  # type: ignore[arg-type]
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
        """Write what the batch recorded: one statement per table."""
        if self._new_people:
            self.session.execute(insert(MyKey), self._new_people)
            self.session.execute(insert(CardCertificate), self._new_cards)
        if self._cancellations:
            self.session.execute(update(Application), self._cancellations)  # by primary key
        if self._new_applications:
            self.session.execute(insert(Application), self._new_applications)
        if self._issued is not None:
            self.session.execute(
                update(ReservationBudget)
                .where(ReservationBudget.id == 1)
                .values(issued=self._issued)
            )
