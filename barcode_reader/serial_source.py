"""Serial and USB-COM (CDC-ACM) scanners through pyserial.

The scanner sends each code followed by a terminator (CR by factory default on most models). A port
that disappears (USB unplugged, pty master closed) raises on read; the source reports it as lost and
the runner reopens the same path when it comes back.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import select
import time
from collections.abc import Callable
from typing import Any, Literal

import serial

from .errors import DeviceLost, DeviceUnavailable
from .source import StreamSource

SerialTerminator = Literal["cr", "lf", "crlf", "tab", "any", "none"]

_SPLITTERS: dict[str, re.Pattern[bytes]] = {
    "cr": re.compile(rb"\r"),
    "lf": re.compile(rb"\n"),
    "crlf": re.compile(rb"\r\n"),
    "tab": re.compile(rb"\t"),
    "any": re.compile(rb"[\r\n]+"),  # CR, LF or CRLF, whatever the scanner was set to
}
MAX_BUFFER = 4096  # bytes without a terminator before we give up on ever seeing one


class SerialSource(StreamSource):
    """A serial scanner on `port`: a scan ends on `terminator`, or (with `idle_timeout` > 0) when
    the bytes stop for that long."""

    kind = "serial"

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        terminator: SerialTerminator = "any",
        encoding: str = "utf-8",
        idle_timeout: float = 0.0,
        serial_factory: Callable[..., Any] = serial.Serial,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if terminator == "none" and idle_timeout <= 0:
            raise ValueError("a serial scanner without terminator needs idle_timeout > 0")
        codecs.lookup(encoding)  # LookupError now, not at the first scan
        super().__init__(quiet_s=idle_timeout, clock=clock)
        self.port = port
        self.baudrate = baudrate
        self.terminator = terminator
        self.encoding = encoding
        self._factory = serial_factory
        self._buffer = bytearray()

    @property
    def device(self) -> str:
        return self.port

    def open(self) -> None:
        self.close()
        try:
            # exclusive: a second daemon on the same port would steal half of every scan.
            self._handle = self._factory(port=self.port, baudrate=self.baudrate, timeout=0, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as error:
            raise DeviceUnavailable(self.port, _reason(error)) from None
        self._buffer.clear()
        self._pending.clear()

    def _buffered(self) -> bool:
        return bool(self._buffer)

    def _flush(self) -> None:
        self._take(bytes(self._buffer))
        self._buffer.clear()

    def _receive(self, port: Any, wait: float) -> None:
        try:
            # select, then a non-blocking read (timeout=0): changing port.timeout per call
            # would reconfigure the tty every time.
            ready, _, _ = select.select([port.fileno()], [], [], wait)
            chunk = port.read(max(1, port.in_waiting)) if ready else b""
        except (serial.SerialException, OSError, ValueError) as error:
            raise DeviceLost(self.port, _reason(error)) from None
        if not chunk:
            return
        self._last_input_at = self._clock()
        self._buffer.extend(chunk)
        splitter = _SPLITTERS.get(self.terminator)
        if splitter is not None:
            *complete, rest = splitter.split(bytes(self._buffer))
            for part in complete:
                self._take(part)
            self._buffer[:] = rest
        if len(self._buffer) > MAX_BUFFER:
            # No terminator in sight: pass it on so the classifier rejects it as too long.
            self._flush()

    def _take(self, data: bytes) -> None:
        if data:
            self._pending.append(data.decode(self.encoding, errors="replace"))

    def close(self) -> None:
        port, self._handle = self._handle, None
        if port is None:
            return
        with contextlib.suppress(serial.SerialException, OSError):
            port.close()


def _reason(error: BaseException) -> str:
    errno_text = getattr(error, "strerror", None)
    return errno_text or str(error) or type(error).__name__
