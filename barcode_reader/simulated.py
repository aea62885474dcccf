"""Simulated scanners for tests, the demo and a technician's bench.

* `QueueSource`: a test or the demo calls `feed("000.00.06.H56-231027-0361")`; `unplug()` and
  `replug()` exercise hot-plug exactly as a real device would.
* `LineSource`: one scan per line written to a FIFO (created if missing), e.g.
  `echo 000.00.06.H56-231027-0361 > /run/motcua/scanner.fifo`, or read from standard input (`-`).
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import stat
import sys
import threading
from pathlib import Path

from .errors import DeviceLost, DeviceUnavailable
from .source import RawScan, ScanSource

MAX_LINE = 8192


class QueueSource(ScanSource):
    kind = "simulated"

    def __init__(self, name: str = "queue") -> None:
        self._name = name
        self._queue: queue.Queue[RawScan] = queue.Queue()
        self._plugged = threading.Event()
        self._plugged.set()
        self.opened = 0  # how many times the runner (re)opened it

    @property
    def device(self) -> str:
        return f"simulated:{self._name}"

    def feed(self, text: str, symbology: str | None = None) -> None:
        self._queue.put(RawScan(text, symbology))

    def unplug(self) -> None:
        self._plugged.clear()

    def replug(self) -> None:
        self._plugged.set()

    def open(self) -> None:
        if not self._plugged.is_set():
            raise DeviceUnavailable(self.device, "unplugged")
        self.opened += 1

    def read(self, timeout: float) -> RawScan | None:
        # Wake up often enough to notice an unplug while idle.
        step = min(timeout, 0.05)
        remaining = timeout
        while True:
            if not self._plugged.is_set():
                raise DeviceLost(self.device, "unplugged")
            try:
                return self._queue.get(timeout=step)
            except queue.Empty:
                remaining -= step
                if remaining <= 0:
                    return None

    def close(self) -> None:
        pass


class LineSource(ScanSource):
    """Lines from a FIFO (or `-` for standard input) as scans."""

    kind = "simulated"

    def __init__(self, path: str = "-") -> None:
        self.path = path
        self._fd: int | None = None
        self._keepalive: int | None = None
        self._buffer = b""
        self._pending: list[str] = []
        self._stdin_ended = False  # standard input does not come back after end-of-file

    @property
    def device(self) -> str:
        return "stdin" if self.path == "-" else self.path

    def open(self) -> None:
        self.close()
        if self.path == "-":
            if self._stdin_ended:
                raise DeviceUnavailable(self.device, "end of input")
            self._fd = sys.stdin.fileno()
            return
        fifo = Path(self.path)
        try:
            if not fifo.exists():
                fifo.parent.mkdir(parents=True, exist_ok=True)
                os.mkfifo(fifo, 0o660)
            elif not stat.S_ISFIFO(fifo.stat().st_mode):
                raise DeviceUnavailable(self.path, "exists and is not a FIFO")
            self._fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            # Hold a writer open ourselves so the FIFO never reads as end-of-file between writers.
            self._keepalive = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            self.close()
            raise DeviceUnavailable(self.path, error.strerror or str(error)) from None

    def read(self, timeout: float) -> RawScan | None:
        if self._fd is None:
            raise DeviceLost(self.device, "not open")
        if not self._pending:
            try:
                ready, _, _ = select.select([self._fd], [], [], timeout)
                chunk = os.read(self._fd, 4096) if ready else None
            except OSError as error:
                raise DeviceLost(self.device, error.strerror or str(error)) from None
            if chunk == b"":
                if self._buffer.strip():  # a last line without newline is still a scan
                    self._pending.append(self._buffer.decode("utf-8", errors="replace"))
                    self._buffer = b""
                    return RawScan(self._pending.pop(0))
                self._stdin_ended = self.path == "-"
                raise DeviceLost(self.device, "end of input")
            if chunk:
                self._buffer += chunk
                *lines, self._buffer = self._buffer.split(b"\n")
                if len(self._buffer) > MAX_LINE:
                    lines.append(self._buffer)
                    self._buffer = b""
                self._pending.extend(line.decode("utf-8", errors="replace") for line in lines if line.strip())
        return RawScan(self._pending.pop(0)) if self._pending else None

    def close(self) -> None:
        for attribute in ("_keepalive", "_fd"):
            fd = getattr(self, attribute)
            setattr(self, attribute, None)
            if fd is not None and not (self.path == "-" and attribute == "_fd"):
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._buffer = b""
        self._pending.clear()
