"""Generic ISO 7816-4 commands the JPKI applet is built from: SELECT, READ BINARY, VERIFY.

Nothing here knows JPKI file numbers; ``jpki`` names the files and decides what to call.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.devices import errors
from kiosk.devices.apdu import SW_END_OF_FILE, SW_OK, CommandAPDU, status_error
from kiosk.devices.transport import ApduChannel

# READ BINARY in short form returns at most 256 bytes, and its offset (P1-P2) has 15 bits.
MAX_READ_BLOCK = 256
MAX_OFFSET = 0x7FFF


def select_df(aid: bytes) -> CommandAPDU:
    """SELECT by DF name (AID), no response data: ``00 A4 04 0C``."""
    return CommandAPDU(0x00, 0xA4, 0x04, 0x0C, aid)


def select_ef(fid: int) -> CommandAPDU:
    """SELECT an EF of the current DF by its 2-byte file identifier: ``00 A4 02 0C``."""
    return CommandAPDU(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big"))


def read_binary(offset: int, length: int) -> CommandAPDU:
    if not 0 <= offset <= MAX_OFFSET:
        raise ValueError(f"READ BINARY offset {offset} does not fit in P1-P2")
    return CommandAPDU(0x00, 0xB0, offset >> 8, offset & 0xFF, le=length)


def verify_status() -> CommandAPDU:
    """VERIFY with no data: asks for the tries left without spending one."""
    return CommandAPDU(0x00, 0x20, 0x00, 0x80)


def verify(pin: bytes) -> CommandAPDU:
    return CommandAPDU(0x00, 0x20, 0x00, 0x80, pin, secret=True)


@dataclass(frozen=True)
class PinStatus:
    """What the card says about a PIN before anyone types it."""

    # None when the card answers 9000 (ISO: already verified). JPKI cards answer 63Cx.
    tries_left: int | None
    locked: bool


def read_der_file(channel: ApduChannel) -> bytes:
    """Read a DER object from the current EF: its length comes from its own header.

    The EF is larger than the object it holds, and a single ``00 B0 00 00 00`` stops at
    256 bytes: the first block gives the header, the rest follows in blocks at offsets.
    """
    head = _read_block(channel, 0, MAX_READ_BLOCK)
    total = der_length(head)
    if total > MAX_OFFSET + 1:
        raise errors.CardProtocolError(f"a {total}-byte object cannot be read with short APDUs")
    content = bytearray(head[: min(len(head), total)])
    while len(content) < total:
        block = _read_block(channel, len(content), min(MAX_READ_BLOCK, total - len(content)))
        if not block:
            raise errors.CardProtocolError(
                f"the file ended at {len(content)} bytes; its DER header announced {total}"
            )
        content += block
    return bytes(content[:total])


def der_length(head: bytes) -> int:
    """Total length (header included) of the DER object whose first bytes are ``head``."""
    if len(head) < 2 or head[0] != 0x30:
        raise errors.CardProtocolError("the file does not hold a DER SEQUENCE (empty EF?)")
    first = head[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if n == 0 or n > 2 or len(head) < 2 + n:
        raise errors.CardProtocolError("unsupported DER length encoding")
    return 2 + n + int.from_bytes(head[2 : 2 + n], "big")


def _read_block(channel: ApduChannel, offset: int, length: int) -> bytes:
    response = channel.send(read_binary(offset, length))
    # 6282: the file ended before Le bytes; the bytes that were there are valid.
    return response.check(allow=(SW_END_OF_FILE,))


def pin_status(channel: ApduChannel) -> PinStatus:
    """Tries left on the PIN of the current EF, without spending one."""
    response = channel.send(verify_status())
    if response.sw == SW_OK:
        return PinStatus(tries_left=None, locked=False)
    error = status_error(response.sw)
    if isinstance(error, errors.WrongPin):
        return PinStatus(tries_left=error.tries_left, locked=False)
    if isinstance(error, errors.PinLocked):
        return PinStatus(tries_left=0, locked=True)
    raise error
