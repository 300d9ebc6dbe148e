"""Benchmark: envelopes the grant service accepts per second, batched versus one by one.

For each database (SQLite file, PostgreSQL server), in the same run:

- one by one: N people, each a reservation then an application, one HTTP request per
  envelope (the baseline);
- batched: the same work in requests of ``--batch`` envelopes;
- the budget cap under 64 concurrent client processes over HTTP (4 service workers):
  reservations per second, and whether the count of MyKey IDs equals the cap;
- point transactions from a payment operator: one by one (the baseline), batched, and
  the same batches replayed, checking that exactly 5,000 yen per person is granted.

Everything is real: ``grant-service serve`` over HTTP on loopback, envelopes signed with
RSA keys behind real test certificates, every signature and certificate checked,
durable commits (SQLite ``synchronous=FULL``, PostgreSQL ``fsync=on``).

    .venv/bin/python bench/service_ingest.py [--people 500] [--batch 250] [--no-postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from grant_service.operators import account_entry
from grant_service.settings import PACKAGE_DATA
from grant_service.testing.postgres import PrivatePostgres
from kiosk.devices.sim.test_ca import JpkiTestCa, new_rsa_key
from kiosk.link.device_identity import DeviceIdentity
from kiosk.link.service_client import ServiceClient
from mynapoint.envelope import (
    ApplicationPayload,
    ReservationPayload,
    build_envelope,
    format_time,
    parse_envelope,
)

BIN = Path(sys.executable).parent
CODE = "1234"


def payment_id(i: int) -> str:
    return f"08{i:09d}"  # paypay's format: 11 digits


def run(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(BIN / "grant-service"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    return result.stdout.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(env: dict[str, str], workers: int = 1) -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(BIN / "grant-service"), "serve", "--port", str(port), "--workers", str(workers)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
                if time.monotonic() > deadline or process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"service did not start: {log.read()[-2000:]!r}")
            yield url
        finally:
            process.terminate()
            process.wait(30)


class World:
    """A test CA, N people (certificates), an operator registry with their accounts."""

    def __init__(self, directory: Path, people: int) -> None:
        self.directory = directory
        self.ca = JpkiTestCa.create(directory / "ca")
        self.key = new_rsa_key()  # one key behind distinct certificates: quick to set up
        self.certificates = [
            self.ca.issue(self.key).public_bytes(serialization.Encoding.DER) for _ in range(people)
        ]
        packaged = json.loads((PACKAGE_DATA / "operators.json").read_text())
        packaged["operators"]["paypay"]["accounts"] = [
            account_entry("paypay", payment_id(i), CODE) for i in range(people)
        ]
        self.registry = directory / "operators.json"
        self.registry.write_text(json.dumps(packaged))

    def sign(self, data: bytes) -> bytes:
        key: rsa.RSAPrivateKey = self.key
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def envelopes(self, kiosk_id: str, *, applications: bool) -> list[dict]:  # type: ignore[type-arg]
        out, sequence = [], 0
        for i, certificate in enumerate(self.certificates):
            payloads = [ReservationPayload(terms_version="2020-07")]
            if applications:
                payloads.append(
                    ApplicationPayload(
                        service_code="paypay", payment_id=payment_id(i), security_code=CODE
                    )
                )
            for payload in payloads:
                sequence += 1
                envelope = build_envelope(
                    payload,
                    kiosk_id=kiosk_id,
                    sequence=sequence,
                    certificate_der=certificate,
                    sign=self.sign,
                )
                out.append(envelope.to_json())
        return out


def fresh_env(world: World, database_url: str, data_dir: Path, cap: int) -> dict[str, str]:
    env = {
        "GRANT_SERVICE_DATA_DIR": str(data_dir),
        "GRANT_SERVICE_DATABASE_URL": database_url,
        "GRANT_SERVICE_TRUSTED_CA_FILES": json.dumps([str(world.ca.directory / "ca-cert.pem")]),
        "GRANT_SERVICE_OPERATOR_REGISTRY_FILE": str(world.registry),
        "GRANT_SERVICE_APPLICATION_DEADLINE": "2099-12-31",
        "GRANT_SERVICE_POINTS_PERIOD_END": "2099-12-31",
        "GRANT_SERVICE_RESERVATION_CAP": str(cap),
        "GRANT_SERVICE_MAX_BATCH_ITEMS": "1000",
        "GRANT_SERVICE_MAX_BODY_BYTES": str(16 * 1024 * 1024),
    }
    run("migrate", env=env)
    run("import-crl", str(world.ca.directory / "crl.der"), env=env)
    return env


def enrolled_client(url: str, env: dict[str, str], kiosk_id: str) -> ServiceClient:
    token = run("enrollment-token", "--kiosk-id", kiosk_id, "--channel", "city_hall", env=env)
    client = ServiceClient(url, DeviceIdentity.generate(kiosk_id), timeout=600)
    reply = client.enroll(token)
    if reply.status_code != 200:
        raise RuntimeError(f"enrollment failed: {reply.body}")
    return client


@dataclass
class PointFigures:
    one_by_one: float  # transactions per second, one request each (the baseline)
    batched: float
    replayed: float  # the same batches again: every one a replay
    points: int


def ingest(
    world: World, database_url: str, data_dir: Path, batch: int | None, *, points: bool = False
) -> tuple[float, int, PointFigures | None]:
    """Accepted envelopes per second and how many; then, if asked, point transactions."""
    env = fresh_env(world, database_url, data_dir, cap=10**9)
    with serving(env) as url:
        client = enrolled_client(url, env, "kiosk-bench")
        items = world.envelopes("kiosk-bench", applications=True)
        started = time.perf_counter()
        accepted = 0
        if batch is None:
            for raw in items:
                accepted += client.submit(parse_envelope(raw)).status_code == 200
        else:
            for i in range(0, len(items), batch):
                reply = client._signed(
                    "POST", "/v1/submissions/batch", {"items": items[i : i + batch]}
                )
                accepted += sum(r["status"] == "accepted" for r in reply.body["results"])
        elapsed = time.perf_counter() - started
        client.close()
        figures = point_transactions(world, url, env, batch or 250) if points else None
    if accepted != len(items):
        raise RuntimeError(f"only {accepted} of {len(items)} envelopes were accepted")
    return accepted / elapsed, accepted, figures


def point_transactions(world: World, url: str, env: dict[str, str], batch: int) -> PointFigures:
    """A payment operator's stream: 10 charges of 2,500 yen per person (each person goes
    over the 20,000-yen base), posted in batches, then posted again (all replays)."""
    create = ("credential", "create", "--role", "operator", "--service", "paypay")
    token = run(*create, "--label", "bench operator", env=env)
    headers = {"Authorization": f"Bearer {token}"}
    now = format_time(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    stream = [
        {
            "tx_id": f"tx-{person}-{n}",
            "service_code": "paypay",
            "payment_id": payment_id(person),
            "kind": "charge",
            "amount_yen": 2_500,
            "occurred_at": now,
        }
        for n in range(10)
        for person in range(len(world.certificates))
    ]
    one_by_one = stream[: len(stream) // 10]
    rest = stream[len(one_by_one) :]
    with httpx.Client(base_url=url, headers=headers, timeout=600) as http:

        def post(transactions: list[dict]) -> list[dict]:  # type: ignore[type-arg]
            reply = http.post("/v1/points/transactions", json={"transactions": transactions})
            reply.raise_for_status()
            return reply.json()["results"]

        started = time.perf_counter()
        singles = [r for tx in one_by_one for r in post([tx])]
        one_rate = len(one_by_one) / (time.perf_counter() - started)
        started = time.perf_counter()
        first = [r for i in range(0, len(rest), batch) for r in post(rest[i : i + batch])]
        batch_rate = len(rest) / (time.perf_counter() - started)
        started = time.perf_counter()
        again = [r for i in range(0, len(rest), batch) for r in post(rest[i : i + batch])]
        replay_rate = len(rest) / (time.perf_counter() - started)
    if not all(r["replayed"] for r in again) or [r["points"] for r in again] != [
        r["points"] for r in first
    ]:
        raise RuntimeError("a replay changed something")
    granted = sum(r["points"] for r in singles + first)
    if granted != 5_000 * len(world.certificates):
        raise RuntimeError(f"granted {granted}, expected exactly 5,000 per person")
    return PointFigures(one_rate, batch_rate, replay_rate, granted)


def _client_process(args: tuple[str, str, str, list[dict]]) -> int:  # type: ignore[type-arg]
    url, kiosk_id, key_pem, items = args
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    client = ServiceClient(url, DeviceIdentity(kiosk_id, key), timeout=600)  # type: ignore[arg-type]
    accepted = sum(client.submit(parse_envelope(raw)).status_code == 200 for raw in items)
    client.close()
    return accepted


def budget_race(
    world: World, database_url: str, data_dir: Path, cap: int, clients: int
) -> tuple[float, int, int]:
    """Reservations per second from ``clients`` processes; MyKey IDs issued; the cap."""
    env = fresh_env(world, database_url, data_dir, cap=cap)
    with serving(env, workers=4) as url:
        client = enrolled_client(url, env, "kiosk-race")
        key_pem = client.identity.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        items = world.envelopes("kiosk-race", applications=False)
        chunks = [(url, "kiosk-race", key_pem, items[i::clients]) for i in range(clients)]
        started = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(clients) as pool:
            accepted = sum(pool.map(_client_process, chunks))
        elapsed = time.perf_counter() - started
    return len(items) / elapsed, accepted, cap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=500, help="people per ingest run")
    parser.add_argument("--batch", type=int, default=250, help="envelopes per batch request")
    parser.add_argument("--race-people", type=int, default=2000)
    parser.add_argument("--race-cap", type=int, default=500)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        root = Path(tmp)
        world = World(root / "world", args.people)
        race_world = World(root / "race-world", args.race_people)
        backends: list[tuple[str, PrivatePostgres | None]] = [("SQLite", None)]
        if not args.no_postgres:
            backends.append(("PostgreSQL", stack.enter_context(PrivatePostgres())))
        rows = []
        databases = iter(range(1000))

        def fresh_database(server: PrivatePostgres | None) -> str:
            n = next(databases)
            if server is None:
                return f"sqlite:///{root / f'bench-{n}.sqlite3'}"
            return server.create_database(f"bench_{n}")

        for name, server in backends:

            def url(server: PrivatePostgres | None = server) -> str:
                return fresh_database(server)

            one_rate, count, _ = ingest(world, url(), root / f"{name}-data", batch=None)
            batch_rate, _, point_figures = ingest(
                world, url(), root / f"{name}-data", batch=args.batch, points=True
            )
            race_rate, issued, cap = budget_race(
                race_world, url(), root / f"{name}-data", args.race_cap, args.clients
            )
            rows.append((name, count, one_rate, batch_rate, race_rate, issued, cap, point_figures))

    print(
        f"Grant service ingest ({args.people} people = {2 * args.people} envelopes per run, "
        f"batches of {args.batch}; budget race: {args.race_people} people, cap "
        f"{args.race_cap}, {args.clients} client processes, 4 service workers)"
    )
    print(
        f"{'database':<12}{'one by one /s':>15}{'batched /s':>12}{'ratio':>8}"
        f"{'race res./s':>13}{'MyKey IDs':>11}{'= cap':>7}"
    )
    for name, _count, one_rate, batch_rate, race_rate, issued, cap, _points in rows:
        print(
            f"{name:<12}{one_rate:>15.1f}{batch_rate:>12.1f}{batch_rate / one_rate:>8.1f}"
            f"{race_rate:>13.1f}{issued:>11}{'yes' if issued == cap else 'NO':>7}"
        )
    print(
        f"\nPoint transactions ({10 * args.people} per run: 10 charges of 2,500 yen per person; "
        f"batches of {args.batch}; the first tenth one by one)"
    )
    print(
        f"{'database':<12}{'one by one /s':>15}{'batched /s':>12}{'ratio':>8}"
        f"{'replays /s':>12}{'points = 5,000 x people':>25}"
    )
    for name, *_rest, figures in rows:
        print(
            f"{name:<12}{figures.one_by_one:>15.1f}{figures.batched:>12.1f}"
            f"{figures.batched / figures.one_by_one:>8.1f}{figures.replayed:>12.1f}"
            f"{figures.points:>19,} yes"
        )
    print(
        "one by one (the baseline): one HTTP request per envelope, from one kiosk; "
        "ratio = batched / one by one."
    )


if __name__ == "__main__":
    main()
