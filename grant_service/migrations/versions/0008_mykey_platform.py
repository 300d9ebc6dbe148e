"""the MyKey platform: municipal points, point vouchers, service-ID links, revocation

Five new tables and one column (issue 18, seed 004):

- ``municipal_point_lots``: points a municipality granted (行政ポイント), each with the
  expiry set when it was granted; spent oldest grant first;
- ``municipal_grant_answers``: a grant's first answer, for the municipality's retries;
- ``point_vouchers`` and ``point_voucher_holds``: vouchers printed against the balance,
  and the points each holds, lot by lot;
- ``service_links``: library cards (and other facilities' user numbers) linked to a MyKey
  ID, kept as a keyed digest and the last four digits;
- ``api_credentials.scope``: the municipality, shop or facility a token acts for.

A MyKey ID's status may now also be ``revoked`` (a value, no schema change). Downgrading
drops the tables and the column, and with them every municipal point and link: do it only
on a database that never used them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("api_credentials") as batch:
        batch.add_column(sa.Column("scope", sa.String(length=32), nullable=True))

    op.create_table(
        "municipal_point_lots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mykey_id", sa.String(length=8), nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("lapsed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["mykey_id"], ["mykeys.mykey_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_municipal_point_lots_owner",
        "municipal_point_lots",
        ["mykey_id", "municipality_code"],
    )
    op.create_index("ix_municipal_point_lots_expires_on", "municipal_point_lots", ["expires_on"])

    op.create_table(
        "municipal_grant_answers",
        sa.Column("grant_digest", sa.String(length=64), nullable=False),
        sa.Column("content_check", sa.String(length=64), nullable=False),
        sa.Column("answer_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("grant_digest"),
    )

    op.create_table(
        "point_vouchers",
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        _time("issued_at"),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("issued_by_device_id", sa.Integer(), nullable=False),
        sa.Column("issue_digest", sa.String(length=64), nullable=False),
        sa.Column("issue_check", sa.String(length=64), nullable=False),
        sa.Column("mykey_id", sa.String(length=8), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        _time("used_at", nullable=True),
        sa.Column("used_by", sa.String(length=100), nullable=True),
        sa.Column("redemption_digest", sa.String(length=64), nullable=True),
        _time("cancelled_at", nullable=True),
        sa.ForeignKeyConstraint(["issued_by_device_id"], ["devices.id"]),
        sa.ForeignKeyConstraint(["mykey_id"], ["mykeys.mykey_id"]),
        sa.PrimaryKeyConstraint("number"),
        sa.UniqueConstraint("issue_digest"),
    )
    op.create_index("ix_point_vouchers_mykey_id", "point_vouchers", ["mykey_id"])
    op.create_index("ix_point_vouchers_redemption_digest", "point_vouchers", ["redemption_digest"])

    op.create_table(
        "point_voucher_holds",
        sa.Column("voucher_number", sa.String(length=16), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["municipal_point_lots.id"]),
        sa.ForeignKeyConstraint(["voucher_number"], ["point_vouchers.number"]),
        sa.PrimaryKeyConstraint("voucher_number", "lot_id"),
    )

    op.create_table(
        "service_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mykey_id", sa.String(length=8), nullable=False),
        sa.Column("facility_code", sa.String(length=32), nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("number_digest", sa.String(length=64), nullable=False),
        sa.Column("number_last4", sa.String(length=4), nullable=False),
        _time("linked_at"),
        sa.ForeignKeyConstraint(["mykey_id"], ["mykeys.mykey_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_service_links_one_per_facility",
        "service_links",
        ["mykey_id", "facility_code"],
        unique=True,
    )
    op.create_index(
        "uq_service_links_number", "service_links", ["facility_code", "number_digest"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_service_links_number", table_name="service_links")
    op.drop_index("uq_service_links_one_per_facility", table_name="service_links")
    op.drop_table("service_links")
    op.drop_table("point_voucher_holds")
    op.drop_index("ix_point_vouchers_redemption_digest", table_name="point_vouchers")
    op.drop_index("ix_point_vouchers_mykey_id", table_name="point_vouchers")
    op.drop_table("point_vouchers")
    op.drop_table("municipal_grant_answers")
    op.drop_index("ix_municipal_point_lots_expires_on", table_name="municipal_point_lots")
    op.drop_index("ix_municipal_point_lots_owner", table_name="municipal_point_lots")
    op.drop_table("municipal_point_lots")
    with op.batch_alter_table("api_credentials") as batch:
        batch.drop_column("scope")
