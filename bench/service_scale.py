"""Benchmark: the grant service at scale, on PostgreSQL.

Everything is real: ``grant-service serve`` processes (``--workers 1`` each, one port each,
settings through ``GRANT_SERVICE_*`` as a deployment sets them) over one PostgreSQL server
started by this script (fsync and synchronous_commit on), envelopes signed with RSA keys
behind real test certificates, every request signed by an enrolled kiosk's device key.

- **Online**: 64 clients, one enrolled kiosk each, one envelope per request
  (``POST /v1/submissions``), against 1, 2 and 4 processes: reservations of new people
  (at most ``--online-people``, for at most ``--online-seconds``), then the applications
  of those who reserved (each with its own payment account), likewise. Envelopes are built
  and card-signed before the clock starts, and so is every request (its device signature:
  a prepared request older than 200 s is signed again; the service's clock skew stays at
  300 s); the clients are one asyncio process writing the prepared bytes on keep-alive
  HTTP/1.1 connections. Figures: envelopes/s, p50/p99 latency, CPU per envelope of the
  service processes and of the PostgreSQL server (from /proc), and the client's own.
- **Batched**: the same kind of envelopes in batches (``POST /v1/submissions/batch``)
  from a few kiosks at once.
- **The cap race**: 2,000 people reserve at once from 64 clients across the processes,
  with a cap of 500: exactly 500 accepted, 1,500 RESERVATIONS_CLOSED, 500 rows in mykeys.
- **Stored people**: online and batched again with 1 M and 10 M people already in the
  database, generated with SQL through the real schema, each level followed by a run on a
  fresh database (0 stored) as its baseline, so that both are measured minutes apart.
- **Profile**: one online run with py-spy on one service process, and PostgreSQL's
  pg_stat_statements and pg_stat_activity, to show where the time goes.

The machine is shared: each run waits for it to be quiet and is done again (up to three
times) when other processes took more than a quarter of a core meanwhile ("other" in the
tables); the service's source is fingerprinted at each start, and rows of different code
are marked. ``--quick`` skips 10 M (about 7 minutes); the full run takes about 45
minutes, most of it storing 10 M people. The last line is
``online_per_s=N batched_per_s=N cap_exact=yes|no`` (the best rates with 0 stored people).

    .venv/bin/python bench/service_scale.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from grant_service import budget, devices
from grant_service.keys import ServiceKeys
from grant_service.operators import account_entry
from grant_service.pki import issuer_key
from grant_service.settings import PACKAGE_DATA
from grant_service.testing.postgres import PrivatePostgres
from kiosk.devices.sim.test_ca import JpkiTestCa, new_rsa_key
from kiosk.link.device_identity import DeviceIdentity
from mynapoint import receipt_numbers
from mynapoint.database import make_engine, make_session_factory
from mynapoint.envelope import ApplicationPayload, ReservationPayload, build_envelope
from mynapoint.request_signing import sign_request

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
CODE = "1234"
KEY_POOL = 8  # RSA keys behind all the certificates (a person is an issuer + serial)
BUILDERS = 2  # processes that issue certificates and sign envelopes (before the clock)
PROCESS_COUNTS = (1, 2, 4)
RACE_PEOPLE, RACE_CAP = 2_000, 500
PRODUCTION_CAP = 40_000_000  # the default reservation_cap
HISTORIC_KIOSKS = 2_000  # the kiosks the stored people came through
ALPHABET = receipt_numbers.ALPHABET  # also the MyKey ID alphabet
RESIGN_AFTER_S = 200  # a prepared request older than this is signed again (skew 300 s)
MAX_ATTEMPTS = 30  # per request, for 409/503 answers and lost connections
GENERATION_CHUNK = 500_000
# Services a kiosk can apply for (no card number with its security code: dカード, イオンカード).
STORED_SERVICES = ("waon", "nanaco", "rakuten_edy", "paypay", "d_barai", "au_pay", "suica", "kyash")

# The private server's settings beyond the defaults, and why (printed with the figures).
POSTGRES_SETTINGS = {
    "max_connections": "300",  # 4 processes x (pool 10 + overflow 20), the tools
    "fsync": "on",  # durability as in production: both stay on
    "synchronous_commit": "on",
    "shared_buffers": "6GB",  # 25% of RAM: the hot indexes of 10 M people stay in memory
    "effective_cache_size": "16GB",  # the planner may count on the OS cache
    "maintenance_work_mem": "1GB",  # VACUUM after generating people
    "max_wal_size": "16GB",  # generating 10 M people writes tens of GB of WAL: no
    "checkpoint_timeout": "15min",  # checkpoint every GB, and none in a measured run
    "shared_preload_libraries": "pg_stat_statements",  # the profile (tracking off otherwise)
    "pg_stat_statements.track": "none",
    "log_checkpoints": "on",
}


def payment_id(g: int) -> str:
    return f"08{g:09d}"  # paypay's format: 11 digits


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_cli(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(BIN / "grant-service"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"grant-service {args[0]} failed: {result.stderr[-2000:]}")
    return result.stdout.strip()


def say(text: str) -> None:
    print(text, flush=True)


# --- the PostgreSQL server -------------------------------------------------------------


class BenchPostgres(PrivatePostgres):
    """The tests' private server, with what this benchmark also asks of it."""

    def set(self, name: str, value: str) -> None:
        """A setting that a reload changes (ALTER SYSTEM)."""
        with self.connect() as connection:
            connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")  # type: ignore[arg-type]
            connection.execute("SELECT pg_reload_conf()")

    def checkpoint(self) -> None:
        with self.connect() as connection:
            connection.execute("CHECKPOINT")

    @property
    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def version(self) -> str:
        with self.connect() as connection:
            row = connection.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"


# --- CPU accounting (/proc) -------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU ticks: its own plus those of its reaped children)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        table[int(entry)] = (int(fields[1]), ticks)
    return table


def _tree(table: dict[int, tuple[int, int]], roots: list[int]) -> dict[int, int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _ticks) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = {}, [r for r in roots if r in table]
    while todo:
        pid = todo.pop()
        found[pid] = table[pid][1]
        todo.extend(children.get(pid, []))
    return found


