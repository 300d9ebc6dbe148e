"""Schema migrations on a database that already holds data: migration 0003 moves the
catalog's entry fields (reading, ID and security-code labels, hints, formats) into columns
and fills them for a catalog loaded before it, so kiosks get them without a reload;
migration 0004 turns the single audit chain into chain 0 of many (the old entries verify
as they did) and spreads the budget's counter over its slots."""

from __future__ import annotations

import datetime as dt
import hmac
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from grant_service import audit, budget, migrate
from grant_service.catalog import ENTRY_FIELDS, CatalogCache, CatalogData, store_catalog
from grant_service.models import AuditChain, AuditEntry, BudgetSlot, CatalogMeta, PaymentService
from grant_service.settings import PACKAGE_DATA
from grant_service.testing.postgres import PrivatePostgres
from kiosk.devices.jpki_test_ca import JpkiTestCa
from mynapoint.database import UtcDateTime, make_engine, make_session_factory
from tests.service_harness import FakeClock, ServiceEnv, service_env

PACKAGED = CatalogData.from_file(PACKAGE_DATA / "catalog.json")
BY_CODE = {s.code: s for s in PACKAGED.services}
BEFORE = "0002"  # the head before the entry fields had columns
LOADED_AT = dt.datetime(2020, 9, 1, 1, 0, tzinfo=dt.UTC)
OLD_ETAG = "0123456789abcdef0123456789abcdef"

_databases = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema (the ``database_url`` fixture's is already at head)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'grant-service.sqlite3'}"
    server: PrivatePostgres = request.getfixturevalue("postgres")
    return server.create_database(f"migration_{next(_databases)}")


def _old_services_table() -> sa.TableClause:
    """``payment_services`` as revision 0002 made it."""
    names = ["code", "name_ja", "name_en", "kind", "grant_on", "app_only",
             "not_at_convenience_store", "pre_registration", "selectable_from", "fictional",
             "sources_json"]  # fmt: skip
    return sa.table("payment_services", *(sa.column(name) for name in names))


def _old_row(data: dict[str, object], sources_json: str) -> dict[str, object]:
    row = {k: v for k, v in data.items() if k not in ("sources", *ENTRY_FIELDS)}
    row["selectable_from"] = dt.date.fromisoformat(str(row["selectable_from"]))
    return {**row, "sources_json": sources_json}


def _load_catalog_at_0002(url: str, interim: dict[str, dict[str, str]]) -> None:
    """Migrate to 0002 and store the packaged catalog as the code of that time did (bare
    sources in ``sources_json``), plus a service the packaged catalog lacks, and rows
    written by the interim code (``interim``: code -> the entry fields it stored in
    ``sources_json``)."""
    command.upgrade(migrate.alembic_config(url), BEFORE)
    rows = []
    for service in PACKAGED.services:
        data = service.model_dump(mode="json")
        sources_json = json.dumps(service.sources)
        if service.code in interim:
            sources_json = json.dumps({"sources": service.sources, "entry": interim[service.code]})
        rows.append(_old_row(data, sources_json))
    local = PACKAGED.services[0].model_dump(mode="json")
    local.update(code="local_pay", name_ja="ローカルペイ", name_en="LocalPay")
    rows.append(_old_row(local, json.dumps({"name": "a catalog loaded from another file"})))
    programme = PACKAGED.programme.model_dump_json()
    meta = sa.table("catalog_meta", *(sa.column(n) for n in
                    ("id", "version", "etag", "programme_json", "loaded_at")))  # fmt: skip
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(_old_services_table()), rows)
            # SQLite's UtcDateTime is naive UTC.
            loaded_at = LOADED_AT.replace(tzinfo=None) if url.startswith("sqlite") else LOADED_AT
            connection.execute(sa.insert(meta).values(
                id=1, version=PACKAGED.version, etag=OLD_ETAG, programme_json=programme,
                loaded_at=loaded_at,
            ))  # fmt: skip
    finally:
        engine.dispose()


@pytest.fixture
def old_database(empty_database_url: str) -> str:
    """A database at 0002 with a catalog loaded: WAON's row from the interim code, with a
    hint of its own (what was loaded wins over the packaged catalog)."""
    waon = BY_CODE["waon"].entry()
    _load_catalog_at_0002(empty_database_url, {"waon": {**waon, "id_hint_en": "Interim hint."}})
    return empty_database_url


