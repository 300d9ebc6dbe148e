"""my page, points, credentials, re-issued cards

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:58:28.696241
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_credentials",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("service_code", sa.String(length=32), nullable=True),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    op.create_table(
        "status_challenges",
        sa.Column("challenge", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("challenge"),
    )
    with op.batch_alter_table("status_challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_challenges_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "link_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("old_issuer", sa.String(length=512), nullable=False),
        sa.Column("old_serial_hex", sa.String(length=64), nullable=False),
        sa.Column("new_issuer", sa.String(length=512), nullable=False),
        sa.Column("new_serial_hex", sa.String(length=64), nullable=False),
        sa.Column("old_mykey_id", sa.String(length=8), nullable=False),
        sa.Column("new_mykey_id", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kept_mykey_id", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(
            ["new_mykey_id"],
            ["mykeys.mykey_id"],
        ),
        sa.ForeignKeyConstraint(
            ["old_mykey_id"],
            ["mykeys.mykey_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "point_totals",
        sa.Column("mykey_id", sa.String(length=8), nullable=False),
        sa.Column("counted_yen", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mykey_id"],
            ["mykeys.mykey_id"],
        ),
        sa.PrimaryKeyConstraint("mykey_id"),
    )
    op.create_table(
        "point_transactions",
        sa.Column("service_code", sa.String(length=32), nullable=False),
        sa.Column("operator_tx_id", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("account_hmac", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount_yen", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mykey_id", sa.String(length=8), nullable=True),
        sa.Column("counted_yen", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["mykey_id"],
            ["mykeys.mykey_id"],
        ),
        sa.PrimaryKeyConstraint("service_code", "operator_tx_id"),
    )
    with op.batch_alter_table("point_transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_point_transactions_mykey_id"), ["mykey_id"], unique=False
        )

    # Columns are added in place (SQLite's ALTER TABLE ADD COLUMN): no table is copied, so
    # the audit log keeps its append-only triggers.
    op.add_column("applications", sa.Column("cancel_reason", sa.String(20), nullable=True))
    op.add_column("applications", sa.Column("cancel_receipt_number", sa.String(14), nullable=True))
    op.add_column("applications", sa.Column("cancelled_by_device_id", sa.Integer(), nullable=True))
    op.add_column(
        "audit_log",
        sa.Column("flagged", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "card_certificates", sa.Column("reissued_from_issuer", sa.String(512), nullable=True)
    )
    op.add_column(
        "card_certificates", sa.Column("reissued_from_serial", sa.String(64), nullable=True)
    )
    op.add_column("mykeys", sa.Column("status_reason", sa.String(200), nullable=True))
    op.add_column(
        "mykeys", sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    for table, column in (
        ("mykeys", "status_changed_at"),
        ("mykeys", "status_reason"),
        ("card_certificates", "reissued_from_serial"),
        ("card_certificates", "reissued_from_issuer"),
        ("audit_log", "flagged"),
        ("applications", "cancelled_by_device_id"),
        ("applications", "cancel_receipt_number"),
        ("applications", "cancel_reason"),
    ):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column(column)

    with op.batch_alter_table("point_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_point_transactions_mykey_id"))

    op.drop_table("point_transactions")
    op.drop_table("point_totals")
    op.drop_table("link_conflicts")
    with op.batch_alter_table("status_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_challenges_expires_at"))

    op.drop_table("status_challenges")
    op.drop_table("api_credentials")
