"""The card side of nfcpy's ``udp`` driver: a virtual card as an ISO 14443-4 Type B PICC.

nfcpy's udp driver sends one datagram per frame, ``"<bitrate> <hex>"`` (e.g. ``106B
050010``), and expects the card's frame back from the port it sent to. This module
answers like a Type B card in the field: SENSB_REQ with SENSB_RES, ATTRIB with its
answer, then ISO-DEP blocks (ISO/IEC 14443-4): I-blocks with chaining both ways, R(ACK)
and R(NAK) (also nfcpy's presence check), S(DESELECT). ``RFOFF`` from the reader is the
field switched off: the card loses power and its security status.

A removed card is a silent card: the reader times out, as with a real card leaving the
field.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading

from kiosk.devices.sim.virtual_card import RemoveAfter, SimulatedCard

log = logging.getLogger(__name__)

BITRATE = "106B"
FSD_BY_FSDI = (16, 24, 32, 40, 48, 64, 96, 128, 256)
FSCI = 8  # the card accepts frames of 256 bytes
PROTOCOL_TYPE_ISO14443_4 = 0x01


class NfcUdpCard:
    def __init__(
        self,
        card: SimulatedCard,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        removal: RemoveAfter | None = None,
        fwi: int = 11,
    ) -> None:
        """``fwi``: frame waiting integer; nfcpy waits 4096/13.56 MHz * 2**fwi per block
        (11: 0.62 s), which is also how long it takes to notice a removed card."""
        self.card = card
        self.removal = removal or RemoveAfter()
        self.pupi = secrets.token_bytes(4)
        self.sensb_res = (
            b"\x50" + self.pupi + b"\x00\x00\x00\x00"  # PUPI, application data
            + bytes([0x00, FSCI << 4 | PROTOCOL_TYPE_ISO14443_4, fwi << 4])
        )  # fmt: skip
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, port))
        self.address = self._socket.getsockname()
        self.present = True
        self._closed = False
        self._thread: threading.Thread | None = None
        self._reset_protocol()

    @property
    def reader_path(self) -> str:
        """What to give nfcpy (``nfc:`` + this is the kiosk's ``--reader``)."""
        return f"udp:{self.address[0]}:{self.address[1]}"

    def _reset_protocol(self) -> None:
        self.active = False
        self.fsd = 256
        self._command = bytearray()  # chained command being received
        self._response = b""  # response still to send (chaining)
        self._last_block = b""  # for retransmission on R(NAK)
        self.card.power_on()

    # --- running ---------------------------------------------------------------------

    def serve(self) -> None:
        # A closed UDP socket does not wake a blocked recvfrom: poll the stop flag instead.
        self._socket.settimeout(0.1)
        while not self._closed:
            try:
                datagram, peer = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            reply = self._handle_datagram(datagram)
            if reply is not None:
                text = f"{BITRATE} {reply.hex()}".encode("ascii")
                try:
                    self._socket.sendto(text, peer)
                except OSError:
                    return

    def start(self) -> NfcUdpCard:
        self._thread = threading.Thread(target=self.serve, name="nfc-udp-card", daemon=True)
        self._thread.start()
        return self

    def remove(self) -> None:
        """Take the card out of the field: from now on it answers nothing."""
        self.present = False
        self._reset_protocol()

    def insert(self) -> None:
        self.present = True

    def close(self) -> None:
        self.present = False
        self._closed = True
        if self._thread is not None:
            self._thread.join(2)
        self._socket.close()

    # --- frames ----------------------------------------------------------------------

    def _handle_datagram(self, datagram: bytes) -> bytes | None:
        if datagram.startswith(b"RFOFF"):
            self._reset_protocol()  # field off: the card loses power
            return None
        try:
            bitrate, hex_frame = datagram.decode("ascii").split()
            frame = bytes.fromhex(hex_frame)
        except ValueError:
            return None
        if bitrate != BITRATE or not frame or not self.present:
            return None
        return self._handle_frame(frame)

    def _handle_frame(self, frame: bytes) -> bytes | None:
        if len(frame) == 3 and frame[0] == 0x05:  # SENSB_REQ / ALLB_REQ
            self._reset_protocol()
            return self.sensb_res
        if frame[0] == 0x1D and frame[1:5] == self.pupi and len(frame) >= 9:  # ATTRIB
            self.fsd = FSD_BY_FSDI[min(frame[6] & 0x0F, 8)]
            self.active = True
            return b"\x00"  # MBLI 0, CID 0
        if not self.active:
            return None
        pcb = frame[0]
        if pcb & 0xE2 == 0x02:
            return self._i_block(pcb, frame[1:])
        if pcb & 0xE6 == 0xA2:
            return self._r_block(pcb)
        if pcb & 0xF7 == 0xC2:  # S(DESELECT)
            self.active = False
            return frame[:1]
        return None

    def _i_block(self, pcb: int, information: bytes) -> bytes | None:
        block_number = pcb & 0x01
        self._command += information
        if pcb & 0x10:  # more to come: acknowledge this part
            return self._send(bytes([0xA2 | block_number]))
        command, self._command = bytes(self._command), bytearray()
        if self.removal.gone_before_next():
            self.remove()  # left the field before answering
            return None
        self._response = self.card.process(command)
        return self._next_response_block(block_number)

    def _r_block(self, pcb: int) -> bytes | None:
        block_number = pcb & 0x01
        if pcb & 0x10:  # R(NAK): retransmit if it is about our last block, else acknowledge
            if self._last_block and self._last_block[0] & 0x01 == block_number:
                return self._last_block
            return bytes([0xA2 | block_number])
        if self._response:  # R(ACK) asks for the next part of a chained response
            return self._next_response_block(block_number)
        if self._last_block and self._last_block[0] & 0x01 == block_number:
            return self._last_block
        return None

    def _next_response_block(self, block_number: int) -> bytes:
        room = self.fsd - 3  # PCB + EDC
        part, self._response = self._response[:room], self._response[room:]
        chaining = 0x10 if self._response else 0x00
        return self._send(bytes([0x02 | chaining | block_number]) + part)

    def _send(self, block: bytes) -> bytes:
        self._last_block = block
        return block
