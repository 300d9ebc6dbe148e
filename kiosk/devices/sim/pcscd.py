"""A private pcscd with a vpcd reader, for tests and benchmarks.

pcscd always binds ``/run/pcscd/pcscd.comm``. To leave a system pcscd alone, the private
one runs in its own mount namespace (as root, with ``unshare``) where ``/run/pcscd`` is a
directory of ours; clients reach it with ``PCSCLITE_CSOCK_NAME``, which libpcsclite reads
once per process, so set it (``environment()``) before the first PC/SC call. Without
root, the private pcscd takes the system path, and there must be no other pcscd.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READER_NAME = "Kiosk Test Reader"
SYSTEM_SOCKET = Path("/run/pcscd/pcscd.comm")


class PcscdUnavailable(RuntimeError):
    pass


def free_port_pair() -> int:
    """A TCP port P such that P and P+1 are free (vpcd listens on both)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]  # (host, port) for AF_INET
        if port < 65535 and _port_free(port) and _port_free(port + 1):
            return port
    raise PcscdUnavailable("no free pair of TCP ports for vpcd")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - vpcd itself binds all addresses
        except OSError:
            return False
    return True


class PrivatePcscd:
    def __init__(self, vpcd_port: int | None = None) -> None:
        if shutil.which("pcscd") is None:
            raise PcscdUnavailable("pcscd is not installed (apt-get install pcscd)")
        if not VPCD_DRIVER.exists():
            raise PcscdUnavailable("vpcd is not installed (apt-get install vsmartcard-vpcd)")
        self.vpcd_port = vpcd_port or free_port_pair()
        self.directory = Path(tempfile.mkdtemp(prefix="kiosk-pcscd-"))
        self.isolated = os.geteuid() == 0 and shutil.which("unshare") is not None
        self.socket_path = self.directory / "run" / "pcscd.comm" if self.isolated else SYSTEM_SOCKET
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.directory / "pcscd.log"

    @property
    def reader_name(self) -> str:
        """The reader the card appears in (vpcd's first slot, on ``vpcd_port``)."""
        return f"{READER_NAME} 00 00"

    def environment(self) -> dict[str, str]:
        return {"PCSCLITE_CSOCK_NAME": str(self.socket_path)}

    def start(self, timeout: float = 10.0) -> PrivatePcscd:
        config = self.directory / "reader.conf.d"
        config.mkdir(exist_ok=True)
        (config / "vpcd").write_text(
            f'FRIENDLYNAME "{READER_NAME}"\n'
            f"DEVICENAME /dev/null:0x{self.vpcd_port:X}\n"
            f"LIBPATH {VPCD_DRIVER}\n"
            f"CHANNELID 0x{self.vpcd_port:X}\n"
        )
        pcscd = [shutil.which("pcscd") or "pcscd", "--foreground", "--config", str(config)]
        if self.isolated:
            run = self.directory / "run"
            run.mkdir(exist_ok=True)
            isolated = [
                "unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mkdir -p /run/pcscd && mount --bind "$0" /run/pcscd && exec "$@"',
                str(run), *pcscd,
            ]  # fmt: skip
            try:
                return self._launch(isolated, timeout)
            except PcscdUnavailable:
                # Some containers forbid mount namespaces even to root: share the system path.
                self.isolated, self.socket_path = False, SYSTEM_SOCKET
        if SYSTEM_SOCKET.exists() and _socket_answers(SYSTEM_SOCKET):
            raise PcscdUnavailable(
                "another pcscd is running and a private one cannot be isolated from it"
            )
        return self._launch(pcscd, timeout)

    def _launch(self, command: list[str], timeout: float) -> PrivatePcscd:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not (self.socket_path.exists() and _port_listening(self.vpcd_port)):
            if self.process.poll() is not None:
                self.process = None
                raise PcscdUnavailable(f"pcscd exited: {self.log_path.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                self._terminate()
                raise PcscdUnavailable("pcscd did not start in time")
            time.sleep(0.05)
        return self

    def _terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PrivatePcscd:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _port_listening(port: int) -> bool:
    """Whether a TCP socket listens on ``port``, read from /proc: connecting to vpcd to
    find out would look like a card being inserted and pulled out."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                return True
    return False


def _socket_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True
