"""A kiosk for flow tests, built from the real parts: the flow and its runner, the
virtual card on the in-process reader (placed and taken away by the test), the submit
path with its queue, a real ``grant-service serve`` (``tests/support/kiosk_harness.py``), the
catalog from that service, and a slip printer (the loopback network printer, or a file).

    kiosk = KioskUnderTest.build(rig, card_path)
    kiosk.send(ev.Start())                 # as a screen would; waits until it settles
    assert kiosk.step == Step.CONSENT
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.devices.sim.loopback import VirtualReader
from kiosk.devices.sim.test_ca import JpkiTestCa, Validity
from kiosk.devices.sim.virtual_card import default_ca_dir, issue_card
from kiosk.link.submit import Submitter
from kiosk.procedure import events as ev
from kiosk.procedure.flow import Flow, Step, View
from kiosk.settings import KioskSettings
from kiosk.shell.assembly import assembled
from kiosk.shell.dispatcher import Dispatcher
from kiosk.shell.runner import Runner
from kiosk.slip.desk import SlipDesk
from tests.support.kiosk_harness import KioskRig

CARD_PIN = "4827"
# Demo accounts of the simulated operators (docs/service.md, "demo accounts").
PAYPAY_ID, PAYPAY_CODE = "090-0000-0001", "1234"


def issue_rig_card(directory: Path, name: str, *, validity: Validity | None = None,
                   pin: str = CARD_PIN) -> Path:  # fmt: skip
    """A virtual card from the CA the rig's service trusts."""
    path = directory / f"{name}.json"
    issue_card(JpkiTestCa.load(default_ca_dir()), path, pin=pin, validity=validity)
    return path


@dataclass
class KioskUnderTest:
    settings: KioskSettings
    reader: VirtualReader
    flow: Flow
    runner: Runner
    dispatcher: Dispatcher
    submitter: Submitter
    slips: SlipDesk
    scanner: Any = None  # the barcode scanner the settings name, if any

    @classmethod
    @contextmanager
    def build(
        cls, rig: KioskRig, card: Path, *, channel: str | None = None, **settings: Any
    ) -> Iterator[KioskUnderTest]:
        config = rig.settings.model_copy(update=settings)
        reader = VirtualReader(card)
        reader.remove()  # the citizen places it when the screen asks
        with assembled(config, reader=reader, channel=channel) as built:  # type: ignore[arg-type]
            parts = built.parts
            kiosk = cls(config, reader, built.flow, built.runner, built.dispatcher,
                        parts.submitter, parts.slips, built.scanner)  # fmt: skip
            try:
                yield kiosk
            finally:
                kiosk.send(ev.Quit())

    # --- driving ------------------------------------------------------------------------

    def send(self, event: ev.Event) -> View:
        self.dispatcher.send(event)
        return self.dispatcher.settle()

    @property
    def step(self) -> Step:
        return self.flow.step

    @property
    def data(self) -> dict[str, Any]:
        return self.flow.view.data

    def place_card(self) -> View:
        self.reader.insert()
        return self.settle_until(lambda: self.step != Step.PLACE_CARD)

    def take_card(self) -> View:
        self.reader.remove()
        return self.settle_until(lambda: self.step not in (Step.TAKE_CARD, Step.CARD_LEFT))

    def settle_until(self, condition: Any, timeout: float = 10.0) -> View:
        import time

        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"still on {self.step}")
            self.dispatcher.pump(timeout=0.05)
        return self.dispatcher.settle()

    # --- the usual walk -----------------------------------------------------------------

    def up_to_pin(self, *, purpose: str = "apply", who: str = "self") -> View:
        self.send(ev.Start(purpose))  # type: ignore[arg-type]
        self.send(ev.Agree())
        if purpose == "apply":
            self.send(ev.ForWhom(who))  # type: ignore[arg-type]
        assert self.step == Step.PLACE_CARD, self.step
        return self.place_card()

    def up_to_service(self, **kwargs: Any) -> View:
        self.up_to_pin(**kwargs)
        assert self.step == Step.PIN, (self.step, self.data)
        return self.send(ev.PinTyped(CARD_PIN))

    def apply(self, service: str = "paypay", payment_id: str = PAYPAY_ID,
              code: str = PAYPAY_CODE, phone: str | None = None) -> View:  # fmt: skip
        """From the service list to the slip."""
        assert self.step == Step.CHOOSE_SERVICE, (self.step, self.data)
        self.send(ev.ChooseService(service))
        self.send(ev.IdTyped(payment_id))
        self.send(ev.CodeTyped(code))
        self.send(ev.PhoneTyped(phone))
        assert self.step == Step.CONFIRM, (self.step, self.data)
        return self.send(ev.Submit())
