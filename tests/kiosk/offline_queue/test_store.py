"""The kiosk's queue on its own: durable, encrypted, ordered per card, honest when full.

Envelopes here are real ones, signed by virtual cards through their APDUs; the queue is
a real SQLite file. No grant service is needed for these (the sync tests use one).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.offline_queue.ballast import Ballast
from kiosk.offline_queue.cipher import PayloadCipher
from kiosk.offline_queue.store import Outcome, QueueFull, QueueStore, ReadyItem
from mynapoint.envelope import ApplicationPayload, Envelope, ReservationPayload, build_envelope
from tests.conftest import CardFactory
from tests.support.full_disk import fill, tmpfs
from tests.support.kiosk_harness import flip_a_bit
from tests.support.service_harness import FakeClock, TestCard

LEASE = dt.timedelta(seconds=60)


def signed(store: QueueStore, card: TestCard, kind: str = "reservation") -> Envelope:
    payload = (
        ReservationPayload(terms_version="2020-07")
        if kind == "reservation"
        else ApplicationPayload(
            service_code="paypay", payment_id="090-7351-2468", security_code="8642"
        )
    )
    return build_envelope(
        payload,
        kiosk_id="kiosk-0001",
        sequence=store.next_sequence(),
        certificate_der=card.certificate_der,
        sign=card.sign,
    )


def test_the_key_file_is_made_once_and_private(tmp_path: Path) -> None:
    first = PayloadCipher.load_or_create(tmp_path / "k" / "queue.key")
    again = PayloadCipher.load_or_create(tmp_path / "k" / "queue.key")
    assert stat.S_IMODE((tmp_path / "k" / "queue.key").stat().st_mode) == 0o600
    assert first.key_id == again.key_id


def test_the_database_files_are_private(
    store: QueueStore, make_card: CardFactory, tmp_path: Path
) -> None:
    """Receipt numbers and states are not encrypted: the queue's files are 0600 whatever
    the umask, the write-ahead log too."""
    store.enqueue(signed(store, TestCard(make_card())))
    files = sorted(tmp_path.glob("queue.sqlite3*"))
    assert {"queue.sqlite3", "queue.sqlite3-wal"} <= {f.name for f in files}
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}


def test_the_database_is_durable_and_erases_what_it_deletes(store: QueueStore) -> None:
    with store.engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "secure_delete", "busy_timeout")
        }
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["synchronous"] == 2  # FULL
    assert pragmas["secure_delete"] == 1
    assert pragmas["busy_timeout"] > 0


def test_an_envelope_is_stored_encrypted_and_comes_back_whole(
    store: QueueStore, make_card: CardFactory
) -> None:
    card = TestCard(make_card())
    envelope = signed(store, card, "application")
    store.enqueue(envelope)
    raw = sqlite3.connect(store.database).execute("SELECT payload FROM queue").fetchone()[0]
    assert b"8642" not in raw and b"090-7351-2468" not in raw
    [ready] = store.claim_ready(10, LEASE)
    assert ready.envelope == envelope.to_json()
    assert ready.attempts == 1


def test_enqueueing_the_same_envelope_twice_keeps_one_item(
    store: QueueStore, make_card: CardFactory
) -> None:
    envelope = signed(store, TestCard(make_card()))
    assert store.enqueue(envelope) == store.enqueue(envelope)
    assert store.status().counts == {"pending": 1}


def test_a_cards_items_keep_their_order_while_others_go_ahead(
    store: QueueStore, make_card: CardFactory, clock: FakeClock
) -> None:
    alice, bob = TestCard(make_card()), TestCard(make_card())
    a1, b1, a2, b2 = (signed(store, card) for card in (alice, bob, alice, bob))
    ids = {e.uuid: store.enqueue(e) for e in (a1, b1, a2, b2)}
    first = store.claim_ready(1, LEASE)
    assert [r.uuid for r in first] == [a1.uuid]
    # Alice's first item is in flight: her second waits; Bob's go.
    assert [r.uuid for r in store.claim_ready(10, LEASE)] == [b1.uuid, b2.uuid]
    # Her first item failed and backs off: her second still waits behind it.
    later = clock() + dt.timedelta(seconds=30)
    store.record([(ids[a1.uuid], Outcome("retry", error="503", retry_at=later))])
    assert store.claim_ready(10, LEASE) == []
    clock.advance(seconds=31)
    # In one batch together, in order: the service applies a batch in kiosk order.
    assert [r.uuid for r in store.claim_ready(10, LEASE)] == [a1.uuid, a2.uuid]


def test_a_crashed_syncs_items_are_sent_again(store: QueueStore, make_card: CardFactory) -> None:
    card = TestCard(make_card())
    for _ in range(3):
        store.enqueue(signed(store, card))
    claimed = store.claim_ready(10, LEASE)
    assert len(claimed) == 3 and store.claim_ready(10, LEASE) == []  # in flight
    # The sync died; the next one releases its leases at start, without waiting.
    assert store.release_sync_leases() == 3
    again = store.claim_ready(10, LEASE)
    assert [r.uuid for r in again] == [r.uuid for r in claimed]
    assert [r.attempts for r in again] == [2, 2, 2]


def test_items_claimed_but_not_sent_go_back_as_they_were(
    store: QueueStore, make_card: CardFactory
) -> None:
    card = TestCard(make_card())
    store.enqueue(signed(store, card))
    claimed = store.claim_ready(10, LEASE)
    store.release(claimed)  # the batch before failed: this one never went out
    [row] = store.items()
    assert (row.state, row.attempts, row.lease_owner) == ("pending", 0, None)
    assert [r.uuid for r in store.claim_ready(10, LEASE)] == [claimed[0].uuid]


def test_the_flows_own_try_is_not_taken_by_the_sync(
    store: QueueStore, make_card: CardFactory
) -> None:
    envelope = signed(store, TestCard(make_card()))
    store.enqueue(envelope, lease=dt.timedelta(seconds=11))
    assert store.release_sync_leases() == 0  # the flow's lease is not the sync's
    assert store.claim_ready(10, LEASE) == []


def test_only_the_services_answer_settles_an_item_and_erases_its_payload(
    store: QueueStore, make_card: CardFactory
) -> None:
    card = TestCard(make_card())
    envelope = signed(store, card, "application")
    item = store.enqueue(envelope)
    store.claim_ready(10, LEASE)
    store.record([(item, Outcome("retry", error="503"))])
    [row] = store.items()
    assert row.state == "pending" and row.payload is not None
    store.claim_ready(10, LEASE)
    answer = {"status": "rejected", "reason_code": "MKCZ374E", "uuid": envelope.uuid}
    store.record([(item, Outcome("rejected", result=answer))])
    [row] = store.items()
    assert (row.state, row.reason_code, row.payload) == ("rejected", "MKCZ374E", None)
    assert row.receipt_number == envelope.receipt_number
    # A late answer (a replay, another sender) does not change a settled item.
    store.record([(item, Outcome("retry", error="late"))])
    assert store.items()[0].state == "rejected"


def test_a_row_that_does_not_decrypt_is_quarantined_and_reported(
    store: QueueStore, make_card: CardFactory
) -> None:
    card = TestCard(make_card())
    broken, good = signed(store, card), signed(store, TestCard(make_card()))
    store.enqueue(broken)
    store.enqueue(good)
    flip_a_bit(store.database, broken.uuid)
    ready = store.claim_ready(10, LEASE)
    assert [r.uuid for r in ready] == [good.uuid]
    status = store.status()
    assert status.counts["quarantined"] == 1
    assert [a.code for a in status.alerts] == ["QUEUE_ROW_UNREADABLE"]
    assert broken.receipt_number in status.alerts[0].message


def test_another_kiosks_key_cannot_read_the_queue(tmp_path: Path, make_card: CardFactory) -> None:
    database = tmp_path / "queue.sqlite3"
    mine = QueueStore(database, PayloadCipher.load_or_create(tmp_path / "mine.key"))
    mine.enqueue(signed(mine, TestCard(make_card())))
    mine.close()
    theirs = QueueStore(database, PayloadCipher.load_or_create(tmp_path / "theirs.key"))
    try:
        assert theirs.claim_ready(10, LEASE) == []
        assert theirs.status().counts == {"quarantined": 1}
    finally:
        theirs.close()


def test_acknowledged_items_are_pruned_after_the_retention(
    store: QueueStore, make_card: CardFactory, clock: FakeClock
) -> None:
    card = TestCard(make_card())
    old, unsent = signed(store, card), signed(store, card)
    item = store.enqueue(old)
    store.enqueue(unsent)
    store.claim_ready(1, LEASE)
    store.record([(item, Outcome("accepted", result={"status": "accepted"}))])
    clock.advance(days=29)
    assert store.prune(dt.timedelta(days=30)) == 0
    clock.advance(days=2)
    assert store.prune(dt.timedelta(days=30)) == 1
    assert [row.uuid for row in store.items()] == [unsent.uuid]  # unsent items are never pruned


# --- a full disk ---------------------------------------------------------------------------


def fill_until_full(store: QueueStore, card: TestCard) -> tuple[list[Envelope], QueueFull]:
    stored: list[Envelope] = []
    for _ in range(10_000):
        envelope = signed(store, card, "application")
        try:
            store.enqueue(envelope)
        except QueueFull as full:
            return stored, full
        stored.append(envelope)
    raise AssertionError("the queue never filled up")


def check_full_and_intact(store: QueueStore, card: TestCard) -> list[ReadyItem]:
    """Fill the queue; check the error and that every earlier item can still be sent."""
    stored, full = fill_until_full(store, card)
    assert len(stored) > 3
    assert "full" in full.detail or "free" in full.detail
    assert "Nothing queued earlier is lost" in full.detail
    # Everything committed before is there and still decrypts, in order.
    ready = store.claim_ready(len(stored) + 10, LEASE)
    assert [r.uuid for r in ready] == [e.uuid for e in stored]
    assert ready[-1].envelope == stored[-1].to_json()
    with sqlite3.connect(store.database) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    return ready


def test_a_full_queue_cap_is_a_clear_error_and_loses_nothing(
    tmp_path: Path, make_card: CardFactory
) -> None:
    cipher = PayloadCipher.load_or_create(tmp_path / "queue.key")
    store = QueueStore(tmp_path / "queue.sqlite3", cipher, max_pages=40)
    try:
        check_full_and_intact(store, TestCard(make_card()))
    finally:
        store.close()


def test_a_full_queue_cap_leaves_the_ballast_to_a_full_disk(
    tmp_path: Path, make_card: CardFactory
) -> None:
    """Even the sync's store keeps the ballast when its cap, not its disk, is full."""
    cipher = PayloadCipher.load_or_create(tmp_path / "queue.key")
    ballast = Ballast(tmp_path / "queue.ballast", 64 * 1024)
    store = QueueStore(
        tmp_path / "queue.sqlite3", cipher, max_pages=40, ballast=ballast, sending=True
    )
    try:
        check_full_and_intact(store, TestCard(make_card()))
        assert ballast.held == 64 * 1024  # made with the first item, still there
    finally:
        store.close()


