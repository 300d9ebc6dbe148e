"""A TCP proxy on loopback that puts network faults between the kiosk and the service.

    proxy = FaultProxy(("127.0.0.1", service_port)).start()   # the kiosk talks to proxy.url
    proxy.fault = Fault.DROP_RESPONSE      # for every connection accepted from now on
    proxy.fault = lambda number: ...       # or a schedule: connection number (from 1) -> Fault
    ...
    assert proxy.fired[Fault.DROP_RESPONSE] == 1
    proxy.stop()

The fault is chosen per TCP connection, when it is accepted. A ``PASS`` connection is a
plain two-way relay and may carry many requests (HTTP keep-alive). Any other connection
carries one HTTP/1.1 exchange: the proxy reads the request's head, forwards it with
``Connection: close`` in place of the client's Connection header, relays the rest of the
request, and reads the service's response until the service closes the connection. That
is where a response ends whatever its framing (Content-Length or chunked), so no body is
parsed, and when the fault acts the service has finished with the request. With
``keep_alive=False`` PASS connections are handled the same way: every request then opens
a connection of its own, and a schedule applies per request.

- ``PASS``: forwarded both ways.
- ``DROP_RESPONSE``: the service's whole response is read (it has processed the request),
  then the client's connection is closed with nothing sent: the lost answer.
- ``RESET``: on the request's first bytes the client's connection is reset (a TCP RST,
  by ``SO_LINGER`` 0); nothing reaches the service.
- ``DELAY``: the whole response is held for ``delay_seconds`` (make it longer than the
  client's timeout), then sent if the client still listens: the client gives up on a
  request the service has processed.
- ``CUT_MID_BODY``: the response's head and half of its body are sent, then the
  connection is closed: a truncated answer to a processed request.
- ``REFUSE``: the connection is closed as soon as it is accepted, nothing read: the
  network is down.

``applies_to`` (with ``keep_alive=False``) picks the requests a fault may act on, by
their head (``lambda head: head.startswith(b"POST /v1/submissions/batch ")``); the
others pass. ``on_fire(fault)`` runs when a fault acts on a processed request, before the
client can notice (to kill the service at that moment, say). ``port`` fixes the port
listened on (default: any free one).

``connections`` counts the connections accepted; ``fired`` counts, per kind, the
connections on which it acted, counted before the client can notice (a DROP_RESPONSE
once the service's answer is in hand; a kept-alive PASS when its relay ends): a test
asserts that its fault happened. If the service cannot be reached, the client's
connection is closed and counted in ``upstream_errors``.
"""

from __future__ import annotations

import collections
import contextlib
import enum
import logging
import selectors
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, cast

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
HEAD_LIMIT = 64 * 1024  # a request head longer than this is not one the kiosk sends


class Fault(enum.Enum):
    PASS = enum.auto()
    DROP_RESPONSE = enum.auto()
    RESET = enum.auto()
    DELAY = enum.auto()
    CUT_MID_BODY = enum.auto()
    REFUSE = enum.auto()


Schedule = Callable[[int], Fault]


