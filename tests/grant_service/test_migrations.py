"""Schema migrations on a database that already holds data: migration 0003 moves the
catalog's entry fields (reading, ID and security-code labels, hints, formats) into columns
and fills them for a catalog loaded before it, so kiosks get them without a reload;
migration 0004 turns the single audit chain into chain 0 of many (the old entries verify
as they did) and spreads the budget's counter over its slots; migration 0005 keeps of each
point transaction only what answers its replay (no amount, time or operator id) and
records the re-issued certificates already linked as renewals; migration 0006 flags the
services whose ID and code are a card's number and security code, without a reload;
migration 0007 adds the fleet's tables (heartbeats, alerts, console sign-ins); migration 0008
adds the MyKey platform's (municipal points, vouchers, library-card links)."""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from grant_service import audit, budget, migrate, points
from grant_service.catalog import ENTRY_FIELDS, CatalogCache, CatalogData, store_catalog
from grant_service.keys import ServiceKeys
from grant_service.models import AuditChain, AuditEntry, BudgetSlot, CatalogMeta, PaymentService
from grant_service.testing.postgres import PrivatePostgres
from kiosk.devices.sim.test_ca import JpkiTestCa
from mynapoint.database import UtcDateTime, make_engine, make_session_factory
from mynapoint.envelope import format_time
from mynapoint.packaged_catalog import PACKAGED_CATALOG
from mynapoint.private_files import make_private_directory
from tests.support.leaks import database_rows_text, leaked
from tests.support.service_harness import MY_SECRET_IDS, FakeClock, ServiceEnv, service_env

PACKAGED = CatalogData.from_file(PACKAGED_CATALOG)
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
    names = [
        "code",
        "name_ja",
        "name_en",
        "kind",
        "grant_on",
        "app_only",
        "not_at_convenience_store",
        "pre_registration",
        "selectable_from",
        "fictional",
        "sources_json",
    ]
    return sa.table("payment_services", *(sa.column(name) for name in names))


def _old_row(data: dict[str, object], sources_json: str) -> dict[str, object]:
    later = ("sources", "card_credentials", *ENTRY_FIELDS)  # not in revision 0002's table
    row = {k: v for k, v in data.items() if k not in later}
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
    meta = sa.table(
        "catalog_meta",
        *(sa.column(n) for n in ("id", "version", "etag", "programme_json", "loaded_at")),
    )
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(_old_services_table()), rows)
            # SQLite's UtcDateTime is naive UTC.
            loaded_at = LOADED_AT.replace(tzinfo=None) if url.startswith("sqlite") else LOADED_AT
            connection.execute(
                sa.insert(meta).values(
                    id=1,
                    version=PACKAGED.version,
                    etag=OLD_ETAG,
                    programme_json=programme,
                    loaded_at=loaded_at,
                )
            )
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
OLD_AUDIT_COLUMNS = (
    "seq",
    "at",
    "kiosk_id",
    "actor",
    "action",
    "subject",
    "outcome",
    "reason_code",
    "flagged",
    "prev_hash",
    "hash",
)


def _audit_log_table(*extra: str) -> sa.TableClause:
    """``audit_log`` for plain inserts (``at``: naive UTC on SQLite, as the models store it)."""
    return sa.table(
        "audit_log",
        *(
            sa.column(n, UtcDateTime()) if n == "at" else sa.column(n)
            for n in (*extra, *OLD_AUDIT_COLUMNS)
        ),
    )


