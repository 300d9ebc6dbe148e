"""no purchase history; certificate renewals

The state collects and keeps no purchase history (seed 002, seed 004 #4017), and the
24-hour wait is for renewed or re-issued certificates only (seed 002).

- ``point_transactions`` (every operator transaction: amount, time of purchase and of
  receipt, account, MyKey ID, operator id, base counted, points) becomes
  ``point_transaction_answers``: per transaction a keyed digest of its service and id, a
  check of its content and its first answer sealed under its content
  (``grant_service/point_answers.py``), which is what a replay needs and all that is
  kept. Each old row is converted from its stored fingerprint, so replays of old
  transactions keep their first answers and other content under an old id is still
  ``TX_ID_REUSED``. The digest is keyed with the service's account key, which
  ``grant-service migrate`` (and ``serve``) hands to this revision; an upgrade that has old
  rows and no key is refused.
- ``point_totals`` loses ``updated_at`` (when a person's total last changed is when they
  last paid).
- ``certificate_renewals``: certificates the J-LIS feed reported as renewing or replacing
  an earlier one, filled from the re-issued certificates already linked
  (``card_certificates.reissued_from_*``). Renewals the feed reported for a card that
  never reserved were not kept before this revision and cannot be recovered.

On SQLite the freed pages are overwritten (``secure_delete``); older copies may still be in
the WAL file, in PostgreSQL's dead tuples and dropped-column values (``VACUUM FULL
point_totals``) and in backups: the README's points section says so.

Downgrading drops ``certificate_renewals`` and puts the old tables back empty, which is
refused while any transaction answer is kept: the old schema finds a replay by the
operator's id in the clear, which is gone, so every replay would be granted again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-12 09:00:00.000000
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ACCOUNT_KEY = "account_key"  # config attribute: grant_service/migrate.py
CHUNK = 5000


# grant_service/point_answers.py at this revision, written out so that a later change
# there cannot change what this revision writes (the migration tests replay old
# transactions through the service to show the two agree).
def _tx_digest(key: bytes, service_code: str, tx_id: str) -> str:
    return hmac.new(key, f"point-tx\x1f{service_code}\x1f{tx_id}".encode(), "sha256").hexdigest()


def _derive(fingerprint: str, label: bytes) -> bytes:
    return hmac.new(bytes.fromhex(fingerprint), label, "sha256").digest()


def _seal(fingerprint: str, answer: list[Any]) -> bytes:
    nonce = secrets.token_bytes(12)
    plain = json.dumps(answer, separators=(",", ":")).encode()
    return nonce + AESGCM(_derive(fingerprint, b"answer-seal")).encrypt(nonce, plain, None)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _old_transactions_table() -> None:
    """``point_transactions`` as revision 0002 made it."""
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
        sa.ForeignKeyConstraint(["mykey_id"], ["mykeys.mykey_id"]),
        sa.PrimaryKeyConstraint("service_code", "operator_tx_id"),
    )
    op.create_index("ix_point_transactions_mykey_id", "point_transactions", ["mykey_id"])


def _convert_transactions(answers: sa.Table) -> None:
    bind = op.get_bind()
    old = sa.table(
        "point_transactions",
        *(sa.column(name) for name in ("service_code", "operator_tx_id", "fingerprint",
                                       "outcome", "counted_yen", "points", "reason_code",
                                       "mykey_id")),
    )  # fmt: skip
    if bind.scalar(sa.select(sa.func.count()).select_from(old)) == 0:
        return
    key = context.config.attributes.get(ACCOUNT_KEY)
    if not key:
        raise RuntimeError(
            "point_transactions holds rows and this revision needs the service's account key "
            "to convert them: run `grant-service migrate`"
        )
    rows = bind.execute(sa.select(old).execution_options(yield_per=CHUNK))
    for part in rows.partitions():
        bind.execute(
            answers.insert(),
            [
                {
                    "tx_digest": _tx_digest(key, r.service_code, r.operator_tx_id),
                    "content_check": _derive(r.fingerprint, b"content-check").hex(),
                    "sealed_answer": _seal(
                        r.fingerprint,
                        [r.outcome, r.counted_yen, r.points, r.reason_code, r.mykey_id],
                    ),
                }
                for r in part
            ],
        )


def upgrade() -> None:
    if not _postgresql():
        op.execute("PRAGMA secure_delete = ON")  # dropped rows are zeroed in the file

    # --- point transactions: only what a replay needs --------------------------------
    answers = op.create_table(
        "point_transaction_answers",
        sa.Column("tx_digest", sa.String(length=64), nullable=False),
        sa.Column("content_check", sa.String(length=64), nullable=False),
        sa.Column("sealed_answer", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tx_digest"),
    )
    _convert_transactions(answers)
    op.drop_index("ix_point_transactions_mykey_id", table_name="point_transactions")
    op.drop_table("point_transactions")
    with op.batch_alter_table("point_totals") as batch_op:
        batch_op.drop_column("updated_at")

    # --- certificate renewals ----------------------------------------------------------
    op.create_table(
        "certificate_renewals",
        sa.Column("issuer", sa.String(length=512), nullable=False),
        sa.Column("serial_hex", sa.String(length=64), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "serial_hex"),
    )
    op.execute(
        "INSERT INTO certificate_renewals (issuer, serial_hex, not_before) "
        "SELECT issuer, serial_hex, not_before FROM card_certificates "
        "WHERE reissued_from_issuer IS NOT NULL"
    )


def downgrade() -> None:
    # Refused before anything changes (on SQLite alembic commits each revision on its own).
    kept = op.get_bind().scalar(sa.text("SELECT COUNT(*) FROM point_transaction_answers"))
    if kept:
        raise RuntimeError(
            f"{kept} point transactions are kept only as digests: the old schema would "
            "grant their replays again, so it cannot take them back"
        )
    op.drop_table("certificate_renewals")
    with op.batch_alter_table("point_totals") as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE point_totals SET updated_at = CURRENT_TIMESTAMP")
    with op.batch_alter_table("point_totals") as batch_op:
        batch_op.alter_column("updated_at", nullable=False)
    _old_transactions_table()
    op.drop_table("point_transaction_answers")