def _machine() -> tuple[int, int]:
    """(busy, total) ticks of all cores."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class Cpu:
    """CPU seconds over a measured run."""

    service: float = 0.0
    postgres: float = 0.0
    client: float = 0.0
    machine_busy: float = 0.0  # all cores
    machine_total: float = 0.0

    def __add__(self, other: Cpu) -> Cpu:
        return Cpu(
            self.service + other.service,
            self.postgres + other.postgres,
            self.client + other.client,
            self.machine_busy + other.machine_busy,
            self.machine_total + other.machine_total,
        )


@dataclass
class Snapshot:
    service: dict[int, int]
    postgres: dict[int, int]
    client: float
    machine: tuple[int, int]


class Meter:
    def __init__(self, service_pids: list[int], postmaster_pid: int) -> None:
        self.service_pids = service_pids
        self.postmaster_pid = postmaster_pid

    def snapshot(self) -> Snapshot:
        table = _processes()
        return Snapshot(
            _tree(table, self.service_pids),
            _tree(table, [self.postmaster_pid]),
            time.process_time(),
            _machine(),
        )

    @staticmethod
    def _delta(before: dict[int, int], after: dict[int, int]) -> float:
        # A process that ended was reaped by its parent, whose children's ticks now hold
        # its whole life: what it had used before the run is taken off again.
        ticks = sum(t - before.get(p, 0) for p, t in after.items())
        ticks -= sum(t for p, t in before.items() if p not in after)
        return ticks / CLOCK_TICKS

    def between(self, a: Snapshot, b: Snapshot) -> Cpu:
        return Cpu(
            self._delta(a.service, b.service),
            self._delta(a.postgres, b.postgres),
            b.client - a.client,
            (b.machine[0] - a.machine[0]) / CLOCK_TICKS,
            (b.machine[1] - a.machine[1]) / CLOCK_TICKS,
        )


# --- people, cards, kiosks ---------------------------------------------------------------

# Set before the builder processes fork: they issue certificates and sign envelopes.
_CA: JpkiTestCa | None = None
_KEYS: list[rsa.RSAPrivateKey] = []


def _issue(args: tuple[int, int]) -> list[bytes]:
    start, count = args
    assert _CA is not None
    return [
        _CA.issue(_KEYS[g % len(_KEYS)]).public_bytes(serialization.Encoding.DER)
        for g in range(start, start + count)
    ]


def _build(specs: list[tuple[str, int, bytes, str, int, int]]) -> list[bytes]:
    """Envelopes as request bodies (compact JSON), signed by the person's card key."""
    out = []
    for kind, g, certificate, kiosk_id, sequence, account in specs:
        key = _KEYS[g % len(_KEYS)]
        payload = (
            ReservationPayload(terms_version="2020-07")
            if kind == "reservation"
            else ApplicationPayload(
                service_code="paypay", payment_id=payment_id(account), security_code=CODE
            )
        )
        envelope = build_envelope(
            payload,
            kiosk_id=kiosk_id,
            sequence=sequence,
            certificate_der=certificate,
            sign=lambda data, key=key: key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
        )
        out.append(json.dumps(envelope.to_json(), separators=(",", ":")).encode())
    return out


@dataclass(frozen=True)
class Person:
    g: int  # global number: picks the card key
    certificate: bytes


class World:
    """The test CA and its card keys, the operator registry, the service's data directory,
    the kiosks' device keys, and the builder processes."""

    def __init__(self, root: Path, kiosks: int) -> None:
        global _CA, _KEYS
        self.root = root
        self.ca = JpkiTestCa.create(root / "ca")
        self.keys = [new_rsa_key() for _ in range(KEY_POOL)]
        _CA, _KEYS = self.ca, self.keys
        self.issuer = issuer_key(self.ca.certificate.subject)
        self.next_account = 0  # payment accounts, each used by one application
        self.account_end = 0
        self.registry = self.new_registry(0)
        self.data_dir = root / "service-data"
        self.kiosks = [DeviceIdentity.generate(f"scale-{i:03d}") for i in range(kiosks)]
        self.channels = ["city_hall" if i % 2 == 0 else "convenience_store" for i in range(kiosks)]
        self.sequences = [0] * kiosks  # per kiosk, across the whole run: kiosk order
        self.next_person = 0
        self.pool = multiprocessing.get_context("fork").Pool(BUILDERS)

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()

    def new_registry(self, accounts: int) -> Path:
        """An operator registry with ``accounts`` valid paypay accounts not used before
        (for the service processes started next: they read it at start)."""
        packaged = json.loads((PACKAGE_DATA / "operators.json").read_text())
        first, self.account_end = self.next_account, self.next_account + accounts
        packaged["operators"]["paypay"]["accounts"] = [
            account_entry("paypay", payment_id(a), CODE) for a in range(first, self.account_end)
        ]
        self.registry = self.root / f"operators-{first}.json"
        self.registry.write_text(json.dumps(packaged))
        return self.registry

    def env(self, database_url: str, cap: int = PRODUCTION_CAP) -> dict[str, str]:
        return {
            "GRANT_SERVICE_DATA_DIR": str(self.data_dir),
            "GRANT_SERVICE_DATABASE_URL": database_url,
            "GRANT_SERVICE_TRUSTED_CA_FILES": json.dumps([str(self.ca.directory / "ca-cert.pem")]),
            "GRANT_SERVICE_OPERATOR_REGISTRY_FILE": str(self.registry),
            "GRANT_SERVICE_APPLICATION_DEADLINE": "2099-12-31",
            "GRANT_SERVICE_POINTS_PERIOD_END": "2099-12-31",
            "GRANT_SERVICE_RESERVATION_CAP": str(cap),
        }

    def people(self, count: int) -> list[Person]:
        start = self.next_person
        self.next_person += count
        step = 250
        chunks = [(s, min(step, start + count - s)) for s in range(start, start + count, step)]
        ders = [d for chunk in self.pool.map(_issue, chunks) for d in chunk]
        return [Person(start + i, der) for i, der in enumerate(ders)]

    def bodies(self, kind: str, people: list[Person], kiosks: int) -> list[list[bytes]]:
        """Each kiosk's envelopes (person i goes to kiosk i % kiosks), in kiosk order."""
        specs = []
        for i, person in enumerate(people):
            k = i % kiosks
            self.sequences[k] += 1
            account = -1
            if kind == "application":
                account, self.next_account = self.next_account, self.next_account + 1
                if account >= self.account_end:
                    raise RuntimeError("more applications than accounts in the registry")
            kiosk_id, sequence = self.kiosks[k].kiosk_id, self.sequences[k]
            specs.append((kind, person.g, person.certificate, kiosk_id, sequence, account))
        chunks = [specs[i : i + 200] for i in range(0, len(specs), 200)]
        built = [b for chunk in self.pool.map(_build, chunks) for b in chunk]
        queues: list[list[bytes]] = [[] for _ in range(kiosks)]
        for i, body in enumerate(built):
            queues[i % kiosks].append(body)
        return queues


def prepare_base(world: World, server: BenchPostgres, logs: Path) -> None:
    """The template database: schema, catalog, CRL, enrolled kiosks, pg_stat_statements."""
    url = server.create_database("base")
    env = world.env(url)
    run_cli("migrate", env=env)
    run_cli("import-crl", str(world.ca.directory / "crl.der"), env=env)
    engine = make_engine(url)
    audit_key = ServiceKeys.load(world.data_dir).audit_hmac
    now = dt.datetime.now(dt.UTC)
    with make_session_factory(engine).begin() as session:
        tokens = [
            devices.create_enrollment_token(
                session, audit_key, kiosk.kiosk_id, channel, dt.timedelta(hours=1), now
            )
            for kiosk, channel in zip(world.kiosks, world.channels, strict=True)
        ]
    engine.dispose()
    with Cluster(env, 1, logs) as cluster, httpx.Client(base_url=cluster.urls[0]) as http:
        for kiosk, token in zip(world.kiosks, tokens, strict=True):
            reply = http.post(
                "/v1/devices/enroll", json={"token": token, "csr_pem": kiosk.csr_pem()}
            )
            if reply.status_code != 200:
                raise RuntimeError(f"enrollment failed: {reply.text}")
    with server.connect("base") as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


# --- the service processes ---------------------------------------------------------------