def old_seal(key: bytes, prev_hash: str, row: dict[str, object]) -> str:
    """Revision 0003's sealing rule, written out here rather than imported: the test holds
    if grant_service/audit.py keeps sealing chain 0 exactly as the old code did."""
    at = row["at"]
    assert isinstance(at, dt.datetime)
    fields = [row["seq"], at.astimezone(dt.UTC).isoformat()]
    fields += [row[k] for k in ("kiosk_id", "actor", "action", "subject", "outcome", "reason_code")]
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
            "seq": seq,
            "at": LOADED_AT + dt.timedelta(minutes=seq),
            "kiosk_id": kiosk_id,
            "actor": actor,
            "action": action,
            "subject": subject,
            "outcome": outcome,
            "reason_code": reason,
            "flagged": flagged,
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = old_seal(AUDIT_KEY, prev_hash, row)
        rows.append(row)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(_audit_log_table()), rows)
            connection.execute(
                sa.text("UPDATE audit_head SET last_seq = :seq, last_hash = :hash, seal = :seal"),
                {
                    "seq": len(rows),
                    "hash": prev_hash,
                    "seal": old_head_seal(AUDIT_KEY, len(rows), prev_hash),
                },
            )
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
                len(OLD_EVENTS),
                entries[-1].hash,
                old_head_seal(AUDIT_KEY, len(OLD_EVENTS), entries[-1].hash),
            )
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
            # PostgreSQL undoes the whole downgrade; on SQLite alembic commits each revision
            # on its own (it counts SQLite's DDL as non-transactional): the later ones are
            # undone there, and 0004's step is refused and rolled back.
            head = ScriptDirectory.from_config(config).get_current_head()
            assert version.scalar() == (head if url.startswith("postgresql") else "0004")
    finally:
        engine.dispose()
    assert {"audit_chains", "reservation_budget_slots", "code_failures"} <= tables
    assert not {"audit_head", "reservation_budget"} & tables


# --- 0006: services whose ID and code are a card's number and security code --------------

BEFORE_FLAG = "0005"
FLAGGED = {"rakuten_card", "d_card", "aeon_card"}


def _flagged(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            query = "SELECT code FROM payment_services WHERE card_credentials"
            return set(connection.execute(sa.text(query)).scalars())
    finally:
        engine.dispose()


def _stored_etag(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(sa.text("SELECT etag FROM catalog_meta")).scalar())
    finally:
        engine.dispose()


def test_a_catalog_loaded_before_the_card_flag_is_flagged_without_a_reload(
    old_database: str,
) -> None:
    """Migration 0006 flags the packaged catalog's card-credential services, and any credit
    card of a catalog loaded from another file (it fails safe until that file is loaded
    again and says so itself); the stored ETag changes, so caches read the rows again.
    Down and up again."""
    config = migrate.alembic_config(old_database)
    command.upgrade(config, BEFORE_FLAG)
    local_card = BY_CODE["d_card"].model_dump(mode="json")
    local_card.update(code="local_card", name_ja="ローカルカード", name_en="Local Card")
    engine = make_engine(old_database)
    try:
        with engine.begin() as connection:
            row = _old_row(local_card, json.dumps({"name": "a catalog loaded from another file"}))
            connection.execute(sa.insert(_old_services_table()), [row])
    finally:
        engine.dispose()
    etag = _stored_etag(old_database)
    command.upgrade(config, "head")
    assert _flagged(old_database) == FLAGGED | {"local_card"}
    assert _stored_etag(old_database) != etag
    command.downgrade(config, BEFORE_FLAG)
    engine = make_engine(old_database)
    try:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("payment_services")}
    finally:
        engine.dispose()
    assert "card_credentials" not in columns
    command.upgrade(config, "head")
    assert _flagged(old_database) == FLAGGED | {"local_card"}


def test_a_migrated_service_refuses_card_credentials_without_a_reload(
    migrated_service: ServiceEnv,
) -> None:
    """Started on a database loaded before the flag: the kiosks are told, and an
    application for dカード is refused, with no ``load-catalog``."""
    published = migrated_service.http.get("/v1/payment-services").json()
    assert {s["code"] for s in published["services"] if s["card_credentials"]} == FLAGGED
    kiosk, card = migrated_service.kiosk(), migrated_service.card()
    kiosk.reserve(card)
    refused = kiosk.apply(card, "d_card", MY_SECRET_IDS["d_card"][0])
    assert refused.body["reason_code"] == "SERVICE_CARD_CREDENTIALS"


# --- 0005: no purchase history; certificate renewals --------------------------------------

OLD_KEY_DATA = "service-data"  # service_env's data directory in the test's tmp_path
OLD_MYKEY = "QK7M4TZ9"
OLD_PAID = dt.datetime(2020, 9, 5, 3, 4, 5, tzinfo=dt.UTC)  # when the old charges were made
OLD_RECEIVED = dt.datetime(2020, 9, 5, 6, 7, 8, tzinfo=dt.UTC)
RENEWED_SERIAL = "B7C2"
# tx_id, payment ID, amount, (outcome, counted, points, reason, MyKey ID) as 0004 stored them
OLD_TRANSACTIONS = [
    ("old-tx-4QF-1", "090-8765-4321", 12_345, ("granted", 12_345, 3_086, None, OLD_MYKEY)),
    ("old-tx-4QF-2", "090-8765-4321", 2_357, ("granted", 2_357, 589, None, OLD_MYKEY)),
    (
        "old-tx-4QF-3",
        "090-1111-2222",
        7_777,
        ("not_counted", 0, 0, "NO_APPLICATION_FOR_ACCOUNT", None),
    ),
]


