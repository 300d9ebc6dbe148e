"""Benchmark: the card's part of a kiosk session, per transport, against the in-process baseline.

One run = place the card, SELECT the JPKI applet, read the user-authentication
certificate, read the PIN tries left, VERIFY, sign a consent. The virtual card answers
with no added latency, so the figures are the host's own cost: our code, pyscard,
libpcsclite, pcscd and vpcd (or nfcpy and its udp driver), and the card's computing time,
which is measured apart ("card ms") and is the same on every transport.

    .venv/bin/python bench/card.py [--runs 30] [--no-nfc]

Needs root (or no other pcscd) for the private pcscd, like the tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kiosk.devices.jpki import JpkiCard
from kiosk.devices.sim.loopback import VirtualReader
from kiosk.devices.sim.test_ca import JpkiTestCa
from kiosk.devices.sim.virtual_card import VirtualJpkiCard, issue_card
from kiosk.devices.transport import CardReader

PIN = "4827"


@dataclass
class Result:
    name: str
    apdus: int
    bytes_out: int
    bytes_in: int
    totals_ms: list[float]
    card_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.totals_ms)

    @property
    def p90(self) -> float:
        return statistics.quantiles(self.totals_ms, n=10)[-1]

    @property
    def card(self) -> float:
        return statistics.median(self.card_ms)


class TimedCard:
    """Counts the card's own computing time so it can be told apart from the transport's."""

    def __init__(self, card: VirtualJpkiCard) -> None:
        self.card = card
        self.atr = card.atr
        self.seconds = 0.0
        self.apdus = 0
        self.bytes_out = 0
        self.bytes_in = 0

    def power_on(self) -> bytes:
        return self.card.power_on()

    def process(self, raw: bytes) -> bytes:
        started = time.perf_counter()
        response = self.card.process(raw)
        self.seconds += time.perf_counter() - started
        self.apdus += 1
        self.bytes_out += len(raw)
        self.bytes_in += len(response)
        return response


def one_session(reader: CardReader) -> None:
    with reader.wait_for_card(10) as connection:
        card = JpkiCard(connection)
        card.read_certificate()
        card.pin_status()
        card.verify_pin(PIN)
        card.sign(b"Mynapoint application consent")


def measure(name: str, timed: TimedCard, reader: CardReader, runs: int) -> Result:
    one_session(reader)  # warm-up: imports, first connection
    totals, cards = [], []
    apdus = bytes_out = bytes_in = 0
    for _ in range(runs):
        timed.seconds = 0.0
        timed.apdus = timed.bytes_out = timed.bytes_in = 0
        started = time.perf_counter()
        one_session(reader)
        totals.append((time.perf_counter() - started) * 1000)
        cards.append(timed.seconds * 1000)
        apdus, bytes_out, bytes_in = timed.apdus, timed.bytes_out, timed.bytes_in
    return Result(name, apdus, bytes_out, bytes_in, totals, cards)


@contextmanager
def pcscd_reader(timed: TimedCard) -> Iterator[CardReader]:
    from kiosk.devices.sim.pcscd import PrivatePcscd

    with PrivatePcscd() as daemon:
        os.environ.update(daemon.environment())  # before the first PC/SC call
        from kiosk.devices.pcsc import PcscReader
        from kiosk.devices.sim.vpcd import VpcdCardLink

        link = VpcdCardLink(timed, "127.0.0.1", daemon.vpcd_port).start()  # type: ignore[arg-type]
        with PcscReader(daemon.reader_name) as reader:
            deadline = time.monotonic() + 5
            while not reader.card_present() and time.monotonic() < deadline:
                time.sleep(0.02)
            yield reader
        link.remove()


@contextmanager
def nfc_reader(timed: TimedCard) -> Iterator[CardReader]:
    from kiosk.devices.nfc import NfcReader
    from kiosk.devices.sim.nfc_udp import NfcUdpCard

    sim = NfcUdpCard(timed).start()  # type: ignore[arg-type]
    with NfcReader(sim.reader_path) as reader:
        yield reader
    sim.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-nfc", action="store_true", help="skip the nfcpy udp transport")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        card_path = Path(tmp) / "card.json"
        issue_card(JpkiTestCa.create(Path(tmp) / "ca"), card_path, pin=PIN)
        timed = TimedCard(VirtualJpkiCard(card_path))
        transports: list[tuple[str, Callable[[], object]]] = [
            ("pcscd + vpcd", lambda: pcscd_reader(timed)),
        ]
        if not args.no_nfc:
            transports.append(("nfcpy udp", lambda: nfc_reader(timed)))

        baseline_reader = VirtualReader(timed)  # type: ignore[arg-type]
        results = [measure("loopback (baseline)", timed, baseline_reader, args.runs)]
        for name, open_transport in transports:
            with open_transport() as reader:  # type: ignore[attr-defined]
                results.append(measure(name, timed, reader, args.runs))

    baseline = results[0]
    print(
        f"Card session: SELECT, read certificate, PIN status, VERIFY, sign "
        f"({args.runs} runs each, virtual card with no added latency)"
    )
    print(
        f"{'transport':<21}{'APDUs':>6}{'bytes out/in':>15}{'median ms':>11}{'p90 ms':>8}"
        f"{'card ms':>9}{'host ms':>9}{'total x':>9}{'host x':>8}"
    )
    baseline_host = baseline.median - baseline.card
    for r in results:
        host = r.median - r.card
        print(
            f"{r.name:<21}{r.apdus:>6}{f'{r.bytes_out}/{r.bytes_in}':>15}{r.median:>11.2f}"
            f"{r.p90:>8.2f}{r.card:>9.2f}{host:>9.2f}{r.median / baseline.median:>9.2f}"
            f"{host / baseline_host:>8.1f}"
        )
    print(
        "card ms: time inside the virtual card (PIN hash, counter fsyncs, RSA); host ms: the "
        "rest (our code and the transport). Ratios are against the loopback baseline."
    )


if __name__ == "__main__":
    main()
