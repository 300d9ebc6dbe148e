"""Benchmark: a national fleet's heartbeats, and the console's fleet page over it.

For each database (SQLite file, PostgreSQL server), in the same run:

- ``--kiosks`` enrolled kiosks (real device keys and certificates from the service's
  device CA) send device-signed heartbeats at their normal rate, one every 60 s each,
  for ``--seconds``: the rate the fleet needs (the baseline), what the service held, and
  the answer times (p50, p99);
- the same kiosks as fast as the client processes can send: the most heartbeats a second
  the service holds, as a ratio to what the fleet needs;
- the database rows that costs a day (the latest state per kiosk, one history point per
  kiosk per 5 minutes), and their size on disk where the database tells it;
- the console's fleet page with every kiosk reporting: signed in as an operator, the
  page's answer time (median, p95 of 20) against the 300 ms it must stay under.

Everything is real: ``grant-service serve`` over HTTP on loopback, every request signed
with the kiosk's ECDSA key and checked (signature, certificate, nonce), durable commits.

    .venv/bin/python bench/fleet_heartbeats.py [--kiosks 5000] [--seconds 60] [--no-postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import multiprocessing
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.service_ingest import run, serving
from grant_service import devices
from grant_service.cli import prepare_database
from grant_service.keys import DeviceCa, ServiceKeys
from grant_service.models import KioskStatus, KioskStatusPoint
from grant_service.settings import Settings
from grant_service.testing.postgres import PrivatePostgres
from kiosk.link.device_identity import DeviceIdentity
from mynapoint.database import make_engine, make_session_factory
from mynapoint.request_signing import sign_request

INTERVAL = 60  # seconds between a kiosk's heartbeats
CLIENT_PROCESSES = 4
THREADS_PER_PROCESS = 16
PAGE_BUDGET_MS = 300


def heartbeat(kiosk_id: str, index: int) -> dict[str, object]:
    """A plausible state: most kiosks fine, some out of paper, some with a queue."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return {
        "observed_at": now.isoformat().replace("+00:00", "Z"),
        "interval_seconds": INTERVAL,
        "app_version": "0.1.0",
        "store_id": f"S{index % 900:04d}",
        "store_name": f"店舗 {index % 900}",
        "municipality": f"市区町村{index % 47:02d}",
        "state": "in_use" if index % 5 == 0 else "idle",
        "queue_depth": index % 7,
        "oldest_unsent_seconds": (index % 7) * 30 or None,
        "quarantined": 0,
        "paper": "out" if index % 97 == 0 else "ok",
        "reader_present": True,
        "card_on_reader": False,
        "disk_free_bytes": 20_000_000_000,
        "clock_skew_seconds": 0.2,
        "last_sync_at": now.isoformat().replace("+00:00", "Z"),
        "last_error": None,
    }


# --- the fleet ---------------------------------------------------------------------------


def enroll_fleet(settings: Settings, kiosks: int) -> list[tuple[str, bytes]]:
    """``kiosks`` enrolled devices: (kiosk id, private key PEM), certificates from the CA."""
    keys = ServiceKeys.load(settings.data_dir)
    ca = DeviceCa.load_or_create(settings.device_ca_dir)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    now = dt.datetime.now(dt.UTC)
    fleet = []
    for start in range(0, kiosks, 500):
        with sessions.begin() as session:
            for index in range(start, min(kiosks, start + 500)):
                kiosk_id = f"kiosk-{index:05d}"
                channel = "city_hall" if index % 4 == 0 else "convenience_store"
                identity = DeviceIdentity.generate(kiosk_id)
                token = devices.create_enrollment_token(
                    session, keys.audit_hmac, kiosk_id, channel, dt.timedelta(hours=1), now
                )
                devices.enroll(session, ca, keys.audit_hmac, token, identity.csr_pem(),
                               days=30, now=now)  # fmt: skip
                pem = identity.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                fleet.append((kiosk_id, pem))
    engine.dispose()
    return fleet