def source_digest() -> str:
    """The service's code as the processes about to start will import it (another engineer
    may be changing it while this runs)."""
    digest = hashlib.sha256()
    for package in ("grant_service", "mynapoint"):
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class Cluster:
    """``count`` processes of ``grant-service serve --workers 1`` over one database."""

    def __init__(self, env: dict[str, str], count: int, logs: Path) -> None:
        self.env = {**os.environ, **env}
        self.count = count
        self.logs = logs
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self.code = ""

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def __enter__(self) -> Cluster:
        self.code = source_digest()
        try:
            for _ in range(self.count):  # one after the other: each migrates at start
                self._start_one()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start_one(self) -> None:
        port = free_port()
        log = (self.logs / f"service-{port}.log").open("wb")
        process = subprocess.Popen(
            [str(BIN / "grant-service"), "serve", "--port", str(port), "--workers", "1"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        log.close()
        self.ports.append(port)
        self.processes.append(process)
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                tail = (self.logs / f"service-{port}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the service exited at start:\n{tail}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not start within 60 s")
            time.sleep(0.1)

    def __exit__(self, *exc_info: object) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- the client: prepared requests on raw keep-alive HTTP/1.1 connections -----------------


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time; a response is complete when its
    Content-Length bytes have arrived (the service always sends one)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line.startswith(b"content-length:"):
                length = int(line[15:])
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        waiter.set_result((int(head[9:12]), head, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("the service closed the connection"))

    async def request(self, data: bytes) -> tuple[int, bytes, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


async def _connect(port: int) -> _Connection:
    _transport, protocol = await asyncio.get_running_loop().create_connection(
        _Connection, "127.0.0.1", port
    )
    return protocol


def _retry_after(head: bytes) -> float:
    for line in head.split(b"\r\n"):
        if line.startswith(b"retry-after:"):
            with contextlib.suppress(ValueError):
                return float(line[12:])
    return 1.0


@dataclass
class PhaseResult:
    items: int = 0  # envelopes
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, per request
    outcomes: Counter[str] = field(default_factory=Counter)
    retries: int = 0  # 409/503 answers and lost connections, sent again
    resigned: int = 0  # prepared requests that had grown too old
    cpu: Cpu = field(default_factory=Cpu)
    sent: list[int] = field(default_factory=list)  # bodies answered, per queue

    def __add__(self, other: PhaseResult) -> PhaseResult:
        return PhaseResult(
            self.items + other.items,
            self.elapsed + other.elapsed,
            self.latencies + other.latencies,
            self.outcomes + other.outcomes,
            self.retries + other.retries,
            self.resigned + other.resigned,
            self.cpu + other.cpu,
        )

    @property
    def accepted(self) -> int:
        return self.outcomes["accepted"]

    @property
    def rate(self) -> float:
        return self.items / self.elapsed if self.elapsed else 0.0

    def latency_ms(self, quantile: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return 1000 * ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]

    def per_item_ms(self, seconds: float) -> float:
        return 1000 * seconds / self.items if self.items else 0.0


def _classify_one(status: int, body: bytes, outcomes: Counter[str]) -> None:
    if status == 200:
        outcomes["accepted"] += 1
        return
    try:
        outcomes[str(json.loads(body).get("reason_code") or f"HTTP {status}")] += 1
    except ValueError:
        outcomes[f"HTTP {status}"] += 1


def _classify_batch(status: int, body: bytes, outcomes: Counter[str]) -> None:
    if status != 200:
        _classify_one(status, body, outcomes)
        return
    for result in json.loads(body)["results"]:
        accepted = result["status"] == "accepted"
        outcomes["accepted" if accepted else result.get("reason_code") or result["status"]] += 1


def _signed_request(kiosk: DeviceIdentity, path: str, body: bytes, port: int) -> bytes:
    headers = sign_request(kiosk.key, kiosk.kiosk_id, "POST", path, body)
    head = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        + "\r\n"
    )
    return head.encode() + body


def run_phase(
    world: World,
    ports: list[int],
    meter: Meter,
    path: str,
    queues: list[tuple[int, list[bytes]]],
    items_per_body: Callable[[bytes], int],
    limit: float | None = None,
) -> PhaseResult:
    """Every queue (a kiosk and its bodies, in order) on its own connection, to process
    ``i % len(ports)``, all at once; each sends its next request when the last is answered,
    until its queue is empty or ``limit`` seconds have passed."""
    return asyncio.run(_run_phase(world, ports, meter, path, queues, items_per_body, limit))


async def _run_phase(
    world: World,
    ports: list[int],
    meter: Meter,
    path: str,
    queues: list[tuple[int, list[bytes]]],
    items_per_body: Callable[[bytes], int],
    limit: float | None,
) -> PhaseResult:
    result = PhaseResult(sent=[0] * len(queues))
    classify = _classify_batch if path.endswith("/batch") else _classify_one
    port_of = [ports[i % len(ports)] for i in range(len(queues))]
    connections = [await _connect(port) for port in port_of]
    signed_at = time.monotonic()
    prepared = [
        [_signed_request(world.kiosks[k], path, body, port_of[i]) for body in bodies]
        for i, (k, bodies) in enumerate(queues)
    ]

    async def client(i: int) -> None:
        kiosk, bodies = queues[i]
        connection = connections[i]
        for body, data in zip(bodies, prepared[i], strict=True):
            if limit is not None and time.perf_counter() - begun > limit:
                break
            if time.monotonic() - signed_at > RESIGN_AFTER_S:
                data = _signed_request(world.kiosks[kiosk], path, body, port_of[i])
                result.resigned += 1
            attempts = 0
            while True:
                started = time.perf_counter()
                try:
                    status, head, answer = await connection.request(data)
                except ConnectionError:
                    connection = await _connect(port_of[i])
                    status, head, answer = 0, b"", b""
                else:
                    result.latencies.append(time.perf_counter() - started)
                if status in (0, 409, 429, 503):
                    result.retries += 1
                    attempts += 1
                    if attempts > MAX_ATTEMPTS:
                        raise RuntimeError(f"no answer but {status} after {attempts} tries")
                    if status:
                        await asyncio.sleep(min(_retry_after(head), 1.0))
                    data = _signed_request(world.kiosks[kiosk], path, body, port_of[i])
                    continue
                classify(status, answer, result.outcomes)
                result.sent[i] += 1
                result.items += items_per_body(body)
                break
        connection.transport.close()  # type: ignore[union-attr]

    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        before = meter.snapshot()
        begun = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(len(queues))))
        result.elapsed = time.perf_counter() - begun
        result.cpu = meter.between(before, meter.snapshot())
    finally:
        gc.enable()
        gc.unfreeze()
    return result


@dataclass
class Measured:
    """One set of service processes over one database: its online and batched runs."""

    stored: int
    processes: int
    online: PhaseResult
    batched: PhaseResult
    code: str  # digest of the service's source when the processes started
    again: bool = False  # 0 stored, measured right after a stored level: its baseline


def _one(_body: bytes) -> int:
    return 1


def _batch_items(body: bytes) -> int:
    return body.count(b'"uuid":')


# --- the measurements ------------------------------------------------------------------

ATTEMPTS = 3  # a measured run disturbed by other processes on the machine is done again
QUIET_CORES = 0.2  # what "quiet" means: the whole machine busy on less than this
QUIET_WAIT_S = 180.0
DISTURBED_CORES = 0.25  # other processes using more than this during a run: again


def _other_cores(phase: PhaseResult) -> float:
    cpu = phase.cpu
    busy = cpu.machine_busy - cpu.service - cpu.postgres - cpu.client
    return max(0.0, busy) / phase.elapsed if phase.elapsed else 0.0


def wait_for_quiet() -> float:
    """Wait (up to QUIET_WAIT_S) until the machine is idle: this benchmark shares its cores
    with whatever else runs (tests, builds). Returns the cores in use at the end."""
    deadline = time.monotonic() + QUIET_WAIT_S
    told = False
    while True:
        before = _machine()
        time.sleep(2)
        after = _machine()
        cores = (after[0] - before[0]) / CLOCK_TICKS / 2
        if cores < QUIET_CORES or time.monotonic() > deadline:
            return cores
        if not told:
            say(f"    (waiting for the machine to be quiet: {cores:.2f} cores busy)")
            told = True


def quietly(measure: Callable[..., PhaseResult], *args: Any) -> PhaseResult:
    """``measure(*args)`` on a quiet machine; again (up to ATTEMPTS times) when other processes
    took more than DISTURBED_CORES meanwhile; the least disturbed run."""
    runs: list[PhaseResult] = []
    for _ in range(ATTEMPTS):
        wait_for_quiet()
        runs.append(measure(*args))
        if _other_cores(runs[-1]) <= DISTURBED_CORES:
            break
        say(
            f"    (other processes used {_other_cores(runs[-1]):.2f} cores meanwhile: "
            "measuring again)"
        )
    return min(runs, key=_other_cores)


def measure_online(
    world: World, cluster: Cluster, meter: Meter, people: int, clients: int, limit: float
) -> PhaseResult:
    """Reservations for up to ``people`` new people (for at most ``limit`` seconds), then
    the applications of those who reserved (likewise), one envelope per request."""
    crowd = world.people(people)
    queues = world.bodies("reservation", crowd, clients)  # card-signed before the clock
    total = run_phase(
        world, cluster.ports, meter, "/v1/submissions", list(enumerate(queues)), _one, limit
    )
    # Person i was the (i // clients)-th of kiosk i % clients.
    reserved = [p for i, p in enumerate(crowd) if i // clients < total.sent[i % clients]]
    queues = world.bodies("application", reserved, clients)
    total += run_phase(
        world, cluster.ports, meter, "/v1/submissions", list(enumerate(queues)), _one, limit
    )
    if total.accepted != total.items:
        say(f"  ! online: {total.accepted} of {total.items} accepted: {dict(total.outcomes)}")
    return total


def measure_batched(
    world: World, cluster: Cluster, meter: Meter, people: int, kiosks: int, batch: int
) -> PhaseResult:
    """The same kind of envelopes in batches of ``batch`` from ``kiosks`` kiosks at once."""
    crowd = world.people(people)
    total = PhaseResult()
    for kind in ("reservation", "application"):
        queues = world.bodies(kind, crowd, kiosks)
        batches = []
        for k, q in enumerate(queues):
            bodies = [b",".join(q[i : i + batch]) for i in range(0, len(q), batch)]
            batches.append((k, [b'{"items":[' + body + b"]}" for body in bodies]))
        total += run_phase(
            world, cluster.ports, meter, "/v1/submissions/batch", batches, _batch_items
        )
    if total.accepted != 2 * people:
        say(f"  ! batched: {total.accepted} of {2 * people} accepted: {dict(total.outcomes)}")
    return total


@dataclass
class Race:
    processes: int
    phase: PhaseResult
    accepted: int
    closed: int
    mykeys: int
    issued: int

    @property
    def exact(self) -> bool:
        return (self.accepted, self.closed, self.mykeys, self.issued) == (
            RACE_CAP,
            RACE_PEOPLE - RACE_CAP,
            RACE_CAP,
            RACE_CAP,
        )


def measure_race(
    world: World,
    server: BenchPostgres,
    database: str,
    cluster: Cluster,
    meter: Meter,
    clients: int,
) -> Race:
    crowd = world.people(RACE_PEOPLE)
    queues = world.bodies("reservation", crowd, clients)
    phase = run_phase(world, cluster.ports, meter, "/v1/submissions", list(enumerate(queues)), _one)
    with server.connect(database) as connection:
        mykeys = connection.execute("SELECT count(*) FROM mykeys").fetchone()[0]  # type: ignore[index]
        issued = connection.execute(
            "SELECT coalesce(sum(issued), 0) FROM reservation_budget_slots"
        ).fetchone()[0]  # type: ignore[index]
    return Race(
        processes=cluster.count,
        phase=phase,
        accepted=phase.outcomes["accepted"],
        closed=phase.outcomes["RESERVATIONS_CLOSED"],
        mykeys=int(mykeys),
        issued=int(issued),
    )


# --- people already stored ------------------------------------------------------------------


def _digit(x: str, i: int) -> str:
    return f"(({x} / {31**i}) % 31)"


def _char(expression: str) -> str:
    return f"substr('{ALPHABET}', ({expression})::int + 1, 1)"


def _receipt_sql(x: str) -> str:
    """A valid receipt number (its check character) from the 60-bit number ``x``."""
    digits = [_digit(x, i) for i in range(11)]
    check = "((" + " + ".join(f"{i + 1} * {d}" for i, d in enumerate(digits)) + ") % 31)"
    chars = [_char(d) for d in digits] + [_char(check)]
    return " || '-' || ".join(" || ".join(chars[i : i + 4]) for i in (0, 4, 8))


def _mykey_sql(n: str) -> str:
    """A MyKey ID per ``n``, all distinct: ``n`` times a number prime to 31, modulo 31**8,
    written in base 31 (spread over the key space like the service's random ones)."""
    x = f"(({n} * 402653189) % {31**8})"
    return " || ".join(_char(_digit(x, i)) for i in range(8))


def _historic_kiosks(connection: psycopg.Connection[Any], now: dt.datetime) -> None:
    """The kiosks the stored people came through (rows in ``devices``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "historic kiosk (benchmark)")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    connection.execute(
        "INSERT INTO devices (kiosk_id, channel, status, certificate_pem, public_key_der, "  # noqa: S608
        "certificate_serial, enrolled_at) "
        "SELECT 'hist-' || lpad(i::text, 5, '0'), "
        "CASE WHEN i %% 2 = 0 THEN 'city_hall' ELSE 'convenience_store' END, 'active', "
        "%s, %s, upper(to_hex(4096 + i)), %s "
        f"FROM generate_series(0, {HISTORIC_KIOSKS - 1}) AS i",
        (
            certificate.public_bytes(serialization.Encoding.PEM).decode(),
            key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            now - dt.timedelta(days=400),
        ),
    )


def _generation_sql(start: int, stop: int, issuer: str, t0: dt.datetime) -> list[str]:
    """Statements that store people ``start`` .. ``stop - 1``: a reservation each (mykeys,
    card_certificates, its submission), an application for every other one (applications,
    its submission), point totals for every tenth."""
    quoted = "'" + issuer.replace("'", "''") + "'"
    first = f"TIMESTAMPTZ '{t0.isoformat()}'"
    not_before = f"TIMESTAMPTZ '{(t0 - dt.timedelta(days=60)).isoformat()}'"
    not_after = f"TIMESTAMPTZ '{(t0 + dt.timedelta(days=5 * 365)).isoformat()}'"
    services = "ARRAY[" + ",".join(f"'{s}'" for s in STORED_SERVICES) + "]"
    k = HISTORIC_KIOSKS
    gen = f"""
        CREATE TEMP TABLE gen ON COMMIT DROP AS
        SELECT g.*, d.id AS device_id, d.kiosk_id, d.channel,
               2 * (g.n / {k}) + 1 AS sequence,
               ({services})[(g.n / 2) % {len(STORED_SERVICES)} + 1] AS service_code,
               md5('account:' || g.n) || md5('account+' || g.n) AS account_hmac,
               lpad((g.n % 10000)::text, 4, '0') AS last4
        FROM (
            SELECT n, {_mykey_sql("n")} AS mykey_id,
                   'C' || upper(substr(md5('serial:' || n), 2))
                       || upper(substr(md5('serial+' || n), 1, 8)) AS serial_hex,
                   md5('reservation:' || n)::uuid::text AS res_uuid,
                   md5('application:' || n)::uuid::text AS app_uuid,
                   {_receipt_sql("rx")} AS res_receipt,
                   {_receipt_sql("ax")} AS app_receipt,
                   {first} + n * INTERVAL '259.2 milliseconds' AS t
            FROM (
                SELECT n, ('x' || substr(md5('receipt-r:' || n), 1, 15))::bit(60)::bigint AS rx,
                          ('x' || substr(md5('receipt-a:' || n), 1, 15))::bit(60)::bigint AS ax
                FROM generate_series({start}::bigint, {stop - 1}::bigint) AS n
                OFFSET 0  -- computed once: not folded into each of their uses above
            ) AS h
        ) AS g
        JOIN devices d ON d.kiosk_id = 'hist-' || lpad((g.n % {k})::text, 5, '0')
    """  # noqa: S608
    submission_columns = (
        "uuid, fingerprint, kind, kiosk_id, receipt_number, card_issuer, card_serial_hex, "
        "state, sequence, kiosk_time, outcome, http_status, result_json, received_at, "
        "completed_at"
    )
    return [
        gen,
        "INSERT INTO mykeys (mykey_id, status, reserved_at, received_at, device_id, "
        "receipt_number) SELECT mykey_id, 'active', t, t + INTERVAL '2 seconds', device_id, "
        "res_receipt FROM gen",
        "INSERT INTO card_certificates (issuer, serial_hex, mykey_id, not_before, not_after, "  # noqa: S608
        f"linked_at) SELECT {quoted}, serial_hex, mykey_id, {not_before}, {not_after}, "
        "t + INTERVAL '2 seconds' FROM gen",
        f"INSERT INTO submissions ({submission_columns}) "  # noqa: S608
        "SELECT res_uuid, md5('fingerprint-r:' || n) || md5('fingerprint-r+' || n), "
        f"'reservation', kiosk_id, res_receipt, {quoted}, serial_hex, 'done', sequence, t, "
        "'accepted', 200, json_build_object('uuid', res_uuid, 'status', 'accepted', "
        "'http_status', 200, 'receipt_number', res_receipt, 'result', "
        "json_build_object('mykey_id', mykey_id, 'already_reserved', false), "
        "'replayed', false)::text, t + INTERVAL '2 seconds', t + INTERVAL '2 seconds' FROM gen",
        "INSERT INTO applications (mykey_id, service_code, account_hmac, account_last4, status, "
        "applied_at, received_at, operator_verified_at, device_id, channel, for_whom, "
        "receipt_number, submission_uuid) SELECT mykey_id, service_code, account_hmac, last4, "
        "'active', t + INTERVAL '5 minutes', t + INTERVAL '302 seconds', "
        "t + INTERVAL '302 seconds', device_id, channel, 'self', app_receipt, app_uuid "
        "FROM gen WHERE n % 2 = 0",
        f"INSERT INTO submissions ({submission_columns}) "  # noqa: S608
        "SELECT app_uuid, md5('fingerprint-a:' || n) || md5('fingerprint-a+' || n), "
        f"'application', kiosk_id, app_receipt, {quoted}, serial_hex, 'done', sequence + 1, "
        "t + INTERVAL '5 minutes', 'accepted', 200, json_build_object('uuid', app_uuid, "
        "'status', 'accepted', 'http_status', 200, 'receipt_number', app_receipt, 'result', "
        "json_build_object('mykey_id', mykey_id, 'service_code', service_code, "
        "'service_name_ja', ps.name_ja, 'service_name_en', ps.name_en, 'account_last4', last4), "
        "'replayed', false)::text, t + INTERVAL '302 seconds', t + INTERVAL '302 seconds' "
        "FROM gen JOIN payment_services ps ON ps.code = gen.service_code WHERE n % 2 = 0",
        "INSERT INTO point_totals (mykey_id, counted_yen, points) "
        "SELECT mykey_id, c, least(c * 25 / 100, 5000) "
        "FROM gen, LATERAL (SELECT ((n * 7919) % 20001)::int AS c) AS x WHERE n % 10 = 0",
    ]


def _avoid_issued_mykeys(connection: psycopg.Connection[Any]) -> None:
    """The generated MyKey IDs are distinct, but one may be an ID the service already gave
    someone at random (a run before this level): such people get another, also distinct
    from every generated one (the same bijection, beyond any ``n`` generated)."""
    for attempt in range(1, 10):
        clashes = connection.execute(
            f"UPDATE gen SET mykey_id = {_mykey_sql(f'(n + {attempt * 10**9})')} "  # noqa: S608
            "WHERE EXISTS (SELECT 1 FROM mykeys m WHERE m.mykey_id = gen.mykey_id)"
        ).rowcount
        if not clashes:
            return
    raise RuntimeError("generated MyKey IDs keep clashing with stored ones")


GENERATED_TABLES = (
    "mykeys",
    "card_certificates",
    "submissions",
    "applications",
    "point_totals",
    "devices",
    "reservation_budget_slots",
)


@dataclass
class Generation:
    people: int  # added
    seconds: float
    vacuum_seconds: float
    database_bytes: int


def store_people(
    server: BenchPostgres, database: str, issuer: str, start: int, stop: int
) -> Generation:
    """People ``start`` .. ``stop - 1`` stored through the real schema, every constraint
    checked as they go in; the budget slots advanced as the service fills them (in slot
    order, each up to its share of the cap); then VACUUM (FREEZE, ANALYZE)."""
    t0 = (dt.datetime.now(dt.UTC) - dt.timedelta(days=40)).replace(microsecond=0)
    started = time.perf_counter()
    with server.connect(database) as connection:
        if start == 0:
            _historic_kiosks(connection, dt.datetime.now(dt.UTC))
        for a in range(start, stop, GENERATION_CHUNK):
            b = min(stop, a + GENERATION_CHUNK)
            with connection.transaction():
                make_gen, *inserts = _generation_sql(a, b, issuer, t0)
                connection.execute(make_gen)  # type: ignore[arg-type]
                _avoid_issued_mykeys(connection)
                for statement in inserts:
                    connection.execute(statement)  # type: ignore[arg-type]
            elapsed = time.perf_counter() - started
            say(
                f"    stored {b:>12,} people ({elapsed:,.0f} s, "
                f"{(b - start) / elapsed:,.0f} people/s)"
            )
        with connection.transaction():
            slots = connection.execute(
                "SELECT slot, issued FROM reservation_budget_slots ORDER BY slot FOR UPDATE"
            ).fetchall()
            left = stop - start
            for slot, issued in slots:
                take = min(left, max(0, budget.allotment(slot, PRODUCTION_CAP) - issued))
                if take:
                    connection.execute(
                        "UPDATE reservation_budget_slots SET issued = issued + %s WHERE slot = %s",
                        (take, slot),
                    )
                left -= take
            if left:
                raise RuntimeError("the stored people exceed the cap")
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        connection.execute(f"VACUUM (FREEZE, ANALYZE) {', '.join(GENERATED_TABLES)}")  # type: ignore[arg-type]
        vacuum = time.perf_counter() - started
        counts = connection.execute(
            "SELECT (SELECT count(*) FROM mykeys), "
            "(SELECT sum(issued) FROM reservation_budget_slots), "
            "pg_database_size(current_database())"
        ).fetchone()
        oldest = "SELECT receipt_number FROM mykeys ORDER BY received_at LIMIT 20"
        sample = [r[0] for r in connection.execute(oldest)]
    assert counts is not None
    if counts[0] != counts[1]:
        raise RuntimeError(f"mykeys ({counts[0]}) and the budget slots ({counts[1]}) disagree")
    if not all(receipt_numbers.is_valid(r) for r in sample):
        raise RuntimeError(f"generated receipt numbers are not valid: {sample[:3]}")
    server.checkpoint()
    return Generation(stop - start, seconds, vacuum, int(counts[2]))


# --- the profile ----------------------------------------------------------------------------


class ActivitySampler(threading.Thread):
    """pg_stat_activity of the service's connections every 50 ms: what each one is doing
    (running, waiting on what, or idle in a transaction while the service works)."""

    def __init__(self, server: BenchPostgres, database: str) -> None:
        super().__init__(daemon=True)
        self.server, self.database = server, database
        self.counts: Counter[str] = Counter()
        self.stopping = threading.Event()

    def run(self) -> None:
        with self.server.connect(self.database) as connection:
            while not self.stopping.wait(0.05):
                for state, kind, event in connection.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'"
                ):
                    if state == "active":
                        label = f"active: {kind}:{event}" if kind else "active: on CPU"
                    else:
                        label = str(state)
                    self.counts[label] += 1


@dataclass
class Profile:
    processes: int
    phase: PhaseResult
    own: list[tuple[str, float]]  # function, share of samples
    packages: list[tuple[str, float]]  # own time by top-level package (or stdlib module)
    inclusive: list[tuple[str, float]]  # the service's own functions
    statements: list[tuple[int, float, float, str]]  # calls, total ms, mean ms, query
    statement_ms: float  # all statements' execution time
    statement_calls: int
    activity: list[tuple[str, float]]
    samples: int  # holding the GIL
    seconds: float  # sampled
    error: str = ""


def _package(frame: str) -> str:
    where = frame.rpartition(" (")[2].rstrip(")")
    return where.split("/")[0] if "/" in where else where.removesuffix(".py")


def _read_pyspy(path: Path) -> tuple[int, Counter[str], Counter[str]]:
    """Samples, own time by leaf frame, inclusive time of the service's own functions."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            if "grant_service/" in frame or "mynapoint/" in frame:
                inclusive[frame] += n
    return total, own, inclusive


def profile_online(
    world: World,
    server: BenchPostgres,
    database: str,
    processes: int,
    sizes: Sizes,
    logs: Path,
) -> Profile:
    pyspy = BIN / "py-spy"
    server.set("pg_stat_statements.track", "top")
    output = logs / "py-spy.txt"
    try:
        with Cluster(world.env(server.url(database)), processes, logs) as cluster:
            meter = Meter(cluster.pids, server.postmaster_pid)
            with server.connect(database) as connection:
                connection.execute("SELECT pg_stat_statements_reset()")
            spy = None
            if pyspy.exists():
                # --gil: samples of a thread holding the GIL, i.e. the process's Python CPU
                # time (one worker: the GIL is what its threads share).
                command = [str(pyspy), "record", "--pid", str(cluster.pids[0]), "--rate", "100"]
                command += ["--gil", "--nonblocking", "--nolineno", "--format", "raw"]
                spy = subprocess.Popen(
                    [*command, "-o", str(output)],
                    stdout=subprocess.DEVNULL,
                    stderr=(logs / "py-spy.log").open("wb"),
                )
                time.sleep(1)
            sampler = ActivitySampler(server, database)
            sampler.start()
            spied = time.perf_counter()
            phase = measure_online(
                world, cluster, meter, sizes.online_people, sizes.clients, sizes.limit
            )
            sampler.stopping.set()
            sampler.join()
            spied = time.perf_counter() - spied
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            with server.connect(database) as connection:
                rows = connection.execute(
                    "SELECT calls, total_exec_time, mean_exec_time, query "
                    "FROM pg_stat_statements WHERE dbid = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND query NOT LIKE '%pg_stat_activity%' "  # the sampler's
                    "AND query NOT LIKE '%pg_stat_statements%' "
                    "ORDER BY total_exec_time DESC"
                ).fetchall()
    finally:
        server.set("pg_stat_statements.track", "none")
    error = ""
    samples, own, inclusive = 0, Counter[str](), Counter[str]()
    if not pyspy.exists():
        error = "py-spy is not installed (.venv/bin/pip install py-spy)"
    elif not output.exists():
        error = "py-spy wrote nothing: " + (logs / "py-spy.log").read_text()[-500:]
    else:
        samples, own, inclusive = _read_pyspy(output)
    packages: Counter[str] = Counter()
    for frame, n in own.items():
        packages[_package(frame)] += n
    share = 1 / samples if samples else 0.0
    seen = sum(sampler.counts.values()) or 1
    return Profile(
        processes=processes,
        phase=phase,
        own=[(f, n * share) for f, n in own.most_common(15)],
        packages=[(p, n * share) for p, n in packages.most_common(10)],
        inclusive=[(f, n * share) for f, n in inclusive.most_common(14)],
        statements=[
            (int(c), float(t), float(m), " ".join(str(q).split())) for c, t, m, q in rows[:12]
        ],
        statement_ms=sum(float(r[1]) for r in rows),
        statement_calls=sum(int(r[0]) for r in rows),
        activity=[(label, n / seen) for label, n in sampler.counts.most_common(8)],
        samples=samples,
        seconds=spied,
        error=error,
    )


# --- the report -----------------------------------------------------------------------------


@dataclass
class Sizes:
    online_people: int  # at most, per online run
    limit: float  # seconds, at most, per online phase (reservations, applications)
    batch_people: int
    levels: list[int]
    processes: list[int]
    clients: int
    batch: int
    batch_kiosks: int
    profile: bool

    def accounts(self) -> int:
        """Payment accounts one set of service processes may need (retries included)."""
        return (self.online_people + self.batch_people) * ATTEMPTS


CPU_HEAD = f"{'CPU ms/env':>11}{'(svc':>7}{'pg)':>6}{'client':>8}{'busy':>6}{'other':>7}"


def _cpu_columns(phase: PhaseResult) -> str:
    """CPU per envelope (service + PostgreSQL, each, the client); how busy both cores were;
    how many cores other processes on the machine used meanwhile."""
    cpu = phase.cpu
    busy = 100 * cpu.machine_busy / cpu.machine_total if cpu.machine_total else 0.0
    return (
        f"{phase.per_item_ms(cpu.service + cpu.postgres):>11.2f}"
        f"{phase.per_item_ms(cpu.service):>7.2f}{phase.per_item_ms(cpu.postgres):>6.2f}"
        f"{phase.per_item_ms(cpu.client):>8.3f}{busy:>5.0f}%"
        f"{_other_cores(phase):>7.2f}"
    )


def _extra(phase: PhaseResult, expected: int) -> str:
    notes = []
    if phase.outcomes["accepted"] != expected:
        others = {k: v for k, v in phase.outcomes.items() if k != "accepted"}
        notes.append(f"accepted {phase.outcomes['accepted']}/{expected} {others}")
    if phase.retries:
        notes.append(f"{phase.retries} retried")
    if phase.resigned:
        notes.append(f"{phase.resigned} re-signed")
    return ("  " + "; ".join(notes)) if notes else ""


def _met(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "NOT met")


def _short(frame: str) -> str:
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    return f"{name} ({where})" if where else name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="no 10 M level, fewer people per run (a few minutes)"
    )
    parser.add_argument("--online-people", type=int, help="people per online run, at most")
    parser.add_argument(
        "--online-seconds",
        type=float,
        help="seconds per online phase (reservations, applications), at most",
    )
    parser.add_argument("--batch-people", type=int, help="people per batched run")
    parser.add_argument("--levels", help="people already stored, e.g. 0,1000000,10000000")
    parser.add_argument(
        "--processes", default=",".join(map(str, PROCESS_COUNTS)), help="service processes to try"
    )
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--batch", type=int, default=500, help="envelopes per batch request")
    parser.add_argument("--batch-kiosks", type=int, default=4)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    levels = args.levels or ("0,1000000" if args.quick else "0,1000000,10000000")
    sizes = Sizes(
        online_people=args.online_people or (6_000 if args.quick else 15_000),
        limit=args.online_seconds or (12 if args.quick else 30),
        batch_people=args.batch_people or (4_000 if args.quick else 20_000),
        levels=sorted({int(x) for x in levels.split(",")} | {0}),
        processes=[int(x) for x in args.processes.split(",")],
        clients=args.clients,
        batch=args.batch,
        batch_kiosks=args.batch_kiosks,
        profile=not args.no_profile,
    )
    begun = time.perf_counter()

    tmp = Path(tempfile.gettempdir())
    free = shutil.disk_usage(tmp).free
    need = max(sizes.levels) * 3_200 + 20 * 2**30  # about 3 KB a person, WAL, margin
    say(
        f"Disk: {free / 2**30:,.0f} GB free in {tmp}; this run needs about "
        f"{need / 2**30:,.0f} GB. Load average before the run: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    if free < need:
        raise SystemExit("not enough disk space for the stored-people levels asked for")

    server = BenchPostgres(settings=POSTGRES_SETTINGS)
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="grant-scale-")))
        logs = root / "logs"
        logs.mkdir()
        server.start()
        stack.callback(server.stop)
        say(f"PostgreSQL {server.version()} in {server.directory}")
        world = World(root, sizes.clients)
        stack.callback(world.close)
        prepare_base(world, server, logs)
        say(f"Set up in {time.perf_counter() - begun:,.0f} s: {sizes.clients} kiosks enrolled")

        rows: list[Measured] = []
        races: dict[int, Race] = {}

        def measure(database: str, stored: int, processes: int, *, again: bool = False) -> None:
            world.new_registry(sizes.accounts())
            server.checkpoint()
            with Cluster(world.env(server.url(database)), processes, logs) as cluster:
                meter = Meter(cluster.pids, server.postmaster_pid)
                online = quietly(
                    measure_online,
                    world,
                    cluster,
                    meter,
                    sizes.online_people,
                    sizes.clients,
                    sizes.limit,
                )
                batched = quietly(
                    measure_batched,
                    world,
                    cluster,
                    meter,
                    sizes.batch_people,
                    sizes.batch_kiosks,
                    sizes.batch,
                )
            rows.append(Measured(stored, processes, online, batched, cluster.code, again))
            say(
                f"  {stored:,} stored{' (again)' if again else ''}, {processes} process(es): "
                f"online {online.rate:,.0f}/s, batched {batched.rate:,.0f}/s"
            )

        for processes in sizes.processes:
            server.create_database(f"fresh_{processes}", "base")
            measure(f"fresh_{processes}", 0, processes)
            name = f"race_{processes}"
            url = server.create_database(name, "base")
            with Cluster(world.env(url, cap=RACE_CAP), processes, logs) as cluster:
                meter = Meter(cluster.pids, server.postmaster_pid)
                races[processes] = measure_race(world, server, name, cluster, meter, sizes.clients)
            say(
                f"  race, {processes} process(es): {races[processes].accepted} accepted, "
                f"{races[processes].mykeys} MyKey IDs"
            )
        best = max(rows, key=lambda r: r.online.rate).processes

        generations: dict[int, Generation] = {}
        stored_levels = [x for x in sizes.levels if x]
        if stored_levels:
            server.create_database("stored", "base")
            current = 0
            for level in stored_levels:
                say(f"  storing people up to {level:,} ...")
                generations[level] = store_people(server, "stored", world.issuer, current, level)
                current = level
                measure("stored", level, best)
                # The baseline of this level: 0 stored, measured right after, on the same
                # server (the machine and the service's code may have changed since the
                # first runs).
                server.create_database(f"fresh_after_{level}", "base")
                measure(f"fresh_after_{level}", 0, best, again=True)

        profile = None
        if sizes.profile:
            server.create_database("profile", "base")
            server.checkpoint()
            world.new_registry(sizes.accounts())
            wait_for_quiet()
            profile = profile_online(world, server, "profile", best, sizes, logs)
        errors = _service_errors(logs)
        wall = time.perf_counter() - begun

    _report(sizes, rows, races, generations, best, profile, errors, wall)


