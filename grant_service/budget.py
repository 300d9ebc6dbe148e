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
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.orm import Session

from grant_service.locking import is_postgresql
from grant_service.models import BudgetSlot

SLOTS = 64  # made by migration 0004


def has_room(issued: Any, share: Any) -> Any:
    """The budget's one comparison: a slot may issue another MyKey ID while what it has
    issued is below its share (the shares add up to the cap). The same expression serves
    the ledger's count in memory (ints: a bool) and the statements below (a column: SQL,
    which keeps taking a slot one atomic statement)."""
    return issued < share


def allotment(slot: int, cap: int) -> int:
    """Slot ``slot``'s share of ``cap``: the shares of all slots add up to ``cap``."""
    return cap // SLOTS + (1 if slot < cap % SLOTS else 0)


# Statements built once (their parameters: the cap's share per slot, base and extra, as
# ``allotment`` computes it).
_HAS_ROOM = has_room(
    BudgetSlot.issued, bindparam("base") + case((BudgetSlot.slot < bindparam("extra"), 1), else_=0)
)
_NOT_HELD = BudgetSlot.slot.not_in(bindparam("held", expanding=True))
_FREE_SLOT = (  # the first slot with room (``scalar`` of it: the slot number)
    select(BudgetSlot.slot, BudgetSlot.issued)
    .where(_HAS_ROOM, _NOT_HELD)
    .order_by(BudgetSlot.slot)
    .limit(1)
)
_FREE_SLOT_LOCKED = _FREE_SLOT.with_for_update(skip_locked=True)
_WAIT_FOR_SLOT = (
    select(BudgetSlot.slot).where(BudgetSlot.slot == bindparam("slot")).with_for_update()
)
_TAKE = (
    update(BudgetSlot.__table__)
    .where(BudgetSlot.slot == bindparam("b_slot"))
    .values(issued=BudgetSlot.issued + bindparam("b_taken"))
)


def _room(cap: int, held: list[HeldSlot]) -> dict[str, object]:
    return {"base": cap // SLOTS, "extra": cap % SLOTS, "held": [s.slot for s in held]}


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
    slot: int | None = session.scalar(_FREE_SLOT, _room(cap, held))  # its first column
    return slot


def _wait_for_busy_slot(session: Session, cap: int, held: list[HeldSlot]) -> bool:
    """Wait until the holder of a busy slot with room finishes (False: no such slot, the
    budget is spent). The caller holds no slot: waits cannot form a circle."""
    busy = _busy_slot(session, cap, held)
    if busy is None:
        return False
    wait = session.begin_nested()
    session.execute(_WAIT_FOR_SLOT, {"slot": busy})
    wait.rollback()  # the lock is not kept: only the wait mattered
    return True


def _gather(session: Session, need: int, cap: int, *, lock: bool) -> list[HeldSlot]:
    held: list[HeldSlot] = []
    while sum(s.room for s in held) < need:
        query = _FREE_SLOT_LOCKED if lock else _FREE_SLOT
        row = session.execute(query, _room(cap, held)).first()
        if row is None:
            break
        held.append(HeldSlot(row.slot, row.issued, allotment(row.slot, cap)))
    return held


def record_taken(session: Session, held: list[HeldSlot]) -> None:
    """Write what this transaction took from its slots."""
    taken = [{"b_slot": s.slot, "b_taken": s.taken} for s in held if s.taken]
    if taken:
        session.execute(_TAKE, taken)


def issued(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(BudgetSlot.issued), 0))) or 0)


def is_open(session: Session, cap: int) -> bool:
    """Whether some slot still has room (a reservation made now could get a MyKey ID)."""
    return session.scalar(_FREE_SLOT, _room(cap, [])) is not None