def _old_transaction(tx_id: str, payment_id: str, amount: int) -> dict[str, object]:
    return {
        "tx_id": tx_id,
        "service_code": "paypay",
        "payment_id": payment_id,
        "kind": "charge",
        "amount_yen": amount,
        "occurred_at": format_time(OLD_PAID),
    }


def _naive(url: str, moment: dt.datetime) -> dt.datetime:
    """What a plain insert stores for a UtcDateTime column (naive UTC on SQLite)."""
    return moment.replace(tzinfo=None) if url.startswith("sqlite") else moment


def _write_old_points(url: str, account_key: bytes, *, transactions: bool = True) -> None:
    """Migrate to 0004 and write, with plain SQL, what that service kept of point
    transactions (every one, with its amount and times: unless ``transactions`` is
    False), a person's totals with the time they changed, and a re-issued certificate the
    J-LIS feed linked."""
    command.upgrade(migrate.alembic_config(url), "0004")
    t = functools.partial(_naive, url)
    statements: list[tuple[str, dict[str, object] | list[dict[str, object]]]] = [
        (
            "INSERT INTO devices (id, kiosk_id, channel, status, certificate_pem, public_key_der, "
            "certificate_serial, enrolled_at) VALUES (1, 'kiosk-old', 'city_hall', 'active', "
            "'-', :der, '1', :at)",
            {"der": b"-", "at": t(LOADED_AT)},
        ),
        (
            "INSERT INTO mykeys (mykey_id, status, reserved_at, received_at, device_id, "
            "receipt_number) VALUES (:m, 'active', :at, :at, 1, '20200901000001')",
            {"m": OLD_MYKEY, "at": t(LOADED_AT)},
        ),
        (
            "INSERT INTO card_certificates (issuer, serial_hex, mykey_id, not_before, not_after, "
            "linked_at, reissued_from_issuer, reissued_from_serial) VALUES "
            "('CN=old CA', 'A1', :m, :nb, :na, :at, NULL, NULL), "
            "('CN=old CA', :s, :m, :nb, :na, :at, 'CN=old CA', 'A1')",
            {
                "m": OLD_MYKEY,
                "s": RENEWED_SERIAL,
                "nb": t(LOADED_AT - dt.timedelta(days=30)),
                "na": t(LOADED_AT + dt.timedelta(days=900)),
                "at": t(LOADED_AT),
            },
        ),
        (
            "INSERT INTO point_totals (mykey_id, counted_yen, points, updated_at) "
            "VALUES (:m, 14702, 3675, :at)",
            {"m": OLD_MYKEY, "at": t(OLD_RECEIVED)},
        ),
    ]
    rows = []
    for tx_id, payment_id, amount, (outcome, counted, points_, reason, mykey) in (
        OLD_TRANSACTIONS if transactions else []
    ):
        sent = points.TransactionIn.model_validate(_old_transaction(tx_id, payment_id, amount))
        rows.append(
            {
                "s": "paypay",
                "tx": tx_id,
                "f": points._fingerprint(account_key, sent),
                "a": "0" * 64,
                "k": "charge",
                "amount": amount,
                "o": t(OLD_PAID),
                "r": t(OLD_RECEIVED),
                "m": mykey,
                "c": counted,
                "p": points_,
                "out": outcome,
                "reason": reason,
            }
        )
    insert_transactions = (
        "INSERT INTO point_transactions (service_code, operator_tx_id, fingerprint, "
        "account_hmac, kind, amount_yen, occurred_at, received_at, mykey_id, counted_yen, "
        "points, outcome, reason_code) VALUES (:s, :tx, :f, :a, :k, :amount, :o, :r, :m, :c, "
        ":p, :out, :reason)"
    )
    if rows:
        statements.append((insert_transactions, rows))
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for statement, values in statements:
                connection.execute(sa.text(statement), values)
    finally:
        engine.dispose()


def _service_keys(tmp_path: Path) -> ServiceKeys:
    """The keys the service will find in its data directory (made now, as ``serve`` would)."""
    data_dir = tmp_path / OLD_KEY_DATA
    make_private_directory(data_dir)
    return ServiceKeys.load(data_dir)


