"""Fake ESC/POS printers for tests: a TCP one (port-9100 style) and a serial one over a pty pair.

They record every byte received, answer DLE EOT 1 (online) and DLE EOT 4 (paper) from a state the test
chooses, and read the printed raster (GS v 0) back into pictures, one per cut, so a test can compare
what reached the "paper" with what was rendered. Written from the ESC/POS command reference, not from
python-escpos, so the code under test does not check itself.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
import tty
from dataclasses import dataclass, field

from PIL import Image

DLE, EOT, ESC, GS, LF = 0x10, 0x04, 0x1B, 0x1D, 0x0A
_INVERT = bytes(255 - value for value in range(256))


@dataclass
class PrinterState:
    """What the printer answers: paper 'ok' | 'near_end' | 'out'; online; silent = no answer at all."""

    paper: str = "ok"
    online: bool = True
    silent: bool = False
    # Pages left on the roll: after that many cuts the paper runs out (None: endless roll).
    pages_left: int | None = None

    def reply(self, request: int) -> bytes | None:
        if self.silent:
            return None
        value = 0x12  # bits 1 and 4 are always set
        if request == 1:
            if not self.online or self.paper == "out":
                value |= 0x08
        elif request == 4:
            if self.paper == "out":
                value |= 0x60 | 0x0C
            elif self.paper == "near_end":
                value |= 0x0C
        else:
            return None
        return bytes([value])


@dataclass
class Page:
    """What was printed between two cuts."""

    image: Image.Image
    paper_at_cut: str


@dataclass
class EscposReader:
    """Incremental ESC/POS parser for the commands a raster printer driver sends."""

    state: PrinterState
    bands: list[Image.Image] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    unknown: bytearray = field(default_factory=bytearray)
    status_queries: int = 0
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> bytes:
        """Consume bytes; return the replies the printer sends back."""
        self._buffer += data
        replies = bytearray()
        while self._buffer:
            used, reply = self._one(self._buffer)
            if used == 0:
                break  # incomplete command: wait for more bytes
            del self._buffer[:used]
            if reply:
                replies += reply
        return bytes(replies)

    def _one(self, buf: bytearray) -> tuple[int, bytes | None]:
        first = buf[0]
        if first == DLE:
            if len(buf) < 3:
                return 0, None
            if buf[1] == EOT:
                self.status_queries += 1
                return 3, self.state.reply(buf[2])
        elif first == ESC:
            if len(buf) < 2:
                return 0, None
            if buf[1] == ord("@"):
                return 2, None
            if buf[1] in (ord("d"), ord("J"), ord("a"), ord("!"), ord("E"), ord("3")):
                return (3, None) if len(buf) >= 3 else (0, None)
            if buf[1] == ord("2"):
                return 2, None
        elif first == GS:
            if len(buf) < 3:
                return 0, None
            if buf[1] == ord("V"):
                mode = buf[2]
                size = 3 if mode in (0, 1, 48, 49) else 4
                if len(buf) < size:
                    return 0, None
                self._cut()
                return size, None
            if buf[1] == ord("v") and buf[2] == ord("0"):
                if len(buf) < 8:
                    return 0, None
                width_bytes = buf[4] | buf[5] << 8
                height = buf[6] | buf[7] << 8
                end = 8 + width_bytes * height
                if len(buf) < end:
                    return 0, None
                # Raster bit 1 = a black dot; PIL mode "1" bit 1 = white: invert.
                data = bytes(buf[8:end]).translate(_INVERT)
                self.bands.append(Image.frombytes("1", (width_bytes * 8, height), data))
                return end, None
        elif first == LF:
            return 1, None
        self.unknown.append(first)
        return 1, None

    def _cut(self) -> None:
        if not self.bands:
            return
        width = max(band.width for band in self.bands)
        page = Image.new("1", (width, sum(band.height for band in self.bands)), 1)
        y = 0
        for band in self.bands:
            page.paste(band, (0, y))
            y += band.height
        self.pages.append(Page(page, self.state.paper))
        self.bands = []
        if self.state.pages_left is not None:
            self.state.pages_left -= 1
            if self.state.pages_left <= 0:
                self.state.paper = "out"


class FakePrinter:
    """Shared bookkeeping of the two transports: state, bytes, pages, waiting for pages."""

    def __init__(self, paper: str = "ok", online: bool = True) -> None:
        self.state = PrinterState(paper=paper, online=online)
        self.received = bytearray()
        self._readers: list[EscposReader] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()

    def _new_reader(self) -> EscposReader:
        reader = EscposReader(self.state)
        with self._changed:
            self._readers.append(reader)
        return reader

    def _consume(self, reader: EscposReader, data: bytes) -> bytes:
        with self._changed:
            self.received += data
            replies = reader.feed(data)
            self._changed.notify_all()
        return replies

    @property
    def pages(self) -> list[Page]:
        with self._changed:
            return [page for reader in self._readers for page in reader.pages]

    @property
    def images(self) -> list[Image.Image]:
        return [page.image for page in self.pages]

    @property
    def unknown_bytes(self) -> bytes:
        with self._changed:
            return b"".join(bytes(reader.unknown) for reader in self._readers)

    @property
    def status_queries(self) -> int:
        with self._changed:
            return sum(reader.status_queries for reader in self._readers)

    def wait_for_pages(self, count: int, timeout: float = 10.0) -> list[Page]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(len(reader.pages) for reader in self._readers) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
        return self.pages

    def wait_for_queries(self, count: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(reader.status_queries for reader in self._readers) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True


class FakeNetworkPrinter(FakePrinter):
    """Listens on a free 127.0.0.1 port; one reader per connection (the driver may reconnect)."""

    def __init__(self, paper: str = "ok", online: bool = True) -> None:
        super().__init__(paper, online)
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.host, self.port = self._server.getsockname()[:2]
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._accept_loop, name="fake-printer-accept", daemon=True)
        self._accept.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(0.1)
            self._connections.append(connection)
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        reader = self._new_reader()
        with connection:
            while not self._stop.is_set():
                try:
                    data = connection.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                replies = self._consume(reader, data)
                if replies:
                    try:
                        connection.sendall(replies)
                    except OSError:
                        return

    def drop_connections(self) -> None:
        """Close every open connection, as a printer that was power-cycled."""
        for connection in self._connections:
            with contextlib.suppress(OSError):  # already closed by the other side
                connection.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self.drop_connections()
        for thread in [self._accept, *self._threads]:
            thread.join(timeout=2)

    def __enter__(self) -> FakeNetworkPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeSerialPrinter(FakePrinter):
    """A pty pair: the driver opens `device` (the slave) with pyserial; the fake reads the master."""

    def __init__(self, paper: str = "ok", online: bool = True) -> None:
        super().__init__(paper, online)
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)  # no echo, no newline translation: bytes pass unchanged
        self.device = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._serve, name="fake-printer-pty", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        reader = self._new_reader()
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self._master, 65536)
            except OSError:
                return
            replies = self._consume(reader, data)
            if replies:
                os.write(self._master, replies)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self._master)
        os.close(self._slave)

    def __enter__(self) -> FakeSerialPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def same_picture(printed: Image.Image, rendered: Image.Image) -> bool:
    """True when the printed dots are exactly the rendered picture (padding to whole bytes ignored)."""
    if printed.height != rendered.height or printed.width < rendered.width:
        return False
    cropped = printed.crop((0, 0, rendered.width, rendered.height)).convert("1")
    return cropped.tobytes() == rendered.convert("1").tobytes()
