"""What every card reader offers, whatever carries the APDUs (PC/SC, NFC, in-process).

A ``CardReader`` waits for a card and hands out a ``CardConnection``; a connection only
moves raw APDU bytes. Everything that knows what the bytes mean lives above, in
``iso7816`` and ``jpki``. Transports turn their own failures into ``kiosk.devices.errors``
types: a card pulled out is ``CardRemoved`` whichever reader it was on.
"""

from __future__ import annotations

import abc
import dataclasses
import logging
from collections.abc import Callable

from kiosk.devices import errors
from kiosk.devices.apdu import CommandAPDU, ResponseAPDU

log = logging.getLogger(__name__)


class CardConnection(abc.ABC):
    """One powered-up card: raw APDU bytes in, raw response bytes (data + SW) out."""

    @abc.abstractmethod
    def transmit(self, command: bytes) -> bytes:
        """Send one command APDU; raise ``CardRemoved`` if the card is gone."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the card (it stays on the reader)."""

    def __enter__(self) -> CardConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class CardReader(abc.ABC):
    """A reader slot a citizen places the card on."""

    name: str

    @abc.abstractmethod
    def wait_for_card(self, timeout: float) -> CardConnection:
        """Block until a card is present and connect to it; raise ``NoCard`` on timeout."""

    @abc.abstractmethod
    def wait_for_removal(self, timeout: float) -> bool:
        """Block until the card is taken away; False if it is still there after ``timeout``."""

    def close(self) -> None:  # noqa: B027 - most readers hold nothing to release
        """Release the reader."""

    def __enter__(self) -> CardReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


ApduObserver = Callable[[CommandAPDU, ResponseAPDU], None]


class ApduChannel:
    """Sends ``CommandAPDU`` objects over a connection and answers ``ResponseAPDU`` objects.

    It completes the two T=0 exchanges that some contact readers leave to the host
    (61xx: fetch the rest with GET RESPONSE; 6Cxx: resend with the exact Le), refuses
    commands outside its allow-list, logs each exchange with secrets masked, and tells
    observers (the APDU trace) about each one.
    """

    def __init__(
        self, connection: CardConnection, permitted: Callable[[CommandAPDU], bool] | None = None
    ) -> None:
        self.connection = connection
        self.permitted = permitted  # an allow-list checked before anything is sent
        self.observers: list[ApduObserver] = []

    def send(self, command: CommandAPDU) -> ResponseAPDU:
        response = self._exchange(command)
        if response.sw1 == 0x6C:  # wrong Le: the card says how many bytes it has
            response = self._exchange(dataclasses.replace(command, le=response.sw2 or 256))
        data = response.data
        while response.sw1 == 0x61:  # more data waiting: GET RESPONSE
            response = self._exchange(CommandAPDU(0x00, 0xC0, 0x00, 0x00, le=response.sw2 or 256))
            data += response.data
        return ResponseAPDU(data, response.sw)

    def _exchange(self, command: CommandAPDU) -> ResponseAPDU:
        if self.permitted is not None and not self.permitted(command):
            raise errors.ForbiddenCommand(f"refused {command.describe()}")
        response = ResponseAPDU.parse(self.connection.transmit(command.to_bytes()))
        log.debug(
            "APDU %s -> %d bytes, SW %04X", command.describe(), len(response.data), response.sw
        )
        for observer in self.observers:
            observer(command, response)
        return response
