"""The service's tables. Identity is the card certificate's issuer and serial number; nothing
is keyed by, or holds, a My Number, a PIN, a security code or a full payment-service ID.

Made to carry part 2 (My Page, cancellation, points, suspension, re-issued cards): a
MyKey ID owns any number of card certificates (a re-issued card links a new one),
applications carry a status so a cancelled one frees the person and the account, and
every submission keeps its card and outcome for My Page.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mynapoint.database import UtcDateTime


class Base(DeclarativeBase):
    # Every model here maps one Table (typed FromClause otherwise: insert(Model.__table__)
    # is how the service writes rows in bulk without the ORM).
    __table__: ClassVar[Table]


# --- devices --------------------------------------------------------------------------


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(20))  # convenience_store | city_hall
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | revoked
    certificate_pem: Mapped[str] = mapped_column(Text)
    public_key_der: Mapped[bytes] = mapped_column(LargeBinary)
    certificate_serial: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    renewed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class EnrollmentToken(Base):
    __tablename__ = "enrollment_tokens"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class RequestNonce(Base):
    """Nonces of device-signed requests inside the clock-skew window: no replay."""

    __tablename__ = "request_nonces"
    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


# --- people (by card), reservations, applications ------------------------------------


class MyKey(Base):
    """A person in the programme, known by the MyKey ID their reservation set."""

    __tablename__ = "mykeys"
    mykey_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    # active | suspended (by an operator: leak or misuse) | superseded (a link conflict
    # was resolved in favour of another MyKey ID of the same person) | revoked (by its
    # holder, at city hall: for ever, seed 004 #5016)
    status: Mapped[str] = mapped_column(String(10), default="active")
    status_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reserved_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # the envelope's time
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    receipt_number: Mapped[str] = mapped_column(String(14))


class CardCertificate(Base):
    """A user-authentication certificate (issuer + serial) and the MyKey ID it belongs to.
    A re-issued card adds a row for the same MyKey ID."""

    __tablename__ = "card_certificates"
    issuer: Mapped[str] = mapped_column(String(512), primary_key=True)
    serial_hex: Mapped[str] = mapped_column(String(64), primary_key=True)
    mykey_id: Mapped[str] = mapped_column(ForeignKey("mykeys.mykey_id"), index=True)
    not_before: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    not_after: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    linked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # For a re-issued card: the certificate it replaces (from the J-LIS feed).
    reissued_from_issuer: Mapped[str | None] = mapped_column(String(512), nullable=True)
    reissued_from_serial: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CertificateRenewal(Base):
    """A certificate the J-LIS feed reported as renewing or replacing an earlier one,
    whether or not the earlier one ever reserved: such a certificate waits 24 hours after
    its ``not_before`` before any procedure (``mynapoint/card_validity.py``)."""

    __tablename__ = "certificate_renewals"
    issuer: Mapped[str] = mapped_column(String(512), primary_key=True)
    serial_hex: Mapped[str] = mapped_column(String(64), primary_key=True)
    not_before: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class BudgetSlot(Base):
    """The national budget of MyKey IDs, cut into slots that are taken independently, so
    that concurrent reservations do not queue on one counter. Slot ``i`` may issue its
    share of the cap (``budget.allotment``); the shares add up to the cap exactly, so the
    MyKey IDs issued never exceed it. See ``grant_service/budget.py``."""

    __tablename__ = "reservation_budget_slots"
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    issued: Mapped[int] = mapped_column(BigInteger, default=0)


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (
        # Exactly one active application per person...
        Index(
            "uq_applications_one_per_person",
            "mykey_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        # ...and one payment account receives one person's points.
        Index(
            "uq_applications_one_person_per_account",
            "service_code",
            "account_hmac",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    mykey_id: Mapped[str] = mapped_column(ForeignKey("mykeys.mykey_id"))
    service_code: Mapped[str] = mapped_column(String(32))
    account_hmac: Mapped[str] = mapped_column(String(64))  # HMAC of service + normalised ID
    account_last4: Mapped[str] = mapped_column(String(4))  # for display only
    phone_last4: Mapped[str | None] = mapped_column(String(4), nullable=True)
    # active | cancelled (same day, at a city hall) | superseded (link conflict resolved)
    status: Mapped[str] = mapped_column(String(10), default="active")
    applied_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # the envelope's time
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    operator_verified_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    channel: Mapped[str] = mapped_column(String(20))
    for_whom: Mapped[str] = mapped_column(String(10))
    receipt_number: Mapped[str] = mapped_column(String(14), index=True)
    submission_uuid: Mapped[str] = mapped_column(String(36))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    cancel_receipt_number: Mapped[str | None] = mapped_column(String(14), nullable=True)
    # The city-hall kiosk that cancelled (no foreign key: SQLite cannot add one in place).
    cancelled_by_device_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


# --- submissions (idempotency, and My Page's list) ----------------------------------------


class Submission(Base):
    """One envelope UUID: its claim while it is processed, then its result for replays.

    ``state``: ``in_flight`` (claimed by the request holding ``claim_token`` until
    ``lease_until``), ``pending`` (decided "not now": the kiosk's retry takes it over) or
    ``done`` (the final result, in ``result_json``)."""

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_card", "card_issuer", "card_serial_hex"),
        # The kiosk's order: the neighbours of an envelope's sequence (envelope_time.py).
        Index("ix_submissions_kiosk_sequence", "kiosk_id", "sequence"),
        # A card's unsettled items, which its later items wait behind.
        Index(
            "ix_submissions_unsettled",
            "card_issuer",
            "card_serial_hex",
            sqlite_where=text("state != 'done'"),
            postgresql_where=text("state != 'done'"),
        ),
    )
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # keyed hash of the signed envelope
    kind: Mapped[str] = mapped_column(String(20))
    kiosk_id: Mapped[str] = mapped_column(String(64))
    receipt_number: Mapped[str] = mapped_column(String(14), index=True)
    card_issuer: Mapped[str] = mapped_column(String(512))
    card_serial_hex: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10))  # in_flight | pending | done
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The envelope's place in its kiosk's order and its time (NULL in rows from before
    # revision 0004).
    sequence: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    kiosk_time: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(10), nullable=True)  # accepted | rejected
    reason_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    result_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


# --- certificate revocation ---------------------------------------------------------------


class CrlState(Base):
    __tablename__ = "crls"
    issuer: Mapped[str] = mapped_column(String(512), primary_key=True)
    this_update: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    next_update: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class RevokedCertificate(Base):
    __tablename__ = "revoked_certificates"
    issuer: Mapped[str] = mapped_column(String(512), primary_key=True)
    serial_hex: Mapped[str] = mapped_column(String(64), primary_key=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


# --- the payment-service catalog -------------------------------------------------------


class PaymentService(Base):
    __tablename__ = "payment_services"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_ja: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    grant_on: Mapped[str] = mapped_column(String(16))
    app_only: Mapped[bool] = mapped_column(Boolean)
    not_at_convenience_store: Mapped[bool] = mapped_column(Boolean)
    pre_registration: Mapped[bool] = mapped_column(Boolean)
    selectable_from: Mapped[dt.date] = mapped_column(Date)
    fictional: Mapped[bool] = mapped_column(Boolean)
    # The ID and code are the card's number and security code: no kiosk may take them
    # (migration 0006; rules.check_available).
    card_credentials: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # What the kiosk's entry screens need (published, never read by the rules): a kana
    # reading for search, and for the ID and the security code a label, a hint and a
    # format. A catalog loaded now fills them all; NULL (not published: the kiosk falls back
    # to generic labels and leaves the format to the operator) only in a row stored before
    # migration 0003 whose code the packaged catalog lacks, until the next load-catalog.
    reading_ja: Mapped[str | None] = mapped_column(String(128), nullable=True)
    id_label_ja: Mapped[str | None] = mapped_column(String(128), nullable=True)
    id_label_en: Mapped[str | None] = mapped_column(String(128), nullable=True)
    id_hint_ja: Mapped[str | None] = mapped_column(Text, nullable=True)
    id_hint_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    id_pattern: Mapped[str | None] = mapped_column(Text, nullable=True)  # of the normalised ID
    id_example: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_label_ja: Mapped[str | None] = mapped_column(String(128), nullable=True)
    code_label_en: Mapped[str | None] = mapped_column(String(128), nullable=True)
    code_hint_ja: Mapped[str | None] = mapped_column(Text, nullable=True)
    code_hint_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    code_pattern: Mapped[str | None] = mapped_column(Text, nullable=True)
    sources_json: Mapped[str] = mapped_column(Text)  # {field: the seed line it comes from}


class CatalogMeta(Base):
    __tablename__ = "catalog_meta"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    etag: Mapped[str] = mapped_column(String(64))
    programme_json: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


# --- the audit trail ---------------------------------------------------------------------


class AuditEntry(Base):
    """Append-only (triggers refuse UPDATE, DELETE and TRUNCATE) and hash-chained: entry
    ``seq`` of chain ``chain`` (see ``grant_service/audit.py``)."""

    __tablename__ = "audit_log"
    chain: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    kiosk_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actor: Mapped[str] = mapped_column(String(20))  # citizen | guardian | technician | operator
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Marks what an investigator must look at (an application its holder says they did
    # not make).
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChain(Base):
    """The head of one audit chain: its last entry's number and hash. A writer locks the
    head of one free chain to append, so each chain is a line, and writers do not queue
    behind one row."""

    __tablename__ = "audit_chains"
    chain: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    # HMAC over (chain, last_seq, last_hash): rewinding a head to an earlier entry, to hide
    # a truncated tail, needs the key ("" for a chain never written).
    seal: Mapped[str] = mapped_column(String(64))


# --- part 2: My Page, points, credentials, re-issued cards ----------------------------------


class StatusChallenge(Base):
    """A one-time challenge a card signs to see its My Page status."""

    __tablename__ = "status_challenges"
    challenge: Mapped[str] = mapped_column(String(64), primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


class ApiCredential(Base):
    """Bearer tokens (only their hash) for technicians and programme operators (``admin``),
    payment operators (``operator``, one service each) and the J-LIS feed (``jlis_feed``)."""

    __tablename__ = "api_credentials"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    service_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # What a municipality, shop or facility token may act for: a municipality code (6
    # digits) for ``municipality`` and ``shop``, a facility code for ``facility``.
    scope: Mapped[str | None] = mapped_column(String(32), nullable=True)
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class CodeFailures(Base):
    """Wrong payment-service IDs or security codes, counted per payment account and per card
    (both by keyed hash) in a window, so that codes cannot be guessed (rules.py)."""

    __tablename__ = "code_failures"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # account | card
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class PointTransactionAnswer(Base):
    """What is kept of a payment operator's transaction, for idempotency only: a keyed
    digest of its id, a check of its content, and its first answer sealed under its
    content (``grant_service/point_answers.py``). No amount, time, account, person or
    operator transaction id: the state keeps no purchase history (seed 002, 004 #4017)."""

    __tablename__ = "point_transaction_answers"
    tx_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_check: Mapped[str] = mapped_column(String(64))
    sealed_answer: Mapped[bytes] = mapped_column(LargeBinary)


class PointTotal(Base):
    """Per-person totals: what counted toward the base, and the points granted. No time:
    when a person's total last changed would be when they last paid."""

    __tablename__ = "point_totals"
    mykey_id: Mapped[str] = mapped_column(ForeignKey("mykeys.mykey_id"), primary_key=True)
    counted_yen: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)


class LinkConflict(Base):
    """A re-issued certificate that already had its own MyKey ID: an operator decides which
    MyKey ID the person keeps, so nothing is ever granted twice."""

    __tablename__ = "link_conflicts"
    id: Mapped[int] = mapped_column(primary_key=True)
    old_issuer: Mapped[str] = mapped_column(String(512))
    old_serial_hex: Mapped[str] = mapped_column(String(64))
    new_issuer: Mapped[str] = mapped_column(String(512))
    new_serial_hex: Mapped[str] = mapped_column(String(64))
    old_mykey_id: Mapped[str] = mapped_column(ForeignKey("mykeys.mykey_id"))
    new_mykey_id: Mapped[str] = mapped_column(ForeignKey("mykeys.mykey_id"))
    state: Mapped[str] = mapped_column(String(10), default="open")  # open | resolved
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    kept_mykey_id: Mapped[str | None] = mapped_column(String(8), nullable=True)


# --- the fleet: what kiosks report, and the console's sign-ins ------------------------------


class KioskStatus(Base):
    """The latest heartbeat of each kiosk (one row per kiosk, overwritten only by a newer
    one). ``received_at`` is when the service last heard from it: the console shows a
    kiosk silent for ``SILENT_AFTER_INTERVALS`` of its intervals as silent, never its old
    figures as current."""

    __tablename__ = "kiosk_status"
    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))  # from the enrollment, not the kiosk
    store_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    store_name: Mapped[str] = mapped_column(String(100), default="")
    municipality: Mapped[str] = mapped_column(String(60), default="", index=True)
    app_version: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(12))  # idle | in_use | technician
    queue_depth: Mapped[int] = mapped_column(Integer)
    oldest_unsent_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    paper: Mapped[str] = mapped_column(String(10))  # ok | near_end | out | offline | unknown
    reader_present: Mapped[bool] = mapped_column(Boolean)
    card_on_reader: Mapped[bool] = mapped_column(Boolean)
    disk_free_bytes: Mapped[int] = mapped_column(BigInteger)
    clock_skew_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_sync_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    observed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # the kiosk's clock
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # the service's clock


