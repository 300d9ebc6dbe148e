"""The durable queue of envelopes on the kiosk (SQLite: WAL, ``synchronous=FULL``,
``secure_delete``, busy timeout; payloads encrypted with AES-GCM).

An envelope is committed here before the citizen gets a slip; it leaves the ``pending``
or ``sending`` states only when the service has answered for that very item. Its
encrypted payload (the only place the security code and the payment-service ID exist)
is erased at that moment; the row keeps the receipt number and the service's answer.

A full disk is ``QueueFull`` wherever it bites, opening included (WAL cannot make its
``-shm`` file then); the sync's store first spends the ballast (``ballast.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Engine, Result, delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from kiosk.offline_queue import schema
from kiosk.offline_queue.ballast import Ballast
from kiosk.offline_queue.cipher import PayloadCipher, UndecryptablePayload
from kiosk.offline_queue.models import UNSENT, Alert, Counter, QueuedItem, SyncState
from kiosk.settings import KioskSettings
from mynapoint.database import make_engine, make_session_factory
from mynapoint.dates import utc_now
from mynapoint.envelope import Envelope

Clock = Callable[[], dt.datetime]
T = TypeVar("T")
log = logging.getLogger(__name__)
SCAN_CHUNK = 500
SUBMIT, SYNC = "submit", "sync"  # lease owners
MiB = 1024 * 1024
SQLITE_IOERR, SQLITE_FULL = 10, 13  # primary result codes
# Log bytes a batch needs before the checkpoint that follows it: each item's page logged
# at its claim and at its record (4.1 KB each, measured), and at the claim of the next
# batch, which overlaps; plus the pages every transaction touches (indexes, sync state).
LOG_BYTES_PER_ITEM, LOG_BYTES_PER_BATCH = 16 * 1024, 64 * 1024


class QueueFull(Exception):
    """The queue cannot take the envelope (disk or cap full); nothing queued is lost."""

    message_key = "queue.full"

    def __init__(self, detail: str = "") -> None:
        self.detail = (
            "the kiosk's queue cannot be written: its disk (or the queue's size cap) is "
            "full. Nothing queued earlier is lost; call a technician"
        ) + (f" ({detail})" if detail else "")
        super().__init__(self.detail)


def disk_full(exc: OperationalError | OSError, directory: Path) -> bool:
    """Whether ``exc`` means that the disk (or the queue's page cap) is full."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    code = getattr(exc.orig, "sqlite_errorcode", 0) & 0xFF
    # SQLite sizes its -shm file by writing to it: no room there is SQLITE_IOERR_SHMSIZE,
    # not SQLITE_FULL. An I/O error on a disk with no room left is taken for the same.
    return code == SQLITE_FULL or (
        code == SQLITE_IOERR and shutil.disk_usage(directory).free < LOG_BYTES_PER_BATCH
    )


def _rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE changed. ``Session.execute`` is typed to return a
    plain ``Result``; for these statements it is a ``CursorResult``, which has the count."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result).__name__}")
    return result.rowcount


def card_of(envelope: Envelope) -> str:
    """Which card an envelope belongs to (its items keep their order)."""
    return hashlib.sha256(envelope.certificate_der).hexdigest()


@dataclass(frozen=True)
class ReadyItem:
    id: int
    uuid: str
    envelope: dict[str, Any]  # the envelope's JSON, decrypted for sending
    attempts: int  # sends so far, this one included


@dataclass(frozen=True)
class Outcome:
    """What became of one item: ``accepted`` / ``rejected`` (final), ``retry`` (at
    ``retry_at``), or ``quarantine`` (a technician looks)."""

    state: str
    result: dict[str, Any] | None = None
    error: str | None = None
    retry_at: dt.datetime | None = None


@dataclass
class QueueStatus:
    counts: dict[str, int]
    oldest_unsent: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_error: str | None
    alerts: list[Alert] = field(default_factory=list)

    @property
    def unsent(self) -> int:
        return sum(self.counts.get(state, 0) for state in UNSENT)


