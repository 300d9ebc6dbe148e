"""The card side of vsmartcard's vpcd: puts a virtual card into a real pcscd reader.

vpcd is a pcscd driver that listens on TCP; the card connects to it. Every message is a
2-byte big-endian length and a payload. A 1-byte payload is a control code (0 power off,
1 power on, 2 reset: no reply; 4 get ATR: reply with the ATR); anything longer is a
command APDU, answered with the response APDU. While the connection is open the card is
in the reader; closing it is pulling the card out.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time

from kiosk.devices.sim.virtual_card import RemoveAfter, SimulatedCard

log = logging.getLogger(__name__)

POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4


class VpcdCardLink:
    def __init__(
        self,
        card: SimulatedCard,
        host: str = "127.0.0.1",
        port: int = 0x8C7B,
        *,
        removal: RemoveAfter | None = None,
    ) -> None:
        self.card = card
        self.address = (host, port)
        self.removal = removal or RemoveAfter()
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()

    # --- running ---------------------------------------------------------------------

    def connect(self, timeout: float) -> None:
        """Connect to vpcd (retrying while pcscd starts); ``ConnectionError`` after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection(self.address, timeout=1.0)
                break
            except OSError as exc:
                if time.monotonic() >= deadline:
                    raise ConnectionError(
                        f"cannot reach vpcd at {self.address[0]}:{self.address[1]} ({exc}); "
                        "is pcscd running with the vpcd driver?"
                    ) from exc
                time.sleep(0.1)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket = sock
        self.connected.set()
        log.info("virtual card inserted into vpcd at %s:%d", *self.address)

    def serve(self) -> None:
        """Answer vpcd until it hangs up, the card is removed, or ``remove()`` is called."""
        sock = self._socket
        if sock is None:
            raise RuntimeError("connect() first")
        try:
            while True:
                message = self._receive(sock)
                if message is None:
                    return
                if len(message) > 1 and self.removal.gone_before_next():
                    return  # pulled out before answering this APDU
                reply = self._handle(message)
                if reply is not None:
                    sock.sendall(len(reply).to_bytes(2, "big") + reply)
        except OSError:
            return  # vpcd went away, or remove() closed the socket
        finally:
            self.remove()

    def start(self, timeout: float = 10.0) -> VpcdCardLink:
        """Connect, then serve in a background thread."""
        self.connect(timeout)
        self._thread = threading.Thread(target=self.serve, name="vpcd-card", daemon=True)
        self._thread.start()
        return self

    def remove(self) -> None:
        """Pull the card out of the reader."""
        sock, self._socket = self._socket, None
        if sock is not None:
            self.connected.clear()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            log.info("virtual card removed from vpcd")

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    # --- protocol --------------------------------------------------------------------

    def _handle(self, message: bytes) -> bytes | None:
        if len(message) > 1:
            return self.card.process(message)
        if message[0] == GET_ATR:
            return self.card.atr
        if message[0] in (POWER_OFF, POWER_ON, RESET):
            self.card.power_on()  # any power event clears the security status
        return None

    @staticmethod
    def _receive(sock: socket.socket) -> bytes | None:
        header = _receive_exact(sock, 2)
        if header is None:
            return None
        return _receive_exact(sock, int.from_bytes(header, "big"))


def _receive_exact(sock: socket.socket, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        # Without QUICKACK every APDU waits ~40 ms for a delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)
