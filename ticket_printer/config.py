"""Configuration of a printer daemon (one TOML file per printer).

Example (network printer on a kiosk)::

    device_id = "printer-kiosk1"
    site = "dongnai-hcc"
    role = "printer"

    [mqtt]
    host = "hub.local"

    [printer]
    dots = 576                 # 80 mm roll at 203 dpi; 384 for 58 mm, 512 for Epson TM-T88
    cut = "partial"
    mode = "raster"            # or "text": the printer's own TCVN-3 fonts (see below)

    [printer.backend]
    type = "network"           # usb | serial | network | file | simulated
    host = "192.168.1.50"
    port = 9100

    [jobs]
    deadline_s = 300           # a job not printed by then fails with the reason
    footer = "Cảm ơn Ông/Bà đã sử dụng dịch vụ"

Other backends: ``{type = "usb", vendor_id = 0x0416, product_id = 0x5011}``,
``{type = "serial", device = "/dev/ttyUSB0", baudrate = 19200}``, ``{type = "file", device =
"/dev/usb/lp0"}`` (no status replies), ``{type = "simulated", paper = "ok", save_dir = "out/printed"}``.

Modes: ``"raster"`` (default) draws every ticket and receipt as a picture, so Vietnamese prints on any
printer. ``"text"`` prints in the printer's own fonts (faster, sharper, far fewer bytes) with the QR
code and Code 128 drawn by the printer: only for firmware with the two TCVN-3 code pages (Epson TM
series and compatibles), so it needs `profile` set to a python-escpos model profile that lists
TCVN-3-1 and TCVN-3-2 (e.g. "TM-T88V", "TM-T20II", "CT-S651"); any other profile, "default"
included, is refused at start. Characters TCVN-3 lacks lose their tone mark, then other marks (never
"?" for a letter). On 58 mm paper a long dossier code's Code 128 may not fit the printer's 2-dot
minimum module: such a receipt fails with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from appliance.config import DeviceConfig, Strict

from .tcvn3 import text_mode_problem

DEFAULT_STATE_ROOT = Path("/var/lib/motcua")


class NetworkBackend(Strict):
    type: Literal["network"]
    host: str = Field(min_length=1)
    port: int = Field(9100, ge=1, le=65535)
    # Seconds to connect, send, and wait for a status reply: "no reply" is reported as unknown.
    timeout: float = Field(3.0, gt=0, le=60)


class SerialBackend(Strict):
    type: Literal["serial"]
    device: str = Field(min_length=1)
    baudrate: int = Field(9600, ge=1200, le=921600)
    timeout: float = Field(1.0, gt=0, le=30)
    # Most USB-serial receipt printers use RTS/CTS or nothing; DSR/DTR hangs on a pty or bare cable.
    dsrdtr: bool = False
    xonxoff: bool = False


class UsbBackend(Strict):
    type: Literal["usb"]
    vendor_id: int = Field(ge=0, le=0xFFFF)
    product_id: int = Field(ge=0, le=0xFFFF)
    in_ep: int = Field(0x82, ge=0, le=0xFF)
    out_ep: int = Field(0x01, ge=0, le=0xFF)
    timeout_ms: int = Field(3000, ge=100, le=60000)


class FileBackend(Strict):
    """A device file such as /dev/usb/lp0: write only, so status is always unknown and not waited on."""

    type: Literal["file"]
    device: str = Field("/dev/usb/lp0", min_length=1)


class SimulatedBackend(Strict):
    """No hardware: bytes are kept in memory, paper and online state are set here or by a test."""

    type: Literal["simulated"]
    paper: Literal["ok", "near_end", "out", "unknown"] = "ok"
    online: bool = True
    # Where each printed picture is saved as PNG (for `motcua demo` and people to look at).
    save_dir: str | None = None


Backend = Annotated[
    NetworkBackend | SerialBackend | UsbBackend | FileBackend | SimulatedBackend, Field(discriminator="type")
]


class PrinterSection(Strict):
    backend: Backend
    dots: Literal[384, 512, 576] = 576
    # python-escpos capability profile (cutter, model quirks); the width always comes from `dots`.
    profile: str = "default"
    cut: Literal["full", "partial", "none"] = "partial"
    # "raster" prints pictures (Vietnamese on any printer). "text" uses the printer's TCVN-3 fonts and
    # its own QR/Code 128: only with a profile that has the TCVN-3 code pages, else refused at start.
    mode: Literal["raster", "text"] = "raster"
    # Rows per GS v 0 band: small bands suit printers with small receive buffers.
    fragment_height: int = Field(256, ge=8, le=2048)
    font_dir: str | None = None

    @model_validator(mode="after")
    def _text_mode_needs_tcvn3(self) -> PrinterSection:
        if self.mode == "text":
            problem = text_mode_problem(self.profile)
            if problem is not None:
                raise ValueError(problem)  # a printer without TCVN-3 would print "?" for Vietnamese
        return self


class JobSettings(Strict):
    # A job that could not be printed within this many seconds of arriving fails with the reason.
    deadline_s: float = Field(300.0, gt=0, le=7 * 24 * 3600)
    # How often the printer is asked for its status while idle (and while a job waits for it).
    status_interval_s: float = Field(5.0, gt=0, le=3600)
    # Footer printed on tickets whose job carries none.
    footer: str | None = Field(None, max_length=200)
    # Jobs remembered (to refuse a second print of the same id) for this many days.
    remember_days: int = Field(30, ge=1, le=3650)


class PrinterConfig(DeviceConfig):
    role: Literal["printer"] = "printer"
    printer: PrinterSection
    jobs: JobSettings = JobSettings()
    # Where the daemon keeps its job log; default /var/lib/motcua/<device_id>.
    state_dir: str | None = None
    # MQTT session kept by the broker while the daemon is away, so jobs sent meanwhile are delivered.
    session_expiry_s: int = Field(7 * 24 * 3600, ge=24 * 3600)

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir) if self.state_dir else DEFAULT_STATE_ROOT / self.device_id
