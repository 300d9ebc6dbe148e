"""A barcode scanner in serial mode on a pseudo-terminal, for tests and the demo.

    with FakeScanner() as fake:
        scanner = SerialScanner(fake.path)     # the real reader, on a real tty
        scanner.start(on_scan)
        scanner.wait_connected(2)              # opening the port flushes what came before
        fake.scan("0123456", codabar=True)     # writes A0123456B CR LF, as a scanner does
        fake.unplug()                          # the reader's next read fails (EIO)

``link`` makes a symbolic link to the pty, as udev's ``/dev/serial/by-id/`` names are, and
``unplug()`` removes it: a new FakeScanner with the same link is the scanner plugged in
again. From a shell (each line typed is scanned)::

    python -m kiosk.devices.sim.fake_scanner --link /tmp/scanner --codabar
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import struct
import sys
import termios
import time
import tty
from pathlib import Path
from types import TracebackType


class FakeScanner:
    def __init__(self, link: Path | None = None) -> None:
        self._master, self._slave = os.openpty()
        # Held open so that the pty lives until unplug(); raw: the bytes pass unchanged.
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)  # /dev/pts/N, for SerialScanner
        self.link = link
        self._open = True
        if link is not None:
            new = link.with_name(link.name + ".new")
            new.unlink(missing_ok=True)
            new.symlink_to(self.path)
            new.replace(link)  # atomically: a reader never sees no link while re-plugging

    def write(self, data: bytes) -> None:
        """``data`` as is, to the reader (half a line, a stray byte...)."""
        view = memoryview(data)
        while view:
            view = view[os.write(self._master, view) :]

    def scan(
        self, text: str, *, codabar: bool = False, ending: str = "\r\n", encoding: str = "utf-8"
    ) -> None:
        """One scan as a scanner writes it: ``text`` (between Codabar's start and stop
        characters A and B if ``codabar``), then ``ending``."""
        if codabar:
            text = f"A{text}B"
        self.write((text + ending).encode(encoding))

    def unread(self) -> int:
        """How many bytes written are still waiting for the reader."""
        raw = fcntl.ioctl(self._slave, termios.FIONREAD, struct.pack("i", 0))
        count: int = struct.unpack("i", raw)[0]
        return count

    def wait_read(self, timeout: float = 2.0) -> bool:
        """True once the reader has taken every byte written (False: not in ``timeout``)."""
        deadline = time.monotonic() + timeout
        while self.unread():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def unplug(self) -> None:
        """The cable pulled: the pty closes (the reader gets EIO) and the link goes."""
        if not self._open:
            return
        self._open = False
        if (
            self.link is not None
            and self.link.is_symlink()
            and self.link.readlink() == Path(self.path)
        ):
            self.link.unlink()
        os.close(self._master)
        os.close(self._slave)

    def close(self) -> None:
        self.unplug()

    def __enter__(self) -> FakeScanner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--link", type=Path, help="a symbolic link to the pty, for the settings")
    parser.add_argument("--codabar", action="store_true", help="wrap each scan in A...B")
    args = parser.parse_args(argv)
    with FakeScanner(args.link) as fake:
        where = f"{args.link} -> {fake.path}" if args.link else fake.path
        print(f"barcode scanner on {where}: type a card number and Enter to scan it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            for line in sys.stdin:
                fake.scan(line.rstrip("\n"), codabar=args.codabar)


if __name__ == "__main__":
    main()
