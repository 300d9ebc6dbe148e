"""The audit trail: every operation, append-only, and a chain that shows any change."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from grant_service import audit
from grant_service.models import AuditEntry
from tests.conftest import run_cli
from tests.service_harness import ServiceEnv


def busy_service(service: ServiceEnv) -> None:
    kiosk = service.kiosk()
    for _ in range(3):
        card = service.card()
        kiosk.reserve(card)
        kiosk.apply(card, "paypay", "bad-id")


def verify(service: ServiceEnv) -> audit.VerifyReport:
    with service.sessions() as session:
        return audit.verify(session, service.app.state.service.keys.audit_hmac)


def cli_verify(service: ServiceEnv):  # type: ignore[no-untyped-def]
    return run_cli(
        "grant-service", "audit-verify", "--database-url", service.settings.database_url,
        env={"GRANT_SERVICE_DATA_DIR": str(service.settings.data_dir)},
    )  # fmt: skip


def without_append_only_triggers(service: ServiceEnv, statement: str) -> None:
    """What someone with direct SQL access could do: lift the guard, then change history."""
    with service.sessions.begin() as session:
        if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
            session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            session.execute(text("DROP TRIGGER audit_log_no_update"))
            session.execute(text("DROP TRIGGER audit_log_no_delete"))
        session.execute(text(statement))


def test_every_operation_is_recorded(service: ServiceEnv) -> None:
    busy_service(service)
    with service.sessions() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
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
    assert (last.actor, last.action) == ("guardian", "submission.reservation")


def test_an_intact_trail_verifies(service: ServiceEnv) -> None:
    busy_service(service)
    report = verify(service)
    assert report.ok and report.entries >= 7
    result = cli_verify(service)
    assert result.returncode == 0 and "Audit trail intact" in result.stdout


def test_the_table_refuses_updates_and_deletes(service: ServiceEnv) -> None:
    busy_service(service)
    for statement in ("UPDATE audit_log SET outcome = 'accepted'", "DELETE FROM audit_log"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            service.sessions.begin() as session,
        ):
            session.execute(text(statement))


def test_a_changed_row_is_detected(service: ServiceEnv) -> None:
    busy_service(service)
    without_append_only_triggers(
        service,
        "UPDATE audit_log SET outcome = 'accepted', reason_code = NULL "
        "WHERE seq = (SELECT MIN(seq) FROM audit_log WHERE reason_code = 'MKCZ374E')",
    )
    report = verify(service)
    assert not report.ok and "was changed" in report.problem
    result = cli_verify(service)
    assert result.returncode == 1 and "AUDIT TRAIL BROKEN" in result.stderr


def test_a_deleted_row_is_detected(service: ServiceEnv) -> None:
    busy_service(service)
    without_append_only_triggers(service, "DELETE FROM audit_log WHERE seq = 3")
    report = verify(service)
    assert not report.ok and "entry 3 is missing" in report.problem


def test_a_truncated_tail_is_detected_even_with_the_head_rewound(service: ServiceEnv) -> None:
    busy_service(service)
    without_append_only_triggers(
        service, "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)"
    )
    assert not verify(service).ok
    with service.sessions.begin() as session:  # point the head at the new last entry
        session.execute(text(
            "UPDATE audit_chains SET last_seq = last_seq - 1, last_hash = "
            "(SELECT hash FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)) "
            "WHERE chain = 0"
        ))  # fmt: skip
    report = verify(service)
    assert not report.ok and "head" in report.problem
