"""The `ScanSource` interface and the supervisor that makes every source hot-pluggable.

A source is opened, read with a timeout and closed; it raises `DeviceUnavailable` when it cannot be
opened and `DeviceLost` when an open device goes away. `SourceRunner` owns the loop: it retries a
missing device every `retry_interval` seconds, reports attach/detach, and resumes reading when the
device comes back, so nothing needs a restart after an unplug.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from typing import Any

from appliance.timeutil import now

from .errors import DeviceLost, DeviceUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawScan:
    """What a source read, before normalisation and classification."""

    text: str
    symbology: str | None = None  # "qr", "code128", … when the source knows it
    at: datetime = field(default_factory=now)


class ScanSource(ABC):
    """One scanner. Implementations: HidSource, SerialSource (StreamSource), CameraSource, QueueSource,
    LineSource."""

    kind: str = "unknown"  # reported in health as `source`

    @property
    @abstractmethod
    def device(self) -> str:
        """The device path or description, for logs and health."""

    @abstractmethod
    def open(self) -> None:
        """Open the device; raise DeviceUnavailable when it is absent or busy."""

    @abstractmethod
    def read(self, timeout: float) -> RawScan | None:
        """The next scan, or None after `timeout` seconds; raise DeviceLost if the device went away."""

    @abstractmethod
    def close(self) -> None:
        """Release the device. Safe to call twice and on a source that never opened."""

    def __enter__(self) -> ScanSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StreamSource(ScanSource):
    """A source whose scans arrive in pieces (key presses, serial bytes) through one handle: scans
    the pieces complete queue in `_pending`, and a scan left without its terminator counts once the
    input has been quiet for `quiet_s` seconds (0: never).

    Subclasses open `_handle`, and implement `_buffered()`, `_flush()` (queue what is buffered) and
    `_receive(handle, wait)` (wait up to `wait` seconds for input, take it and stamp `_last_input_at`;
    DeviceLost when the handle went away)."""

    def __init__(self, *, quiet_s: float, clock: Callable[[], float]) -> None:
        self.quiet_s = quiet_s
        self._clock = clock
        self._handle: Any = None
        self._pending: deque[str] = deque()
        self._last_input_at = 0.0

    @abstractmethod
    def _buffered(self) -> bool: ...

    @abstractmethod
    def _flush(self) -> None: ...

    @abstractmethod
    def _receive(self, handle: Any, wait: float) -> None: ...

    def read(self, timeout: float) -> RawScan | None:
        handle = self._handle
        if handle is None:
            raise DeviceLost(self.device, "not open")
        deadline = self._clock() + timeout
        while not self._pending:
            now = self._clock()
            quiet_left = self._last_input_at + self.quiet_s - now
            flushing = self._buffered() and self.quiet_s > 0
            if flushing and quiet_left <= 0:
                self._flush()
                continue
            if now >= deadline:
                return None
            self._receive(handle, max(0.0, min(deadline - now, quiet_left) if flushing else deadline - now))
        return RawScan(self._pending.popleft())


ScanCallback = Callable[[RawScan], None]
StatusCallback = Callable[[bool, str | None], None]  # (attached, reason when detached)


@dataclass(eq=False)
class SourceRunner:
    """Reads a source on its own thread, surviving unplugs: retry, report, resume."""

    source: ScanSource
    on_scan: ScanCallback
    on_status: StatusCallback
    _: KW_ONLY
    retry_interval: float = 2.0
    read_timeout: float = 0.5
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _attached: bool | None = field(default=None, init=False)  # None until the first attempt

    @property
    def attached(self) -> bool:
        return bool(self._attached)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=f"scan-{self.source.kind}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run(self) -> None:
        """The supervisor loop; returns when stop() is called."""
        while not self._stop.is_set():
            try:
                self.source.open()
            except DeviceUnavailable as error:
                self._set_attached(False, error.reason)
                self._stop.wait(self.retry_interval)
                continue
            except Exception as error:  # a bug in a driver must not end the daemon
                log.exception("scanner %s: unexpected error while opening", self.source.device)
                self._set_attached(False, f"error: {error}")
                self.source.close()
                self._stop.wait(self.retry_interval)
                continue
            self._set_attached(True, None)
            reason = self._read_until_lost()
            self.source.close()
            if reason is not None:
                self._set_attached(False, reason)
                self._stop.wait(self.retry_interval)

    def _read_until_lost(self) -> str | None:
        """Read until stopped (None) or the device goes away (the reason)."""
        while not self._stop.is_set():
            try:
                scan = self.source.read(self.read_timeout)
            except DeviceLost as error:
                return error.reason
            except Exception as error:
                log.exception("scanner %s: unexpected error while reading", self.source.device)
                return f"error: {error}"
            if scan is None:
                continue
            try:
                self.on_scan(scan)
            except Exception:
                log.exception("scanner %s: handling a scan failed", self.source.device)
        return None

    def _set_attached(self, attached: bool, reason: str | None) -> None:
        if self._attached == attached:
            return
        first = self._attached is None
        self._attached = attached
        if attached:
            log.info("scanner %s (%s) attached", self.source.device, self.source.kind)
        elif first:
            log.warning(
                "scanner %s (%s) not available: %s; retrying every %g s",
                self.source.device,
                self.source.kind,
                reason,
                self.retry_interval,
            )
        else:
            log.warning(
                "scanner %s (%s) unplugged: %s; retrying every %g s",
                self.source.device,
                self.source.kind,
                reason,
                self.retry_interval,
            )
        try:
            self.on_status(attached, reason)
        except Exception:
            log.exception("scanner %s: status handler failed", self.source.device)
