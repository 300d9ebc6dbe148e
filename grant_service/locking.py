"""The one lock order of the grant service, and the locks that are not rows.

On PostgreSQL every transaction takes its locks in this order, never backwards, and holds
them until it ends, so no two transactions can wait for each other in a circle:

1. ``submissions`` rows: a claim inserts or takes over its UUIDs in UUID order, and the
   transaction that applies them locks them again first (``claims.py``);
2. a payment operator's stream of point transactions (``points.py``), or a
   municipality's stream of point grants (``municipal_points.py``);
3. cards (issuer and serial number), then
4. payment accounts (service and account hash), and facilities' user numbers (a library
   card being linked): advisory locks, all taken in one sorted
   statement by ``lock_people``, so that the rules about one person (one MyKey ID per
   card, one application per person, one person per account) are decided by one
   transaction at a time, and transactions about other people do not wait;
5. rows of a person being changed by an operator (``mykeys``, ``point_totals``, link
   conflicts), by key; a person's municipal points (``person_key``), then their point
   lots in id order, then their vouchers by number (``municipal_points.py``,
   ``vouchers.py``); a shop's redemption locks only voucher rows, by number;
6. reservation budget slots (``budget.py``): taken without waiting; a transaction that
   must wait for a slot holds none while it waits;
7. the head of one audit chain (``audit.py``): always last, taken without waiting while a
   chain is free, and nothing is locked after it.

Nothing here is one row that every transaction locks: transactions about different
people share no lock, and the budget and the audit trail are spread over many rows.

On SQLite a writing transaction holds the whole database from its ``BEGIN IMMEDIATE``,
so writers take turns anyway and these functions do nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.orm import Session

RANK_POINT_STREAM = 2
RANK_CARD = 3
RANK_ACCOUNT = 4
RANK_PERSON = 5

_LOCK_SORTED = text(
    # Volatile functions in the select list run after the sort: the keys are locked in
    # ascending order, which is the lock order above (the rank is the high word).
    "SELECT pg_advisory_xact_lock(k) FROM unnest(:keys) AS t(k) ORDER BY k"
).bindparams(bindparam("keys", type_=ARRAY(BIGINT)))


def lock_key(rank: int, *parts: str) -> int:
    """A 64-bit advisory lock key: the rank in the high word, a hash of the name below.
    Two names sharing a hash only make their transactions take turns."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=4).digest()
    return (rank << 32) | int.from_bytes(digest, "big")


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_all(session: Session, keys: Iterable[int]) -> None:
    """Take these advisory locks (until the transaction ends), in ascending order."""
    ordered = sorted(set(keys))
    if ordered and is_postgresql(session):
        session.execute(_LOCK_SORTED, {"keys": ordered})


def card_key(issuer: str, serial_hex: str) -> int:
    return lock_key(RANK_CARD, issuer, serial_hex)


def account_key(service_code: str, account_hmac: str) -> int:
    return lock_key(RANK_ACCOUNT, service_code, account_hmac)


def person_key(mykey_id: str) -> int:
    return lock_key(RANK_PERSON, mykey_id)


def point_stream_key(service_code: str) -> int:
    return lock_key(RANK_POINT_STREAM, service_code)


def municipality_key(municipality_code: str) -> int:
    return lock_key(RANK_POINT_STREAM, "municipality", municipality_code)


def service_id_key(facility_code: str, number_digest: str) -> int:
    """A facility's user number (keyed digest): two people linking one number take turns."""
    return lock_key(RANK_ACCOUNT, "service-id", facility_code, number_digest)


def lock_people(
    session: Session,
    cards: Iterable[tuple[str, str]],
    accounts: Iterable[tuple[str, str]] = (),
    service_ids: Iterable[tuple[str, str]] = (),
) -> None:
    """Steps 3 and 4 of the lock order (cards, then payment accounts and facilities' user
    numbers), in one statement."""
    keys = [card_key(*card) for card in cards] + [account_key(*a) for a in accounts]
    lock_all(session, keys + [service_id_key(*s) for s in service_ids])