class FaultProxy:
    def __init__(
        self,
        target: tuple[str, int],
        *,
        fault: Fault | Schedule = Fault.PASS,
        delay_seconds: float = 30.0,
        keep_alive: bool = True,
        port: int = 0,
        applies_to: Callable[[bytes], bool] | None = None,
        on_fire: Callable[[Fault], None] | None = None,
    ) -> None:
        self.target = target
        self.fault = fault
        self.delay_seconds = delay_seconds
        self.keep_alive = keep_alive
        self.listen_port = port
        self.applies_to = applies_to
        self.on_fire = on_fire
        self.connections = 0
        self.upstream_errors = 0
        self.fired: collections.Counter[Fault] = collections.Counter()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server = _Server(self)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fault-proxy-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut every open connection (held responses included), and wait
        for the connections' threads."""
        with self._lock:
            self._stopping.set()
            for sock in self._open:
                _shutdown(sock)
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()  # joins the connections' threads

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- one connection ---------------------------------------------------------------

    def _track(self, sock: socket.socket) -> bool:
        """Register a socket for ``stop`` to cut; False when stopping (then it is not)."""
        with self._lock:
            if self._stopping.is_set():
                return False
            self._open.add(sock)
            return True

    def _fired(self, fault: Fault) -> None:
        with self._lock:
            self.fired[fault] += 1

    def handle(self, client: socket.socket) -> None:
        """Serve one accepted connection (in its own thread) with the fault due to it."""
        with self._lock:
            self.connections += 1
            number = self.connections
        fault = self.fault(number) if callable(self.fault) else self.fault
        if not self._track(client):
            return
        upstream: socket.socket | None = None
        try:
            if fault is Fault.REFUSE:
                self._fired(fault)
                return  # the server closes the connection
            if fault is Fault.PASS and self.keep_alive:
                upstream = self._connect()
                if upstream is not None:
                    _relay(client, upstream)
                    self._fired(fault)
                return
            head = client.recv(CHUNK)
            if not head:
                return
            if fault is Fault.RESET:
                self._fired(fault)
                _reset(client)
                return
            head = _read_head(client, head)
            if self.applies_to is not None and not self.applies_to(head):
                fault = Fault.PASS
            upstream = self._connect()
            if upstream is None:
                return
            response = _exchange(client, upstream, head)
            if response:
                self._answer(fault, client, response)
        except OSError as exc:  # either side went away: this connection is over
            log.debug("fault proxy: connection %d (%s) ended: %s", number, fault.name, exc)
        finally:
            with self._lock:
                self._open.discard(client)
                if upstream is not None:
                    self._open.discard(upstream)
            if upstream is not None:
                upstream.close()

    def _connect(self) -> socket.socket | None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            with self._lock:
                self.upstream_errors += 1
            return None
        upstream.settimeout(None)
        if not self._track(upstream):
            upstream.close()
            return None
        return upstream

    def _answer(self, fault: Fault, client: socket.socket, response: bytes) -> None:
        """Do to the client what ``fault`` says, with the service's whole response."""
        self._fired(fault)
        if fault is not Fault.PASS and self.on_fire is not None:
            self.on_fire(fault)
        if fault is Fault.PASS:
            client.sendall(response)
        elif fault is Fault.CUT_MID_BODY:
            client.sendall(_truncated(response))
        elif fault is Fault.DELAY and not self._stopping.wait(self.delay_seconds):
            client.sendall(response)
        # DROP_RESPONSE: nothing; the server closes the connection.


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = False  # ``server_close`` joins the connections' threads
    block_on_close = True

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", proxy.listen_port), socketserver.BaseRequestHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # typeshed allows a UDP server's (data, socket) too; a TCP server's is its socket.
        self.proxy.handle(cast(socket.socket, request))


# --- bytes on the wire --------------------------------------------------------------------


def _read_head(client: socket.socket, received: bytes) -> bytes:
    """The request's head (up to its blank line) and whatever followed it in ``received``
    and the further reads."""
    buffer = bytearray(received)
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > HEAD_LIMIT:
            raise ConnectionAbortedError("request head too long")
        data = client.recv(CHUNK)
        if not data:
            raise ConnectionAbortedError("the client left mid-head")
        buffer += data
    return bytes(buffer)


def _close_after(head: bytes) -> bytes:
    """The request head with ``Connection: close`` in place of the client's header."""
    end = head.index(b"\r\n\r\n")
    request_line, *fields = head[:end].split(b"\r\n")
    kept = [field for field in fields if not field.lower().startswith(b"connection:")]
    return b"\r\n".join([request_line, *kept, b"Connection: close"]) + head[end:]


def _exchange(client: socket.socket, upstream: socket.socket, head: bytes) -> bytes:
    """Forward one request (the service closes after answering); its whole response."""
    upstream.sendall(_close_after(head))
    response = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(client, selectors.EVENT_READ)
        selector.register(upstream, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                if key.fileobj is upstream:
                    data = upstream.recv(CHUNK)
                    if not data:
                        return bytes(response)
                    response += data
                    continue
                data = client.recv(CHUNK)
                if data:
                    upstream.sendall(data)
                else:  # the client has sent all it will; the service still answers
                    selector.unregister(client)
                    upstream.shutdown(socket.SHUT_WR)


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Both ways until both sides are done (a half-close is passed on)."""
    peer = {client: upstream, upstream: client}
    with selectors.DefaultSelector() as selector:
        for sock in peer:
            selector.register(sock, selectors.EVENT_READ, data=sock)
        while selector.get_map():
            for key, _ in selector.select():
                source: socket.socket = key.data  # registered with it above
                data = source.recv(CHUNK)
                if data:
                    peer[source].sendall(data)
                else:
                    selector.unregister(source)
                    peer[source].shutdown(socket.SHUT_WR)


def _truncated(response: bytes) -> bytes:
    """The head and half the body (half the head when there is no body)."""
    end = response.find(b"\r\n\r\n")
    body_at = end + 4 if end >= 0 else len(response)
    body = len(response) - body_at
    return response[: body_at + body // 2] if body else response[: len(response) // 2]


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST rather than a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # not connected (any more)
        sock.shutdown(socket.SHUT_RDWR)
