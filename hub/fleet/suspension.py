"""Suspension of flooding devices' broker accounts, on a thread of its own.

The fleet's quota check runs on the MQTT network thread, and the broker's answer to a suspension
arrives on that same thread: so the change is asked for here and made off it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from .accounts import BrokerAccounts
from .worker import QueueWorker

log = logging.getLogger("motcua.hub.fleet")

MAX_SUSPENSION_S = 24 * 3600.0


class Suspender(QueueWorker[tuple[str, bool]]):
    """Suspends a flooding device at once and resumes it when its time is up; after a restart of the
    hub, resumes every enrolled device (a suspension must not outlive its hub)."""

    def __init__(
        self,
        accounts: BrokerAccounts,
        suspend_s: float,
        active_devices: Callable[[], list[str]],
        stop: threading.Event,
    ) -> None:
        # Item: (device id, suspend?); ("*", False) resumes every device.
        super().__init__("fleet-suspend")
        self.accounts = accounts
        self.suspend_s = suspend_s
        self.active_devices = active_devices
        self._stop = stop
        self._suspended: dict[str, float] = {}
        self._count: dict[str, int] = {}

    def suspend(self, device_id: str) -> None:
        self._requests.put((device_id, True))

    def resume_all(self) -> None:
        self._requests.put(("*", False))

    def suspension_s(self, device_id: str) -> float:
        """Twice as long each time the same device floods again (at most a day): a script that
        waits out its suspension gets a burst of numbers fewer and fewer times a day."""
        count = self._count[device_id] = self._count.get(device_id, 0) + 1
        return min(self.suspend_s * 2 ** min(count - 1, 20), MAX_SUSPENSION_S)

    def _run(self) -> None:
        while True:
            due = min(self._suspended.values(), default=None)
            timeout = None if due is None else max(0.0, due - time.monotonic())
            try:
                item = self._requests.get(timeout=timeout)
            except queue.Empty:
                item = ("", False)
            if item is None:
                return
            device_id, suspend = item
            try:
                if suspend:
                    self.accounts.suspend(device_id)
                    self._suspended[device_id] = time.monotonic() + self.suspension_s(device_id)
                elif device_id == "*":
                    self.accounts.resume(self.active_devices())
                else:
                    self._resume_due()
            except Exception as error:  # the broker did not answer: try again shortly
                log.warning("suspension change for %s failed: %r", device_id or "due devices", error)
                if suspend:
                    self._suspended.setdefault(device_id, time.monotonic() + self.suspend_s)
                self._stop.wait(1.0)

    def _resume_due(self) -> None:
        moment = time.monotonic()
        ready = [d for d, until in self._suspended.items() if until <= moment]
        if ready:
            self.accounts.resume(ready)
            for done in ready:
                self._suspended.pop(done, None)
                log.info("broker account of %s resumed after its suspension", done)
