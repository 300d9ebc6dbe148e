"""A private PgBouncer in transaction mode, in front of a private PostgreSQL: how a national
deployment pools its connections (docs/deployment.md), for tests and benchmarks.

PgBouncer refuses to run as root, so as root it runs as the ``postgres`` user, like the
server. It listens on a free loopback port and lets every database of the server through.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from grant_service.testing.postgres import PostgresUnavailable, PrivatePostgres


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]  # (host, port) for AF_INET
        return port


class PrivatePgBouncer:
    def __init__(self, server: PrivatePostgres, *, pool_size: int = 10) -> None:
        self.server = server
        self.port = _free_port()
        self.pool_size = pool_size
        self.directory = Path(tempfile.mkdtemp(prefix="grant-pgbouncer-"))
        self.process: subprocess.Popen[bytes] | None = None

    def _config(self) -> str:
        return "\n".join(
            [
                "[databases]",
                f"* = host=127.0.0.1 port={self.server.port}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {self.port}",
                f"unix_socket_dir = {self.directory}",
                "pool_mode = transaction",
                f"default_pool_size = {self.pool_size}",
                "max_client_conn = 1000",
                "auth_type = trust",
                f"auth_file = {self.directory / 'users.txt'}",
                f"logfile = {self.directory / 'pgbouncer.log'}",
                "",
            ]
        )

    def start(self) -> PrivatePgBouncer:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            raise PostgresUnavailable("PgBouncer is not installed (apt-get install pgbouncer)")
        (self.directory / "pgbouncer.ini").write_text(self._config())
        (self.directory / "users.txt").write_text(f'"{self.server.superuser}" ""\n')
        argv = [binary, str(self.directory / "pgbouncer.ini")]
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            for child in self.directory.iterdir():
                shutil.chown(child, "postgres", "postgres")
            argv = ["runuser", "-u", "postgres", "--", *argv]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                error = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise PostgresUnavailable(f"pgbouncer exited: {error[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return self
            if time.monotonic() > deadline:
                raise PostgresUnavailable("pgbouncer did not start listening")
            time.sleep(0.05)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.server.superuser}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PrivatePgBouncer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
