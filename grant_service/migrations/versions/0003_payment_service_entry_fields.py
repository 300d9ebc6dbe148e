"""payment services: what the kiosk's entry screens need, in columns of their own

Adds to ``payment_services`` a column for each field the catalog now publishes for the
kiosk's entry screens (``reading_ja``; label, hint and format of the payment-service ID,
with a fake example; label, hint and format of the security code), all nullable: a row
whose values are unknown publishes none of them and the kiosk falls back to its generic
labels, leaving the format to the operator.

Backfill. A database loaded before this revision has the rows but not these values, and
nothing would bring them in by itself: ``prepare_database`` (``serve``) loads the catalog
only into a database that has none, and until an operator runs ``grant-service
load-catalog`` the kiosks would get no reading to search by, no labels and no formats to
check an ID against. So each row whose service code is in the catalog packaged with this
release (``mynapoint/data/catalog.json``) gets that catalog's values for the code: the
values belong to the service (they are the simulated operators' formats), not to a
catalog edition. A row whose code the packaged catalog lacks (a catalog loaded from
another file) keeps NULLs until its catalog is loaded again. The file is read as plain
JSON, field by field, so a later edition of it cannot break this revision.

A row written by the interim code that kept these values inside ``sources_json`` (as
``{"sources": ..., "entry": ...}``, never released) gets those values (what was loaded)
and its ``sources_json`` goes back to holding only the sources.

When a row changes, the stored catalog ETag (``catalog_meta.etag``) changes too, so a
cache keyed on it reads the rows again. The ETag kiosks see is computed from what is
published, so it changes anyway. The backfill writes no audit entry: a migration has no
audit key. Downgrading drops the columns (and the values with them).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:45:02.000000
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from mynapoint.packaged_catalog import PACKAGED_CATALOG

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = (
    ("reading_ja", sa.String(length=128)),
    ("id_label_ja", sa.String(length=128)),
    ("id_label_en", sa.String(length=128)),
    ("id_hint_ja", sa.Text()),
    ("id_hint_en", sa.Text()),
    ("id_pattern", sa.Text()),
    ("id_example", sa.String(length=64)),
    ("code_label_ja", sa.String(length=128)),
    ("code_label_en", sa.String(length=128)),
    ("code_hint_ja", sa.Text()),
    ("code_hint_en", sa.Text()),
    ("code_pattern", sa.Text()),
)
NAMES = [name for name, _ in COLUMNS]


def upgrade() -> None:
    # Added in place (SQLite's ALTER TABLE ADD COLUMN), like 0002's columns: no table copy.
    for name, type_ in COLUMNS:
        op.add_column("payment_services", sa.Column(name, type_, nullable=True))
    _backfill()


def _packaged_values() -> dict[str, dict[str, str]]:
    """Per service code, the packaged catalog's values for the new columns."""
    document = json.loads(PACKAGED_CATALOG.read_text(encoding="utf-8"))
    return {
        service["code"]: {n: service[n] for n in NAMES if isinstance(service.get(n), str)}
        for service in document.get("services", [])
    }


def _interim(sources_json: str) -> tuple[dict[str, Any], dict[str, str]] | None:
    """(sources, values) of a row stored as ``{"sources": ..., "entry": ...}``."""
    try:
        stored = json.loads(sources_json)
    except ValueError:
        return None
    if not (isinstance(stored, dict) and set(stored) == {"sources", "entry"}):
        return None
    sources, entry = stored["sources"], stored["entry"]
    if not (isinstance(sources, dict) and isinstance(entry, dict)):
        return None
    return sources, {n: entry[n] for n in NAMES if isinstance(entry.get(n), str)}


def _backfill() -> None:
    bind = op.get_bind()
    services = sa.table(
        "payment_services",
        sa.column("code", sa.String()),
        sa.column("sources_json", sa.Text()),
        *(sa.column(name, type_) for name, type_ in COLUMNS),
    )
    packaged = _packaged_values()
    changed = False
    rows = bind.execute(sa.select(services.c.code, services.c.sources_json)).all()
    for code, sources_json in rows:
        values: dict[str, Any] = dict(packaged.get(code, {}))
        interim = _interim(sources_json)
        if interim is not None:
            sources, entry = interim
            values |= entry
            values["sources_json"] = json.dumps(sources)
        if values:
            bind.execute(services.update().where(services.c.code == code).values(**values))
            changed = True
    if changed:
        meta = sa.table("catalog_meta", sa.column("id", sa.Integer()), sa.column("etag"))
        for id_, etag in bind.execute(sa.select(meta.c.id, meta.c.etag)).all():
            bumped = hashlib.sha256(f"{etag} {revision}".encode()).hexdigest()[:32]
            bind.execute(meta.update().where(meta.c.id == id_).values(etag=bumped))


def downgrade() -> None:
    with op.batch_alter_table("payment_services") as batch_op:
        for name in reversed(NAMES):
            batch_op.drop_column(name)
