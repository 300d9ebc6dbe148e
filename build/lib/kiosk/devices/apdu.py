"""ISO 7816-4 APDUs in short form: encoding, parsing, and status words as exceptions.

Both sides use this module: the kiosk encodes commands and reads responses, and the
virtual card parses commands with the same code, so the two cannot drift apart.
Only short APDUs exist here (Lc up to 255, Le up to 256): the JPKI applet needs nothing
longer, and many NFC readers do not support extended length.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.devices import errors

SW_OK = 0x9000
SW_END_OF_FILE = 0x6282  # warning: fewer bytes than Le were left in the file
SW_WRONG_LENGTH = 0x6700
SW_COMMAND_INCOMPATIBLE = 0x6981
SW_SECURITY_STATUS = 0x6982
SW_PIN_BLOCKED = 0x6983
SW_PIN_LOCKED = 0x6984
SW_NO_CURRENT_EF = 0x6986
SW_FUNCTION_NOT_SUPPORTED = 0x6A81
SW_FILE_NOT_FOUND = 0x6A82
SW_INCORRECT_P1P2 = 0x6A86
SW_WRONG_OFFSET = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00


class MalformedAPDU(ValueError):
    """Bytes that are not a short-form command APDU (the card answers 6700)."""


@dataclass(frozen=True)
class CommandAPDU:
    """A command APDU. ``le`` is None when no response data is expected (cases 1 and 3)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    # True when the data field is a secret (the PIN): it is then never written to a log.
    secret: bool = False

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise ValueError(f"{name} must be one byte")
        if len(self.data) > 255:
            raise ValueError("short APDUs carry at most 255 data bytes")
        if self.le is not None and not 1 <= self.le <= 256:
            raise ValueError("Le must be 1..256 in a short APDU")

    @property
    def case(self) -> int:
        """ISO 7816-3 case: 1 no data, 2 Le only, 3 data only, 4 data and Le."""
        if self.data:
            return 3 if self.le is None else 4
        return 1 if self.le is None else 2

    def to_bytes(self) -> bytes:
        out = bytearray((self.cla, self.ins, self.p1, self.p2))
        if self.data:
            out.append(len(self.data))
            out += self.data
        if self.le is not None:
            out.append(self.le % 256)  # 256 is encoded as 00
        return bytes(out)

    @classmethod
    def parse(cls, raw: bytes) -> CommandAPDU:
        """Parse a short-form command APDU (the card side of the protocol)."""
        if len(raw) < 4:
            raise MalformedAPDU("a command APDU has at least 4 bytes")
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, le=body[0] or 256)
        lc = body[0]
        if lc == 0:
            raise MalformedAPDU("extended-length APDUs are not supported")
        if len(body) == 1 + lc:
            return cls(cla, ins, p1, p2, data=bytes(body[1:]))
        if len(body) == 2 + lc:
            return cls(cla, ins, p1, p2, data=bytes(body[1:-1]), le=body[-1] or 256)
        raise MalformedAPDU(f"Lc={lc} does not match the {len(body) - 1} bytes that follow")

    def describe(self) -> str:
        """Hex for logs and traces, with a secret data field masked."""
        shown = self.to_bytes().hex(" ").upper()
        if self.secret and self.data:
            head = bytes((self.cla, self.ins, self.p1, self.p2, len(self.data))).hex(" ").upper()
            tail = f" {self.le % 256:02X}" if self.le is not None else ""
            shown = f"{head} <{len(self.data)} secret bytes>{tail}"
        return shown


@dataclass(frozen=True)
class ResponseAPDU:
    data: bytes
    sw: int

    @classmethod
    def parse(cls, raw: bytes) -> ResponseAPDU:
        if len(raw) < 2:
            raise errors.CardProtocolError(f"a response APDU has at least 2 bytes, got {len(raw)}")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))

    def to_bytes(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    def check(self, allow: tuple[int, ...] = ()) -> bytes:
        """Return the data if the status is 9000 (or in ``allow``); raise the typed error."""
        if self.sw == SW_OK or self.sw in allow:
            return self.data
        raise status_error(self.sw)


_ERRORS_BY_SW: dict[int, type[errors.CardStatusError]] = {
    SW_PIN_BLOCKED: errors.PinLocked,
    SW_PIN_LOCKED: errors.PinLocked,
    SW_SECURITY_STATUS: errors.SecurityStatusNotSatisfied,
    SW_FILE_NOT_FOUND: errors.FileNotFound,
    SW_WRONG_LENGTH: errors.WrongLength,
    SW_INCORRECT_P1P2: errors.IncorrectParameters,
    SW_WRONG_OFFSET: errors.IncorrectParameters,
    SW_COMMAND_INCOMPATIBLE: errors.CommandNotAllowed,
    SW_NO_CURRENT_EF: errors.CommandNotAllowed,
    SW_INS_NOT_SUPPORTED: errors.InstructionNotSupported,
    SW_CLA_NOT_SUPPORTED: errors.ClassNotSupported,
}


def status_error(sw: int) -> errors.CardStatusError:
    """The exception that a non-9000 status word stands for."""
    if sw & 0xFFF0 == 0x63C0:
        tries_left = sw & 0x0F
        if tries_left == 0:
            return errors.PinLocked(sw)
        return errors.WrongPin(sw, tries_left)
    error_type = _ERRORS_BY_SW.get(sw)
    if error_type is None:
        return errors.CardStatusError(sw, "the card refused the command")
    return error_type(sw)