@dataclass
class Load:
    sent: int
    recorded: int
    failed: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.recorded / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def _send_slice(job: tuple[str, list[tuple[int, str, bytes]], float, float, bool]) -> dict:  # type: ignore[type-arg]
    """In a client process: its kiosks' heartbeats, on schedule (each kiosk once per
    INTERVAL, phases spread) or as fast as possible, for ``seconds``."""
    url, kiosks, seconds, start_at, flat_out = job
    keys = {kiosk_id: serialization.load_pem_private_key(pem, None) for _, kiosk_id, pem in kiosks}
    latencies: list[float] = []
    counts = {"sent": 0, "recorded": 0, "failed": 0}
    lock = threading.Lock()
    client = httpx.Client(
        base_url=url,
        timeout=30,
        limits=httpx.Limits(max_connections=THREADS_PER_PROCESS),
    )

    def send(index: int, kiosk_id: str) -> None:
        body = json.dumps(heartbeat(kiosk_id, index), separators=(",", ":")).encode()
        path = "/v1/devices/heartbeat"
        headers = sign_request(keys[kiosk_id], kiosk_id, "POST", path, body,  # type: ignore[arg-type]
                               dt.datetime.now(dt.UTC))  # fmt: skip
        headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        try:
            reply = client.post(path, content=body, headers=headers)
            ok = reply.status_code == 200
        except httpx.HTTPError:
            ok = False
        took = (time.perf_counter() - began) * 1000
        with lock:
            counts["sent"] += 1
            counts["recorded" if ok else "failed"] += 1
            latencies.append(took)

    while time.time() < start_at:
        time.sleep(0.01)
    began = time.perf_counter()
    with ThreadPoolExecutor(THREADS_PER_PROCESS) as pool:
        if flat_out:

            def keep_sending(worker: int) -> None:
                turn = worker
                while time.perf_counter() - began < seconds:
                    index, kiosk_id, _ = kiosks[turn % len(kiosks)]
                    send(index, kiosk_id)
                    turn += THREADS_PER_PROCESS

            list(pool.map(keep_sending, range(THREADS_PER_PROCESS)))
        else:
            # Kiosk i sends at its phase, then every INTERVAL seconds.
            schedule = sorted(
                (phase + n * INTERVAL, index, kiosk_id)
                for (index, kiosk_id, _), phase in (
                    (k, random.Random(k[0]).uniform(0, INTERVAL)) for k in kiosks
                )
                for n in range(int(seconds // INTERVAL) + 1)
                if phase + n * INTERVAL < seconds
            )
            futures = []
            for due, index, kiosk_id in schedule:
                delay = due - (time.perf_counter() - began)
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(send, index, kiosk_id))
            for future in futures:
                future.result()
    elapsed = time.perf_counter() - began
    client.close()
    return {**counts, "seconds": elapsed, "latencies": latencies}


def load(url: str, fleet: list[tuple[str, bytes]], seconds: float, *, flat_out: bool) -> Load:
    kiosks = [(index, kiosk_id, pem) for index, (kiosk_id, pem) in enumerate(fleet)]
    slices = [kiosks[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    start_at = time.time() + 2  # every process ready first
    jobs = [(url, part, seconds, start_at, flat_out) for part in slices]
    with multiprocessing.get_context("spawn").Pool(CLIENT_PROCESSES) as pool:
        results = pool.map(_send_slice, jobs)
    return Load(
        sent=sum(r["sent"] for r in results),
        recorded=sum(r["recorded"] for r in results),
        failed=sum(r["failed"] for r in results),
        seconds=max(r["seconds"] for r in results),
        latencies_ms=[x for r in results for x in r["latencies"]],
    )


# --- rows and the page -----------------------------------------------------------------


def row_cost(settings: Settings, kiosks: int) -> dict[str, float]:
    """Rows a day, and bytes a history row where the database says (PostgreSQL)."""
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        states = session.scalar(select(func.count()).select_from(KioskStatus)) or 0
        points = session.scalar(select(func.count()).select_from(KioskStatusPoint)) or 0
        bytes_per_point = 0.0
        if not settings.is_sqlite and points:
            size = session.scalar(text("select pg_total_relation_size('kiosk_status_history')"))
            bytes_per_point = float(size or 0) / points
    engine.dispose()
    per_day = kiosks * 24 * 60 // settings.fleet_history_bucket_minutes
    return {
        "states": states,
        "points_now": points,
        "points_per_day": per_day,
        "points_kept": per_day * settings.fleet_history_days,
        "bytes_per_point": bytes_per_point,
    }


HIDDEN = re.compile(r'name="(?P<name>csrf_token|csrf)"[^>]*value="(?P<value>[^"]+)"')


def signed_in(url: str, env: dict[str, str]) -> httpx.Client:
    """A console session: a console credential from the CLI, signed in through the form."""
    label = "bench operator"
    token = run("credential", "create", "--role", "console", "--label", label, env=env)
    token = token.split()[-1] if "\n" in token else token
    client = httpx.Client(base_url=url, timeout=30, follow_redirects=True)
    page = client.get("/console/sign-in")
    fields = {m["name"]: m["value"] for m in HIDDEN.finditer(page.text)}
    reply = client.post("/console/sign-in", data={**fields, "name": label, "key": token})
    if "/console/sign-in" in str(reply.url):
        raise RuntimeError(f"could not sign in to the console: {reply.status_code}")
    return client


def fleet_page(url: str, env: dict[str, str], tries: int = 20) -> tuple[float, float, int]:
    """The fleet page's answer time (median, p95 in ms) and its size in bytes."""
    client = signed_in(url, env)
    try:
        client.get("/console/fleet")  # warm
        times, size = [], 0
        for _ in range(tries):
            began = time.perf_counter()
            reply = client.get("/console/fleet")
            times.append((time.perf_counter() - began) * 1000)
            reply.raise_for_status()
            size = len(reply.content)
    finally:
        client.close()
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], size


# --- the run -----------------------------------------------------------------------------


def environment(settings: Settings) -> dict[str, str]:
    return {
        "GRANT_SERVICE_DATA_DIR": str(settings.data_dir),
        "GRANT_SERVICE_DATABASE_URL": settings.database_url,
    }


def one_backend(name: str, database_url: str, work: Path, args: argparse.Namespace) -> None:
    settings = Settings(data_dir=work / "service", database_url=database_url)
    prepare_database(settings)
    began = time.perf_counter()
    fleet = enroll_fleet(settings, args.kiosks)
    print(f"{name}: {len(fleet):,} kiosks enrolled in {time.perf_counter() - began:.1f} s")
    env = environment(settings)
    with serving(env) as url:
        needed = len(fleet) / INTERVAL
        normal = load(url, fleet, args.seconds, flat_out=False)
        print(
            f"  normal rate: needed {needed:.1f}/s, held {normal.rate:.1f}/s "
            f"({normal.recorded:,} of {normal.sent:,} recorded, {normal.failed} failed); "
            f"answer p50 {normal.percentile(50):.1f} ms, p99 {normal.percentile(99):.1f} ms"
        )
        flat = load(url, fleet, args.flat_seconds, flat_out=True)
        print(
            f"  flat out: {flat.rate:.0f} heartbeats/s held ({flat.failed} failed), "
            f"{flat.rate / needed:.1f}x what {len(fleet):,} kiosks need; "
            f"p50 {flat.percentile(50):.1f} ms, p99 {flat.percentile(99):.1f} ms"
        )
        cost = row_cost(settings, len(fleet))
        size = (
            f", {cost['bytes_per_point']:.0f} bytes each with indexes "
            f"({cost['bytes_per_point'] * cost['points_kept'] / 2**30:.1f} GiB kept)"
            if cost["bytes_per_point"]
            else ""
        )
        print(
            f"  rows: {cost['states']:,.0f} latest states; history {cost['points_per_day']:,.0f} "
            f"points a day, {cost['points_kept']:,.0f} kept{size}"
        )
        median, p95, page_bytes = fleet_page(url, env)
        verdict = "under" if p95 < PAGE_BUDGET_MS else "OVER"
        print(
            f"  fleet page with {len(fleet):,} kiosks: median {median:.0f} ms, p95 {p95:.0f} ms "
            f"({verdict} the {PAGE_BUDGET_MS} ms budget), {page_bytes / 1024:.0f} KiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60.0, help="the normal-rate run")
    parser.add_argument("--flat-seconds", type=float, default=20.0, help="the flat-out run")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fleet-bench-")))
        one_backend("SQLite", f"sqlite:///{work / 'sqlite' / 'grant.sqlite3'}", work / "sqlite",
                    args)  # fmt: skip
        if not args.no_postgres:
            server = stack.enter_context(PrivatePostgres())
            one_backend("PostgreSQL", server.create_database("fleet"), work / "pg", args)


if __name__ == "__main__":
    main()