@pytest.fixture
def tiny_file_system(tmp_path: Path) -> Iterator[Path]:
    """A 384 KiB tmpfs: a disk that really fills up."""
    with tmpfs(tmp_path / "tiny", "384k") as mount_point:
        yield mount_point


def test_a_full_disk_is_a_clear_error_and_loses_nothing(
    tiny_file_system: Path, make_card: CardFactory
) -> None:
    """New items stop with room left over, so what is queued can still be sent."""
    cipher = PayloadCipher.load_or_create(tiny_file_system / "queue.key")
    store = QueueStore(tiny_file_system / "queue.sqlite3", cipher, min_free_bytes=160 * 1024)
    try:
        sent = check_full_and_intact(store, TestCard(make_card()))
        store.record([(item.id, Outcome("accepted", result={})) for item in sent])
        assert store.status().counts == {"accepted": len(sent)}
    finally:
        store.close()


def test_a_disk_filled_by_something_else_holds_the_sync_until_there_is_room(
    tiny_file_system: Path, make_card: CardFactory
) -> None:
    cipher = PayloadCipher.load_or_create(tiny_file_system / "queue.key")
    store = QueueStore(tiny_file_system / "queue.sqlite3", cipher)
    card = TestCard(make_card())
    try:
        queued = [signed(store, card) for _ in range(5)]
        for envelope in queued:
            store.enqueue(envelope)
        filler = fill(tiny_file_system)  # a log, say
        with pytest.raises(QueueFull):
            store.claim_ready(10, LEASE)
        filler.unlink()
        ready = store.claim_ready(10, LEASE)
        assert [r.uuid for r in ready] == [e.uuid for e in queued]
    finally:
        store.close()
