"""Several ``grant-service serve`` processes over one database: one service, as a national
deployment runs it behind a load balancer.

The database, the test CA with its CRL, the operator registry and the enrolled kiosks come
from a ``ServiceEnv`` (tests/support/service_harness.py); the processes are real servers on
loopback ports, started with the same settings through the environment, so every
request goes through HTTP, uvicorn and a separate Python process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.link.service_client import Reply, ServiceClient
from mynapoint.envelope import Envelope
from tests.support.kiosk_harness import GrantServiceProcess
from tests.support.service_harness import Kiosk, ServiceEnv


def process_environment(service: ServiceEnv, **extra: object) -> dict[str, str]:
    """The settings of ``service`` as ``GRANT_SERVICE_*`` variables (what each of the
    processes of a deployment reads)."""
    settings = service.settings
    values: dict[str, object] = {
        "data_dir": settings.data_dir,
        "database_url": settings.database_url,
        "trusted_ca_files": json.dumps([str(p) for p in settings.trusted_ca_files]),
        "operator_registry_file": settings.operator_registry_file,
        "application_deadline": settings.application_deadline,
        "points_period_end": settings.points_period_end,
        "reservation_cap": settings.reservation_cap,
        "in_flight_lease_seconds": settings.in_flight_lease_seconds,
        **extra,
    }
    return {f"GRANT_SERVICE_{k.upper()}": str(v) for k, v in values.items() if v is not None}


@dataclass
class Cluster:
    service: ServiceEnv
    processes: list[GrantServiceProcess]
    _clients: list[ServiceClient] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.processes]

    def client(self, kiosk: Kiosk, index: int) -> ServiceClient:
        """The kiosk talking to process ``index`` (modulo the number of processes)."""
        url = self.urls[index % len(self.urls)]
        client = ServiceClient(url, kiosk.client.identity, timeout=120)
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()


@contextmanager
def running_cluster(
    service: ServiceEnv, workdir: Path, processes: int = 2, **settings: object
) -> Iterator[Cluster]:
    env = process_environment(service, **settings)
    with ExitStack() as stack:
        started = []
        for index in range(processes):
            process = GrantServiceProcess(workdir / f"service-{index}.log", env=env)
            process.start()
            stack.callback(process.stop)
            started.append(process)
        cluster = Cluster(service, started)
        stack.callback(cluster.close)
        yield cluster


def at_once(calls: list[Callable[[], Reply]]) -> list[Reply | BaseException]:
    """Run ``calls`` in threads released together by a barrier; their replies in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Reply | BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except BaseException as error:  # reported by the test, not lost in a thread
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return results  # type: ignore[return-value]


def copies(clients: list[ServiceClient], envelope: Envelope) -> list[Callable[[], Reply]]:
    """One call per client, each sending the same envelope in a request of its own."""
    return [lambda c=c: c.submit(envelope) for c in clients]


def outcome(reply: Any) -> tuple[int, str | None, bool]:
    """(HTTP status, reason code, replayed) of a reply, for assertions."""
    assert isinstance(reply, Reply), f"the request failed: {reply!r}"
    body = reply.body if isinstance(reply.body, dict) else {}
    return reply.status_code, body.get("reason_code"), bool(body.get("replayed"))
