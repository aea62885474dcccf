"""The `Printer` interface: print a picture (or, in text mode, lines in the printer's own TCVN-3 fonts
with printer-drawn QR and Code 128) and cut, report paper and online state.

One implementation drives every python-escpos transport (USB, serial, network, device file); the
simulated one keeps the bytes (python-escpos `Dummy`) and has a paper/online state a test or the demo
sets. Status comes from DLE EOT 1 (online) and DLE EOT 4 (paper sensor). A status the printer did not
give — no reply, timeout, garbage, a write-only device file — is `unknown`, never "ok".
"""

from __future__ import annotations

import copy
import logging
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from escpos.capabilities import get_profile
from escpos.constants import QR_ECLEVEL_M, RT_STATUS_ONLINE, RT_STATUS_PAPER
from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy, File, Network, Serial, Usb
from PIL import Image

from .config import (
    Backend,
    FileBackend,
    NetworkBackend,
    PrinterSection,
    SerialBackend,
    SimulatedBackend,
    UsbBackend,
)
from .errors import PrinterError
from .tcvn3 import PRINTER_SPELLING, tcvn3_magic, text_mode_problem
from .text_layout import Code128Barcode, Feed, Line, QrCode, TextDocument

log = logging.getLogger(__name__)

# Bits of a DLE EOT reply (Epson ESC/POS): bits 1 and 4 are always 1, bits 0 and 7 always 0.
_FIXED_MASK, _FIXED_VALUE = 0x93, 0x12
_OFFLINE_BIT = 0x08  # DLE EOT 1, bit 3
_NEAR_END_BITS = 0x0C  # DLE EOT 4, bits 2-3: roll near-end sensor
_PAPER_END_BITS = 0x60  # DLE EOT 4, bits 5-6: roll end sensor