@pytest.fixture
def migrated_service(
    old_database: str, tmp_path: Path, service_ca: JpkiTestCa
) -> Iterator[ServiceEnv]:
    """The service started on the old database: ``serve``'s start-up migrates it."""
    environment = service_env(tmp_path, old_database, service_ca, FakeClock())
    yield next(environment)
    for _ in environment:
        pass


def test_an_existing_catalog_publishes_the_entry_fields_after_migrating(
    migrated_service: ServiceEnv, old_database: str
) -> None:
    http = migrated_service.http
    reply = http.get("/v1/payment-services")
    assert reply.status_code == 200
    published = {s["code"]: s for s in reply.json()["services"]}
    assert reply.json()["version"] == PACKAGED.version  # not reloaded: migrated
    for service in PACKAGED.services:
        expected = service.entry()
        if service.code == "waon":
            expected["id_hint_en"] = "Interim hint."
        assert {n: published[service.code].get(n) for n in ENTRY_FIELDS} == expected
    # A code the packaged catalog lacks publishes none (the kiosk has defaults for each).
    assert "local_pay" in published
    assert not set(ENTRY_FIELDS) & set(published["local_pay"])
    assert reply.headers["ETag"] == http.get("/v1/payment-services").headers["ETag"]

    engine = make_engine(old_database)
    try:
        with make_session_factory(engine)() as session:
            rows = {s.code: s for s in session.scalars(sa.select(PaymentService))}
            # Every row's sources_json holds only the sources again, the interim one too.
            for service in PACKAGED.services:
                assert json.loads(rows[service.code].sources_json) == service.sources
            assert rows["local_pay"].id_pattern is None
            meta = session.get(CatalogMeta, 1)
            assert meta is not None and meta.etag != OLD_ETAG  # the rows changed
            assert meta.loaded_at == LOADED_AT
    finally:
        engine.dispose()


def test_a_reload_after_migrating_publishes_what_a_fresh_database_does(
    migrated_service: ServiceEnv,
) -> None:
    """Loading the catalog again fills every row from the file (the migrated rows are
    replaced), and the ETag changes with what is published."""
    env = migrated_service
    http = env.http
    migrated_etag = http.get("/v1/payment-services").headers["ETag"]
    with env.sessions.begin() as session:
        store_catalog(session, env.audit_key, PACKAGED, LOADED_AT)
    reloaded = http.get("/v1/payment-services")
    assert reloaded.headers["ETag"] != migrated_etag  # WAON's hint and LocalPay went
    published = {s["code"]: s for s in reloaded.json()["services"]}
    assert set(published) == {s.code for s in PACKAGED.services}
    for service in PACKAGED.services:
        assert {n: published[service.code][n] for n in ENTRY_FIELDS} == service.entry()
    with env.sessions() as session:
        row = session.get(PaymentService, "suica")
        assert row is not None and json.loads(row.sources_json) == BY_CODE["suica"].sources
        assert row.reading_ja == "スイカ"


def test_the_etag_follows_every_entry_field(migrated_service: ServiceEnv) -> None:
    env = migrated_service
    cache = CatalogCache(None)
    with env.sessions() as session:
        etag = cache.get(session).http_etag
    for name in ENTRY_FIELDS:
        with env.sessions.begin() as session:
            row = session.get(PaymentService, "paypay")
            assert row is not None
            setattr(row, name, getattr(row, name) + "x")
            meta = session.get(CatalogMeta, 1)
            assert meta is not None
            meta.etag = f"{name}-changed"  # what store_catalog would do
        with env.sessions() as session:
            changed = cache.get(session).http_etag
        assert changed != etag, name
        etag = changed


def test_the_migration_goes_down_and_up_again(old_database: str) -> None:
    config = migrate.alembic_config(old_database)
    command.upgrade(config, "head")
    command.downgrade(config, BEFORE)
    engine = make_engine(old_database)
    try:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("payment_services")}
        assert not set(ENTRY_FIELDS) & columns
        with engine.connect() as connection:
            count = connection.execute(sa.text("SELECT count(*) FROM payment_services")).scalar()
        assert count == len(PACKAGED.services) + 1
        engine.dispose()
        command.upgrade(config, "head")
        columns = {c["name"] for c in sa.inspect(engine).get_columns("payment_services")}
        assert set(ENTRY_FIELDS) <= columns
        with engine.connect() as connection:
            pattern = connection.execute(
                sa.text("SELECT id_pattern FROM payment_services WHERE code = 'suica'")
            ).scalar()
        assert pattern == BY_CODE["suica"].id_pattern
    finally:
        engine.dispose()


