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

import psycopg


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostgres:
    def __init__(self, *, fsync: bool = True) -> None:
        self.bindir = find_bindir()
        self.port = _free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="grant-pg-"))
        self.data = self.directory / "data"
        self.fsync = fsync
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
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            f"-c max_connections=300 -c fsync={'on' if self.fsync else 'off'}"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.directory / "server.log"), "-w", "start")  # fmt: skip
        return self

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(PostgresUnavailable):
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database (copied from ``template`` if given); returns its URL."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.superuser, dbname="postgres",
            autocommit=True,
        ) as connection:  # fmt: skip
            clause = f' TEMPLATE "{template}"' if template else ""
            connection.execute(f'CREATE DATABASE "{name}"{clause}')  # type: ignore[arg-type]
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
