"""Fixtures: a test CA, virtual cards, and the real parts that carry them.

Cards are real files made by the test CA; the PC/SC path runs through a private pcscd with
the vpcd driver (started here, stopped at the end), the NFC path through nfcpy's udp
driver. Nothing here replaces a part of the card layer with a stand-in.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kiosk.devices.jpki import JpkiCard
from kiosk.devices.sim.pcscd import PcscdUnavailable, PrivatePcscd
from kiosk.devices.sim.test_ca import JpkiTestCa, Validity
from kiosk.devices.sim.virtual_card import RemoveAfter, SimulatedCard, VirtualJpkiCard, issue_card
from kiosk.devices.transport import CardConnection
from tests.support.kiosk_harness import KioskRig, make_card_and_ca, make_rig

pytest_plugins = ["tests.support.skip_report"]

# Every kiosk app a test starts makes the voice's fixed sounds in the background: into one
# cache for the whole run (made once), not into each test's own data directory.
if "KIOSK_VOICE_CACHE_DIR" not in os.environ:
    os.environ["KIOSK_VOICE_CACHE_DIR"] = tempfile.mkdtemp(prefix="kiosk-voice-")
    atexit.register(shutil.rmtree, os.environ["KIOSK_VOICE_CACHE_DIR"], True)

# A PIN no test output could contain by accident, unlike 1234.
PIN = "4827"
WRONG_PIN = "4828"

CardFactory = Callable[..., Path]


@pytest.fixture(autouse=True)
def private_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the demo card and CA of every test out of the developer's home."""
    home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv("KIOSK_VIRTUAL_CARD", raising=False)
    monkeypatch.delenv("KIOSK_TEST_CA", raising=False)
    monkeypatch.delenv("KIOSK_CARD_READER", raising=False)
    return home


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> JpkiTestCa:
    return JpkiTestCa.create(tmp_path_factory.mktemp("test-ca"))


@pytest.fixture
def make_card(test_ca: JpkiTestCa, tmp_path: Path) -> CardFactory:
    """Issue a virtual card file: ``make_card(validity=..., revoked=..., pin=...)``."""
    counter = iter(range(1000))

    def make(*, pin: str = PIN, validity: Validity | None = None, revoked: bool = False) -> Path:
        path = tmp_path / f"card-{next(counter)}.json"
        issue_card(test_ca, path, pin=pin, validity=validity, revoked=revoked)
        return path

    return make


@pytest.fixture
def card_file(make_card: CardFactory) -> Path:
    return make_card()


def kiosk_session(connection: CardConnection, card_file: Path) -> None:
    """What the kiosk asks of a card, checked end to end: the certificate read is the card's,
    3 tries are left, the PIN verifies, and the signature verifies with the certificate."""
    card = JpkiCard(connection)
    certificate = card.read_certificate()
    assert certificate == VirtualJpkiCard(card_file).certificate
    certificate.verify_directly_issued_by(card.read_ca_certificate())
    assert card.pin_status().tries_left == 3
    card.verify_pin(PIN)
    signature = card.sign(b"consent")
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(signature, b"consent", padding.PKCS1v15(), hashes.SHA256())


# --- PC/SC: a real pcscd with the vpcd driver -------------------------------------------


@pytest.fixture(scope="session")
def pcscd() -> Iterator[PrivatePcscd]:
    daemon = PrivatePcscd()
    try:
        daemon.start()
    except PcscdUnavailable as exc:
        pytest.fail(f"cannot start pcscd for the PC/SC tests: {exc}")
    # libpcsclite reads this once per process: set before any in-process PC/SC call.
    os.environ.update(daemon.environment())
    yield daemon
    daemon.stop()