# --- 0004: the audit log in chains, the budget in slots -------------------------------------

AUDIT_KEY = bytes(range(32))  # the old service's audit key
ISSUED = 130  # MyKey IDs issued before the budget had slots
OLD_EVENTS = [
    # kiosk_id, actor, action, subject, outcome, reason_code, flagged
    (None, "operator", "catalog.load", "2020-09", "accepted", None, False),
    ("kiosk-0001", "technician", "device.enroll", "kiosk-0001", "accepted", None, False),
    ("kiosk-0001", "citizen", "submission.reservation", "5f0c", "accepted", None, False),
    ("kiosk-0001", "guardian", "submission.application", "7a1e", "rejected", "MKCZ374E", False),
    ("kiosk-0001", "citizen", "submission.application", "9b2d", "accepted", None, True),
]
OLD_AUDIT_COLUMNS = ("seq", "at", "kiosk_id", "actor", "action", "subject", "outcome",
                     "reason_code", "flagged", "prev_hash", "hash")  # fmt: skip


def _audit_log_table(*extra: str) -> sa.TableClause:
    """``audit_log`` for plain inserts (``at``: naive UTC on SQLite, as the models store it)."""
    return sa.table("audit_log", *(
        sa.column(n, UtcDateTime()) if n == "at" else sa.column(n)
        for n in (*extra, *OLD_AUDIT_COLUMNS)
    ))  # fmt: skip


def old_seal(key: bytes, prev_hash: str, row: dict[str, object]) -> str:
    """Revision 0003's sealing rule, written out here rather than imported: the test holds
    if grant_service/audit.py keeps sealing chain 0 exactly as the old code did."""
    at = row["at"]
    assert isinstance(at, dt.datetime)
    fields = [row["seq"], at.astimezone(dt.UTC).isoformat(), row["kiosk_id"], row["actor"],
              row["action"], row["subject"], row["outcome"], row["reason_code"]]  # fmt: skip
    if row["flagged"]:
        fields.append("flagged")
    message = prev_hash.encode() + json.dumps(fields, separators=(",", ":")).encode()
    return hmac.new(key, message, "sha256").hexdigest()


def old_head_seal(key: bytes, seq: int, last_hash: str) -> str:
    return hmac.new(key, f"head\x1f{seq}\x1f{last_hash}".encode(), "sha256").hexdigest()


def _write_old_audit_trail(url: str) -> list[dict[str, object]]:
    """Migrate to 0003 and write, with plain SQL, what the service of that time wrote: the
    audit entries in one chain, its head (``audit_head``), the budget's counter."""
    command.upgrade(migrate.alembic_config(url), "0003")
    rows, prev_hash = [], audit.GENESIS
    for seq, (kiosk_id, actor, action, subject, outcome, reason, flagged) in enumerate(
        OLD_EVENTS, start=1
    ):
        row: dict[str, object] = {
            "seq": seq, "at": LOADED_AT + dt.timedelta(minutes=seq), "kiosk_id": kiosk_id,
            "actor": actor, "action": action, "subject": subject, "outcome": outcome,
            "reason_code": reason, "flagged": flagged, "prev_hash": prev_hash,
        }  # fmt: skip
        row["hash"] = prev_hash = old_seal(AUDIT_KEY, prev_hash, row)
        rows.append(row)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(_audit_log_table()), rows)
            connection.execute(
                sa.text("UPDATE audit_head SET last_seq = :seq, last_hash = :hash, seal = :seal"),
                {"seq": len(rows), "hash": prev_hash,
                 "seal": old_head_seal(AUDIT_KEY, len(rows), prev_hash)},
            )  # fmt: skip
            connection.execute(sa.text("UPDATE reservation_budget SET issued = :n"), {"n": ISSUED})
    finally:
        engine.dispose()
    return rows


@pytest.fixture
def old_audit_trail(empty_database_url: str) -> list[dict[str, object]]:
    return _write_old_audit_trail(empty_database_url)


def _verify(url: str, key: bytes = AUDIT_KEY) -> audit.VerifyReport:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return audit.verify(session, key)
    finally:
        engine.dispose()