class KioskStatusPoint(Base):
    """A kiosk's bounded history: one point per kiosk per ``fleet_history_bucket_minutes``
    (the latest heartbeat of that bucket), kept ``fleet_history_days``."""

    __tablename__ = "kiosk_status_history"
    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket_start: Mapped[dt.datetime] = mapped_column(UtcDateTime, primary_key=True, index=True)
    state: Mapped[str] = mapped_column(String(12))
    queue_depth: Mapped[int] = mapped_column(Integer)
    oldest_unsent_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    paper: Mapped[str] = mapped_column(String(10))
    observed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class FleetAlert(Base):
    """An alert a kiosk raised (``mynapoint.fleet.AlertKind``), and what operators did
    with it: open, then acknowledged (somebody is on it), then resolved."""

    __tablename__ = "fleet_alerts"
    __table_args__ = (
        Index("ix_fleet_alerts_kiosk_uuid", "kiosk_id", "uuid", unique=True),
        Index("ix_fleet_alerts_state_raised", "state", "raised_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String(64), index=True)
    uuid: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    raised_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # the kiosk's clock
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    receipt_number: Mapped[str | None] = mapped_column(String(14), nullable=True)
    detail: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(12), default="open")  # open | acknowledged | resolved
    acknowledged_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ConsoleSession(Base):
    """A signed-in console user (only the session id's hash is kept). Expires after
    ``console_idle_minutes`` without use, and ``console_session_hours`` after sign-in."""

    __tablename__ = "console_sessions"
    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    csrf_token: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2), default="ja")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


