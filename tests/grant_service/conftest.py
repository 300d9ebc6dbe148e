"""The grant service's fixtures: a private PostgreSQL server for the session, a fresh
database per test (every service test runs on SQLite and on PostgreSQL), and the service on it.

Only the service's tests use PostgreSQL, so only they start it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grant_service.testing.postgres import PostgresUnavailable, PrivatePostgres
from kiosk.devices.sim.test_ca import JpkiTestCa
from tests.support.service_harness import ServiceEnv


@pytest.fixture(scope="session")
def postgres() -> Iterator[PrivatePostgres]:
    """One PostgreSQL server for the session; each test gets a fresh database copied from
    a migrated template."""
    from grant_service import migrate

    try:
        server = PrivatePostgres().start()
    except PostgresUnavailable as exc:
        pytest.fail(f"cannot start PostgreSQL for the tests: {exc}")
    template_url = server.create_database("migrated")
    # Schema only: the catalog (and its audit entry) is loaded per test, under its own key.
    migrate.upgrade(template_url)
    yield server
    server.stop()


_databases = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'grant-service.sqlite3'}"
    server: PrivatePostgres = request.getfixturevalue("postgres")
    return server.create_database(f"test_{next(_databases)}", template="migrated")


@pytest.fixture(scope="session")
def service_ca(tmp_path_factory: pytest.TempPathFactory) -> JpkiTestCa:
    return JpkiTestCa.create(tmp_path_factory.mktemp("service-ca"))


@pytest.fixture
def make_service(
    tmp_path: Path, database_url: str, service_ca: JpkiTestCa
) -> Iterator[Callable[..., ServiceEnv]]:
    """``make_service(now=..., **settings)``: a running service on this test's database."""
    from tests.support.service_harness import FakeClock, service_env

    opened: list[Iterator[ServiceEnv]] = []

    def make(now: dt.datetime | None = None, **overrides: object) -> ServiceEnv:
        environment = service_env(tmp_path, database_url, service_ca, FakeClock(now), **overrides)
        opened.append(environment)
        return next(environment)

    yield make
    for environment in opened:
        for _ in environment:  # runs the cleanup after the yield
            pass


@pytest.fixture
def service(make_service: Callable[..., ServiceEnv]) -> ServiceEnv:
    return make_service()
