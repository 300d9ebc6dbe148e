"""A virtual My Number Card that speaks the JPKI protocol at the APDU level.

Give ``VirtualJpkiCard.process`` the bytes of a command APDU and it answers the bytes a
real card would: same applets, files and status words (6A82 unknown file, 6982 signing
before VERIFY, 6700 wrong length, 6D00/6E00 unsupported, 63Cx / 6984 for the PIN). It is
the card behind the in-process ``virtual`` reader, behind vsmartcard's vpcd (so pyscard
reads it through a real pcscd), and behind nfcpy's ``udp`` driver.

The card lives in a JSON file: the user-authentication key and certificates, the PIN as a
salted hash with its try counter (written before each comparison, as a card's EEPROM is,
so a locked card stays locked across restarts), and the card-face input-helper applet
with a fake My Number. The kiosk must never select that applet; it is here so that a test
watching the APDUs can catch it if it ever did.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kiosk.devices import apdu as sw
from kiosk.devices.apdu import CommandAPDU, MalformedAPDU
from kiosk.devices.jpki import (
    AUTH_PIN_TRIES,
    EF_AUTH_CA_CERT,
    EF_AUTH_CERT,
    EF_AUTH_KEY,
    EF_AUTH_PIN,
    INPUT_HELPER_AID,
    JPKI_AID,
    PIN_LENGTH,
)
from kiosk.devices.sim.test_ca import JpkiTestCa, Validity, new_rsa_key
from mynapoint import devpaths
from mynapoint.atomic_files import replace_file

# The ATR of a My Number Card (T=1). The kiosk ignores it (it SELECTs the applet);
# OpenSC's JPKI driver matches on it, which lets OpenSC read the virtual card.
ATR = bytes.fromhex("3BE000FF8131FE4514")
CARD_FORMAT = "mynapoint-kiosk virtual JPKI card, version 1"
PIN_HASH_ITERATIONS = 10_000
CERT_EF_SIZE = 2048  # EF capacity; the certificate inside is shorter, padded with zeros

# The digital-signature side of the JPKI applet: present on every card, never used by
# the kiosk (OpenSC's JPKI driver looks for it, which makes OpenSC a fair outside check).
EF_SIGN_CERT = 0x0001
EF_SIGN_CA_CERT = 0x0002
EF_SIGN_KEY = 0x001A
EF_SIGN_PIN = 0x001B

# Input-helper applet files (card-face side): its PIN and the My Number.
EF_HELPER_MY_NUMBER = 0x0001
EF_HELPER_PIN = 0x0011

AUTH_PIN = "auth"
SIGN_PIN = "sign"
HELPER_PIN = "input_helper"


@dataclass(frozen=True)
class PinRule:
    min_length: int
    max_length: int
    tries: int


PIN_RULES = {
    AUTH_PIN: PinRule(PIN_LENGTH, PIN_LENGTH, AUTH_PIN_TRIES),  # user authentication
    SIGN_PIN: PinRule(6, 16, 5),  # digital signature: 6-16 letters and digits, 5 tries
    HELPER_PIN: PinRule(4, 4, 3),  # input helper: 4 digits, 3 tries
}


def default_card_path() -> Path:
    """Where ``--reader virtual`` and ``kiosk-card-sim serve`` find their card."""
    return devpaths.virtual_card_path()


def default_ca_dir() -> Path:
    return devpaths.test_ca_dir()


# The PIN of the demo card made on first use; documented in the README.
DEMO_PIN = "1234"


def ensure_demo_card(path: Path | None = None) -> tuple[Path, bool]:
    """The default virtual card, issued by the default test CA if it does not exist yet."""
    path = path or default_card_path()
    if path.exists():
        return path, False
    ca = JpkiTestCa.load_or_create(default_ca_dir())
    issue_card(ca, path, pin=DEMO_PIN)
    return path, True


# --- Issuing ---------------------------------------------------------------------------


def my_number_check_digit(first_eleven: str) -> int:
    """Check digit per the ordinance: weights n+1 (n<=6) / n-5 (n>=7), n from the right."""
    digits = [int(d) for d in reversed(first_eleven)]
    total = sum(d * (n + 1 if n <= 6 else n - 5) for n, d in enumerate(digits, 1))
    return 0 if total % 11 <= 1 else 11 - total % 11


def random_my_number() -> str:
    """A fake 12-digit individual number with a valid check digit (for the virtual card)."""
    body = "".join(str(secrets.randbelow(10)) for _ in range(11))
    return body + str(my_number_check_digit(body))


def issue_card(
    ca: JpkiTestCa,
    path: Path,
    *,
    pin: str,
    validity: Validity | None = None,
    revoked: bool = False,
    my_number: str | None = None,
    sign_password: str | None = None,
) -> x509.Certificate:
    """Make a new virtual card file with fresh RSA-2048 keys certified by ``ca``.

    Returns the user-authentication certificate. The signature password defaults to a
    random one: the kiosk never uses the signature side.
    """
    if len(pin) != PIN_LENGTH or not pin.isdigit():
        raise ValueError("the user-authentication PIN is 4 digits")
    key, sign_key = new_rsa_key(), new_rsa_key()
    certificate = ca.issue(key, validity)
    if revoked:
        ca.revoke(certificate.serial_number)
    sign_password = sign_password or secrets.token_hex(5).upper()
    state = {
        "format": CARD_FORMAT,
        "keys": {AUTH_PIN: _pem_private(key), SIGN_PIN: _pem_private(sign_key)},
        "auth_cert": _b64_der(certificate),
        "auth_ca_cert": _b64_der(ca.certificate),
        "sign_cert": _b64_der(ca.issue_signature(sign_key, validity)),
        "sign_ca_cert": _b64_der(ca.signature_certificate),
        "pins": {
            AUTH_PIN: _new_pin_record(AUTH_PIN, pin),
            SIGN_PIN: _new_pin_record(SIGN_PIN, sign_password),
            HELPER_PIN: _new_pin_record(HELPER_PIN, pin),
        },
        "my_number": my_number or random_my_number(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, json.dumps(state, indent=2).encode())
    return certificate


def _new_pin_record(name: str, pin: str) -> dict[str, object]:
    salt = secrets.token_bytes(16)
    return {
        "salt": _b64(salt),
        "hash": _b64(_pin_hash(pin.encode(), salt)),
        "tries_left": PIN_RULES[name].tries,
    }


def _pem_private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _b64_der(certificate: x509.Certificate) -> str:
    return _b64(certificate.public_bytes(serialization.Encoding.DER))


def _pin_hash(pin: bytes, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", pin, salt, PIN_HASH_ITERATIONS)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- The card --------------------------------------------------------------------------


@dataclass
class _EF:
    content: bytes = b""  # transparent EFs only
    needs_pin: str | None = None  # PIN verified before READ BINARY or signing
    pin: str | None = None  # this EF is a PIN (target of VERIFY)
    key: rsa.RSAPrivateKey | None = None  # this EF is a private key


@dataclass
class _Applet:
    aid: bytes
    files: dict[int, _EF] = field(default_factory=dict)


class SimulatedCard(Protocol):
    """What a simulated reader needs from a card: its ATR, power, and APDUs."""

    atr: bytes

    def power_on(self) -> bytes: ...

    def process(self, raw: bytes) -> bytes: ...


class ForeignCard:
    """A smart card without the JPKI applet (a bank or transit card placed by mistake)."""

    atr = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")

    def power_on(self) -> bytes:
        return self.atr

    def process(self, raw: bytes) -> bytes:
        try:
            command = CommandAPDU.parse(raw)
        except MalformedAPDU:
            return _sw(sw.SW_WRONG_LENGTH)
        if (command.cla, command.ins) == (0x00, 0xA4):
            return _sw(sw.SW_FILE_NOT_FOUND)  # no such application here
        return _sw(sw.SW_INS_NOT_SUPPORTED)


class VirtualJpkiCard:
    """A JPKI card backed by a card file. Not thread-safe: one reader talks to it at a time."""

    atr = ATR

    def __init__(self, path: Path, *, t0: bool = False) -> None:
        self.path = path
        self.t0 = t0  # answer like a T=0 card: 61xx + GET RESPONSE, 6Cxx for a wrong Le
        self._state = json.loads(path.read_text())
        if self._state.get("format") != CARD_FORMAT:
            raise ValueError(f"{path} is not a virtual card file")
        keys = {name: _load_private(pem) for name, pem in self._state["keys"].items()}
        my_number = self._state["my_number"].encode("ascii")
        self._applets = {
            JPKI_AID: _Applet(
                JPKI_AID,
                {
                    EF_AUTH_CERT: _EF(self._cert_ef("auth_cert")),
                    EF_AUTH_CA_CERT: _EF(self._cert_ef("auth_ca_cert")),
                    EF_AUTH_KEY: _EF(key=keys[AUTH_PIN], needs_pin=AUTH_PIN),
                    EF_AUTH_PIN: _EF(pin=AUTH_PIN),
                    EF_SIGN_CERT: _EF(self._cert_ef("sign_cert"), needs_pin=SIGN_PIN),
                    EF_SIGN_CA_CERT: _EF(self._cert_ef("sign_ca_cert")),
                    EF_SIGN_KEY: _EF(key=keys[SIGN_PIN], needs_pin=SIGN_PIN),
                    EF_SIGN_PIN: _EF(pin=SIGN_PIN),
                },
            ),
            INPUT_HELPER_AID: _Applet(
                INPUT_HELPER_AID,
                {
                    EF_HELPER_PIN: _EF(pin=HELPER_PIN),
                    # TLV as on the card: tag FF40, then the 12 digits.
                    EF_HELPER_MY_NUMBER: _EF(
                        b"\xff\x40" + bytes([len(my_number)]) + my_number, needs_pin=HELPER_PIN
                    ),
                },
            ),
        }
        self.power_on()

    def _cert_ef(self, name: str) -> bytes:
        """A certificate EF: fixed capacity, the DER object first, zeros after it."""
        der = base64.b64decode(self._state[name])
        return der + bytes(max(0, CERT_EF_SIZE - len(der)))

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(base64.b64decode(self._state["auth_cert"]))

    def tries_left(self, pin: str = AUTH_PIN) -> int:
        return int(self._state["pins"][pin]["tries_left"])

    # --- power ----------------------------------------------------------------------

    def power_on(self) -> bytes:
        """Cold or warm reset: the security status is forgotten, nothing is selected."""
        self._applet: _Applet | None = None
        self._ef: _EF | None = None
        self._verified: set[str] = set()
        self._pending = b""  # T=0 response waiting for GET RESPONSE
        return ATR

    # --- APDU processing ---------------------------------------------------------------

    def process(self, raw: bytes) -> bytes:
        """One command APDU in, one response APDU (data + SW1 SW2) out."""
        try:
            command = CommandAPDU.parse(raw)
        except MalformedAPDU:
            return _sw(sw.SW_WRONG_LENGTH)
        if self.t0 and command.ins == 0xC0 and command.cla == 0x00:
            return self._get_response(command)
        self._pending = b""
        data, status = self._dispatch(command)
        if self.t0 and data:
            if command.ins == 0xB0 and command.le is not None and command.le > len(data):
                return _sw(0x6C00 | len(data) % 256)  # T=0: "wrong Le, I have this many"
            self._pending = data
            return _sw(0x6100 | len(data) % 256)
        return data + status.to_bytes(2, "big")

    def _get_response(self, command: CommandAPDU) -> bytes:
        if not self._pending:
            return _sw(0x6985)
        le = command.le or 256
        if le > len(self._pending):
            return _sw(0x6C00 | len(self._pending) % 256)
        data, self._pending = self._pending[:le], self._pending[le:]
        status = 0x6100 | len(self._pending) % 256 if self._pending else sw.SW_OK
        return data + status.to_bytes(2, "big")

    def _dispatch(self, c: CommandAPDU) -> tuple[bytes, int]:
        if c.cla == 0x00:
            handler = {0xA4: self._select, 0xB0: self._read_binary, 0x20: self._verify}.get(c.ins)
        elif c.cla == 0x80:
            handler = {0x2A: self._sign}.get(c.ins)
        else:
            return b"", sw.SW_CLA_NOT_SUPPORTED
        if handler is None:
            return b"", sw.SW_INS_NOT_SUPPORTED
        return handler(c)

    def _select(self, c: CommandAPDU) -> tuple[bytes, int]:
        if c.p2 not in (0x00, 0x0C):
            return b"", sw.SW_INCORRECT_P1P2
        if c.p1 == 0x04:  # by DF name
            if not 1 <= len(c.data) <= 16:
                return b"", sw.SW_WRONG_LENGTH
            applet = self._applets.get(c.data)
            if applet is None:
                return b"", sw.SW_FILE_NOT_FOUND
            # Selecting an application resets its security status, as on the card.
            self._applet, self._ef, self._verified = applet, None, set()
            return b"", sw.SW_OK
        if c.p1 == 0x02:  # EF under the current DF
            if len(c.data) != 2:
                return b"", sw.SW_WRONG_LENGTH
            ef = self._applet.files.get(int.from_bytes(c.data, "big")) if self._applet else None
            if ef is None:
                return b"", sw.SW_FILE_NOT_FOUND
            self._ef = ef
            return b"", sw.SW_OK
        return b"", sw.SW_INCORRECT_P1P2

    def _read_binary(self, c: CommandAPDU) -> tuple[bytes, int]:
        if c.case != 2:
            return b"", sw.SW_WRONG_LENGTH
        if c.p1 & 0x80:
            return b"", sw.SW_FUNCTION_NOT_SUPPORTED  # short EF identifiers: not on this card
        if self._ef is None:
            return b"", sw.SW_NO_CURRENT_EF
        if self._ef.pin or self._ef.key:
            return b"", sw.SW_COMMAND_INCOMPATIBLE
        if self._ef.needs_pin and self._ef.needs_pin not in self._verified:
            return b"", sw.SW_SECURITY_STATUS
        offset = (c.p1 << 8) | c.p2
        if offset > len(self._ef.content):
            return b"", sw.SW_WRONG_OFFSET
        data = self._ef.content[offset : offset + (c.le or 256)]
        return data, sw.SW_OK if len(data) == c.le else sw.SW_END_OF_FILE

    def _verify(self, c: CommandAPDU) -> tuple[bytes, int]:
        if (c.p1, c.p2) != (0x00, 0x80):
            return b"", sw.SW_INCORRECT_P1P2
        if self._ef is None or self._ef.pin is None:
            return b"", sw.SW_COMMAND_INCOMPATIBLE
        name = self._ef.pin
        record = self._state["pins"][name]
        tries = int(record["tries_left"])
        if c.case == 1:  # status only: costs nothing
            # JPKI cards answer 63Cx here even once verified (OpenSC's driver relies on it).
            return b"", sw.SW_PIN_LOCKED if tries == 0 else 0x63C0 | tries
        rule = PIN_RULES[name]
        if c.case != 3 or not rule.min_length <= len(c.data) <= rule.max_length:
            return b"", sw.SW_WRONG_LENGTH
        if tries == 0:
            return b"", sw.SW_PIN_LOCKED
        # Spend the try before comparing, so pulling the card mid-check cannot save it.
        self._set_tries(name, tries - 1)
        salt, expected = base64.b64decode(record["salt"]), base64.b64decode(record["hash"])
        if hmac.compare_digest(_pin_hash(c.data, salt), expected):
            self._set_tries(name, rule.tries)
            self._verified.add(name)
            return b"", sw.SW_OK
        self._verified.discard(name)
        return b"", 0x63C0 | (tries - 1)

    def _set_tries(self, pin: str, tries: int) -> None:
        self._state["pins"][pin]["tries_left"] = tries
        replace_file(self.path, json.dumps(self._state, indent=2).encode())

    def _sign(self, c: CommandAPDU) -> tuple[bytes, int]:
        if (c.p1, c.p2) != (0x00, 0x80):
            return b"", sw.SW_INCORRECT_P1P2
        if c.case != 4:
            return b"", sw.SW_WRONG_LENGTH
        if self._ef is None or self._ef.key is None:
            return b"", sw.SW_COMMAND_INCOMPATIBLE
        if self._ef.needs_pin not in self._verified:
            return b"", sw.SW_SECURITY_STATUS
        signature = _pkcs1_v15_sign(self._ef.key, c.data)
        if signature is None:
            return b"", sw.SW_WRONG_LENGTH
        return signature, sw.SW_OK


def _pkcs1_v15_sign(key: rsa.RSAPrivateKey, digest_info: bytes) -> bytes | None:
    """RSASSA-PKCS1-v1_5 over caller-supplied DigestInfo bytes, as the card computes it.

    The card pads whatever it is given (block type 1), so this is raw RSA with CRT rather
    than a hash-then-sign API. PKCS#1 v1.5 is deterministic: same input, same signature.
    """
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    k = (n.bit_length() + 7) // 8
    if not digest_info or len(digest_info) > k - 11:
        return None
    block = b"\x00\x01" + b"\xff" * (k - 3 - len(digest_info)) + b"\x00" + digest_info
    m = int.from_bytes(block, "big")
    s1 = pow(m, numbers.dmp1, numbers.p)
    s2 = pow(m, numbers.dmq1, numbers.q)
    s = s2 + numbers.q * ((numbers.iqmp * (s1 - s2)) % numbers.p)
    return s.to_bytes(k, "big")


def _load_private(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("a virtual card key is not RSA")
    return key


def _sw(status: int) -> bytes:
    return status.to_bytes(2, "big")


class RemoveAfter:
    """A scripted removal: the card leaves the reader after answering ``apdus`` commands.

    Every simulated reader (in-process, vpcd, NFC over UDP) takes one, so "card pulled out
    mid-read" is provoked the same way on each transport.
    """

    def __init__(self, apdus: int | None = None) -> None:
        self.apdus = apdus
        self.answered = 0

    def gone_before_next(self) -> bool:
        """Call before answering a command: True if the card has left by then."""
        if self.apdus is not None and self.answered >= self.apdus:
            return True
        self.answered += 1
        return False
