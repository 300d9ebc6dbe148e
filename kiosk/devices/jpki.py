"""The JPKI applet of the My Number Card, user-authentication side only, over any transport.

The kiosk needs four things from the card: the user-authentication certificate (and its
CA certificate), the PIN tries left, a PIN verification, and a signature. Nothing else is
ever sent: every APDU passes ``is_permitted`` first, so the card-face applets (which hold
the My Number) cannot be selected by this code, even by mistake.

File numbers follow the JPKI card specification (as used by OpenSC's card-jpki.c and
jpki/myna): in the JPKI AP, EF 000A is the user-authentication certificate, 000B its CA
certificate, 0018 the user-authentication PIN and 0017 the user-authentication key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from cryptography import x509

from kiosk.devices import errors, iso7816
from kiosk.devices.apdu import CommandAPDU
from kiosk.devices.iso7816 import PinStatus
from kiosk.devices.transport import ApduChannel, ApduObserver, CardConnection

JPKI_AID = bytes.fromhex("D392F000260100000001")
# The card-face applets. Listed so that tests and the virtual card can name them; the
# kiosk never selects them (they hold the My Number and the holder's basic information).
CARD_FACE_AID = bytes.fromhex("D3921000310001010402")
INPUT_HELPER_AID = bytes.fromhex("D3921000310001010408")

EF_AUTH_CERT = 0x000A
EF_AUTH_CA_CERT = 0x000B
EF_AUTH_KEY = 0x0017
EF_AUTH_PIN = 0x0018

PIN_LENGTH = 4
AUTH_PIN_TRIES = 3  # wrong PINs in a row that lock the user-authentication PIN

# DER prefix of a DigestInfo for SHA-256 (RFC 8017, section 9.2, note 1).
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")

_PERMITTED_EFS = {
    f.to_bytes(2, "big") for f in (EF_AUTH_CERT, EF_AUTH_CA_CERT, EF_AUTH_KEY, EF_AUTH_PIN)
}


def sign_command(digest_info: bytes) -> CommandAPDU:
    """COMPUTE DIGITAL SIGNATURE with the selected key: ``80 2A 00 80``, PKCS#1 v1.5 by the card."""
    return CommandAPDU(0x80, 0x2A, 0x00, 0x80, digest_info, le=256)


def is_permitted(command: CommandAPDU) -> bool:
    """The allow-list: the only APDUs the kiosk may send to a card."""
    header = (command.cla, command.ins, command.p1, command.p2)
    if header == (0x00, 0xA4, 0x04, 0x0C):
        return command.data == JPKI_AID
    if header == (0x00, 0xA4, 0x02, 0x0C):
        return command.data in _PERMITTED_EFS
    if header[:2] == (0x00, 0xB0):
        return not command.p1 & 0x80  # offsets only, no short-EF-identifier reads
    if header == (0x00, 0x20, 0x00, 0x80):
        return command.case == 1 or (command.case == 3 and len(command.data) == PIN_LENGTH)
    if header == (0x80, 0x2A, 0x00, 0x80):
        return command.case == 4
    return header == (0x00, 0xC0, 0x00, 0x00)  # GET RESPONSE, for T=0 readers


def digest_info_sha256(data: bytes) -> bytes:
    return SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(data).digest()


def check_pin_format(pin: str) -> bytes:
    """The PIN as the card wants it (4 ASCII digits), or ``InvalidPinFormat`` before any APDU."""
    if len(pin) != PIN_LENGTH or not pin.isascii() or not pin.isdigit():
        raise errors.InvalidPinFormat()
    return pin.encode("ascii")


class JpkiCard:
    """A My Number Card whose JPKI applet has been selected."""

    def __init__(self, connection: CardConnection, observers: Iterable[ApduObserver] = ()) -> None:
        self.channel = ApduChannel(connection, permitted=is_permitted)
        self.channel.observers.extend(observers)
        self._current_ef: int | None = None
        self._select_applet()

    def _select_applet(self) -> None:
        # Detected by SELECTing the applet, never by ATR: new card generations have new ATRs.
        response = self.channel.send(iso7816.select_df(JPKI_AID))
        if response.sw != 0x9000:
            raise errors.NotAJpkiCard(
                f"the card has no JPKI applet (SELECT answered SW {response.sw:04X}): "
                "it is not a My Number Card"
            )

    def _select_ef(self, fid: int) -> None:
        if self._current_ef == fid:
            return
        self._current_ef = None
        self.channel.send(iso7816.select_ef(fid)).check()
        self._current_ef = fid

    def _read_certificate_file(self, fid: int) -> x509.Certificate:
        self._select_ef(fid)
        der = iso7816.read_der_file(self.channel)
        try:
            return x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise errors.CardProtocolError(f"EF {fid:04X} does not hold a certificate") from exc

    def read_certificate(self) -> x509.Certificate:
        """The user-authentication certificate (利用者証明用電子証明書); needs no PIN."""
        return self._read_certificate_file(EF_AUTH_CERT)

    def read_ca_certificate(self) -> x509.Certificate:
        """The certificate of the CA that issued the user-authentication certificate."""
        return self._read_certificate_file(EF_AUTH_CA_CERT)

    def pin_status(self) -> PinStatus:
        """Tries left on the user-authentication PIN, without spending one."""
        self._select_ef(EF_AUTH_PIN)
        return iso7816.pin_status(self.channel)

    def verify_pin(self, pin: str) -> None:
        """Verify the 4-digit PIN; raises ``WrongPin`` (with tries left) or ``PinLocked``."""
        pin_bytes = check_pin_format(pin)
        self._select_ef(EF_AUTH_PIN)
        self.channel.send(iso7816.verify(pin_bytes)).check()

    def sign(self, data: bytes) -> bytes:
        """RSA PKCS#1 v1.5 signature over SHA-256(data) with the user-authentication key."""
        return self.sign_digest_info(digest_info_sha256(data))

    def sign_digest_info(self, digest_info: bytes) -> bytes:
        self._select_ef(EF_AUTH_KEY)
        signature = self.channel.send(sign_command(digest_info)).check()
        if not signature:
            raise errors.CardProtocolError("the card returned an empty signature")
        return signature
