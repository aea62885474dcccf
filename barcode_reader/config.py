"""The scanner's TOML configuration (`motcua scanner -c /etc/motcua/scanner.toml`).

    device_id = "counter-3-scanner"
    site = "hcc-dongnai"
    role = "scanner"

    [source]                      # exactly one source; `type` chooses it
    type = "hid"                  # hid | serial | camera | simulated
    device = "/dev/input/by-id/usb-*-event-kbd"

    [scan]                        # optional, defaults shown in ScanSettings

See barcode_reader/scanner.example.toml for every key with its default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from appliance.config import ID_PATTERN, DeviceConfig, Strict, load

from .decoders import DEFAULT_FORMATS, SYMBOLOGIES, Backend

DEFAULT_RETRY_INTERVAL = 2.0


class SourceBase(Strict):
    # How often a missing or unplugged device is looked for again, seconds.
    retry_interval: float = Field(DEFAULT_RETRY_INTERVAL, gt=0, le=300)

    def source_options(self) -> dict[str, Any]:
        """The section as its source's constructor takes it (HidSource, SerialSource: the same
        names): all but the type and the runner's retry interval."""
        return self.model_dump(exclude={"type", "retry_interval"})


class HidSettings(SourceBase):
    type: Literal["hid"]
    # Event device of the scanner; a glob picks the first match (stable across USB ports with by-id).
    device: str = "/dev/input/by-id/usb-*-event-kbd"
    # Take the device exclusively so its keystrokes never reach the kiosk UI or a console.
    grab: bool = True
    # Keys that end a scan.
    terminators: list[Literal["enter", "tab"]] = Field(default_factory=lambda: ["enter", "tab"])
    # A pause between keys longer than this ends a scan too (scanners set to send no suffix), seconds.
    inter_key_timeout: float = Field(0.1, ge=0, le=5)


class SerialSettings(SourceBase):
    type: Literal["serial"]
    port: str = "/dev/ttyACM0"
    baudrate: int = Field(9600, gt=0)
    # What ends a scan: cr, lf, crlf, tab, any (CR or LF), none (idle_timeout only).
    terminator: Literal["cr", "lf", "crlf", "tab", "any", "none"] = "any"
    encoding: str = "utf-8"
    # Silence after the last byte that ends a scan without terminator; 0 = wait for the terminator.
    idle_timeout: float = Field(0.0, ge=0, le=5)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown text encoding {value!r}") from None
        return value


class CameraSettings(SourceBase):
    type: Literal["camera"]
    device: str = "/dev/video0"
    width: int = Field(640, ge=160, le=4096)
    height: int = Field(480, ge=120, le=4096)
    capture_fps: float = Field(15, gt=0, le=120)
    backend: Backend = "zxing"
    # Only these symbologies are looked for: each extra one costs time and false reads.
    formats: list[str] = Field(default_factory=lambda: list(DEFAULT_FORMATS))
    # Frames decoded per second at most.
    decode_rate: float = Field(5.0, gt=0, le=60)
    # Grey levels a 16×16 cell must change by before a frame is decoded again.
    change_threshold: float = Field(8.0, ge=0, le=255)

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in SYMBOLOGIES]
        if unknown or not value:
            raise ValueError(f"unknown formats {unknown or '(empty)'}; known: {', '.join(SYMBOLOGIES)}")
        return value


class SimulatedSettings(SourceBase):
    type: Literal["simulated"]
    # A FIFO to write scans to, one per line (created if missing), or "-" for standard input.
    path: str = "-"


SourceSettings = Annotated[
    HidSettings | SerialSettings | CameraSettings | SimulatedSettings, Field(discriminator="type")
]


class ScanSettings(Strict):
    # Longer scans are rejected as garbage (a QR holds up to ~3 KB; ours are < 200 characters).
    max_length: int = Field(512, ge=16, le=8192)
    # The same code again within this many seconds is suppressed (0 disables).
    dedupe_window: float = Field(2.0, ge=0, le=60)
    # The scanner prefixes AIM symbology identifiers ("]C0", "]Q1"): strip them, report the symbology.
    aim_ids: bool = False
    # Path prefix of ticket QR URLs (the hub's public ticket page /t/{token}).
    ticket_path: str = Field("/t/", pattern=r"^/(?:[^/?#]+/)*$")
    # The kiosk this scanner serves (its device id). ID card scans (only the masked number) and
    # receipt proofs go to it alone, on scans/{scanner}/{kiosk}; without one they are not published.
    kiosk: str | None = Field(None, pattern=ID_PATTERN)
    # A scan not delivered within this many seconds is dropped by the broker (MQTT message expiry);
    # kiosks also drop scans older than their own limit.
    expiry_s: float = Field(5.0, ge=1, le=120)


class ScannerConfig(DeviceConfig):
    role: Literal["scanner"] = "scanner"
    source: SourceSettings
    scan: ScanSettings = ScanSettings()


def load_config(path: str | Path) -> ScannerConfig:
    return load(path, ScannerConfig)


EXAMPLE_CONFIG = Path(__file__).with_name("scanner.example.toml")