class QueueStore:
    def __init__(
        self,
        database: Path,
        cipher: PayloadCipher,
        *,
        max_pages: int | None = None,
        min_free_bytes: int = 0,
        clock: Clock = utc_now,
        ballast: Ballast | None = None,
        sending: bool = False,
    ) -> None:
        """``ballast``: room held for sending (see ``ballast.py``); only a ``sending``
        store (the sync's: one per kiosk, under the sync lock) spends it."""
        self.database = database
        self.cipher = cipher
        self.clock = clock
        self.min_free_bytes = min_free_bytes
        self.ballast = ballast
        self.sending = sending
        self.engine = self._guarded(lambda: self._open(max_pages))
        self.sessions = make_session_factory(self.engine)

    def _open(self, max_pages: int | None) -> Engine:
        self.database.parent.mkdir(parents=True, exist_ok=True)
        # The file made 0600 before SQLite opens it (SQLite gives its -wal and -shm files
        # the same mode): the payloads are encrypted, but receipt numbers and states are not.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(self.database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        url = f"sqlite:///{self.database}"
        schema.upgrade(url)
        engine = make_engine(url, secure_delete=True, max_page_count=max_pages)
        try:  # connect now: on a full disk WAL cannot make its -shm, and that is said here
            engine.connect().close()
        except BaseException:
            engine.dispose()
            raise
        return engine

    def close(self) -> None:
        self.engine.dispose()

    def _guarded(self, step: Callable[[], T]) -> T:
        """Run ``step``; a full disk becomes ``QueueFull``, once the sync's store has
        spent the ballast on one more try."""
        try:
            return step()
        except (OperationalError, OSError) as exc:
            if not disk_full(exc, self.database.parent):
                raise
            free = shutil.disk_usage(self.database.parent).free
            ballast = self._spendable_ballast(free)
            if ballast is not None and (freed := ballast.release()):
                log.warning("queue: the disk is full: released the ballast (%d KiB) to send",
                            freed // 1024)  # fmt: skip
                return self._guarded(step)
            cause = getattr(getattr(exc, "orig", exc), "sqlite_errorname", None) or str(exc)
            raise QueueFull(f"{cause}, {free // 1024} KiB free") from exc

    def _spendable_ballast(self, free: int) -> Ballast | None:
        """The ballast, for the sync's store with the disk below the reserve (a full page
        cap, ``max_pages``, on a roomy disk is no reason to spend it)."""
        if not self.sending or self.ballast is None:
            return None
        return self.ballast if free < max(self.min_free_bytes, self.ballast.size) else None

    def _write(self, action: Callable[[Session], T]) -> T:
        """Run ``action`` in a write transaction; a full disk becomes ``QueueFull``."""

        def transaction() -> T:
            with self.sessions.begin() as session:
                return action(session)

        return self._guarded(transaction)

    def write(self, action: Callable[[Session], T]) -> T:
        """``action`` in one write transaction, as the queue's own writes are (busy timeout,
        a full disk as ``QueueFull``): for the alert outbox (kiosk/health/alerts.py)."""
        return self._write(action)

    # --- adding ------------------------------------------------------------------------

    def next_sequence(self) -> int:
        """The next envelope sequence number of this kiosk (durable, increasing)."""

        def take(session: Session) -> int:
            counter = session.get(Counter, "envelope_sequence")
            if counter is None:
                counter = Counter(name="envelope_sequence", value=0)
                session.add(counter)
            counter.value += 1
            return counter.value

        return int(self._write(take))

    def enqueue(self, envelope: Envelope, *, lease: dt.timedelta | None = None) -> int:
        """Commit an envelope durably; with ``lease``, the flow sends it itself right away
        (``sending`` until the lease ends). Returns the item's id."""
        self._check_free_space()
        now = self.clock()
        payload = self.cipher.encrypt(envelope.uuid, json.dumps(envelope.to_json()).encode())
        row = QueuedItem(
            uuid=envelope.uuid,
            receipt_number=envelope.receipt_number,
            kind=envelope.kind,
            card=card_of(envelope),
            sequence=envelope.sequence,
            state="sending" if lease else "pending",
            attempts=1 if lease else 0,
            next_attempt_at=now,
            lease_until=now + lease if lease else None,
            lease_owner=SUBMIT if lease else None,
            created_at=now,
            payload=payload,
        )

        def add(session: Session) -> int:
            session.add(row)
            session.flush()
            return row.id

        try:
            return int(self._write(add))
        except IntegrityError:  # this envelope is already queued
            with self.sessions() as session:
                queued = session.scalar(
                    select(QueuedItem.id).where(QueuedItem.uuid == envelope.uuid)
                )
            if queued is None:  # another constraint failed: not a replay
                raise
            return queued

    def _check_free_space(self) -> None:
        """New items stop while the disk has less than ``min_free_bytes`` free (the
        ballast counted, made whole first if there is room): sending what is queued needs
        some room too (SQLite writes its log before the file)."""
        self.refill_ballast()
        if self.ballast is not None:
            free = self.ballast.free_bytes()
        else:
            free = shutil.disk_usage(self.database.parent).free
        if free < self.min_free_bytes:
            raise QueueFull(
                f"{free // 1024} KiB free, {self.min_free_bytes // 1024} KiB kept for sending"
            )

    def refill_ballast(self) -> None:
        """The ballast made whole if the disk has room for it within the reserve."""
        if self.ballast is not None:
            self.ballast.refill(keep_free=max(0, self.min_free_bytes - self.ballast.size))

    def items_with_room(self) -> int:
        """How many items a batch can claim and settle with the room on the disk (the
        ballast counted for the sync, which may spend it); at least one."""
        room = shutil.disk_usage(self.database.parent).free
        if self.sending and self.ballast is not None:
            room += self.ballast.held
        return max(1, (room - LOG_BYTES_PER_BATCH) // LOG_BYTES_PER_ITEM)

    def has_unsent_for_card(self, card: str) -> bool:
        with self.sessions() as session:
            return (
                session.scalar(
                    select(QueuedItem.id)
                    .where(QueuedItem.card == card, QueuedItem.state.in_(UNSENT))
                    .limit(1)
                )
                is not None
            )

    # --- sending -----------------------------------------------------------------------

    def claim_ready(self, limit: int, lease: dt.timedelta) -> list[ReadyItem]:
        """Up to ``limit`` items due now, in kiosk order, marked ``sending`` for ``lease``.

        An item waits while an earlier item of the same card is unsent (backing off, or in
        flight elsewhere): a card's items reach the service in the order they were made.
        Rows that do not decrypt are quarantined (and reported) on the way.
        """
        now = self.clock()

        def claim(session: Session) -> list[ReadyItem]:
            taken: list[ReadyItem] = []
            waiting: set[str] = set()
            last = (-1, -1)
            chunk = min(SCAN_CHUNK, max(limit, 50))  # rows read per query (with payloads)
            while len(taken) < limit:
                # One index range per unsent state, merged here: with "state IN (...)"
                # SQLite cannot walk the (state, sequence) index in order, and sorted
                # every unsent row for each chunk (a drain took O(queue^2)).
                rows = sorted(
                    (
                        row
                        for state in UNSENT
                        for row in session.scalars(
                            select(QueuedItem)
                            .where(
                                QueuedItem.state == state,
                                tuple_(QueuedItem.sequence, QueuedItem.id) > last,
                            )
                            .order_by(QueuedItem.sequence, QueuedItem.id)
                            .limit(chunk)
                        )
                    ),
                    key=lambda row: (row.sequence, row.id),
                )[:chunk]
                if not rows:
                    break
                for row in rows:
                    if len(taken) >= limit:
                        break
                    in_flight = row.state == "sending" and row.lease_until and row.lease_until > now
                    if row.card in waiting or in_flight or row.next_attempt_at > now:
                        waiting.add(row.card)
                        continue
                    try:
                        envelope = json.loads(self.cipher.decrypt(row.uuid, row.payload or b""))
                    except (UndecryptablePayload, ValueError) as exc:
                        row.state, row.lease_until = "quarantined", None
                        row.last_error = f"QUEUE_ROW_UNREADABLE: {exc}"[:500]
                        self._raise_alert(
                            session, "QUEUE_ROW_UNREADABLE",
                            f"queued item {row.receipt_number} cannot be read: {exc}", now,
                        )  # fmt: skip
                        waiting.add(row.card)
                        continue
                    row.state, row.lease_until, row.lease_owner = "sending", now + lease, SYNC
                    row.attempts += 1
                    taken.append(ReadyItem(row.id, row.uuid, envelope, row.attempts))
                last = (rows[-1].sequence, rows[-1].id)
            return taken

        return list(self._write(claim))

    def release_sync_leases(self) -> int:
        """Items a crashed sync left ``sending`` go back to ``pending`` at once (the
        service's idempotency makes sending them again safe). Only one sync runs per kiosk
        (see ``kiosk.offline_queue.lock``), so its leases are its own."""

        def release(session: Session) -> int:
            return _rowcount(
                session.execute(
                    update(QueuedItem)
                    .where(QueuedItem.state == "sending", QueuedItem.lease_owner == SYNC)
                    .values(state="pending", lease_until=None, lease_owner=None)
                )
            )

        return int(self._write(release))

    def due_now(self) -> int:
        """Bring every pending item's next attempt to now (a technician's "drain now")."""
        now = self.clock()

        def hurry(session: Session) -> int:
            return _rowcount(
                session.execute(
                    update(QueuedItem)
                    .where(QueuedItem.state == "pending", QueuedItem.next_attempt_at > now)
                    .values(next_attempt_at=now)
                )
            )

        return int(self._write(hurry))

    def release(self, items: list[ReadyItem]) -> None:
        """Items claimed but not sent after all: back to pending, the claim undone."""
        if not items:
            return

        def release(session: Session) -> None:
            session.execute(
                update(QueuedItem)
                .where(
                    QueuedItem.id.in_([item.id for item in items]),
                    QueuedItem.state == "sending",
                    QueuedItem.lease_owner == SYNC,
                )
                .values(
                    state="pending",
                    lease_until=None,
                    lease_owner=None,
                    attempts=QueuedItem.attempts - 1,
                )
            )

        self._write(release)

    def record(
        self,
        outcomes: list[tuple[int, Outcome]],
        *,
        sync_succeeded: bool = False,
        clear_alerts: Iterable[str] = (),
    ) -> None:
        """Write what the service said of each item, in one transaction; with
        ``sync_succeeded``, also the sync's success and the alerts it clears."""
        now = self.clock()
        erased = False
        cleared = list(clear_alerts)

        def write(session: Session) -> None:
            nonlocal erased
            # One query for the whole batch: a get() per item would also flush the row
            # changed before it, a SELECT and an UPDATE per item.
            ids = [item_id for item_id, _ in outcomes]
            rows = {
                row.id: row
                for i in range(0, len(ids), SCAN_CHUNK)
                for row in session.scalars(
                    select(QueuedItem).where(QueuedItem.id.in_(ids[i : i + SCAN_CHUNK]))
                )
            }
            for item_id, outcome in outcomes:
                row = rows.get(item_id)
                if row is None or row.state not in UNSENT:
                    continue  # already settled (e.g. by the kiosk's own online try)
                row.lease_until, row.lease_owner = None, None
                row.last_error = outcome.error
                if outcome.state in ("accepted", "rejected"):
                    result = outcome.result or {}
                    row.state = outcome.state
                    row.reason_code = result.get("reason_code")
                    row.result_json = json.dumps(result)
                    row.acknowledged_at = now
                    row.payload = None  # the secrets go; secure_delete overwrites them
                    erased = True
                elif outcome.state == "retry":
                    row.state = "pending"
                    row.next_attempt_at = outcome.retry_at or now
                elif outcome.state == "quarantine":
                    row.state = "quarantined"
                else:
                    raise ValueError(f"unknown outcome {outcome.state}")
            if sync_succeeded:
                self._sync_attempted(session, now, success=True)
            if cleared:
                session.execute(delete(Alert).where(Alert.code.in_(cleared)))

        self._write(write)
        if erased:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Move the log into the database file and empty it: erased payloads then survive
        neither in old log frames nor in the file (``secure_delete`` zeroed them)."""

        def checkpoint() -> None:
            connection = self.engine.raw_connection()  # outside any transaction, as it must be
            try:
                connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                connection.close()

        self._guarded(checkpoint)

    def record_sync(self, *, success: bool, error: str | None = None) -> None:
        now = self.clock()
        self._write(lambda session: self._sync_attempted(session, now, success, error))

    @staticmethod
    def _sync_attempted(
        session: Session, now: dt.datetime, success: bool, error: str | None = None
    ) -> None:
        state = session.get(SyncState, 1) or SyncState(id=1)
        state.last_attempt_at = now
        if success:
            state.last_success_at, state.last_error = now, None
        else:
            state.last_error = (error or "")[:500]
        session.add(state)

    # --- alerts for technicians ------------------------------------------------------------

    def raise_alert(self, code: str, message: str) -> None:
        self._write(lambda session: self._raise_alert(session, code, message, self.clock()))

    @staticmethod
    def _raise_alert(session: Session, code: str, message: str, now: dt.datetime) -> None:
        alert = session.get(Alert, code)
        if alert is None:
            session.add(
                Alert(code=code, message=message[:500], first_seen=now, last_seen=now, count=1)
            )
        else:
            alert.message, alert.last_seen, alert.count = message[:500], now, alert.count + 1

    def clear_alert(self, code: str) -> None:
        self._write(lambda session: session.execute(delete(Alert).where(Alert.code == code)))

    # --- looking after it ---------------------------------------------------------------

    def status(self) -> QueueStatus:
        with self.sessions() as session:
            counts = dict(
                session.execute(
                    select(QueuedItem.state, func.count()).group_by(QueuedItem.state)
                ).all()
            )
            oldest = session.scalar(
                select(func.min(QueuedItem.created_at)).where(QueuedItem.state.in_(UNSENT))
            )
            state = session.get(SyncState, 1)
            alerts = list(session.scalars(select(Alert).order_by(Alert.last_seen.desc())))
        return QueueStatus(
            counts={str(k): int(v) for k, v in counts.items()},
            oldest_unsent=oldest,
            last_attempt_at=state.last_attempt_at if state else None,
            last_success_at=state.last_success_at if state else None,
            last_error=state.last_error if state else None,
            alerts=alerts,
        )

    def items(self, states: tuple[str, ...] | None = None, limit: int = 50) -> list[QueuedItem]:
        with self.sessions() as session:
            query = select(QueuedItem).order_by(QueuedItem.sequence.desc()).limit(limit)
            if states:
                query = query.where(QueuedItem.state.in_(states))
            return list(session.scalars(query))

    def retry(self, key: str) -> QueuedItem | None:
        """Send a quarantined or backing-off item again now (by id or receipt number)."""
        now = self.clock()

        def reset(session: Session) -> QueuedItem | None:
            query = select(QueuedItem).where(
                QueuedItem.id == int(key) if key.isdigit() else QueuedItem.receipt_number == key
            )
            row = session.scalar(query)
            if row is None or row.state in ("accepted", "rejected"):
                return None
            row.state, row.next_attempt_at, row.attempts = "pending", now, 0
            row.lease_until = row.lease_owner = None
            return row

        return self._write(reset)

    def prune(self, retention: dt.timedelta) -> int:
        """Delete acknowledged rows older than the retention."""
        cutoff = self.clock() - retention
        return int(
            self._write(
                lambda session: _rowcount(
                    session.execute(
                        delete(QueuedItem).where(
                            QueuedItem.state.in_(("accepted", "rejected")),
                            QueuedItem.acknowledged_at < cutoff,
                        )
                    )
                )
            )
        )

    def unsent_envelopes(self) -> list[dict[str, Any]]:
        """The unsent envelopes, decrypted, in kiosk order (for a hand-carried export)."""
        with self.sessions() as session:
            rows = session.scalars(
                select(QueuedItem)
                .where(QueuedItem.state.in_((*UNSENT, "quarantined")))
                .order_by(QueuedItem.sequence, QueuedItem.id)
            ).all()
        envelopes = []
        for row in rows:
            try:
                envelopes.append(json.loads(self.cipher.decrypt(row.uuid, row.payload or b"")))
            except (UndecryptablePayload, ValueError):
                continue  # reported by the sync; cannot be exported either
        return envelopes


def open_queue(
    settings: KioskSettings, *, clock: Clock = utc_now, sending: bool = False
) -> QueueStore:
    """The kiosk's queue as its settings place it (the key file is made on first use);
    ``sending``: the sync's, which may spend the ballast on a full disk."""
    try:
        cipher = PayloadCipher.load_or_create(settings.queue_key_file)
    except OSError as exc:  # a new key, on a full disk
        if not disk_full(exc, settings.data_dir):
            raise
        raise QueueFull(f"cannot write {settings.queue_key_file}: {exc.strerror}") from exc
    ballast = Ballast(settings.queue_ballast_file, int(settings.queue_ballast_mib * MiB))
    return QueueStore(
        settings.queue_database,
        cipher,
        max_pages=settings.queue_max_pages,
        min_free_bytes=int(settings.queue_min_free_mib * MiB),
        clock=clock,
        ballast=ballast,
        sending=sending,
    )
