"""Errors of the card layer: one type per situation the kiosk must explain.

Each error carries a ``message_key`` (the citizen-facing message, looked up in the
kiosk's i18n tables) and a ``detail`` (English, for technicians and logs). Neither ever
contains the PIN or anything read from the card-face applets.
"""

from __future__ import annotations

# Shown by the kiosk whenever a read fails (DOMAIN.md, "Reading tips").
READING_TIPS = (
    "Keep the card on the reader until reading completes (it can take more than 5 seconds); "
    "do not put it on a metal surface; take it out of any cover."
)


class CardError(Exception):
    """Base of every error raised by the card layer."""

    message_key = "card.error"
    default_detail = "the card operation failed"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


# --- Before anything reaches the card ------------------------------------------------


class InvalidPinFormat(CardError):
    """Refused locally, so a mistyped PIN never costs one of the three tries."""

    message_key = "card.pin.format"
    default_detail = "the PIN must be exactly 4 digits; nothing was sent to the card"


class ForbiddenCommand(CardError):
    """The kiosk tried to send an APDU outside the JPKI allow-list (a programming error)."""

    message_key = "card.error"
    default_detail = "refused to send a command outside the JPKI allow-list"


# --- Readers and transports -----------------------------------------------------------


class ReaderError(CardError):
    message_key = "reader.error"
    default_detail = "the card reader failed"


class ReaderServiceUnavailable(ReaderError):
    message_key = "reader.unavailable"
    default_detail = (
        "the PC/SC service (pcscd) is not running; start it with "
        "'systemctl start pcscd.socket' (or run 'pcscd' as root) and try again"
    )


class NoReader(ReaderError):
    message_key = "reader.missing"
    default_detail = "no card reader found; check the reader's cable and driver"


class NoCard(ReaderError):
    message_key = "card.absent"
    default_detail = "no card was placed on the reader in time"


class CardRemoved(CardError):
    message_key = "card.removed"
    default_detail = "the card was removed (or lost contact) before the operation completed"


class NotAJpkiCard(CardError):
    message_key = "card.not_my_number_card"
    default_detail = "this card has no JPKI applet: it is not a My Number Card"


class CardProtocolError(CardError):
    """The card answered something that a JPKI card never answers."""

    message_key = "card.error"
    default_detail = "the card's answer did not follow the JPKI protocol"


# --- Status words (ISO 7816-4) --------------------------------------------------------


class CardStatusError(CardError):
    """The card refused a command with a status word other than 9000."""

    def __init__(self, sw: int, detail: str | None = None) -> None:
        self.sw = sw
        super().__init__(f"{detail or self.default_detail} (SW {sw:04X})")


class WrongPin(CardStatusError):
    message_key = "card.pin.wrong"

    def __init__(self, sw: int, tries_left: int) -> None:
        self.tries_left = tries_left
        if tries_left == 1:
            detail = "wrong PIN; 1 try left: one more wrong PIN locks the card"
        else:
            detail = f"wrong PIN; {tries_left} tries left before the PIN locks"
        super().__init__(sw, detail)


class PinLocked(CardStatusError):
    message_key = "card.pin.locked"
    default_detail = (
        "the PIN is locked after 3 wrong entries; the holder must have it reset in person "
        "at the municipal office"
    )


class SecurityStatusNotSatisfied(CardStatusError):
    default_detail = "security status not satisfied (PIN not verified for this operation)"


class FileNotFound(CardStatusError):
    default_detail = "file or application not found"


class WrongLength(CardStatusError):
    default_detail = "wrong length"


class IncorrectParameters(CardStatusError):
    default_detail = "incorrect parameters P1-P2"


class CommandNotAllowed(CardStatusError):
    default_detail = "command not allowed on the selected file"


class InstructionNotSupported(CardStatusError):
    default_detail = "instruction not supported"


class ClassNotSupported(CardStatusError):
    default_detail = "class not supported"