def _service_errors(logs: Path) -> list[str]:
    found = []
    for path in sorted(logs.glob("service-*.log")):
        text = path.read_text(errors="replace")
        count = text.count("Traceback") + text.count('" 500')
        if count:
            found.append(
                f"{path.name}: {count} tracebacks/500s, e.g. "
                + text[text.find("Traceback") :][:300].replace("\n", " | ")
            )
    return found


def _baseline(rows: list[Measured], row: Measured) -> Measured | None:
    """What a row's ratio is against: for 0 stored, the first row (the fewest processes);
    for a stored level, the 0-stored run measured right after it; for that one, the
    first 0-stored run with as many processes (how much the machine drifted)."""
    if row.stored:
        later = rows[rows.index(row) + 1 :]
        return next((r for r in later if r.again and r.processes == row.processes), None)
    if row.again:
        return next(
            (r for r in rows if not r.stored and not r.again and r.processes == row.processes),
            None,
        )
    return rows[0]


def _report(
    sizes: Sizes,
    rows: list[Measured],
    races: dict[int, Race],
    generations: dict[int, Generation],
    best: int,
    profile: Profile | None,
    errors: list[str],
    wall: float,
) -> None:
    codes = list(dict.fromkeys(r.code for r in rows))

    def label(row: Measured) -> str:
        return f"{row.stored:,}" + (" again" if row.again else "")

    def code(row: Measured) -> str:
        return f"  [code {'ABCDEFGHIJ'[codes.index(row.code) % 10]}]" if len(codes) > 1 else ""

    say("")
    say(
        f"Grant service at scale on PostgreSQL ({os.cpu_count()} cores; whole run "
        f"{wall / 60:,.1f} min)"
    )
    say(
        "PostgreSQL settings: "
        + ", ".join(
            f"{k}={v}" for k, v in POSTGRES_SETTINGS.items() if k != "pg_stat_statements.track"
        )
        + " (pg_stat_statements tracks only during the profile)"
    )
    say(
        f"\nOnline: one envelope per request, {sizes.clients} clients (one kiosk each, "
        f"half city hall, half convenience store); per run, reservations for up to "
        f"{sizes.online_people:,} new people for at most {sizes.limit:.0f} s, then the "
        f"applications of those who reserved (likewise)"
    )
    say(
        f"{'stored':>16}{'procs':>6}{'envel.':>8}{'env/s':>8}{'x base':>7}{'p50 ms':>8}"
        f"{'p99 ms':>8}{CPU_HEAD}{'cap exact':>11}"
    )
    for row in rows:
        phase, base = row.online, _baseline(rows, row)
        exact = races.get(row.processes) if not row.stored and not row.again else None
        say(
            f"{label(row):>16}{row.processes:>6}{phase.items:>8,}{phase.rate:>8,.0f}"
            f"{phase.rate / base.online.rate if base and base.online.rate else 0:>7.2f}"
            f"{phase.latency_ms(0.5):>8.1f}{phase.latency_ms(0.99):>8.1f}{_cpu_columns(phase)}"
            f"{'' if exact is None else ('yes' if exact.exact else 'NO'):>11}"
            f"{_extra(phase, phase.items)}{code(row)}"
        )
    say(
        f"x base: 0 stored: against {rows[0].processes} process(es); a stored level: "
        "against 0 stored measured right after it ('again', on a fresh database, same "
        "processes); 'again': against the first 0-stored run (the drift in between). CPU "
        "ms/env: the service processes plus the PostgreSQL server, per envelope; client: the "
        "load generator's own CPU per envelope; busy: both cores, whole machine; other: "
        "cores used meanwhile by other processes (anything else running on the "
        "machine)."
    )

    say(
        f"\nBatched: {sizes.batch_people:,} people per run, {sizes.batch_kiosks} kiosks at "
        f"once, batches of {sizes.batch} (reservations, then applications)"
    )
    say(
        f"{'stored':>16}{'procs':>6}{'env/s':>8}{'x base':>7}{'x online':>9}"
        f"{'p50 batch ms':>13}{CPU_HEAD}"
    )
    for row in rows:
        phase, base = row.batched, _baseline(rows, row)
        say(
            f"{label(row):>16}{row.processes:>6}{phase.rate:>8,.0f}"
            f"{phase.rate / base.batched.rate if base and base.batched.rate else 0:>7.2f}"
            f"{phase.rate / row.online.rate if row.online.rate else 0:>9.1f}"
            f"{phase.latency_ms(0.5):>13.0f}{_cpu_columns(phase)}"
            f"{_extra(phase, 2 * sizes.batch_people)}{code(row)}"
        )
    say("x base: as above; x online: against the online rate of the same row.")

    say(
        f"\nThe cap race: {RACE_PEOPLE:,} people reserve at once from {sizes.clients} "
        f"clients, cap {RACE_CAP}"
    )
    say(
        f"{'procs':>6}{'res./s':>8}{'p99 ms':>8}{'accepted':>10}{'closed':>8}{'mykeys':>8}"
        f"{'slots':>7}{'exact':>7}"
    )
    for processes, race in sorted(races.items()):
        say(
            f"{processes:>6}{race.phase.rate:>8,.0f}{race.phase.latency_ms(0.99):>8.1f}"
            f"{race.accepted:>10}{race.closed:>8}{race.mykeys:>8}{race.issued:>7}"
            f"{'yes' if race.exact else 'NO':>7}"
            f"{_extra(race.phase, RACE_CAP) if not race.exact else ''}"
        )

    if generations:
        say(
            "\nStored people (SQL through the real schema: mykeys, card_certificates, "
            "submissions, applications for half, point_totals for a tenth; budget slots "
            "advanced; VACUUM FREEZE ANALYZE)"
        )
        say(
            f"{'up to':>12}{'added':>12}{'seconds':>9}{'people/s':>10}{'vacuum s':>10}"
            f"{'database':>10}"
        )
        for level, g in sorted(generations.items()):
            say(
                f"{level:>12,}{g.people:>12,}{g.seconds:>9,.0f}{g.people / g.seconds:>10,.0f}"
                f"{g.vacuum_seconds:>10,.0f}{g.database_bytes / 2**30:>8,.1f}GB"
            )

    if profile is not None:
        _report_profile(profile)
    busiest = max(_other_cores(p) for r in rows for p in (r.online, r.batched))
    if busiest > DISTURBED_CORES:
        say(
            f"\nWarning: other processes used up to {busiest:.2f} cores during a measured run "
            "(column 'other'): those figures are low by about that share of the "
            "machine."
        )
    if len(codes) > 1:
        say(
            f"\nWarning: the service's code (grant_service/, mynapoint/) changed during the "
            f"run: {len(codes)} versions, marked [code A], [code B]...; rows of different "
            "versions measure different code."
        )
    if errors:
        say("\nService errors in the logs:")
        for line in errors:
            say(f"  {line}")

    firsts = [r for r in rows if not r.stored and not r.again]
    online_best = max(r.online.rate for r in firsts)
    batched_best = max(r.batched.rate for r in firsts)
    cap_exact = all(r.exact for r in races.values())
    scale_ok: bool | None = None
    scale_note = "10 M not measured"
    for row in rows:
        base = _baseline(rows, row)
        if row.stored and base is not None:
            ratios = (row.online.rate / base.online.rate, row.batched.rate / base.batched.rate)
            note = f"at {row.stored:,}: online x{ratios[0]:.2f}, batched x{ratios[1]:.2f}"
            if row.stored >= 10_000_000:
                scale_ok = min(ratios) >= 0.8
                scale_note = note
            else:
                scale_note += f"; {note}"
    say(f"\nGoals ({os.cpu_count()} cores):")
    say(
        f"  online >= 1,000 envelopes/s with {sizes.clients} clients: {online_best:,.0f}/s: "
        f"{_met(online_best >= 1000)}"
    )
    say(f"  batched >= 5,000 envelopes/s: {batched_best:,.0f}/s: {_met(batched_best >= 5000)}")
    say(
        f"  the rate at 10 M stored within 20% of the rate at 0 ({best} processes): "
        f"{scale_note}: {_met(scale_ok)}"
    )
    say(f"  the cap race exact ({RACE_CAP} of {RACE_PEOPLE:,}): {_met(cap_exact)}")
    say(
        f"online_per_s={online_best:.0f} batched_per_s={batched_best:.0f} "
        f"cap_exact={'yes' if cap_exact else 'no'}"
    )


