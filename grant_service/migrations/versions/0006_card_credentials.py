"""payment services: whether the ID and code are a card's number and security code

Adds ``payment_services.card_credentials``: the programme's payment-service ID and
security code for this service are the card's number and the security code printed on
it. No kiosk may take those two together (a public terminal; PCI DSS keeps no security
code after authorisation), so ``rules.check_available`` refuses such a service from every
kiosk (``SERVICE_CARD_CREDENTIALS``) and the kiosks show it as not selectable.

Backfill. ``serve`` loads the catalog only into an empty database, so a row left false
would keep taking card numbers with their codes until someone ran ``load-catalog``. A
row becomes true when the catalog packaged with this release flags its code, or when it
is a credit card (``kind = 'credit'``): every catalog before this flag took a credit
card's number and code (a catalog loaded from another file fails safe until it is loaded
again, and then says so itself). The packaged file is read as plain JSON, so a later
edition cannot break this revision. When a row changes, ``catalog_meta.etag`` changes
too, so a cache keyed on it reads the rows again (as in 0003). Downgrading drops the
column.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10 09:00:00.000000
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

from mynapoint.packaged_catalog import PACKAGED_CATALOG

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (SQLite's ALTER TABLE ADD COLUMN takes a NOT NULL with a default).
    op.add_column(
        "payment_services",
        sa.Column("card_credentials", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    _backfill()


def _packaged_flagged() -> set[str]:
    document = json.loads(PACKAGED_CATALOG.read_text(encoding="utf-8"))
    return {
        service["code"]
        for service in document.get("services", [])
        if service.get("card_credentials") is True
    }


def _backfill() -> None:
    bind = op.get_bind()
    services = sa.table(
        "payment_services",
        sa.column("code", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("card_credentials", sa.Boolean()),
    )
    flagged = sa.or_(services.c.code.in_(sorted(_packaged_flagged())), services.c.kind == "credit")
    changed = bind.execute(services.update().where(flagged).values(card_credentials=True))
    if changed.rowcount:
        meta = sa.table("catalog_meta", sa.column("id", sa.Integer()), sa.column("etag"))
        for id_, etag in bind.execute(sa.select(meta.c.id, meta.c.etag)).all():
            bumped = hashlib.sha256(f"{etag} {revision}".encode()).hexdigest()[:32]
            bind.execute(meta.update().where(meta.c.id == id_).values(etag=bumped))


def downgrade() -> None:
    with op.batch_alter_table("payment_services") as batch_op:
        batch_op.drop_column("card_credentials")
