"""the fleet: kiosks' heartbeats and alerts, and the console's sign-ins

Five new tables (issue 16, the operators' view), nothing else changes:

- ``kiosk_status``: each kiosk's latest heartbeat (one row per kiosk);
- ``kiosk_status_history``: one point per kiosk per bucket, kept ``fleet_history_days``;
- ``fleet_alerts``: the alerts kiosks raised, one per (kiosk, uuid), and what operators did;
- ``console_sessions`` and ``console_sign_in_failures``: the console's sign-ins.

They hold no personal data: a "did not make this application" report keeps only its
receipt number and time. Downgrading drops the five tables and what they hold (the
kiosks report again; alerts already handled are in the audit log).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-20 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "kiosk_status",
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=True),
        sa.Column("store_name", sa.String(length=100), nullable=False),
        sa.Column("municipality", sa.String(length=60), nullable=False),
        sa.Column("app_version", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("queue_depth", sa.Integer(), nullable=False),
        sa.Column("oldest_unsent_seconds", sa.Integer(), nullable=True),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("paper", sa.String(length=10), nullable=False),
        sa.Column("reader_present", sa.Boolean(), nullable=False),
        sa.Column("card_on_reader", sa.Boolean(), nullable=False),
        sa.Column("disk_free_bytes", sa.BigInteger(), nullable=False),
        sa.Column("clock_skew_seconds", sa.Float(), nullable=True),
        _time("last_sync_at", nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        _time("observed_at"),
        _time("received_at"),
        sa.PrimaryKeyConstraint("kiosk_id"),
    )
    op.create_index("ix_kiosk_status_municipality", "kiosk_status", ["municipality"])

    op.create_table(
        "kiosk_status_history",
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        _time("bucket_start"),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("queue_depth", sa.Integer(), nullable=False),
        sa.Column("oldest_unsent_seconds", sa.Integer(), nullable=True),
        sa.Column("paper", sa.String(length=10), nullable=False),
        _time("observed_at"),
        sa.PrimaryKeyConstraint("kiosk_id", "bucket_start"),
    )
    op.create_index(
        "ix_kiosk_status_history_bucket_start", "kiosk_status_history", ["bucket_start"]
    )

    op.create_table(
        "fleet_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        _time("raised_at"),
        _time("received_at"),
        sa.Column("receipt_number", sa.String(length=14), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=True),
        _time("acknowledged_at", nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        _time("resolved_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # One row per alert a kiosk raised: a resend of it conflicts here and writes nothing.
    op.create_index("ix_fleet_alerts_kiosk_uuid", "fleet_alerts", ["kiosk_id", "uuid"], unique=True)
    op.create_index("ix_fleet_alerts_state_raised", "fleet_alerts", ["state", "raised_at"])
    op.create_index("ix_fleet_alerts_kiosk_id", "fleet_alerts", ["kiosk_id"])

    op.create_table(
        "console_sessions",
        sa.Column("id_sha256", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        _time("created_at"),
        _time("last_seen_at"),
        _time("expires_at"),
        sa.PrimaryKeyConstraint("id_sha256"),
    )
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])

    op.create_table(
        "console_sign_in_failures",
        sa.Column("key", sa.String(length=140), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        _time("window_start"),
        _time("locked_until", nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("console_sign_in_failures")
    op.drop_index("ix_console_sessions_expires_at", table_name="console_sessions")
    op.drop_table("console_sessions")
    for index in (
        "ix_fleet_alerts_kiosk_id",
        "ix_fleet_alerts_state_raised",
        "ix_fleet_alerts_kiosk_uuid",
    ):
        op.drop_index(index, table_name="fleet_alerts")
    op.drop_table("fleet_alerts")
    op.drop_index("ix_kiosk_status_history_bucket_start", table_name="kiosk_status_history")
    op.drop_table("kiosk_status_history")
    op.drop_index("ix_kiosk_status_municipality", table_name="kiosk_status")
    op.drop_table("kiosk_status")
