"""The ``virtual`` reader: a virtual card answering in-process, with no driver in between.

It is the embedded default (the demo, and the kiosk on a development machine) and the
baseline of the card benchmark. The card is "on the reader" until ``remove()`` is called
(or a scripted removal happens), and "placed" again with ``insert()``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from kiosk.devices import errors
from kiosk.devices.sim.virtual_card import RemoveAfter, SimulatedCard, VirtualJpkiCard
from kiosk.devices.transport import CardConnection, CardReader


class VirtualReader(CardReader):
    """``card`` is a card file (read afresh at each insertion, as a card powers up with
    what its memory holds) or a card object."""

    def __init__(
        self, card: Path | SimulatedCard, *, removal: RemoveAfter | None = None, t0: bool = False
    ) -> None:
        self.name = f"virtual ({card})" if isinstance(card, Path) else "virtual"
        self.card = card
        self.removal = removal or RemoveAfter()
        self.t0 = t0
        self._present = threading.Event()
        self._absent = threading.Event()
        self.insert()

    def insert(self) -> None:
        self._absent.clear()
        self._present.set()

    def remove(self) -> None:
        self._present.clear()
        self._absent.set()

    def wait_for_card(self, timeout: float) -> CardConnection:
        if not self._present.wait(timeout):
            raise errors.NoCard()
        if not isinstance(self.card, Path):
            self.card.power_on()
            return _VirtualConnection(self, self.card)
        if not self.card.exists():
            raise errors.NoReader(
                f"no virtual card at {self.card}; make one with 'kiosk-card-sim issue'"
            )
        return _VirtualConnection(self, VirtualJpkiCard(self.card, t0=self.t0))

    def wait_for_removal(self, timeout: float) -> bool:
        return self._absent.wait(timeout)


class _VirtualConnection(CardConnection):
    def __init__(self, reader: VirtualReader, card: SimulatedCard) -> None:
        self.reader = reader
        self.card = card

    def transmit(self, command: bytes) -> bytes:
        if not self.reader._present.is_set() or self.reader.removal.gone_before_next():
            self.reader.remove()
            raise errors.CardRemoved()
        return self.card.process(command)

    def close(self) -> None:
        pass