class ConsoleSignInFailures(Base):
    """Failed console sign-ins in a window, per name and per client address: past the
    limit, sign-in is refused until ``locked_until``, even with the right credential."""

    __tablename__ = "console_sign_in_failures"
    key: Mapped[str] = mapped_column(String(140), primary_key=True)  # name:<label> | addr:<ip>
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


# --- the MyKey platform: municipal points, point vouchers, service IDs (seed 004) --------


class MunicipalPointLot(Base):
    """Points one municipality granted to one MyKey ID at once (行政ポイント), with the
    expiry set when they were granted (seed 004 #4033). Points are spent oldest grant first
    (#4028) and never move to another person or municipality (#1013, #4030). Spending
    leaves no record but ``remaining`` (no purchase history, #4017)."""

    __tablename__ = "municipal_point_lots"
    __table_args__ = (Index("ix_municipal_point_lots_owner", "mykey_id", "municipality_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    mykey_id: Mapped[str] = mapped_column(ForeignKey("mykeys.mykey_id"))
    municipality_code: Mapped[str] = mapped_column(String(6))
    points: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    granted_on: Mapped[dt.date] = mapped_column(Date)  # the JST day
    expires_on: Mapped[dt.date] = mapped_column(Date, index=True)  # usable through this day
    # Points still here when they expired, or when the MyKey ID was revoked.
    lapsed: Mapped[int] = mapped_column(Integer, default=0)


class MunicipalGrantAnswer(Base):
    """A municipality's grant, for idempotency: a keyed digest of (municipality, grant id),
    a check of its content, and the first answer."""

    __tablename__ = "municipal_grant_answers"
    grant_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_check: Mapped[str] = mapped_column(String(64))
    answer_json: Mapped[str] = mapped_column(Text)


class PointVoucher(Base):
    """A point voucher (ポイント券), printed at a city-hall kiosk against the balance, its
    points held until it is used or cancelled (seed 004 #4016, #4021-4027).

    Once used, the voucher forgets whose it was (``mykey_id`` is cleared, its holds are
    dropped): what remains is that the voucher was used, when and by which shop, so that a
    second use is told when and where the first was, and no person's spending is kept."""

    __tablename__ = "point_vouchers"
    number: Mapped[str] = mapped_column(String(16), primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(6))
    points: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    issued_by_device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    # Keyed digest of (kiosk, request uuid): a retried issue gets this voucher again.
    issue_digest: Mapped[str] = mapped_column(String(64), unique=True)
    issue_check: Mapped[str] = mapped_column(String(64))
    mykey_id: Mapped[str | None] = mapped_column(ForeignKey("mykeys.mykey_id"), index=True)
    state: Mapped[str] = mapped_column(String(10))  # issued | used | cancelled | void
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    used_by: Mapped[str | None] = mapped_column(String(100), nullable=True)  # the shop
    # Keyed digest of (shop, redemption id): the shop's retry is answered as a replay.
    redemption_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PointVoucherHold(Base):
    """The points a voucher holds, lot by lot: cancelling returns them where they came
    from, with their own expiry."""

    __tablename__ = "point_voucher_holds"
    voucher_number: Mapped[str] = mapped_column(
        ForeignKey("point_vouchers.number"), primary_key=True
    )
    lot_id: Mapped[int] = mapped_column(ForeignKey("municipal_point_lots.id"), primary_key=True)
    points: Mapped[int] = mapped_column(Integer)


class ServiceLink(Base):
    """A library card (or another facility's user number) linked to a MyKey ID, per
    facility, so that one person links several libraries (seed 004 #3006). The number is
    kept only as a keyed digest (enough to answer "is N linked?") and its last four digits
    (for the citizen's screen); no loan is ever recorded (#3005)."""

    __tablename__ = "service_links"
    __table_args__ = (
        Index("uq_service_links_one_per_facility", "mykey_id", "facility_code", unique=True),
        Index("uq_service_links_number", "facility_code", "number_digest", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    mykey_id: Mapped[str] = mapped_column(ForeignKey("mykeys.mykey_id"))
    facility_code: Mapped[str] = mapped_column(String(32))
    municipality_code: Mapped[str] = mapped_column(String(6))
    number_digest: Mapped[str] = mapped_column(String(64))
    number_last4: Mapped[str] = mapped_column(String(4))
    linked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
