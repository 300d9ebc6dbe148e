"""concurrency: no row that every writer locks; claims that know their owner and order

- ``audit_log`` gains a ``chain`` column and its key becomes (chain, seq); the one
  ``audit_head`` row becomes the ``audit_chains`` table, one head per chain, so that
  concurrent writers append to different chains instead of queueing on one head
  (``grant_service/audit.py``). The existing entries are chain 0 and keep their hashes;
  more chains are added by ``prepare_database`` with the audit key. On PostgreSQL a
  statement trigger now refuses ``TRUNCATE`` too (row triggers never see it). A head row
  cannot be deleted (nor, on PostgreSQL, the table truncated): it is updated in place only.
- ``reservation_budget`` (one counter row) becomes ``reservation_budget_slots``: 64 slots,
  each issuing its share of the cap (``grant_service/budget.py``). The MyKey IDs issued so
  far are spread over the slots the way shares are (slot ``i`` gets ``issued // 64``, plus
  one if ``i < issued % 64``), which keeps every slot within its share of any cap at least
  as large as what was issued.
- ``submissions`` gains the claim's owner (``claim_token``), the envelope's place in its
  kiosk's order (``sequence``) and its time (``kiosk_time``), with indexes for the
  kiosk's order and for a card's unsettled items. Old rows keep NULLs there.
- ``code_failures`` counts wrong payment IDs and security codes per account and card.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BUDGET_SLOTS = 64  # grant_service/budget.py SLOTS
AUDIT_COLUMNS = (
    "seq, at, kiosk_id, actor, action, subject, outcome, reason_code, flagged, prev_hash, hash"
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _audit_log_table(name: str, *, chains: bool = True) -> None:
    """``audit_log`` as this revision makes it, or (``chains=False``) as revision 0003 had it."""
    key = ("chain", "seq") if chains else ("seq",)
    op.create_table(
        name,
        *([sa.Column("chain", sa.Integer(), nullable=False)] if chains else []),
        sa.Column("seq", sa.BigInteger() if chains else sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.Column("flagged", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=f"pk_{name}"),
    )


def _append_only_triggers() -> None:
    """The audit log is append-only, also for someone with SQL access to the tables."""
    if _postgresql():
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
        # INSERT OR REPLACE deletes the row it replaces without firing DELETE triggers
        # (unless recursive_triggers is on): refuse an insert onto a taken (chain, seq).
        op.execute(
            "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log WHEN EXISTS "
            "(SELECT 1 FROM audit_log WHERE chain = NEW.chain AND seq = NEW.seq) "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )


def _heads_kept_triggers() -> None:
    """A chain's head is updated, never deleted: a deleted head takes its chain with it."""
    if _postgresql():
        op.execute(
            "CREATE FUNCTION audit_chains_keep_heads() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit chain heads cannot be deleted'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_chains_no_delete BEFORE DELETE ON audit_chains "
            "FOR EACH ROW EXECUTE FUNCTION audit_chains_keep_heads()"
        )
        op.execute(
            "CREATE TRIGGER audit_chains_no_truncate BEFORE TRUNCATE ON audit_chains "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_chains_keep_heads()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_chains_no_delete BEFORE DELETE ON audit_chains "
            "BEGIN SELECT RAISE(ABORT, 'audit chain heads cannot be deleted'); END"
        )


def _drop_heads_kept_triggers() -> None:
    if _postgresql():
        op.execute("DROP TRIGGER audit_chains_no_truncate ON audit_chains")
        op.execute("DROP TRIGGER audit_chains_no_delete ON audit_chains")
        op.execute("DROP FUNCTION audit_chains_keep_heads()")
    else:
        op.execute("DROP TRIGGER audit_chains_no_delete")


