"""The national budget of MyKey IDs, first come first served, exact under any concurrency.

One counter row would make every reservation in the country wait for the one before it
to commit. The budget is cut into ``SLOTS`` slots instead; slot ``i`` may issue its share
of the cap (``allotment``), and the shares add up to the cap exactly, so the MyKey IDs
issued never exceed it, and a reservation is refused only when every slot is full.

A transaction takes a slot with room without waiting (``FOR UPDATE SKIP LOCKED``) and
holds it until it commits; concurrent reservations take different slots. Only when the
slots that still have room are all held by others does it wait, and then it holds no
slot while it waits (the ones it took are given back: a savepoint rolled back releases
its row locks), so that waits cannot form a circle. Then it looks again: the holder
committed (the slot may be full now) or gave up.

The cap may be raised while the service runs; slots then have room again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.orm import Session

from grant_service.locking import is_postgresql
from grant_service.models import BudgetSlot

SLOTS = 64  # made by migration 0004


def allotment(slot: int, cap: int) -> int:
    """Slot ``slot``'s share of ``cap``: the shares of all slots add up to ``cap``."""
    return cap // SLOTS + (1 if slot < cap % SLOTS else 0)


def _has_room(cap: int):  # type: ignore[no-untyped-def]
    share = literal(cap // SLOTS) + case((BudgetSlot.slot < cap % SLOTS, 1), else_=0)
    return BudgetSlot.issued < share


@dataclass
class HeldSlot:
    slot: int
    issued: int  # as of when it was taken
    share: int
    taken: int = 0  # by this transaction

    @property
    def room(self) -> int:
        return self.share - self.issued - self.taken


def take_slots(session: Session, need: int, cap: int) -> list[HeldSlot]:
    """Slots with room for ``need`` MyKey IDs (or all that is left), locked until the
    transaction ends. Fewer than ``need`` only when the budget has no more."""
    if need <= 0:
        return []
    if not is_postgresql(session):  # SQLite: this transaction is the only writer
        return _gather(session, need, cap, lock=False)
    if need == 1:  # one slot with room will do, and one not found means none held: no savepoint
        while True:
            held = _gather(session, 1, cap, lock=True)
            if held or not _wait_for_busy_slot(session, cap, []):
                return held
    while True:
        attempt = session.begin_nested()
        held = _gather(session, need, cap, lock=True)
        if sum(s.room for s in held) >= need:
            attempt.commit()
            return held
        if _busy_slot(session, cap, held) is None:  # what is left is all ours
            attempt.commit()
            return held
        attempt.rollback()  # hold nothing while waiting, then look again
        _wait_for_busy_slot(session, cap, [])


def _busy_slot(session: Session, cap: int, held: list[HeldSlot]) -> int | None:
    """A slot with room that this transaction does not hold (another one does)."""
    return session.scalar(
        select(BudgetSlot.slot)
        .where(_has_room(cap), BudgetSlot.slot.not_in([s.slot for s in held]))
        .order_by(BudgetSlot.slot)
        .limit(1)
    )


def _wait_for_busy_slot(session: Session, cap: int, held: list[HeldSlot]) -> bool:
    """Wait until the holder of a busy slot with room finishes (False: no such slot, the
    budget is spent). The caller holds no slot: waits cannot form a circle."""
    busy = _busy_slot(session, cap, held)
    if busy is None:
        return False
    wait = session.begin_nested()
    session.execute(select(BudgetSlot.slot).where(BudgetSlot.slot == busy).with_for_update())
    wait.rollback()  # the lock is not kept: only the wait mattered
    return True


def _gather(session: Session, need: int, cap: int, *, lock: bool) -> list[HeldSlot]:
    held: list[HeldSlot] = []
    while sum(s.room for s in held) < need:
        query = (
            select(BudgetSlot.slot, BudgetSlot.issued)
            .where(_has_room(cap), BudgetSlot.slot.not_in([s.slot for s in held]))
            .order_by(BudgetSlot.slot)
            .limit(1)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        row = session.execute(query).first()
        if row is None:
            break
        held.append(HeldSlot(row.slot, row.issued, allotment(row.slot, cap)))
    return held


def record_taken(session: Session, held: list[HeldSlot]) -> None:
    """Write what this transaction took from its slots."""
    for slot in held:
        if slot.taken:
            session.execute(
                update(BudgetSlot)
                .where(BudgetSlot.slot == slot.slot)
                .values(issued=BudgetSlot.issued + slot.taken)
            )


def issued(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(BudgetSlot.issued), 0))) or 0)


def is_open(session: Session, cap: int) -> bool:
    """Whether some slot still has room (a reservation made now could get a MyKey ID)."""
    return session.scalar(select(BudgetSlot.slot).where(_has_room(cap)).limit(1)) is not None
