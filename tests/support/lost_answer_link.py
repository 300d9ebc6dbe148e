"""Run as root in the kiosk machine (``tests/systemd``), with the kiosk's Python: a link
from kiosk-sync to the grant service that kills the service the moment it has answered
the first batch of submissions, and never passes that answer on.

    python lost_answer_link.py LISTEN_PORT SERVICE_PORT

What the kiosk sees is a service that died mid-batch: the request went out, no answer
came back. The service had committed the batch, so the kiosk's retry must be answered
from the service's record (a replay), once systemd has restarted the service. Every
other request, and every request after that one, passes unchanged.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

from kiosk.link.fault_proxy import Fault, FaultProxy

BATCH = b"POST /v1/submissions/batch "


def main() -> None:
    listen, service = int(sys.argv[1]), int(sys.argv[2])
    fired = threading.Event()

    def kill_the_service(_fault: Fault) -> None:
        fired.set()
        subprocess.run(["systemctl", "kill", "--signal=SIGKILL", "grant-service"], check=True)
        print("killed grant-service after it answered a batch; the answer is dropped", flush=True)

    proxy = FaultProxy(
        ("127.0.0.1", service),
        fault=lambda _number: Fault.PASS if fired.is_set() else Fault.DROP_RESPONSE,
        keep_alive=False,
        port=listen,
        applies_to=lambda head: head.startswith(BATCH),
        on_fire=kill_the_service,
    )
    proxy.start()
    print(f"link on 127.0.0.1:{listen} to the service on :{service}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    proxy.stop()


if __name__ == "__main__":
    main()