def upgrade() -> None:
    # --- the audit log: (chain, seq) ---------------------------------------------------
    # A new table, filled from the old one: SQLite cannot change a primary key in place.
    _audit_log_table("audit_log_0004")
    op.execute(
        f"INSERT INTO audit_log_0004 (chain, {AUDIT_COLUMNS}) SELECT 0, {AUDIT_COLUMNS} "  # noqa: S608
        "FROM audit_log"
    )
    if _postgresql():
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.drop_table("audit_log")  # DROP TABLE fires no row trigger
    op.rename_table("audit_log_0004", "audit_log")
    if _postgresql():
        op.execute("ALTER TABLE audit_log RENAME CONSTRAINT pk_audit_log_0004 TO pk_audit_log")
    _append_only_triggers()

    op.create_table(
        "audit_chains",
        sa.Column("chain", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("seal", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain"),
    )
    # Chain 0 is the old single chain: same head, same seal.
    op.execute(
        "INSERT INTO audit_chains (chain, last_seq, last_hash, seal) "
        "SELECT 0, last_seq, last_hash, seal FROM audit_head WHERE id = 1"
    )
    _heads_kept_triggers()
    op.drop_table("audit_head")

    # --- the reservation budget: slots ----------------------------------------------------
    issued = op.get_bind().scalar(sa.text("SELECT issued FROM reservation_budget WHERE id = 1"))
    issued = int(issued or 0)
    slots = op.create_table(
        "reservation_budget_slots",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("issued", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slot"),
    )
    op.bulk_insert(
        slots,
        [
            {
                "slot": slot,
                "issued": issued // BUDGET_SLOTS + (1 if slot < issued % BUDGET_SLOTS else 0),
            }
            for slot in range(BUDGET_SLOTS)
        ],
    )
    op.drop_table("reservation_budget")

    # --- submissions: the claim's owner, the kiosk's order -------------------------------
    op.add_column("submissions", sa.Column("claim_token", sa.String(32), nullable=True))
    op.add_column("submissions", sa.Column("sequence", sa.BigInteger(), nullable=True))
    op.add_column("submissions", sa.Column("kiosk_time", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_submissions_kiosk_sequence", "submissions", ["kiosk_id", "sequence"])
    op.create_index(
        "ix_submissions_unsettled",
        "submissions",
        ["card_issuer", "card_serial_hex"],
        sqlite_where=sa.text("state != 'done'"),
        postgresql_where=sa.text("state != 'done'"),
    )

    # --- wrong codes ------------------------------------------------------------------
    op.create_table(
        "code_failures",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key"),
    )


def downgrade() -> None:
    op.drop_table("code_failures")
    op.drop_index("ix_submissions_unsettled", table_name="submissions")
    op.drop_index("ix_submissions_kiosk_sequence", table_name="submissions")
    with op.batch_alter_table("submissions") as batch_op:
        for column in ("kiosk_time", "sequence", "claim_token"):
            batch_op.drop_column(column)

    budget = op.create_table(
        "reservation_budget",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    issued = op.get_bind().scalar(sa.text("SELECT SUM(issued) FROM reservation_budget_slots"))
    op.bulk_insert(budget, [{"id": 1, "issued": int(issued or 0)}])
    op.drop_table("reservation_budget_slots")

    # One chain again: only chain 0 can go back (the others would not fit one line).
    extra = op.get_bind().scalar(sa.text("SELECT COUNT(*) FROM audit_log WHERE chain != 0"))
    if extra:
        raise RuntimeError(
            f"{extra} audit entries are in chains other than 0: the audit log cannot be "
            "downgraded to a single chain without breaking it"
        )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("seal", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO audit_head (id, last_seq, last_hash, seal) "
        "SELECT 1, last_seq, last_hash, seal FROM audit_chains WHERE chain = 0"
    )
    _drop_heads_kept_triggers()
    op.drop_table("audit_chains")
    _audit_log_table("audit_log_0003", chains=False)
    op.execute(
        f"INSERT INTO audit_log_0003 ({AUDIT_COLUMNS}) SELECT {AUDIT_COLUMNS} FROM audit_log"  # noqa: S608
    )
    if _postgresql():
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
    op.drop_table("audit_log")
    op.rename_table("audit_log_0003", "audit_log")
    if _postgresql():
        op.execute("ALTER TABLE audit_log RENAME CONSTRAINT pk_audit_log_0003 TO audit_log_pkey")
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
