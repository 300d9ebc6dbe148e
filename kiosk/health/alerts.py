"""The alert outbox: alerts for the operators' console, kept in the queue's database until
the service has answered for each one (by its ``uuid``: a resend is harmless).

Both kiosk processes raise alerts (the app: staff called, a card left, paper out, a
"not me" report; kiosk-sync: a quarantined item, a stuck queue); the reporter
(``reporter.py``) sends them. Raising never fails the citizen's procedure: on a full disk
the alert is logged and dropped, the procedure goes on.

How often each kind may be raised is decided here, in ``RULES``, and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid as uuids
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import delete, exists, func, literal, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kiosk.offline_queue.models import AlertLatch, OutboxAlert, QueuedItem
from kiosk.offline_queue.store import QueueFull, QueueStatus, QueueStore
from mynapoint.fleet import AlertKind, KioskAlert, PaperState

log = logging.getLogger(__name__)

PENDING, SENT = "pending", "sent"
QUARANTINED_LATCH = "quarantined:"  # + the receipt number: one alert per quarantined item
REASON_CODE = re.compile(r"[A-Z][A-Z0-9_]{2,39}")


@dataclass(frozen=True)
class Rule:
    """How often an alert of one kind is raised. ``latch``: the key that holds back the
    next one (None: every raise is an alert); ``clears``: whether the condition goes away
    (``AlertOutbox.clear``), or the latch stays for good (one per receipt number)."""

    latch: Callable[[str | None], str | None]
    clears: bool = False
    detail: bool = True  # False: the alert carries no detail, whatever the caller gives


RULES: dict[AlertKind, Rule] = {
    # The flow gives one per press of the call button (and one per card left).
    AlertKind.STAFF_CALLED: Rule(lambda receipt: None),
    AlertKind.CARD_LEFT: Rule(lambda receipt: None),
    # Once until the paper is seen again.
    AlertKind.PAPER_OUT: Rule(lambda receipt: "paper_out", clears=True),
    # Once while the oldest unsent item waits too long; again only after it cleared.
    AlertKind.QUEUE_STUCK: Rule(lambda receipt: "queue_stuck", clears=True),
    # One per item, one per report: the receipt number and the time, nothing else.
    AlertKind.QUARANTINED: Rule(lambda receipt: f"{QUARANTINED_LATCH}{receipt}"),
    AlertKind.NOT_ME_REPORT: Rule(lambda receipt: f"not_me:{receipt}", detail=False),
}


class AlertOutbox:
    def __init__(self, store: QueueStore, *, clock: Callable[[], dt.datetime] | None = None):
        self.store = store
        self.clock = clock or store.clock

    # --- raising (both processes) ------------------------------------------------------

    def raise_alert(
        self, kind: AlertKind, *, receipt_number: str | None = None, detail: str = ""
    ) -> str | None:
        """Keep an alert to send; its uuid, or None when ``RULES`` hold it back or it could
        not be kept (logged: an alert never stops the kiosk)."""
        rule = RULES[kind]
        try:
            alert = KioskAlert(
                uuid=str(uuids.uuid4()),
                kind=kind,
                raised_at=self.clock().replace(microsecond=0),
                receipt_number=receipt_number,
                detail=detail[:200] if rule.detail else "",
            )
        except ValidationError as exc:
            log.error("alert %s not raised: %s", kind, exc.errors()[0].get("msg"))
            return None
        latch = rule.latch(receipt_number)

        def keep(session: Session) -> bool:
            if latch is not None:
                if session.get(AlertLatch, latch) is not None:
                    return False
                session.add(AlertLatch(key=latch, set_at=alert.raised_at))
            session.add(
                OutboxAlert(
                    uuid=alert.uuid, kind=alert.kind.value, raised_at=alert.raised_at,
                    receipt_number=alert.receipt_number, detail=alert.detail, state=PENDING,
                    attempts=0, next_attempt_at=alert.raised_at,
                )
            )  # fmt: skip
            return True

        try:
            kept = self.store.write(keep)
        except (QueueFull, SQLAlchemyError, OSError) as exc:
            log.error("alert %s not kept (%s): the kiosk goes on", kind, exc)
            return None
        if kept:
            log.info("alert raised: %s %s", kind, receipt_number or "")
        return alert.uuid if kept else None

    def clear(self, kind: AlertKind) -> None:
        """The condition behind ``kind`` is gone (paper seen again, the queue moves): the
        next one is an alert again. Writes only when there is something to clear."""
        latch = RULES[kind].latch(None)
        if not RULES[kind].clears or latch is None:
            raise ValueError(f"{kind} does not clear")
        with self.store.sessions() as session:
            if session.get(AlertLatch, latch) is None:
                return
        try:
            self.store.write(
                lambda session: session.execute(delete(AlertLatch).where(AlertLatch.key == latch))
            )
        except (QueueFull, SQLAlchemyError, OSError) as exc:
            log.error("alert latch %s not cleared (%s)", latch, exc)

    # --- sending (the reporter) ----------------------------------------------------------

    def due(self, limit: int = 500, *, everything: bool = False) -> list[KioskAlert]:
        """Alerts waiting to be sent whose next attempt is due (``everything``: backing off
        or not), oldest first."""
        query = select(OutboxAlert).where(OutboxAlert.state == PENDING)
        if not everything:
            query = query.where(OutboxAlert.next_attempt_at <= self.clock())
        with self.store.sessions() as session:
            rows = session.scalars(query.order_by(OutboxAlert.id).limit(limit)).all()
        return [
            KioskAlert(
                uuid=row.uuid,
                kind=AlertKind(row.kind),
                raised_at=row.raised_at,
                receipt_number=row.receipt_number,
                detail=row.detail,
            )
            for row in rows
        ]

    def mark_sent(self, sent: Iterable[str]) -> int:
        """The service answered for these uuids ("recorded" or "duplicate")."""
        chosen, now = list(sent), self.clock()
        if not chosen:
            return 0

        def mark(session: Session) -> int:
            result = session.execute(
                update(OutboxAlert)
                .where(OutboxAlert.uuid.in_(chosen), OutboxAlert.state == PENDING)
                .values(state=SENT, sent_at=now)
            )
            return int(getattr(result, "rowcount", 0))

        return int(self.store.write(mark))

    def retry_later(self, waiting: Iterable[str], delay: Callable[[int], float]) -> None:
        """Not answered for: tried again after ``delay(attempts)`` seconds."""
        chosen, now = list(waiting), self.clock()
        if not chosen:
            return

        def postpone(session: Session) -> None:
            for row in session.scalars(
                select(OutboxAlert).where(
                    OutboxAlert.uuid.in_(chosen), OutboxAlert.state == PENDING
                )
            ):
                row.attempts += 1
                row.next_attempt_at = now + dt.timedelta(seconds=delay(row.attempts))

        self.store.write(postpone)

    def pending(self) -> int:
        with self.store.sessions() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(OutboxAlert)
                    .where(OutboxAlert.state == PENDING)
                )
                or 0
            )

    def prune(self, retention: dt.timedelta) -> int:
        """Forget sent alerts older than ``retention``."""
        cutoff = self.clock() - retention
        return int(
            self.store.write(
                lambda session: getattr(
                    session.execute(
                        delete(OutboxAlert).where(
                            OutboxAlert.state == SENT, OutboxAlert.sent_at < cutoff
                        )
                    ),
                    "rowcount",
                    0,
                )
            )
        )


# --- the conditions behind alerts: one function each, called where they are seen -----------


def note_paper(outbox: AlertOutbox, paper: PaperState) -> None:
    """What the printer said of its paper: out raises PAPER_OUT (once); paper seen (ok or
    near its end) clears it. Offline or unknown says nothing about the paper."""
    if paper == "out":
        outbox.raise_alert(AlertKind.PAPER_OUT, detail="the slip printer is out of paper")
    elif paper in ("ok", "near_end"):
        outbox.clear(AlertKind.PAPER_OUT)


def note_queue(
    outbox: AlertOutbox, status: QueueStatus, now: dt.datetime, stuck_after: dt.timedelta
) -> None:
    """The oldest unsent item waiting longer than ``stuck_after`` raises QUEUE_STUCK (once);
    a queue that moves again clears it."""
    waited = now - status.oldest_unsent if status.oldest_unsent is not None else None
    if waited is not None and waited > stuck_after:
        minutes = int(waited.total_seconds() // 60)
        outbox.raise_alert(
            AlertKind.QUEUE_STUCK,
            detail=f"{status.unsent} unsent; the oldest has waited {minutes} min",
        )
    else:
        outbox.clear(AlertKind.QUEUE_STUCK)


def note_quarantined(outbox: AlertOutbox) -> None:
    """Every quarantined item not alerted yet, whoever quarantined it (the sync on the
    service's answer, or the store for a row it cannot read): one QUARANTINED alert each,
    by receipt number, with its reason code only (its error's text stays on the kiosk)."""
    latched = exists().where(
        AlertLatch.key == literal(QUARANTINED_LATCH) + QueuedItem.receipt_number
    )
    with outbox.store.sessions() as session:
        rows = session.execute(
            select(QueuedItem.receipt_number, QueuedItem.last_error).where(
                QueuedItem.state == "quarantined", ~latched
            )
        ).all()
    for receipt, error in rows:
        code = (error or "").split(":", 1)[0].strip()
        detail = code if REASON_CODE.fullmatch(code) else ""
        outbox.raise_alert(AlertKind.QUARANTINED, receipt_number=receipt, detail=detail)
