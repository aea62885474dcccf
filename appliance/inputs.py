"""Bad input a reader refused, for its health: how many and the last reason.

Every reader of outside bytes (keypad and scanner FIFOs, serial ports, MQTT payloads) must survive any
bytes; what it cannot use it counts here, so a technician sees on the fleet page that a device is
being fed garbage (and what), instead of a reader that silently died.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .timeutil import iso, now

log = logging.getLogger(__name__)

# A last error longer than this is cut: it is shown on the fleet page, not stored.
MAX_ERROR_CHARS = 200
# What handing odd (but decodable) data to a model can raise: caught per message, so one bad message
# is refused and counted instead of escaping (PayloadError is a ValueError).
BAD_INPUT: tuple[type[Exception], ...] = (ValueError, TypeError, AttributeError, KeyError, RecursionError)
# A flood of garbage republishes health at most this often (seconds).
REPORT_INTERVAL_S = 1.0


class RejectedInputs:
    """Thread-safe counter of refused inputs with the last error (`as_health()` for health).

    `on_change` (e.g. republish health) runs on a timer thread after a rejection, at most once per
    `interval_s`, and always once after the last rejection of a burst.
    """

    def __init__(
        self, on_change: Callable[[], object] | None = None, *, interval_s: float = REPORT_INTERVAL_S
    ) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.last_error: str | None = None
        self.last_at: str | None = None
        self.on_change = on_change
        self.interval_s = interval_s
        self._reported_at = -interval_s - 1.0
        self._timer: threading.Timer | None = None

    def reject(self, source: str, error: object) -> None:
        text = f"{source}: {error}"[:MAX_ERROR_CHARS]
        with self._lock:
            self.count += 1
            self.last_error = text
            self.last_at = iso(now())
            count = self.count
        # Logged once per power of two, so a flood of garbage does not flood the journal either.
        if count & (count - 1) == 0:
            log.warning("input refused (%s); %d refused so far", text, count)
        self._schedule()

    def as_health(self) -> dict[str, Any]:
        with self._lock:
            return {"count": self.count, "last_error": self.last_error, "at": self.last_at}

    def _schedule(self) -> None:
        if self.on_change is None:
            return
        with self._lock:
            if self._timer is not None:
                return  # a report is coming and will include this one
            delay = max(0.0, self._reported_at + self.interval_s - time.monotonic())
            self._timer = threading.Timer(delay, self._report)
            self._timer.daemon = True
            self._timer.start()

    def _report(self) -> None:
        with self._lock:
            self._timer = None
            self._reported_at = time.monotonic()
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:  # reporting must never break the reader that refused the input
                log.exception("reporting refused input failed")
