"""systemd notifications (``sd_notify``): readiness, a watchdog ping per healthy round,
and a status line. The protocol is one datagram to ``$NOTIFY_SOCKET``; without it (not
run by systemd) this does nothing."""

from __future__ import annotations

import os
import socket


def notify(*lines: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall("\n".join(lines).encode())
        except OSError:
            return False
    return True
