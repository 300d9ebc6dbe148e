"""Contact and contactless readers through PC/SC (pcscd), with pyscard's low-level API.

The low-level API gives the PC/SC return codes themselves, so each one becomes the
error the kiosk must explain: no pcscd, no reader, no card in time, card pulled out.
"""

from __future__ import annotations

import time

from smartcard import scard

from kiosk.devices import errors
from kiosk.devices.transport import CardConnection, CardReader

# Waits are cut in slices so that readers plugged in or out meanwhile are noticed.
_POLL_SLICE_MS = 500

_SERVICE_GONE = {scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED}
_CARD_GONE = {
    scard.SCARD_W_REMOVED_CARD,
    scard.SCARD_E_NO_SMARTCARD,
    scard.SCARD_W_RESET_CARD,
    scard.SCARD_W_UNPOWERED_CARD,
    scard.SCARD_W_UNRESPONSIVE_CARD,
    scard.SCARD_E_NOT_TRANSACTED,
    scard.SCARD_E_COMM_DATA_LOST,
}
_READER_GONE = {scard.SCARD_E_READER_UNAVAILABLE, scard.SCARD_E_UNKNOWN_READER}


def _message(hresult: int) -> str:
    return f"{scard.SCardGetErrorMessage(hresult).strip()} (0x{hresult & 0xFFFFFFFF:08X})"


def _service_error(hresult: int) -> errors.ReaderError:
    if hresult in _SERVICE_GONE:
        return errors.ReaderServiceUnavailable()
    if hresult in _READER_GONE:
        return errors.NoReader(f"the reader went away: {_message(hresult)}")
    return errors.ReaderError(f"PC/SC error: {_message(hresult)}")


def list_readers() -> list[str]:
    """Names of the PC/SC readers pcscd knows; raises if pcscd is not running."""
    context = _establish_context()
    try:
        return _list_readers(context)
    finally:
        scard.SCardReleaseContext(context)


def _establish_context() -> int:
    context: int  # pyscard has no type information
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise _service_error(hresult)
    return context


def _list_readers(context: int) -> list[str]:
    hresult, readers = scard.SCardListReaders(context, [])
    if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
        return []
    if hresult != scard.SCARD_S_SUCCESS:
        raise _service_error(hresult)
    return list(readers)


class PcscReader(CardReader):
    """Any PC/SC reader, or those whose name contains ``name_filter`` (case-insensitive)."""

    def __init__(self, name_filter: str = "") -> None:
        self.name_filter = name_filter
        self.name = f"pcsc:{name_filter}" if name_filter else "pcsc"
        self._context: int | None = _establish_context()  # None once closed
        self._card_reader: str | None = None  # the reader the card was found on
        if not self._matching_readers():
            error = self._no_reader_error()
            self.close()
            raise error

    @property
    def _open_context(self) -> int:
        if self._context is None:
            raise errors.ReaderError(f"the {self.name} reader was closed")
        return self._context

    def _matching_readers(self) -> list[str]:
        wanted = self.name_filter.casefold()
        return [r for r in _list_readers(self._open_context) if wanted in r.casefold()]

    def _no_reader_error(self) -> errors.NoReader:
        available = _list_readers(self._open_context)
        if self.name_filter:
            listed = ", ".join(available) or "none"
            return errors.NoReader(
                f"no PC/SC reader matches '{self.name_filter}' (readers: {listed})"
            )
        return errors.NoReader("pcscd is running but sees no reader; check the reader's cable")

    def _states(self, readers: list[str], timeout_ms: int) -> list[tuple[str, int, list[int]]]:
        states = [(r, scard.SCARD_STATE_UNAWARE) for r in readers]
        hresult, states = scard.SCardGetStatusChange(self._open_context, 0, states)
        if hresult == scard.SCARD_S_SUCCESS and timeout_ms:
            # Now wait for a change from the state just read.
            waiting = [(r, s & ~scard.SCARD_STATE_CHANGED) for r, s, _ in states]
            hresult, changed = scard.SCardGetStatusChange(self._open_context, timeout_ms, waiting)
            if hresult == scard.SCARD_S_SUCCESS:
                states = changed
            elif hresult != scard.SCARD_E_TIMEOUT:
                raise _service_error(hresult)
        elif hresult != scard.SCARD_S_SUCCESS:
            raise _service_error(hresult)
        return list(states)

    def card_present(self) -> bool:
        """Whether a card sits on one of the matching readers now (no connection made)."""
        states = self._states(self._matching_readers(), 0)
        return any(s & scard.SCARD_STATE_PRESENT for _r, s, _a in states)

    def wait_for_card(self, timeout: float) -> CardConnection:
        deadline = time.monotonic() + timeout
        while True:
            readers = self._matching_readers()
            if not readers:
                raise self._no_reader_error()
            for reader, state, _atr in self._states(readers, 0):
                if state & scard.SCARD_STATE_PRESENT and not state & scard.SCARD_STATE_MUTE:
                    return self._connect(reader)
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                raise errors.NoCard()
            self._states(readers, min(remaining_ms, _POLL_SLICE_MS))

    def _connect(self, reader: str) -> CardConnection:
        # Exclusive: nothing else may talk to the card during a citizen's session.
        hresult, handle, protocol = scard.SCardConnect(
            self._open_context,
            reader,
            scard.SCARD_SHARE_EXCLUSIVE,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hresult in _CARD_GONE:
            raise errors.CardRemoved(f"the card left {reader} while connecting")
        if hresult == scard.SCARD_E_SHARING_VIOLATION:
            raise errors.ReaderError(f"{reader} is in use by another program")
        if hresult != scard.SCARD_S_SUCCESS:
            raise _service_error(hresult)
        self._card_reader = reader
        return _PcscConnection(handle, protocol, reader)

    def wait_for_removal(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        readers = [self._card_reader] if self._card_reader else self._matching_readers()
        while True:
            try:
                states = self._states(readers, 0)
            except errors.NoReader:
                return True  # the reader itself went away, and the card with it
            if all(not s & scard.SCARD_STATE_PRESENT for _r, s, _a in states):
                return True
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                return False
            self._states(readers, min(remaining_ms, _POLL_SLICE_MS))

    def close(self) -> None:
        if self._context is not None:
            scard.SCardReleaseContext(self._context)
            self._context = None


class _PcscConnection(CardConnection):
    def __init__(self, handle: int, protocol: int, reader: str) -> None:
        self._handle: int | None = handle
        self._pci = (
            scard.SCARD_PCI_T1 if protocol == scard.SCARD_PROTOCOL_T1 else scard.SCARD_PCI_T0
        )
        self.reader = reader

    def transmit(self, command: bytes) -> bytes:
        if self._handle is None:
            raise errors.CardRemoved("the connection to the card is closed")
        hresult, response = scard.SCardTransmit(self._handle, self._pci, list(command))
        if hresult in _CARD_GONE:
            raise errors.CardRemoved(
                f"the card was removed from {self.reader}: {_message(hresult)}"
            )
        if hresult != scard.SCARD_S_SUCCESS:
            raise _service_error(hresult)
        if len(response) < 2:
            # Some drivers (vpcd among them) report success with no bytes when the card
            # vanishes mid-command: no status word means no card.
            raise errors.CardRemoved(f"the card was removed from {self.reader} mid-command")
        return bytes(response)

    def close(self) -> None:
        if self._handle is not None:
            # Reset, so a verified PIN does not outlive the citizen's session on the card.
            scard.SCardDisconnect(self._handle, scard.SCARD_RESET_CARD)
            self._handle = None