@pytest.fixture
def insert_vpcd(pcscd: PrivatePcscd) -> Iterator[Callable[..., object]]:
    """Insert a card into the vpcd reader: ``insert_vpcd(card, removal=...)``."""
    from kiosk.devices.pcsc import PcscReader
    from kiosk.devices.sim.vpcd import VpcdCardLink

    links: list[VpcdCardLink] = []

    def insert(card: SimulatedCard, removal: RemoveAfter | None = None) -> VpcdCardLink:
        link = VpcdCardLink(card, "127.0.0.1", pcscd.vpcd_port, removal=removal)
        links.append(link.start())
        # pcscd polls its readers: wait until it has seen the card arrive.
        with PcscReader(pcscd.reader_name) as reader:
            deadline = time.monotonic() + 5
            while not reader.card_present():
                assert time.monotonic() < deadline, "pcscd did not see the card arrive"
                time.sleep(0.02)
        return link

    yield insert
    for link in links:
        link.remove()
    # Let pcscd see the card leave before the next test inserts another one.
    with PcscReader(pcscd.reader_name) as reader:
        assert reader.wait_for_removal(5), "pcscd did not notice the card leaving"


@pytest.fixture
def vpcd_card(card_file: Path, insert_vpcd: Callable[..., object]) -> Path:
    """The default test card, inserted in the pcscd reader."""
    insert_vpcd(VirtualJpkiCard(card_file))
    return card_file


# --- NFC: nfcpy's udp driver ---------------------------------------------------------------


@pytest.fixture
def nfc_field() -> Iterator[Callable[..., object]]:
    """Put a card in an NFC field served over UDP: ``nfc_field(card, removal=...)``."""
    from kiosk.devices.sim.nfc_udp import NfcUdpCard

    sims: list[NfcUdpCard] = []

    def place(card: SimulatedCard, removal: RemoveAfter | None = None) -> NfcUdpCard:
        sim = NfcUdpCard(card, removal=removal)
        sims.append(sim.start())
        return sim

    yield place
    for sim in sims:
        sim.close()


# --- The command-line tools as a user runs them --------------------------------------------


def run_cli(
    tool: str, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run an installed console script (``kiosk-card``...) the way a technician would."""
    executable = Path(sys.executable).parent / tool
    return subprocess.run(
        [str(executable), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


@pytest.fixture
def start_cli() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start a long-running console script (``kiosk-card-sim serve``); stopped afterwards."""
    processes: list[subprocess.Popen[str]] = []

    def start(tool: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / tool), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=10)


# --- The grant service ------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def rsa_key_pool() -> Iterator[None]:
    """Test cards draw their RSA keys from a pool made once: RSA-2048 generation costs
    ~60 ms, and the service tests issue hundreds of cards. Each card still gets its own
    certificate and serial number, which is what identifies a person."""

    from kiosk.devices.sim import test_ca as jpki_test_ca
    from kiosk.devices.sim import virtual_card as virtual_card_module

    pool = itertools.cycle([jpki_test_ca.new_rsa_key() for _ in range(6)])
    patch = pytest.MonkeyPatch()
    patch.setattr(virtual_card_module, "new_rsa_key", lambda: next(pool))
    yield
    patch.undo()


@pytest.fixture
def kiosk_rig(private_data_home: Path) -> Iterator[KioskRig]:
    """An enrolled kiosk in front of a real ``grant-service serve`` on loopback."""
    rig = make_rig(private_data_home, make_card_and_ca())
    yield rig
    rig.service.stop()


@pytest.fixture
def rig(kiosk_rig: KioskRig) -> KioskRig:
    """The kiosk rig under the short name the kiosk's tests use (a module may define its
    own ``rig``: a proxied one, one on a small disk)."""
    return kiosk_rig


@pytest.fixture
def slip_reading_tools() -> None:
    """The OCR and QR readers the slip tests read paper back with: missing is a failure."""
    missing = [tool for tool in ("tesseract", "zbarimg") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: scripts/bootstrap installs tesseract-ocr, "
                    "tesseract-ocr-jpn and zbar-tools")  # fmt: skip
