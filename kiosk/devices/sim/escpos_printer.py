"""A network ESC/POS printer on loopback, for tests and demos.

    printer = LoopbackPrinter().start()        # port 9100, or a free port if 9100 is taken
    # (LoopbackPrinter(port=0) always picks a free port; tests use that)
    settings = load_kiosk_settings(printer_backend="network", printer_port=printer.port)
    printer.state = PrinterState.PAPER_OUT     # status replies from now on say so
    ...
    assert printer.received == expected        # every byte received, in order
    printer.stop()

or ``with LoopbackPrinter(port=0) as printer: ...``, or from a shell::

    python -m kiosk.devices.sim.escpos_printer --port 9100 --state near_end --save slips.bin

It accepts any number of connections and records every byte they carry, status requests
included. Real-time status requests, DLE EOT n (10 04 n, n = 1 to 4), are answered inline
wherever they appear in the stream, as a printer does, with one byte in the Epson format
(0xx1xx10) for the current state:

- ``ok``: online, paper present.
- ``near_end``: online, the roll's near-end sensor is on (DLE EOT 4 bits 2-3).
- ``paper_out``: offline (DLE EOT 1 bit 3), stopped at paper end (DLE EOT 2 bit 5), no
  paper (DLE EOT 4 bits 5-6; the near-end bits too, as the roll is past them).
- ``cover_open``: offline, cover open (DLE EOT 2 bit 2), paper present.
- ``silent``: accepts and records bytes, never answers.
- ``down``: not listening: connections are refused, open ones are closed.

``cut_after = n`` makes the printer die mid-write: a connection is reset (TCP RST) once it
has carried n bytes, and only those n are recorded.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

DLE_EOT = b"\x10\x04"
POLL = 0.05  # how often the threads look at the stop signal


class PrinterState(enum.Enum):
    OK = "ok"
    NEAR_END = "near_end"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    SILENT = "silent"
    DOWN = "down"


# Reply bytes per state for DLE EOT 1 (printer), 2 (offline cause), 3 (error cause) and
# 4 (roll paper sensor). 0x12 = the fixed bits alone (bit 1 and bit 4): nothing to report.
REPLIES: dict[PrinterState, dict[int, int]] = {
    PrinterState.OK: {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12},
    PrinterState.NEAR_END: {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12 | 0x0C},
    PrinterState.PAPER_OUT: {1: 0x12 | 0x08, 2: 0x12 | 0x20, 3: 0x12, 4: 0x12 | 0x0C | 0x60},
    PrinterState.COVER_OPEN: {1: 0x12 | 0x08, 2: 0x12 | 0x04, 3: 0x12, 4: 0x12},
}


class LoopbackPrinter:
    def __init__(
        self, port: int = 9100, state: PrinterState = PrinterState.OK, host: str = "127.0.0.1"
    ) -> None:
        self.host = host
        self.port = port  # the port actually bound, once started
        self.cut_after: int | None = None
        self.connections = 0  # connections accepted
        self.requests: list[int] = []  # the n of every DLE EOT n received
        self._state = state
        self._received = bytearray()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._accepting = threading.Event()
        self._open: dict[socket.socket, threading.Thread] = {}

    # --- control --------------------------------------------------------------------------

    def start(self) -> LoopbackPrinter:
        try:
            self._sock = self._bind(self.port)
        except OSError:
            if self.port == 0:
                raise
            self._sock = self._bind(0)  # the port is taken: any free one
        self.port = self._sock.getsockname()[1]
        if self._state is not PrinterState.DOWN:
            self._listen()
        return self

    def stop(self) -> None:
        self._go_down()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def state(self) -> PrinterState:
        return self._state

    @state.setter
    def state(self, state: PrinterState) -> None:
        was_down, self._state = self._state is PrinterState.DOWN, state
        if self._sock is None:
            return
        if state is PrinterState.DOWN and not was_down:
            self._go_down()
            self._sock.close()
            self._sock = self._bind(self.port)  # keeps the port, refusing connections
        elif was_down and state is not PrinterState.DOWN:
            self._listen()

    @property
    def received(self) -> bytes:
        with self._lock:
            return bytes(self._received)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self.requests.clear()

    def wait_received(self, length: int, timeout: float = 5.0) -> bytes:
        """The bytes received, once there are at least ``length`` (or the timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < length and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.received

    def __enter__(self) -> LoopbackPrinter:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- the server -------------------------------------------------------------------------

    def _bind(self, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, port))
        except OSError:
            sock.close()
            raise
        return sock

    def _listen(self) -> None:
        assert self._sock is not None
        self._sock.listen()
        self._sock.settimeout(POLL)
        self._accepting.set()
        self._acceptor = threading.Thread(
            target=self._accept, args=(self._sock,), name="loopback-printer", daemon=True
        )
        self._acceptor.start()

    def _go_down(self) -> None:
        """Stop accepting and close every open connection."""
        self._accepting.clear()
        if self._acceptor is not None:
            self._acceptor.join()
            self._acceptor = None
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            threads = list(self._open.values())
        for thread in threads:
            thread.join()

    def _accept(self, listener: socket.socket) -> None:
        while self._accepting.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(POLL)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self.connections += 1
                self._open[conn] = thread
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        carried = 0
        pending = b""  # the end of the stream that may begin a DLE EOT n
        try:
            while self._accepting.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                room = None if self.cut_after is None else self.cut_after - carried
                cut = room is not None and len(chunk) >= room
                chunk = chunk[:room]  # all of it while there is room
                carried += len(chunk)
                with self._lock:
                    self._received += chunk
                pending = self._answer(conn, pending + chunk)
                if cut:
                    # SO_LINGER 0: close() sends a RST, like a printer that lost power.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
        except OSError:
            pass  # the client went away
        finally:
            with self._lock:
                del self._open[conn]
            conn.close()

    def _answer(self, conn: socket.socket, stream: bytes) -> bytes:
        """Answer the DLE EOT n in ``stream``; returns the tail that may begin another."""
        start = 0
        while (found := stream.find(DLE_EOT, start)) != -1 and found + 2 < len(stream):
            n = stream[found + 2]
            if not 1 <= n <= 4:
                start = found + 2  # not a request: n may begin one (10 04 10 04 01)
                continue
            start = found + 3
            with self._lock:
                self.requests.append(n)
            reply = REPLIES.get(self._state, {}).get(n)
            if reply is not None:
                conn.sendall(bytes([reply]))
        return stream[max(start, len(stream) - 2) :]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--state", choices=[s.value for s in PrinterState], default="ok")
    parser.add_argument("--save", type=Path, help="write the bytes received here on exit")
    args = parser.parse_args(argv)
    printer = LoopbackPrinter(args.port, PrinterState(args.state)).start()
    # Stopped by Ctrl-C or by kill (a background job in a script ignores SIGINT).
    signal.signal(signal.SIGTERM, _interrupt)
    print(
        f"ESC/POS printer on 127.0.0.1:{printer.port} ({args.state}); Ctrl-C stops it", flush=True
    )
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        printer.stop()
        if args.save:
            args.save.write_bytes(printer.received)
        print(f"{len(printer.received)} bytes received", file=sys.stderr)


if __name__ == "__main__":
    main()
