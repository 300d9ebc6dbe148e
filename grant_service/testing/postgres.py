"""A private PostgreSQL server on loopback, for tests and benchmarks.

``initdb`` into a temporary directory, ``pg_ctl start`` on a free port with the socket in
that directory, ``pg_ctl stop`` at the end. PostgreSQL refuses to run as root, so as
root the server runs as the ``postgres`` user (made by Debian's package).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path:
    """The newest PostgreSQL server binaries (Debian keeps them off PATH)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if candidates:
        return candidates[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable("PostgreSQL is not installed (apt-get install postgresql)")


def _quoted(value: str) -> str:
    # Any value may be quoted in postgresql.conf, numbers too.
    return "'" + value.replace("'", "''") + "'"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]  # (host, port) for AF_INET
        return port


class PrivatePostgres:
    """``settings`` go into postgresql.conf (so that ALTER SYSTEM can still change them)."""

    def __init__(self, *, fsync: bool = True, settings: dict[str, str] | None = None) -> None:
        self.bindir = find_bindir()
        self.port = _free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="grant-pg-"))
        self.data = self.directory / "data"
        self.settings = {"max_connections": "300", "fsync": "on" if fsync else "off",
                         **(settings or {})}  # fmt: skip
        self.as_root = os.geteuid() == 0
        self.superuser = "postgres" if self.as_root else getpass.getuser()

    def _run(self, *command: str) -> None:
        argv = [str(self.bindir / command[0]), *command[1:]]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{command[0]} failed: {result.stderr[-2000:]}")

    def start(self) -> PrivatePostgres:
        if self.as_root:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.superuser,
                  "-E", "UTF8", "--no-sync")  # fmt: skip
        settings = {
            "port": str(self.port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.directory),
            **self.settings,
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# grant_service/testing/postgres.py\n")
            conf.writelines(f"{name} = {_quoted(value)}\n" for name, value in settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"),
                  "-w", "-t", "120", "start")  # fmt: skip
        return self

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(PostgresUnavailable):
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[Any]:
        """A superuser connection in autocommit (for DDL and settings)."""
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.superuser, dbname=database,
            autocommit=True,
        )  # fmt: skip

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database (copied from ``template`` if given); returns its URL."""
        with self.connect() as connection:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            connection.execute(statement)
        return self.url(name)

    def dump(self, database: str) -> str:
        """``pg_dump`` of a database as text (what an attacker with a backup would read)."""
        result = subprocess.run(
            [str(self.bindir / "pg_dump"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", self.superuser, database],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return result.stdout

    def __enter__(self) -> PrivatePostgres:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