@pytest.fixture
def old_points(empty_database_url: str, tmp_path: Path) -> str:
    _write_old_points(empty_database_url, _service_keys(tmp_path).account_hmac)
    return empty_database_url


def _head(url: str) -> str:
    head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
    assert head is not None
    return head


def _version(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def test_old_point_transactions_keep_their_answers_and_lose_their_purchases(
    old_points: str, tmp_path: Path, service_ca: JpkiTestCa
) -> None:
    environment = service_env(tmp_path, old_points, service_ca, FakeClock())
    service = next(environment)  # serve's start-up migrates, with the service's key
    try:
        operator = service.as_role(service.credential("operator", "paypay"))

        def post(*transactions: dict[str, object]) -> list[dict[str, object]]:
            reply = service.http.post(
                "/v1/points/transactions",
                json={"transactions": list(transactions)},
                headers=operator,
            )
            assert reply.status_code == 200, reply.text
            return reply.json()["results"]

        sent = [_old_transaction(tx_id, pid, amount) for tx_id, pid, amount, _ in OLD_TRANSACTIONS]
        replays = post(*sent)
        shown = ("status", "counted_yen", "points", "reason_code", "total_points", "replayed")
        assert [tuple(r[k] for k in shown) for r in replays] == [
            ("granted", 12_345, 3_086, None, 3_675, True),
            ("granted", 2_357, 589, None, 3_675, True),
            ("not_counted", 0, 0, "NO_APPLICATION_FOR_ACCOUNT", None, True),
        ]
        reused = post({**sent[0], "amount_yen": 12_346})[0]
        assert (reused["status"], reused["reason_code"]) == ("error", "TX_ID_REUSED")
        kept = database_rows_text(old_points)
    finally:
        for _ in environment:
            pass
    engine = make_engine(old_points)
    try:
        inspector = sa.inspect(engine)
        tables = set(inspector.get_table_names())
        totals = {c["name"] for c in inspector.get_columns("point_totals")}
        with engine.connect() as connection:
            renewals = connection.execute(
                sa.text("SELECT issuer, serial_hex FROM certificate_renewals")
            ).all()
            answers = connection.execute(
                sa.text("SELECT COUNT(*) FROM point_transaction_answers")
            ).scalar()
            total = connection.execute(
                sa.text("SELECT counted_yen, points FROM point_totals")
            ).one()
    finally:
        engine.dispose()
    assert "point_transactions" not in tables and totals == {"mykey_id", "counted_yen", "points"}
    assert (answers, tuple(total)) == (len(OLD_TRANSACTIONS), (14_702, 3_675))
    assert [tuple(r) for r in renewals] == [("CN=old CA", RENEWED_SERIAL)]
    gone = ["12345", "2357", "7777", "3086", "old-tx-4QF-1", "old-tx-4QF-2", "old-tx-4QF-3"]
    gone += [f"{m:%Y-%m-%d %H:%M:%S}" for m in (OLD_PAID, OLD_RECEIVED)]
    assert leaked(kept, gone) == []
    # The search finds what is kept: the person's totals, the renewal.
    assert leaked(kept, ["14702", "3675", RENEWED_SERIAL]) == ["14702", "3675", RENEWED_SERIAL]


def _rows(url: str, table: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            count = connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}"))  # noqa: S608
            return int(count.scalar() or 0)
    finally:
        engine.dispose()


def test_old_point_transactions_need_the_services_key(old_points: str) -> None:
    """Without the key the old rows cannot become digests: the upgrade is refused whole."""
    with pytest.raises(RuntimeError, match="needs the service's account key"):
        command.upgrade(migrate.alembic_config(old_points), "head")
    assert _version(old_points) == "0004"
    assert _rows(old_points, "point_transactions") == len(OLD_TRANSACTIONS)


def test_on_sqlite_the_old_purchases_leave_the_file(tmp_path: Path) -> None:
    """The dropped rows' pages are overwritten (secure_delete), not just freed. (PostgreSQL
    removes a dropped table's files.)"""
    path = tmp_path / "old.sqlite3"
    url, key = f"sqlite:///{path}", _service_keys(tmp_path).account_hmac
    _write_old_points(url, key)
    assert b"old-tx-4QF-1" in path.read_bytes()  # the search finds them before
    config = migrate.alembic_config(url, key)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            # Some builds of SQLite overwrite freed pages by default: this one must not.
            connection.exec_driver_sql("PRAGMA secure_delete = OFF")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
    finally:
        engine.dispose()
    files = [path, Path(f"{path}-wal")]
    assert not any(b"old-tx-4QF" in f.read_bytes() for f in files if f.exists())


def test_kept_answers_are_not_downgraded(old_points: str, tmp_path: Path) -> None:
    """The old schema finds a replay by the operator's id in the clear, which is gone: it
    would grant every replay again, so the downgrade is refused before 0005 changes
    anything."""
    config = migrate.alembic_config(old_points, _service_keys(tmp_path).account_hmac)
    command.upgrade(config, "head")
    with pytest.raises(RuntimeError, match="3 point transactions are kept only as digests"):
        command.downgrade(config, "0004")
    # On SQLite alembic commits each revision's step on its own: later revisions are undone.
    after = _head(old_points) if old_points.startswith("postgresql") else "0005"
    assert _version(old_points) == after
    assert _rows(old_points, "point_transaction_answers") == len(OLD_TRANSACTIONS)
    assert _rows(old_points, "certificate_renewals") == 1


def test_0005_goes_down_and_up_again_with_no_transactions(empty_database_url: str) -> None:
    url = empty_database_url
    _write_old_points(url, b"", transactions=False)
    config = migrate.alembic_config(url)  # nothing to convert: no key needed
    command.upgrade(config, "head")
    command.downgrade(config, "0004")
    engine = make_engine(url)
    try:
        inspector = sa.inspect(engine)
        tables = set(inspector.get_table_names())
        with engine.connect() as connection:
            total = connection.execute(
                sa.text("SELECT counted_yen, points, updated_at FROM point_totals")
            ).one()
    finally:
        engine.dispose()
    assert "point_transactions" in tables and total[:2] == (14_702, 3_675) and total[2]
    assert not {"point_transaction_answers", "certificate_renewals"} & tables
    command.upgrade(config, "head")
    assert _version(url) == _head(url)
    assert _rows(url, "certificate_renewals") == 1


# --- 0007: the fleet -----------------------------------------------------------------------

FLEET_TABLES = {
    "kiosk_status",
    "kiosk_status_history",
    "fleet_alerts",
    "console_sessions",
    "console_sign_in_failures",
}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_0007_adds_the_fleets_tables_and_goes_down_and_up_again(empty_database_url: str) -> None:
    """Down to 0006 the five tables go and nothing else changes; up again they are back."""
    url, config = empty_database_url, migrate.alembic_config(empty_database_url)
    command.upgrade(config, "0007")
    at_0007 = _tables(url)
    assert at_0007 >= FLEET_TABLES
    command.downgrade(config, "0006")
    assert _tables(url) == at_0007 - FLEET_TABLES
    assert _version(url) == "0006"
    command.upgrade(config, "0007")
    assert _tables(url) == at_0007 and _version(url) == "0007"


# --- 0008: the MyKey platform ----------------------------------------------------------------

PLATFORM_TABLES = {
    "municipal_point_lots",
    "municipal_grant_answers",
    "point_vouchers",
    "point_voucher_holds",
    "service_links",
}


def _credential_columns(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns("api_credentials")}
    finally:
        engine.dispose()


def test_0008_adds_the_platforms_tables_and_goes_down_and_up_again(
    empty_database_url: str,
) -> None:
    """Down to 0007 the five tables and the credentials' scope go, and an existing token
    stays; up again they are back."""
    url, config = empty_database_url, migrate.alembic_config(empty_database_url)
    command.upgrade(config, "head")
    at_head = _tables(url)
    assert at_head >= PLATFORM_TABLES and "scope" in _credential_columns(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO api_credentials (token_sha256, role, label, created_at)"
            " VALUES ('ab', 'admin', 'kept', CURRENT_TIMESTAMP)"))  # fmt: skip
    engine.dispose()
    command.downgrade(config, "0007")
    assert _tables(url) == at_head - PLATFORM_TABLES
    assert "scope" not in _credential_columns(url) and _version(url) == "0007"
    command.upgrade(config, "head")
    assert _tables(url) == at_head and _version(url) == _head(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        kept = connection.execute(sa.text("SELECT label, scope FROM api_credentials")).all()
    engine.dispose()
    assert [tuple(row) for row in kept] == [("kept", None)]
