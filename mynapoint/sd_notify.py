"""systemd notifications (``sd_notify``) for the daemons (the kiosk app, kiosk-sync, the
grant service's workers): readiness, watchdog pings, a status line, stopping. The
protocol is one datagram to ``$NOTIFY_SOCKET``; without it (not run by systemd) this does
nothing.

``$WATCHDOG_PID`` is not checked, as ``sd_watchdog_enabled()`` would: the app runs under
cage, whose PID is the one systemd watches, and pings through ``NotifyAccess=all``.
"""

from __future__ import annotations

import os
import socket

# When NOTIFY_SOCKET is set but WATCHDOG_USEC is not: often enough for any WatchdogSec= a
# unit would sensibly set, cheap either way.
DEFAULT_PING_SECONDS = 10.0


def notify(*lines: str) -> bool:
    """Send ``lines`` (``READY=1``, ``WATCHDOG=1``, ``STATUS=...``) as one message;
    whether systemd got it."""
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


def ping_interval() -> float | None:
    """How often to send ``WATCHDOG=1``: half of ``$WATCHDOG_USEC`` (systemd's advice);
    None when not run by systemd."""
    if not os.environ.get("NOTIFY_SOCKET"):
        return None
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return DEFAULT_PING_SECONDS
    return usec / 2_000_000 if usec > 0 else DEFAULT_PING_SECONDS