class Paper(StrEnum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said. `online` is None when it did not answer."""

    online: bool | None
    paper: Paper

    @property
    def ready(self) -> bool:
        return self.online is True and self.paper in (Paper.OK, Paper.NEAR_END)

    @property
    def problem(self) -> str | None:
        """i18n key of what keeps it from printing, or None when ready."""
        if self.paper is Paper.OUT:
            return "print_out_of_paper"
        if self.online is False:
            return "print_offline"
        if self.online is None or self.paper is Paper.UNKNOWN:
            return "print_no_reply"
        return None

    def as_health(self) -> dict[str, Any]:
        return {"paper": self.paper.value, "online": self.online}


UNKNOWN_STATUS = PrinterStatus(online=None, paper=Paper.UNKNOWN)


def _valid(reply: bytes | None) -> int | None:
    if not reply:
        return None
    value = reply[0]
    return value if value & _FIXED_MASK == _FIXED_VALUE else None


def parse_online(reply: bytes | None) -> bool | None:
    """DLE EOT 1 reply → online? None for no or malformed reply."""
    value = _valid(reply)
    return None if value is None else not value & _OFFLINE_BIT


def parse_paper(reply: bytes | None) -> Paper:
    """DLE EOT 4 reply → paper state (python-escpos answers 'ok' to silence; this does not)."""
    value = _valid(reply)
    if value is None:
        return Paper.UNKNOWN
    if value & _PAPER_END_BITS:
        return Paper.OUT
    if value & _NEAR_END_BITS:
        return Paper.NEAR_END
    return Paper.OK


class Printer(ABC):
    """A receipt printer that prints 1-bit pictures `dots` wide. Thread-safe; usable in `with`."""

    name: str
    dots: int
    # False for write-only transports: their status is always unknown and must not block printing.
    reports_status: bool = True

    @abstractmethod
    def status(self) -> PrinterStatus: ...

    @abstractmethod
    def print_image(self, image: Image.Image) -> None:
        """Print the picture and cut (per configuration); raise PrinterError naming the printer."""

    @abstractmethod
    def print_text(self, document: TextDocument) -> None:
        """Print a text-mode document in the printer's fonts and cut; raise PrinterError likewise."""

    def close(self) -> None:  # noqa: B027 - optional for transports without a connection
        """Release the transport; safe to call twice."""

    def __enter__(self) -> Printer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _profile(name: str, dots: int) -> Any:
    """A python-escpos profile whose media width is `dots` (its image() refuses wider pictures)."""
    try:
        profile = get_profile(name)
    except KeyError:
        raise ValueError(f"python-escpos has no printer profile {name!r}") from None
    data = copy.deepcopy(profile.profile_data)  # class-level data is shared by every printer
    data.setdefault("media", {}).setdefault("width", {})["pixels"] = dots
    profile.profile_data = data
    return profile


class EscposPrinter(Printer):
    """Any python-escpos transport. The connection opens on first use and reopens after an error."""

    def __init__(
        self,
        factory: Callable[[], Escpos],
        *,
        name: str,
        dots: int,
        profile: str = "default",
        cut: str = "partial",
        fragment_height: int = 256,
        reports_status: bool = True,
    ) -> None:
        self.name = name
        self.dots = dots
        self.reports_status = reports_status
        self._factory = factory
        self._profile_name = profile
        self._profile = _profile(profile, dots)
        self._cut = cut
        self._fragment_height = fragment_height
        self._lock = threading.RLock()
        self._escpos: Escpos | None = None

    def _device(self) -> Escpos:
        if self._escpos is None:
            escpos = self._factory()
            escpos.profile = self._profile
            self._escpos = escpos
        return self._escpos

    def _reset(self) -> None:
        """Drop the connection so that the next call reopens it (printer rebooted, cable replugged)."""
        if self._escpos is not None:
            try:
                self._escpos.close()
            except Exception as error:  # closing a broken transport may fail in many ways
                log.debug("closing %s: %s", self.name, error)
            self._escpos = None

    def _drain(self, escpos: Escpos) -> None:
        """Discard a late reply to an earlier query, so it is not taken for the answer to this one."""
        device = getattr(escpos, "_device", None)
        if isinstance(device, socket.socket):
            timeout = device.gettimeout()
            device.setblocking(False)
            try:
                while True:
                    if not device.recv(64):
                        raise ConnectionResetError("connection closed by the printer")
            except (BlockingIOError, InterruptedError):
                pass
            finally:
                device.settimeout(timeout)
        elif hasattr(device, "reset_input_buffer"):
            device.reset_input_buffer()

    def _query(self, request: bytes) -> bytes | None:
        """The printer's reply to a DLE EOT request, or None. A connection found dead is reopened once."""
        for _attempt in range(2):
            fresh = self._escpos is None
            try:
                escpos = self._device()
                escpos.device  # noqa: B018 - opens the transport if needed
                self._drain(escpos)
                reply = bytes(escpos.query_status(request))
            except NotImplementedError:
                return None  # write-only transport
            except TimeoutError:
                return None  # silent printer: keep the connection; a late reply is drained next time
            except (OSError, EscposError, AssertionError) as error:
                log.debug("status query to %s failed: %s", self.name, error)
                self._reset()
                if fresh:
                    return None
                continue
            if not reply and isinstance(getattr(escpos, "_device", None), socket.socket):
                self._reset()  # end of stream: the printer closed the connection
                if fresh:
                    return None
                continue
            return reply
        return None

    def status(self) -> PrinterStatus:
        if not self.reports_status:
            return UNKNOWN_STATUS
        with self._lock:
            online = parse_online(self._query(RT_STATUS_ONLINE))
            if online is None:
                return UNKNOWN_STATUS  # silent: asking about paper would only wait out another timeout
            paper = parse_paper(self._query(RT_STATUS_PAPER))
        return PrinterStatus(online=online, paper=paper)

    def print_image(self, image: Image.Image) -> None:
        if image.width != self.dots:
            raise ValueError(f"picture is {image.width} dots wide, printer {self.name} prints {self.dots}")

        def draw(escpos: Escpos) -> None:
            # Bands cut here: python-escpos would convert the whole picture once more just to split it.
            band = self._fragment_height
            for top in range(0, image.height, band):
                part = image.crop((0, top, image.width, min(top + band, image.height)))
                escpos.image(part, impl="bitImageRaster", fragment_height=band)

        self._print(draw)

    def print_text(self, document: TextDocument) -> None:
        self._refuse(text_mode_problem(self._profile_name))

        def write(escpos: Escpos) -> None:
            # After ESC @ the printer is on its default code page: a fresh encoder switches explicitly.
            escpos.magic = tcvn3_magic(escpos)
            for op in document.operations:
                if isinstance(op, Line):
                    escpos.set(
                        align=op.align, custom_size=True, width=op.size, height=op.size, invert=op.invert
                    )
                    for run in op.runs:
                        escpos.set(bold=run.bold)
                        escpos.text(run.text.translate(PRINTER_SPELLING))
                    escpos.set(bold=False, invert=False)
                    escpos.text("\n")
                elif isinstance(op, Feed):
                    escpos.ln(op.lines)
                elif isinstance(op, QrCode):
                    escpos.set(align="center")  # a native QR code follows the justification (ESC a)
                    escpos.qr(op.data, ec=QR_ECLEVEL_M, size=op.module, native=True)
                    escpos.ln()
                elif isinstance(op, Code128Barcode):
                    escpos.barcode(
                        op.data,
                        "CODE128",
                        height=op.height,
                        width=op.module,
                        pos="OFF",
                        align_ct=True,
                        function_type="B",
                    )
                    escpos.ln()
            escpos.set(align="left", custom_size=True, width=1, height=1)

        self._print(write)

    def _refuse(self, problem: str | None) -> None:
        """PrinterError for `problem`, the reason this printer cannot print now, if there is one."""
        if problem is not None:
            raise PrinterError(printer=self.name, detail=problem)

    def _print(self, body: Callable[[Escpos], None]) -> None:
        """INIT, the job's commands, then cut (or feed); a failure drops the connection for a retry."""
        with self._lock:
            try:
                escpos = self._device()
                escpos.hw("INIT")
                body(escpos)
                if self._cut == "none":
                    escpos.print_and_feed(6)
                else:
                    escpos.cut(mode="PART" if self._cut == "partial" else "FULL")
            except (OSError, EscposError, AssertionError) as error:
                self._reset()
                detail = str(error).strip() or type(error).__name__
                raise PrinterError(printer=self.name, detail=detail) from None

    def close(self) -> None:
        with self._lock:
            self._reset()


class SimulatedPrinter(EscposPrinter):
    """The same python-escpos byte stream into a `Dummy`, with a paper/online state you set.

    `output` is every byte sent; `printed` every picture printed, `printed_text` every text-mode
    document. While out of paper or offline it refuses to print, as a real printer's job would be lost.
    """

    def __init__(
        self,
        *,
        name: str = "simulated",
        dots: int = 576,
        paper: Paper | str = Paper.OK,
        online: bool | None = True,
        save_dir: str | Path | None = None,
        cut: str = "partial",
        fragment_height: int = 256,
        profile: str = "default",
    ) -> None:
        self._dummy: Dummy | None = None
        super().__init__(
            self._make_dummy, name=name, dots=dots, profile=profile, cut=cut, fragment_height=fragment_height
        )
        self.paper = Paper(paper)
        self.online: bool | None = online  # None: the printer does not answer
        self.save_dir = Path(save_dir) if save_dir else None
        self.printed: list[Image.Image] = []
        self.printed_text: list[TextDocument] = []
        self._pages: dict[str, int] = {}  # the last page number saved, per kind ("" or "text-")

    def _make_dummy(self) -> Escpos:
        if self._dummy is None:
            self._dummy = Dummy()
        return self._dummy

    @property
    def output(self) -> bytes:
        return self._dummy.output if self._dummy else b""

    def clear(self) -> None:
        """Forget the bytes and pictures printed so far."""
        if self._dummy is not None:
            self._dummy.clear()
        self.printed.clear()
        self.printed_text.clear()

    def status(self) -> PrinterStatus:
        if self.online is None:
            return UNKNOWN_STATUS
        return PrinterStatus(online=self.online, paper=self.paper)

    def print_image(self, image: Image.Image) -> None:
        self._refuse(self.status().problem)
        super().print_image(image)
        self.printed.append(image)
        if self.save_dir is not None:
            image.save(self._next_page("", "png"))

    def print_text(self, document: TextDocument) -> None:
        self._refuse(self.status().problem)
        super().print_text(document)
        self.printed_text.append(document)
        if self.save_dir is not None:
            self._next_page("text-", "txt").write_text(document.plain(), encoding="utf-8")

    def _next_page(self, prefix: str, suffix: str) -> Path:
        """The file of the next page: numbering goes on from the pages already in the folder, so a
        restarted printer never overwrites what it printed before."""
        assert self.save_dir is not None
        self.save_dir.mkdir(parents=True, exist_ok=True)
        if prefix not in self._pages:
            numbers = [
                int(path.stem.removeprefix(prefix))
                for path in self.save_dir.glob(f"{prefix}*.{suffix}")
                if path.stem.removeprefix(prefix).isdigit()
            ]
            self._pages[prefix] = max(numbers, default=0)
        self._pages[prefix] += 1
        return self.save_dir / f"{prefix}{self._pages[prefix]:05d}.{suffix}"


USB_LIBRARY_MISSING = "USB support missing (install libusb-1.0-0)"


class UsbLibraryMissing(OSError):
    """pyusb found no libusb on this machine: no USB printer can be opened until it is installed."""


def usb_library_present() -> bool:
    """Whether pyusb has a backend (libusb-1.0, libusb-0.1 or OpenUSB) it can load."""
    import usb.backend.libusb0
    import usb.backend.libusb1
    import usb.backend.openusb

    return any(
        module.get_backend() is not None
        for module in (usb.backend.libusb1, usb.backend.libusb0, usb.backend.openusb)
    )


def open_printer(section: PrinterSection, *, name: str | None = None) -> Printer:
    """The printer described by a `[printer]` configuration section (nothing is opened yet)."""
    backend: Backend = section.backend
    common: dict[str, Any] = {
        "dots": section.dots,
        "cut": section.cut,
        "fragment_height": section.fragment_height,
        "profile": section.profile,
    }
    if isinstance(backend, SimulatedBackend):
        return SimulatedPrinter(
            name=name or "simulated",
            paper=backend.paper,
            online=backend.online,
            save_dir=backend.save_dir,
            **common,
        )
    if isinstance(backend, NetworkBackend):
        network = backend
        return EscposPrinter(
            lambda: Network(network.host, port=network.port, timeout=network.timeout),
            name=name or f"network {network.host}:{network.port}",
            **common,
        )
    if isinstance(backend, SerialBackend):
        serial = backend
        return EscposPrinter(
            lambda: Serial(
                devfile=serial.device,
                baudrate=serial.baudrate,
                timeout=serial.timeout,
                dsrdtr=serial.dsrdtr,
                xonxoff=serial.xonxoff,
            ),
            name=name or f"serial {serial.device}",
            **common,
        )
    if isinstance(backend, UsbBackend):
        usb = backend
        usb_name = name or f"usb {usb.vendor_id:04x}:{usb.product_id:04x}"
        if not Usb.is_usable():
            raise PrinterError(printer=usb_name, detail="pyusb is not installed (motcua[printer] extra)")
        if not usb_library_present():
            log.error("printer %s: %s", usb_name, USB_LIBRARY_MISSING)

        def open_usb() -> Usb:
            # Checked on every (re)open: installing the library later needs no restart.
            if not usb_library_present():
                raise UsbLibraryMissing(USB_LIBRARY_MISSING)
            return Usb(
                usb.vendor_id, usb.product_id, timeout=usb.timeout_ms, in_ep=usb.in_ep, out_ep=usb.out_ep
            )

        return EscposPrinter(open_usb, name=usb_name, **common)
    if isinstance(backend, FileBackend):
        device_file = backend
        return EscposPrinter(
            lambda: File(devfile=device_file.device),
            name=name or f"file {device_file.device}",
            reports_status=False,
            **common,
        )
    raise AssertionError(f"unhandled backend {backend!r}")
