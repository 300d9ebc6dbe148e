"""Contactless readers through nfcpy: the card as an ISO 14443-4 Type B tag (106 kbit/s).

The My Number Card is a Type B card; nfcpy activates it (SENSB, ATTRIB) and carries the
APDUs with ISO-DEP chaining in ``Type4BTag.transceive``. ``nfc:usb`` is a USB reader
(e.g. Sony RC-S380); ``nfc:udp:HOST:PORT`` is nfcpy's network driver, behind which
``kiosk-card-sim serve --nfc-udp`` plays the card.
"""

from __future__ import annotations

import logging
import time

import nfc
import nfc.clf
import nfc.tag
import nfc.tag.tt4

from kiosk.devices import errors
from kiosk.devices.transport import CardConnection, CardReader

# nfcpy logs every frame at DEBUG, a VERIFY's PIN included: keep its loggers above that.
logging.getLogger("nfc").setLevel(logging.INFO)

_PRESENCE_POLL = 0.1  # seconds between presence checks while waiting for removal


class NfcReader(CardReader):
    def __init__(self, path: str) -> None:
        """``path`` as nfcpy takes it: ``usb``, ``usb:054c:06c1``, ``udp:127.0.0.1:54321``."""
        self.name = f"nfc:{path}"
        try:
            self._clf = nfc.ContactlessFrontend(path)
        except (OSError, ValueError) as exc:
            raise errors.NoReader(f"no NFC reader at '{path}': {exc}") from exc
        self._tag: nfc.tag.tt4.Type4Tag | None = None

    def wait_for_card(self, timeout: float) -> CardConnection:
        deadline = time.monotonic() + timeout
        tag = self._clf.connect(
            rdwr={
                "targets": ["106B"],  # the My Number Card is Type B
                "on-connect": lambda tag: False,  # hand the tag back at once
                "iterations": 1,
                "interval": 0.1,
                "beep-on-connect": False,
            },
            terminate=lambda: time.monotonic() >= deadline,
        )
        if not tag:
            raise errors.NoCard()
        if not isinstance(tag, nfc.tag.tt4.Type4Tag):
            raise errors.NotAJpkiCard(f"the card is a {tag.type}, not an ISO 14443-4 card")
        self._tag = tag
        return _NfcConnection(tag)

    def wait_for_removal(self, timeout: float) -> bool:
        if self._tag is None:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._tag.is_present:
                self._tag = None
                return True
            time.sleep(_PRESENCE_POLL)
        return False

    def close(self) -> None:
        self._clf.close()


class _NfcConnection(CardConnection):
    def __init__(self, tag: nfc.tag.tt4.Type4Tag) -> None:
        self._tag = tag

    def transmit(self, command: bytes) -> bytes:
        try:
            return bytes(self._tag.transceive(bytearray(command)))
        except (nfc.tag.TagCommandError, nfc.clf.CommunicationError) as exc:
            # Timeouts and broken links both mean the card left the field.
            raise errors.CardRemoved(f"the card left the NFC field: {exc}") from exc

    def close(self) -> None:
        pass
