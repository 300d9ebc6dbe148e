"""Benchmark: point vouchers checked offline with the voucher key, versus online at the service.

In the same run, on ``--vouchers`` distinct real vouchers (ポイント券) of Chiyoda City:

- offline: ``mynapoint.vouchers.verify`` of each QR code's text against the public key a
  shop fetches from ``GET /v1/platform/voucher-key``, in this one process, ``--rounds``
  times over all of them: vouchers per second and the time of one check (p50, p99);
- online: each code checked with ``POST /v1/vouchers/check`` (a shop token made with
  ``grant-service credential create --role shop``) against ``grant-service serve`` (SQLite
  in a temporary directory, one worker, loopback HTTP), from one client connection one
  after the other (the baseline), then from ``--clients`` threads with a connection each:
  checks per second, p50 and p99;
- the ratio of each rate to the online one by one.

The vouchers are made through the service's HTTP API in process
(``tests/support/service_harness.py``): an enrolled city-hall kiosk, a person reserved
with a virtual My Number Card, points granted with Chiyoda's municipality credential, then
one card-signed issue request per voucher. Checked while measuring: every offline verify
gives back the face the voucher was issued with, every online check says ``usable: true``
with its points; and once, untimed, a code whose payload was changed raises
``VoucherCodeInvalid`` offline and is answered ``VOUCHER_FORGED`` online.

    .venv/bin/python bench/voucher_verification.py [--vouchers 1000] [--clients 8] [--rounds 10]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.service_ingest import run, serving
from kiosk.devices.sim.test_ca import JpkiTestCa
from mynapoint import vouchers
from mynapoint.dates import japan_day
from mynapoint.platform_requests import VoucherIssue
from tests.support.service_harness import FakeClock, ServiceEnv, service_env

CHIYODA = "131016"
MAX_GRANT = 1_000_000  # grant_service.municipal_points.MAX_GRANT_POINTS


def points_of(i: int) -> int:
    """Vouchers of 100 to 5,000 points, as people print them."""
    return 100 * (1 + (i * 7) % 50)


# --- the vouchers ------------------------------------------------------------------------


@contextmanager
def service_in_process(work: Path, database_url: str) -> Iterator[ServiceEnv]:
    environment = service_env(work, database_url, JpkiTestCa.create(work / "ca"), FakeClock())
    try:
        yield next(environment)
    finally:
        for _ in environment:  # its cleanup, after the yield
            pass


def issue_vouchers(service: ServiceEnv, count: int) -> list[tuple[str, vouchers.VoucherFace]]:
    """``count`` vouchers issued through the HTTP API: (QR code's text, face)."""
    assert service.http is not None
    kiosk = service.kiosk("city_hall")
    card = service.card()
    reserved = kiosk.reserve(card)
    if reserved.body.get("status") != "accepted":
        raise RuntimeError(f"the reservation failed: {reserved.body}")
    mykey_id = reserved.body["result"]["mykey_id"]
    token = service.credential("municipality", scope=CHIYODA, label="千代田区 (bench)")
    needed = sum(points_of(i) for i in range(count))
    expires_on = (japan_day(service.clock()) + dt.timedelta(days=365)).isoformat()
    grants = [
        {"grant_id": f"bench-{n}", "mykey_id": mykey_id, "points": MAX_GRANT,
         "expires_on": expires_on}
        for n in range(-(-needed // MAX_GRANT))
    ]  # fmt: skip
    answer = service.http.post(
        "/v1/municipal-points/grants", json={"grants": grants}, headers=service.as_role(token)
    )
    results = answer.json()["results"] if answer.status_code == 200 else []
    if len(results) != len(grants) or any(r["outcome"] != "granted" for r in results):
        raise RuntimeError(f"the grants failed: {answer.text[:2000]}")
    issued = []
    for i in range(count):
        reply = kiosk.platform(card, VoucherIssue, request_uuid=str(uuid.uuid4()),
                               municipality_code=CHIYODA, points=points_of(i))  # fmt: skip
        if reply.status_code != 200:
            raise RuntimeError(f"voucher {i} was not issued: {reply.body}")
        body = reply.body
        face = vouchers.VoucherFace(body["number"], body["municipality_code"], body["points"],
                                    dt.date.fromisoformat(body["expires_on"]))  # fmt: skip
        issued.append((body["code"], face))
    if len({face.number for _, face in issued}) != count:
        raise RuntimeError("two vouchers have the same number")
    return issued


def tampered(code: str, key: Ed25519PublicKey) -> str:
    """The same code with more points in its payload, and the signature it had."""
    prefix, _payload, signature = code.split(".")
    face = vouchers.verify(code, key)
    richer = replace(face, points=face.points * 100).payload()
    return ".".join([prefix, base64.urlsafe_b64encode(richer).rstrip(b"=").decode(), signature])


# --- the measures ------------------------------------------------------------------------


@dataclass
class Figures:
    checks: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.checks / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def offline(
    issued: list[tuple[str, vouchers.VoucherFace]], key: Ed25519PublicKey, rounds: int
) -> Figures:
    """``verify`` of every code, ``rounds`` times, one after the other in this process."""
    codes = [code for code, _ in issued]
    verify, clock = vouchers.verify, time.perf_counter
    latencies: list[float] = []
    faces: list[vouchers.VoucherFace] = []
    started = clock()
    for _ in range(rounds):
        for code in codes:
            began = clock()
            faces.append(verify(code, key))
            latencies.append((clock() - began) * 1000)
    elapsed = clock() - started
    expected = [face for _ in range(rounds) for _, face in issued]
    wrong = sum(got != want for got, want in zip(faces, expected, strict=True))
    if wrong:
        raise RuntimeError(f"{wrong} offline verifies did not give back the voucher's face")
    return Figures(len(faces), elapsed, latencies)


def online(
    url: str, token: str, issued: list[tuple[str, vouchers.VoucherFace]], clients: int
) -> Figures:
    """``POST /v1/vouchers/check`` of every code, from ``clients`` threads with a connection
    each (one: one after the other, on one kept-alive connection)."""
    slices = [issued[i::clients] for i in range(clients)]
    latencies: list[float] = []
    unusable: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1, timeout=60)

    def check_slice(part: list[tuple[str, vouchers.VoucherFace]]) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            http.get("/healthz")  # connected before the clock starts
            mine, bad = [], []
            start.wait()
            for code, face in part:
                began = time.perf_counter()
                reply = http.post("/v1/vouchers/check", json={"voucher": code})
                mine.append((time.perf_counter() - began) * 1000)
                body = reply.json() if reply.status_code == 200 else {}
                if (body.get("usable"), body.get("number"), body.get("points")) != (
                    True, face.number, face.points,
                ):  # fmt: skip
                    bad.append(f"{face.number}: {reply.status_code} {reply.text[:200]}")
        with lock:
            latencies.extend(mine)
            unusable.extend(bad)

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(check_slice, part) for part in slices]
        start.wait()
        started = time.perf_counter()
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - started
    if unusable:
        raise RuntimeError(f"{len(unusable)} online checks did not say usable, e.g. {unusable[0]}")
    return Figures(len(latencies), elapsed, latencies)


def forged_is_refused(url: str, token: str, code: str, key: Ed25519PublicKey) -> None:
    """One sanity check, not timed: a changed payload fails offline and online."""
    forged = tampered(code, key)
    try:
        vouchers.verify(forged, key)
    except vouchers.VoucherCodeInvalid:
        pass
    else:
        raise RuntimeError("a tampered code verified offline")
    reply = httpx.post(f"{url}/v1/vouchers/check", json={"voucher": forged},
                       headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
    if reply.json().get("reason_code") != "VOUCHER_FORGED":
        raise RuntimeError(f"a tampered code was answered {reply.status_code} {reply.text[:200]}")


# --- the run -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vouchers", type=int, default=1000, help="distinct vouchers issued")
    parser.add_argument("--clients", type=int, default=8, help="concurrent online clients")
    parser.add_argument("--rounds", type=int, default=10, help="offline passes over them all")
    args = parser.parse_args()
    if args.vouchers < 1 or args.clients < 1 or args.rounds < 1:
        parser.error("--vouchers, --clients and --rounds must be at least 1")

    print(
        f"Point vouchers checked offline (mynapoint.vouchers.verify, Ed25519, one process) "
        f"and online (POST /v1/vouchers/check to grant-service serve, 1 worker, SQLite, "
        f"loopback HTTP); {args.vouchers:,} distinct vouchers; {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="voucher-bench-") as tmp:
        work = Path(tmp)
        database_url = f"sqlite:///{work / 'grant.sqlite3'}"
        began = time.perf_counter()
        with service_in_process(work, database_url) as service:
            issued = issue_vouchers(service, args.vouchers)
            data_dir = service.settings.data_dir
        print(f"{len(issued):,} vouchers issued through the API in "
              f"{time.perf_counter() - began:.1f} s (not timed)")  # fmt: skip
        env = {"GRANT_SERVICE_DATA_DIR": str(data_dir), "GRANT_SERVICE_DATABASE_URL": database_url}
        token = run("credential", "create", "--role", "shop", "--scope", CHIYODA,
                    "--label", "神田の本屋 (bench)", env=env)  # fmt: skip
        with serving(env) as url:
            pem = httpx.get(f"{url}/v1/platform/voucher-key", timeout=30).content
            key = vouchers.load_public_key(pem)
            forged_is_refused(url, token, issued[0][0], key)
            online(url, token, issued[: min(50, len(issued))], 1)  # warm
            rows = [
                ("online, 1 connection (baseline)", online(url, token, issued, 1)),
                (f"online, {args.clients} clients", online(url, token, issued, args.clients)),
            ]
        rows.insert(0, ("offline verify, 1 process", offline(issued, key, args.rounds)))

    baseline = rows[1][1].rate
    print(f"\n{'check':<34}{'checks':>8}{'per s':>11}{'p50 ms':>9}{'p99 ms':>9}{'x online':>10}")
    for name, figures in rows:
        print(
            f"{name:<34}{figures.checks:>8,}{figures.rate:>11,.1f}{figures.percentile(50):>9.3f}"
            f"{figures.percentile(99):>9.3f}{figures.rate / baseline:>10.1f}"
        )
    print(
        "every offline verify gave back the voucher's face; every online check said usable; "
        "a tampered code: VoucherCodeInvalid offline, VOUCHER_FORGED online.\n"
        "online, 1 connection (the baseline): one request after another on one kept-alive "
        "connection; x online = rate / the baseline's."
    )


if __name__ == "__main__":
    main()
