"""Between the flow and the runner: events in, commands out, each command carried out on
its own worker thread, and the answers handed back to the flow on one thread only.

The flow is not thread-safe and needs no lock: only the thread that calls ``send`` and
``pump`` touches it (the Kivy main thread in the app, the test's thread in tests). Worker
threads only put events in the inbox::

    dispatcher.send(ev.Start())        # from a screen
    dispatcher.pump()                  # in the app: every frame; answers reach the flow
    dispatcher.settle()                # in tests: until nothing but waits is running
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.procedure import commands as do
from kiosk.procedure import events as ev
from kiosk.procedure.flow import Flow, View
from kiosk.shell.runner import Runner

log = logging.getLogger(__name__)

# Commands that wait for the citizen (placing or taking the card): they may run as long
# as the citizen takes, so ``settle`` does not wait for them.
WAITS = (do.WaitForCard, do.WatchPresence, do.WatchForRemoval)


@dataclass(frozen=True)
class _Finished:
    command: do.Command


class Dispatcher:
    def __init__(
        self, flow: Flow, runner: Runner, on_view: Callable[[View], None] | None = None
    ) -> None:
        self.flow = flow
        self.runner = runner
        self.on_view = on_view  # told after every change (the app re-renders)
        self._inbox: queue.Queue[ev.Event | _Finished] = queue.Queue()
        self._running: list[do.Command] = []
        self._workers: list[threading.Thread] = []

    def send(self, event: ev.Event) -> None:
        """Give ``event`` to the flow and start the commands it answers."""
        commands = self.flow.handle(event)
        self.runner.note_step(self.flow.step)  # the live state kiosk-sync reports
        if self.on_view is not None:
            self.on_view(self.flow.view)
        for command in commands:
            self._start(command)

    def post(self, event: ev.Event) -> None:
        """An event from a device's own thread (a scanned barcode): the flow gets it at
        the next ``pump``, on its one thread."""
        self._inbox.put(event)

    def pump(self, timeout: float | None = None) -> bool:
        """Hand one waiting answer to the flow (waiting up to ``timeout``; None: do not
        wait). False if there was none."""
        try:
            item = self._inbox.get(block=timeout is not None, timeout=timeout)
        except queue.Empty:
            return False
        if isinstance(item, _Finished):
            self._running.remove(item.command)
        else:
            self.send(item)
        return True

    def pump_all(self) -> None:
        while self.pump():
            pass

    @property
    def busy(self) -> bool:
        """A command other than a wait for the citizen is running."""
        return any(not isinstance(c, WAITS) for c in self._running)

    def settle(self, timeout: float = 60.0) -> View:
        """Pump until no command but a wait runs and no answer is waiting (tests)."""
        deadline = time.monotonic() + timeout
        while True:
            self.pump_all()
            if not self.busy and self._inbox.empty():
                return self.flow.view
            if time.monotonic() > deadline:
                raise TimeoutError(f"still running after {timeout} s: {self._running}")
            self.pump(timeout=0.05)

    def _start(self, command: do.Command) -> None:
        if isinstance(command, do.Wipe):
            self.runner.cancel_waits()  # at once: no wait may answer for the last citizen
        self._running.append(command)
        worker = threading.Thread(
            target=self._work, args=(command,), name=type(command).__name__, daemon=True
        )
        worker.start()
        self._workers = [w for w in self._workers if w.is_alive()] + [worker]

    def close(self, timeout: float = 5.0) -> None:
        """End every wait and let the workers finish (the kiosk shuts down)."""
        self.runner.cancel_waits()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def _work(self, command: do.Command) -> None:
        try:
            for event in self.runner.run(command):
                self._inbox.put(event)
        except Exception as exc:  # a bug or a full disk must not freeze the screen
            log.exception("%s failed", type(command).__name__)
            self._inbox.put(ev.Trouble(type(command).__name__, f"{type(exc).__name__}: {exc}"))
        finally:
            self._inbox.put(_Finished(command))
