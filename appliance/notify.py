"""systemd notification (Type=notify, WatchdogSec=) through the sdnotify package.

The watchdog is only useful if it stops when the daemon is wedged, so pings are sent only while a
health predicate says so (e.g. "the MQTT link is up and the main loop ran recently"); a daemon that
stops pinging is restarted by systemd. Without NOTIFY_SOCKET (run by hand, in tests, in a
container) everything here is a no-op.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping

import sdnotify

__all__ = ["Notifier", "watchdog_interval"]

log = logging.getLogger(__name__)


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between pings (half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises), or None
    when systemd expects none: no WATCHDOG_USEC, or WATCHDOG_PID naming another process."""
    env = os.environ if environ is None else environ
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
        pid = int(env.get("WATCHDOG_PID", str(os.getpid())))
    except ValueError:
        log.warning("ignoring malformed WATCHDOG_USEC/WATCHDOG_PID")
        return None
    if usec <= 0 or pid != os.getpid():
        return None
    return usec / 2 / 1_000_000


class Notifier:
    """READY=1, STATUS=…, STOPPING=1 and a health-gated WATCHDOG=1 thread.

    `healthy` is called from the watchdog thread once per interval; an exception counts as unhealthy.
    """

    def __init__(self, healthy: Callable[[], bool] | None = None) -> None:
        self.healthy = healthy or (lambda: True)
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self.interval = watchdog_interval() if self.enabled else None
        self._sd = sdnotify.SystemdNotifier() if self.enabled else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._was_healthy = True

    def notify(self, state: str) -> None:
        """Send one raw notification (e.g. "READY=1")."""
        if self._sd is not None:
            # sdnotify encodes as latin-1 and silently drops anything else (Vietnamese STATUS text);
            # systemd reads UTF-8, so hand it the UTF-8 bytes disguised as latin-1 characters.
            self._sd.notify(state.encode("utf-8").decode("latin-1"))

    def ready(self) -> None:
        """Tell systemd start-up is complete, and start the watchdog if the unit has one."""
        self.notify("READY=1")
        self.start_watchdog()

    def status(self, text: str) -> None:
        """One-line status shown by `systemctl status` (newlines would end the message early)."""
        self.notify("STATUS=" + " ".join(text.split()))

    def stopping(self) -> None:
        """Tell systemd we are shutting down on purpose; stop pinging."""
        self.notify("STOPPING=1")
        self.close()

    def start_watchdog(self) -> None:
        with self._lock:
            if self.interval is None or self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(
                target=self._watchdog, args=(self.interval,), name="sd-watchdog", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Stop the watchdog thread. Idempotent."""
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _watchdog(self, interval: float) -> None:
        while not self._stop.is_set():
            if self._check():
                self.notify("WATCHDOG=1")
            self._stop.wait(interval)

    def _check(self) -> bool:
        try:
            healthy = bool(self.healthy())
        except Exception as error:
            log.error("health check raised %r: treated as unhealthy", error)
            healthy = False
        if healthy != self._was_healthy:
            # Log transitions only: one line per incident, not one per interval.
            if healthy:
                log.info("healthy again: watchdog pings resume")
            else:
                log.warning("unhealthy: withholding watchdog pings so systemd restarts this daemon")
            self._was_healthy = healthy
        return healthy