def _append(url: str, chains: int, subjects: list[str]) -> None:
    """What the service does after the upgrade: more chains (prepare_database), entries."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            audit.ensure_chains(session, AUDIT_KEY, chains)
        for subject in subjects:  # one writer at a time: chain 0
            with make_session_factory(engine).begin() as session:
                event = audit.Event("technician", "test.append", subject, "accepted")
                audit.append_many(session, AUDIT_KEY, [event], LOADED_AT)
    finally:
        engine.dispose()


def test_old_audit_entries_verify_as_chain_0_and_the_budget_is_spread_over_slots(
    empty_database_url: str, old_audit_trail: list[dict[str, object]]
) -> None:
    url = empty_database_url
    command.upgrade(migrate.alembic_config(url), "head")
    report = _verify(url)
    assert (report.ok, report.entries, report.chains) == (True, len(OLD_EVENTS), 1), report
    assert not _verify(url, bytes(32)).ok  # the check is real: another key breaks it
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            entries = session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq)).all()
            assert [(e.chain, e.seq, e.hash) for e in entries] == [
                (0, row["seq"], row["hash"]) for row in old_audit_trail
            ]
            assert entries[-1].flagged and not entries[0].flagged
            head = session.get(AuditChain, 0)
            assert head is not None
            assert (head.last_seq, head.last_hash, head.seal) == (
                len(OLD_EVENTS), entries[-1].hash,
                old_head_seal(AUDIT_KEY, len(OLD_EVENTS), entries[-1].hash),
            )  # fmt: skip
            slots = dict(session.execute(sa.select(BudgetSlot.slot, BudgetSlot.issued)).all())
    finally:
        engine.dispose()
    assert sorted(slots) == list(range(budget.SLOTS))
    assert sum(slots.values()) == ISSUED
    assert all(issued <= budget.allotment(slot, ISSUED) for slot, issued in slots.items())
    # The chain goes on where it stopped, and more chains join it.
    _append(url, 4, ["after-upgrade"])
    report = _verify(url)
    assert (report.ok, report.entries, report.chains) == (True, len(OLD_EVENTS) + 1, 4), report


def test_the_audit_log_goes_back_to_one_chain_when_only_chain_0_was_used(
    empty_database_url: str, old_audit_trail: list[dict[str, object]]
) -> None:
    url = empty_database_url
    config = migrate.alembic_config(url)
    command.upgrade(config, "head")
    _append(url, 4, ["after-upgrade-1", "after-upgrade-2"])  # chains 1-3 exist, empty
    command.downgrade(config, "0003")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq")
            ).all()
            head = connection.execute(
                sa.text("SELECT last_seq, last_hash, seal FROM audit_head WHERE id = 1")
            ).one()
            issued = connection.execute(sa.text("SELECT issued FROM reservation_budget")).scalar()
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert [r.seq for r in rows] == list(range(1, len(OLD_EVENTS) + 3))
    assert [r.hash for r in rows[: len(OLD_EVENTS)]] == [r["hash"] for r in old_audit_trail]
    assert all(r.prev_hash == p.hash for r, p in zip(rows[1:], rows, strict=False))
    # The head as the old code seals it: the old service goes on from here.
    assert tuple(head) == (
        len(rows),
        rows[-1].hash,
        old_head_seal(AUDIT_KEY, len(rows), rows[-1].hash),
    )
    assert issued == ISSUED
    assert {"audit_head", "reservation_budget"} <= tables
    assert not {"audit_chains", "reservation_budget_slots"} & tables
    command.upgrade(config, "head")  # and up again
    assert _verify(url).entries == len(rows)


def test_the_audit_log_does_not_go_back_to_one_chain_when_others_were_used(
    empty_database_url: str, old_audit_trail: list[dict[str, object]]
) -> None:
    """Entries of chain 1 would not fit the single chain: the downgrade is refused, and
    rolled back whole (the schema is still 0004's)."""
    url = empty_database_url
    config = migrate.alembic_config(url)
    command.upgrade(config, "head")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:  # what a second writer at the same time wrote
            connection.execute(
                sa.insert(_audit_log_table("chain")), {**old_audit_trail[0], "chain": 1}
            )
        with pytest.raises(RuntimeError, match="1 audit entries are in chains other than 0"):
            command.downgrade(config, "0003")
        tables = set(sa.inspect(engine).get_table_names())
        with engine.connect() as connection:
            version = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert version.scalar() == "0004"
    finally:
        engine.dispose()
    assert {"audit_chains", "reservation_budget_slots", "code_failures"} <= tables
    assert not {"audit_head", "reservation_budget"} & tables
