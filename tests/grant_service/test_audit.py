"""The audit trail: every operation, append-only, in chains that show any change, and
checkpoints (signed heads kept off the host) that show what the chains alone cannot: a tail
cut with its head put back to a genuine earlier state, a wiped log, a deleted chain.

The attacks are made with SQL, as someone with write access to the database and without
the service's keys would make them; checkpoints are taken and checked with the CLI."""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from grant_service import audit
from grant_service.cli import audit_snapshot
from grant_service.keys import ServiceKeys, public_key_base64
from grant_service.models import AuditChain, AuditEntry
from tests.conftest import run_cli
from tests.support.service_harness import ServiceEnv

WRITERS = 4  # transactions appending at once: on PostgreSQL, chains 0-3


def busy_service(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    for _ in range(3):
        card = service.card()
        kiosk.reserve(card)
        kiosk.apply(card, "paypay", "bad-id")


def is_postgresql(service: ServiceEnv) -> bool:
    return service.settings.database_url.startswith("postgresql")


def write_from_concurrent_transactions(service: ServiceEnv, rounds: int = 2) -> dict[int, int]:
    """Entries appended by ``WRITERS`` transactions open at once. On PostgreSQL each holds
    a chain of its own until it commits (SKIP LOCKED), so they fill chains 0-3; SQLite has
    one writer at a time, and everything goes to chain 0. Returns entries per chain."""
    key = service.audit_key

    def write(writer: int, round_: int, barrier: threading.Barrier | None) -> None:
        events = [
            audit.Event("technician", "test.append", f"w{writer}-r{round_}-{i}", "accepted")
            for i in range(3)
        ]
        with service.sessions.begin() as session:
            audit.append_many(session, key, events, service.clock())
            if barrier is not None:  # every writer holds its chain at the same time
                barrier.wait(timeout=30)

    for round_ in range(rounds):
        if is_postgresql(service):
            barrier = threading.Barrier(WRITERS)
            with ThreadPoolExecutor(WRITERS) as pool:
                futures = [pool.submit(write, w, round_, barrier) for w in range(WRITERS)]
                for future in futures:
                    future.result()
        else:
            for writer in range(WRITERS):
                write(writer, round_, None)
    per_chain = entries_per_chain(service)
    if is_postgresql(service):
        assert set(per_chain) == set(range(WRITERS)), per_chain
    else:
        assert set(per_chain) == {0}, per_chain
    return per_chain


def entries_per_chain(service: ServiceEnv) -> dict[int, int]:
    with service.sessions() as session:
        rows = session.execute(
            select(AuditEntry.chain, func.count()).group_by(AuditEntry.chain)
        ).all()
    return {chain: count for chain, count in rows}


def last_chain(service: ServiceEnv) -> int:
    """The chain to attack: one the concurrent writers filled (chain 0 on SQLite)."""
    return max(entries_per_chain(service))


def verify(service: ServiceEnv, *checkpoints: audit.Checkpoint) -> audit.VerifyReport:
    with service.sessions() as session:
        return audit.verify(session, service.audit_key, checkpoints)


def cli(service: ServiceEnv, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "grant-service",
        *args,
        "--database-url",
        service.settings.database_url,
        env={"GRANT_SERVICE_DATA_DIR": str(service.settings.data_dir)},
    )


def cli_verify(
    service: ServiceEnv, *checkpoints: Path, trusted_key: str | None = None
) -> subprocess.CompletedProcess[str]:
    args = [arg for path in checkpoints for arg in ("--checkpoint", str(path))]
    if trusted_key is not None:
        args += ["--trusted-key", trusted_key]
    return cli(service, "audit-verify", *args)


def cli_checkpoint(service: ServiceEnv) -> Path:
    """A checkpoint taken with the CLI, in a directory of its own; the file's path."""
    directory = Path(tempfile.mkdtemp(dir=service.workdir, prefix="checkpoints-"))
    result = cli(service, "audit-checkpoint", str(directory))
    assert result.returncode == 0, result.stderr
    (path,) = directory.iterdir()
    assert result.stderr.strip().endswith(f": {path}")
    return path


def assert_intact(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Audit trail intact" in result.stdout


def assert_broken(result: subprocess.CompletedProcess[str], problem: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "AUDIT TRAIL BROKEN" in result.stderr and problem in result.stderr, result.stderr


def assert_refused(result: subprocess.CompletedProcess[str], reason: str) -> None:
    assert result.returncode == 3, result.stdout + result.stderr
    assert "CHECKPOINT REFUSED" in result.stderr and reason in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def without_append_only_triggers(service: ServiceEnv, *statements: str, **params: object) -> None:
    """What someone with direct SQL access could do: lift the guards, then change history
    (``statements``, with ``params`` bound)."""
    with service.sessions.begin() as session:
        if is_postgresql(service):
            for table, trigger in [
                ("audit_log", "audit_log_append_only"),
                ("audit_log", "audit_log_no_truncate"),
                ("audit_chains", "audit_chains_no_delete"),
                ("audit_chains", "audit_chains_no_truncate"),
            ]:
                session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
        else:
            for trigger in (
                "audit_log_no_update",
                "audit_log_no_delete",
                "audit_log_no_replace",
                "audit_chains_no_delete",
            ):
                session.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        for statement in statements:
            session.execute(text(statement), params)


def head(service: ServiceEnv, chain: int) -> tuple[int, str, str]:
    with service.sessions() as session:
        row = session.get(AuditChain, chain)
        assert row is not None
        return row.last_seq, row.last_hash, row.seal


# --- what is recorded ---------------------------------------------------------------------


def test_every_operation_is_recorded(service: ServiceEnv) -> None:
    busy_service(service)
    with service.sessions() as session:
        entries = session.scalars(
            select(AuditEntry).order_by(AuditEntry.chain, AuditEntry.seq)
        ).all()
    actions = [(e.action, e.outcome, e.reason_code) for e in entries]
    assert ("device.enroll", "accepted", None) in actions
    assert actions.count(("submission.reservation", "accepted", None)) == 3
    assert actions.count(("submission.application", "rejected", "MKCZ374E")) == 3
    assert {"catalog.load", "crl.import", "device.enrollment_token"} <= {a for a, _, _ in actions}
    kiosk_entries = [e for e in entries if e.action.startswith(("submission.", "device."))]
    assert {e.kiosk_id for e in kiosk_entries} == {"kiosk-0001"}
    operator_entries = [e for e in entries if e.actor == "operator"]
    assert {e.action for e in operator_entries} == {"catalog.load", "crl.import"}


def test_a_guardian_acting_for_a_minor_is_recorded_as_such(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    kiosk.reserve(service.card(), for_whom="minor")
    with service.sessions() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert last is not None and (last.actor, last.action) == ("guardian", "submission.reservation")


# --- the chains, and the triggers ---------------------------------------------------------


def test_an_intact_trail_verifies_alone_and_against_its_checkpoints(service: ServiceEnv) -> None:
    busy_service(service)
    per_chain = write_from_concurrent_transactions(service, rounds=1)
    first = cli_checkpoint(service)
    write_from_concurrent_transactions(service, rounds=1)
    second = cli_checkpoint(service)
    report = verify(service)
    assert report.ok and report.entries == sum(entries_per_chain(service).values())
    assert report.chains == service.settings.audit_chains  # the empty ones are checked too
    saw = json.loads(first.read_text())
    assert {h["chain"]: h["seq"] for h in saw["heads"] if h["seq"]} == per_chain
    assert saw["entries"] == sum(per_chain.values())
    assert_intact(cli_verify(service))
    result = cli_verify(service, first, second)
    assert_intact(result)
    assert f"{report.entries} entries in {report.chains} chains" in result.stdout
    made = [json.loads(path.read_text())["made_at"] for path in (first, second)]
    assert f"checked against the checkpoints of {made[0]}, {made[1]}" in result.stdout


def test_the_log_refuses_updates_deletes_and_truncation(service: ServiceEnv) -> None:
    busy_service(service)
    statements = ["UPDATE audit_log SET outcome = 'accepted'", "DELETE FROM audit_log"]
    if is_postgresql(service):  # SQLite has no TRUNCATE; its DELETE trigger sees every row
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            service.sessions.begin() as session,
        ):
            session.execute(text(statement))
    assert verify(service).ok


def test_the_heads_refuse_deletes_and_truncation(service: ServiceEnv) -> None:
    busy_service(service)
    statements = ["DELETE FROM audit_chains WHERE chain = 0", "DELETE FROM audit_chains"]
    if is_postgresql(service):
        statements.append("TRUNCATE audit_chains")
    for statement in statements:
        with (
            pytest.raises(DatabaseError, match="audit chain heads cannot be deleted"),
            service.sessions.begin() as session,
        ):
            session.execute(text(statement))
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditChain)) == (
            service.settings.audit_chains
        )
    busy_service(service)  # heads are updated in place: appending still works
    assert verify(service).ok


def test_a_changed_row_is_detected(service: ServiceEnv) -> None:
    busy_service(service)
    write_from_concurrent_transactions(service)
    without_append_only_triggers(
        service,
        "UPDATE audit_log SET outcome = 'accepted', reason_code = NULL WHERE chain = 0 AND "
        "seq = (SELECT MIN(seq) FROM audit_log WHERE chain = 0 AND reason_code = 'MKCZ374E')",
    )
    report = verify(service)
    assert not report.ok and "was changed" in report.problem
    assert_broken(cli_verify(service), "was changed")


def test_a_deleted_row_is_detected(service: ServiceEnv) -> None:
    busy_service(service)
    write_from_concurrent_transactions(service)
    chain = last_chain(service)
    without_append_only_triggers(
        service, "DELETE FROM audit_log WHERE chain = :chain AND seq = 3", chain=chain
    )
    report = verify(service)
    where = f"chain {chain}: entry 3" if chain else "entry 3"
    assert not report.ok and f"{where} is missing" in report.problem


def test_a_verification_sees_one_moment_while_writers_append(service: ServiceEnv) -> None:
    """``audit-verify`` reads the heads, then walks the chains; an entry committed in
    between must not look like a tail that its head does not know."""
    busy_service(service)
    key = service.audit_key
    appended: list[int] = []

    def append_before_the_walk(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "FROM audit_log" in statement and not appended:
            appended.append(1)
            with service.sessions.begin() as writer:
                event = audit.Event("technician", "test.append", "meanwhile", "accepted")
                audit.append_many(writer, key, [event], service.clock())

    with audit_snapshot(service.settings) as session:
        sa_event.listen(session.connection(), "before_cursor_execute", append_before_the_walk)
        report = audit.verify(session, key)
    assert appended and report.ok, report
    assert verify(service).entries == report.entries + 1
    if is_postgresql(service):  # what READ COMMITTED, a snapshot per statement, would say
        appended.clear()
        with service.sessions() as session:
            sa_event.listen(session.connection(), "before_cursor_execute", append_before_the_walk)
            report = audit.verify(session, key)
        assert appended and not report.ok and "head does not match" in report.problem


# --- truncation -------------------------------------------------------------------------


def test_a_cut_tail_with_its_head_rewound_is_detected(service: ServiceEnv) -> None:
    """The tail of a chain deleted and its head pointed at the new last entry, with that
    entry's genuine hash: the head's seal (made with the key) no longer matches, and the
    checkpoint saw entries that are gone."""
    busy_service(service)
    write_from_concurrent_transactions(service)
    checkpoint = cli_checkpoint(service)
    chain = last_chain(service)
    last_seq, _, _ = head(service, chain)
    without_append_only_triggers(
        service,
        "DELETE FROM audit_log WHERE chain = :chain AND seq > :seq",
        "UPDATE audit_chains SET last_seq = :seq, last_hash = (SELECT hash FROM audit_log "
        "WHERE chain = :chain AND seq = :seq) WHERE chain = :chain",
        chain=chain,
        seq=last_seq - 2,
    )
    report = verify(service)
    assert not report.ok and f"chain {chain}'s head was rewritten" in report.problem
    assert_broken(cli_verify(service), f"chain {chain}'s head was rewritten")
    assert_broken(
        cli_verify(service, checkpoint),
        f"chain {chain} ends at entry {last_seq - 2}, but a checkpoint saw entry {last_seq}",
    )
    # No checkpoint vouches for the rewound head.
    refused = cli(service, "audit-checkpoint", str(service.workdir))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"no checkpoint made: the head of chain {chain} was rewritten" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    assert not list(service.workdir.glob("audit-checkpoint-*"))


def test_an_older_head_put_back_shows_only_against_a_later_checkpoint(
    service: ServiceEnv,
) -> None:
    """Without the key, an attacker can still keep a genuine head row and put it back after
    cutting what came later: every entry and seal left is genuine. Only a checkpoint taken
    after the cut entries were written shows it."""
    busy_service(service)
    write_from_concurrent_transactions(service)
    before = cli_checkpoint(service)
    saved_seq, saved_hash, saved_seal = head(service, 0)  # copied by the attacker
    busy_service(service)  # a single writer at a time: chain 0
    assert head(service, 0)[0] > saved_seq
    after = cli_checkpoint(service)
    without_append_only_triggers(
        service,
        "DELETE FROM audit_log WHERE chain = 0 AND seq > :seq",
        "UPDATE audit_chains SET last_seq = :seq, last_hash = :hash, seal = :seal WHERE chain = 0",
        seq=saved_seq,
        hash=saved_hash,
        seal=saved_seal,
    )
    assert verify(service).ok  # nothing in the database gives it away
    assert_intact(cli_verify(service))
    assert_intact(cli_verify(service, before))  # it saw nothing that is gone
    assert_broken(
        cli_verify(service, before, after), f"ends at entry {saved_seq}, but a checkpoint saw"
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_truncate_is_refused_and_shows_against_a_checkpoint(service: ServiceEnv) -> None:
    """Row triggers never see TRUNCATE: a statement trigger refuses it. Lifted, a truncated
    log with its heads reset to genesis looks like a new one, except to a checkpoint."""
    busy_service(service)
    write_from_concurrent_transactions(service)
    checkpoint = cli_checkpoint(service)
    for table, refusal in [("audit_log", "append-only"), ("audit_chains", "cannot be deleted")]:
        with pytest.raises(DatabaseError, match=refusal), service.sessions.begin() as session:
            session.execute(text(f"TRUNCATE {table}"))
    without_append_only_triggers(service, "TRUNCATE audit_log")
    assert_broken(cli_verify(service), "head does not match its last entry")
    with service.sessions.begin() as session:
        session.execute(
            text("UPDATE audit_chains SET last_seq = 0, last_hash = :genesis, seal = ''"),
            {"genesis": audit.GENESIS},
        )
    assert_intact(cli_verify(service))
    assert_broken(cli_verify(service, checkpoint), "ends at entry 0, but a checkpoint saw")


def test_a_wiped_log_with_every_head_reset_shows_only_against_a_checkpoint(
    service: ServiceEnv,
) -> None:
    """Every entry deleted and every head set back to a chain never written (0, genesis,
    no seal): a database that never recorded anything. Why checkpoints exist."""
    busy_service(service)
    write_from_concurrent_transactions(service)
    checkpoint = cli_checkpoint(service)
    without_append_only_triggers(
        service,
        "DELETE FROM audit_log",
        "UPDATE audit_chains SET last_seq = 0, last_hash = :genesis, seal = ''",
        genesis=audit.GENESIS,
    )
    result = cli_verify(service)
    assert_intact(result)
    assert "Audit trail intact: 0 entries" in result.stdout
    assert_broken(cli_verify(service, checkpoint), "ends at entry 0, but a checkpoint saw")


def test_a_deleted_chain_is_detected(service: ServiceEnv) -> None:
    """A chain's head row deleted: its entries left behind give it away; deleted too, only
    the checkpoint, which saw the chain, does."""
    busy_service(service)
    write_from_concurrent_transactions(service)
    checkpoint = cli_checkpoint(service)
    chain = last_chain(service)
    without_append_only_triggers(service, "DELETE FROM audit_chains WHERE chain = :c", c=chain)
    report = verify(service)
    assert not report.ok and f"entries of chain {chain}, which has no head" in report.problem
    without_append_only_triggers(service, "DELETE FROM audit_log WHERE chain = :c", c=chain)
    assert_intact(cli_verify(service))  # what is left is a consistent log
    assert_broken(cli_verify(service, checkpoint), f"chain {chain} of the checkpoint of")
    with service.sessions() as session:  # verifying mended nothing: the chain is still gone
        assert session.get(AuditChain, chain) is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_insert_or_replace_is_refused_and_shows_in_the_chain(service: ServiceEnv) -> None:
    """SQLite's REPLACE deletes the old row without firing DELETE triggers (unless
    recursive_triggers is on) and fires no UPDATE trigger: a trigger on INSERT refuses a
    taken (chain, seq). With the guards lifted, the rewritten entry's seal does not match."""
    busy_service(service)
    checkpoint = cli_checkpoint(service)
    columns = "chain, seq, at, kiosk_id, actor, action, subject, outcome, reason_code, flagged"
    with service.sessions() as session:
        seq = session.scalar(
            select(func.min(AuditEntry.seq)).where(AuditEntry.reason_code == "MKCZ374E")
        )
    replace = (
        f"INSERT OR REPLACE INTO audit_log ({columns}, prev_hash, hash) "  # noqa: S608
        "SELECT chain, seq, at, kiosk_id, actor, action, subject, 'accepted', NULL, "
        f"flagged, prev_hash, hash FROM audit_log WHERE chain = 0 AND seq = {seq}"
    )
    with pytest.raises(DatabaseError, match="append-only"), service.sessions.begin() as session:
        session.execute(text(replace))
    without_append_only_triggers(service, replace)
    with service.sessions() as session:
        replaced = session.get(AuditEntry, (0, seq))
        assert replaced is not None
        assert (replaced.outcome, replaced.reason_code) == ("accepted", None)
    report = verify(service)
    assert not report.ok and f"entry {seq} was changed" in report.problem
    assert_broken(cli_verify(service, checkpoint), f"entry {seq} was changed")


# --- checkpoints themselves ---------------------------------------------------------------


def test_a_forged_checkpoint_is_refused(service: ServiceEnv) -> None:
    """A checkpoint edited (fewer entries, to match a cut log) fails its signature; one
    signed by another key is refused, by the key the auditor pinned or, by default, by
    the service's own."""
    busy_service(service)
    genuine = cli_checkpoint(service)
    pinned = cli(service, "audit-checkpoint", "--public-key")
    assert pinned.returncode == 0, pinned.stderr
    pinned_key = pinned.stdout.strip()
    assert pinned_key == json.loads(genuine.read_text())["public_key"]
    assert_intact(cli_verify(service, genuine, trusted_key=pinned_key))

    edited = json.loads(genuine.read_text())
    edited["heads"][0]["seq"] -= 1
    edited["entries"] -= 1  # consistent with the edited head: only the signature tells
    edited_path = service.workdir / "edited.json"
    edited_path.write_text(json.dumps(edited))
    assert_refused(cli_verify(service, edited_path), "signature does not verify")
    total = json.loads(genuine.read_text())
    total["entries"] += 1000  # the heads as signed, a total that misleads a reader
    total_path = service.workdir / "total.json"
    total_path.write_text(json.dumps(total))
    assert_refused(cli_verify(service, total_path), "not signed")

    with service.sessions() as session:
        forged = audit.make_checkpoint(
            session, service.audit_key, ed25519.Ed25519PrivateKey.generate(), service.clock()
        )
    forged_path = service.workdir / "forged.json"
    forged_path.write_text(forged.to_json())
    audit.Checkpoint.from_json(forged_path.read_text())  # a valid signature, by another key
    assert_refused(
        cli_verify(service, genuine, forged_path, trusted_key=pinned_key), "signed by another key"
    )
    assert_refused(cli_verify(service, forged_path), "signed by another key")
    assert_refused(
        cli_verify(service, genuine, trusted_key=forged.public_key), "signed by another key"
    )
    assert_refused(cli_verify(service, genuine, trusted_key="not-a-key"), "--trusted-key")
    not_json = service.workdir / "not.json"
    not_json.write_text("{")
    assert_refused(cli_verify(service, not_json), "not an audit checkpoint")
    assert_refused(cli_verify(service, service.workdir / "missing.json"), "cannot read it")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_checkpoints_go_to_new_files_or_stdout(service: ServiceEnv) -> None:
    busy_service(service)
    directory = service.workdir / "shipped"
    directory.mkdir()
    results = [cli(service, "audit-checkpoint", str(directory)) for _ in range(3)]
    assert [r.returncode for r in results] == [0, 0, 0], results
    files = sorted(directory.iterdir())
    assert len(files) == 3  # never one written over another, even within a second
    assert all(f.name.startswith("audit-checkpoint-2") and f.suffix == ".json" for f in files)
    entries = verify(service).entries
    for path in files:
        checkpoint = audit.Checkpoint.from_json(path.read_text())
        assert checkpoint.entries == entries
    summary = results[0].stderr.strip()
    assert f"Checkpoint of {service.settings.audit_chains} chains, {entries} entries" in summary
    assert "key SHA256:" in summary
    to_stdout = cli(service, "audit-checkpoint", "-")
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert audit.Checkpoint.from_json(to_stdout.stdout).entries == entries
    assert to_stdout.stderr.strip().endswith(": stdout")
    not_a_directory = cli(service, "audit-checkpoint", str(files[0]))
    assert not_a_directory.returncode == 1 and "is not a directory" in not_a_directory.stderr


def test_the_checkpoint_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    """Processes starting side by side (the service's workers, the timer's command) agree
    on one key, and it stays in the data directory, 0600."""
    with ThreadPoolExecutor(8) as pool:
        loaded = list(pool.map(lambda _: ServiceKeys.load(tmp_path), range(8)))
    assert len({public_key_base64(keys.checkpoint_key) for keys in loaded}) == 1
    path = tmp_path / "audit-checkpoint-key.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing left aside
    again = ServiceKeys.load(tmp_path)
    assert public_key_base64(again.checkpoint_key) == public_key_base64(loaded[0].checkpoint_key)