def _report_profile(profile: Profile) -> None:
    phase = profile.phase
    say(
        f"\nProfile: one online run ({phase.items:,} envelopes, {profile.processes} processes; "
        f"{phase.rate:,.0f} envelopes/s under the profilers)"
    )
    if profile.error:
        say(f"  py-spy: {profile.error}")
    else:
        held = profile.samples / (100 * profile.seconds) if profile.seconds else 0.0
        say(
            f"  py-spy --gil on one service process: {profile.samples:,} samples holding the "
            f"GIL (it was held {100 * held:.0f}% of the time); own time by package:"
        )
        say("    " + ", ".join(f"{p} {100 * share:.0f}%" for p, share in profile.packages))
        say("  own time by function:")
        for frame, share in profile.own:
            say(f"    {100 * share:5.1f}%  {_short(frame)}")
        say("  the service's own functions, inclusive time:")
        for frame, share in profile.inclusive:
            say(f"    {100 * share:5.1f}%  {_short(frame)}")
    per = profile.statement_ms / phase.items if phase.items else 0.0
    calls = profile.statement_calls / phase.items if phase.items else 0.0
    say(
        f"  pg_stat_statements: {calls:.1f} statements and {per:.2f} ms of statement "
        "execution per envelope; the most expensive:"
    )
    say(f"    {'calls':>8}{'total ms':>10}{'mean ms':>9}  query")
    for calls, total, mean, query in profile.statements:
        say(f"    {calls:>8,}{total:>10,.0f}{mean:>9.3f}  {query[:150]}")
    say("  pg_stat_activity, the service's connections (sampled every 50 ms):")
    for label, share in profile.activity:
        say(f"    {100 * share:5.1f}%  {label}")


if __name__ == "__main__":
    main()
