"""The queue's tables (a SQLite file on the kiosk)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mynapoint.database import UtcDateTime

# pending: waits to be sent; sending: being sent (until lease_until); accepted, rejected:
# the service answered for good; quarantined: cannot be sent as it is (a technician looks).
STATES = ("pending", "sending", "accepted", "rejected", "quarantined")
UNSENT = ("pending", "sending")


class Base(DeclarativeBase):
    pass


class QueuedItem(Base):
    __tablename__ = "queue"
    __table_args__ = (Index("ix_queue_state_sequence", "state", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    receipt_number: Mapped[str] = mapped_column(String(14), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    card: Mapped[str] = mapped_column(String(64))  # SHA-256 of the card's certificate
    sequence: Mapped[int] = mapped_column(Integer)  # the kiosk's order
    state: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Who is sending it: "submit" (the flow's online try) or "sync" (the one sync daemon,
    # which releases its own leases when it starts again after a crash).
    lease_owner: Mapped[str | None] = mapped_column(String(8), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # AES-GCM of the envelope (which holds the security code and the payment-service ID);
    # erased once the service has acknowledged the item.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    reason_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    result_json: Mapped[str | None] = mapped_column(Text, nullable=True)  # no secrets


class Counter(Base):
    """The kiosk's envelope sequence, increasing across restarts."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class Alert(Base):
    """Something a technician must look at (not the citizen's fault)."""

    __tablename__ = "alerts"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    message: Mapped[str] = mapped_column(String(500))
    first_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    count: Mapped[int] = mapped_column(Integer)


class SyncState(Base):
    __tablename__ = "sync_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class OutboxAlert(Base):
    """An alert for the operators' console (``mynapoint.fleet.KioskAlert``), kept until the
    service has answered for its ``uuid`` (kiosk/health/alerts.py)."""

    __tablename__ = "alert_outbox"
    __table_args__ = (Index("ix_alert_outbox_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    raised_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    receipt_number: Mapped[str | None] = mapped_column(String(14), nullable=True)
    detail: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(8))  # pending | sent
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class AlertLatch(Base):
    """An alert raised that must not be raised again until its condition clears (paper out
    until paper is seen again) or ever (one per quarantined item): see kiosk/health/alerts.py."""

    __tablename__ = "alert_latches"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    set_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
