"""RS-485 Modbus RTU LED display modules (pymodbus).

No vendor protocol is common to the modules sold in Vietnam, so a module's quirks are data: a
`ModbusProfile` says where each line lives in the holding registers and how its text is encoded,
and where brightness and blink are. Built-in profiles for common register layouts are in
`modbus_models.toml`; a site whose module differs writes its own `[board.profile]` from the
vendor's register map. The protocol (framing, CRC, retries) is pymodbus's.

Encodings (`encode_line`):
- uint16 / uint32: the digits of the text as one binary number (leading zeros are lost);
- bcd: one digit per nibble, most significant first, 0xF for a blank digit;
- seven_segment: one register per digit holding the segment bits (bit 0 = a … bit 6 = g);
- ascii: two characters per register, first character in the high byte;
- char: one ASCII character per register;
- utf16: one UTF-16 code unit per register (modules with a Unicode font: Vietnamese as is).
"""

from __future__ import annotations

import logging
import threading
import time
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import Field, model_validator

from appliance.config import Strict

from .board import Board, Clock, LineSpec, Output
from .errors import BoardError, ProfileError
from .text import Align, fit

log = logging.getLogger(__name__)

Encoding = Literal["uint16", "uint32", "bcd", "seven_segment", "ascii", "char", "utf16"]
NUMERIC: frozenset[str] = frozenset({"uint16", "uint32", "bcd"})
MAX_REGISTERS_PER_WRITE = 123  # Modbus limit of function 16

# Segment bits (a=1, b=2, c=4, d=8, e=16, f=32, g=64) of what a 7-segment digit can show.
SEVEN_SEGMENT: dict[str, int] = {
    "0": 0x3F,
    "1": 0x06,
    "2": 0x5B,
    "3": 0x4F,
    "4": 0x66,
    "5": 0x6D,
    "6": 0x7D,
    "7": 0x07,
    "8": 0x7F,
    "9": 0x6F,
    "A": 0x77,
    "B": 0x7C,
    "C": 0x39,
    "D": 0x5E,
    "E": 0x79,
    "F": 0x71,
    "G": 0x3D,
    "H": 0x76,
    "I": 0x06,
    "J": 0x1E,
    "L": 0x38,
    "N": 0x54,
    "O": 0x3F,
    "P": 0x73,
    "Q": 0x67,
    "R": 0x50,
    "S": 0x6D,
    "T": 0x78,
    "U": 0x3E,
    "Y": 0x6E,
    "-": 0x40,
    "_": 0x08,
    " ": 0x00,
}


class LineField(Strict):
    """One line of the module: `columns` characters starting at holding register `address`."""

    address: int = Field(ge=0, le=0xFFFF)
    columns: int = Field(ge=1, le=64)
    encoding: Encoding
    # Text alignment inside the field when the view does not say; numbers are right-aligned.
    align: Align | None = None
    # For uint32: which 16-bit half comes first.
    word_order: Literal["big", "little"] = "big"
    # Value written when the line is empty (e.g. 0xFFFF switches the digits off on some modules).
    blank: int | None = Field(None, ge=0, le=0xFFFF)

    @property
    def registers(self) -> int:
        return register_count(self.encoding, self.columns)

    @property
    def spec(self) -> LineSpec:
        return LineSpec(
            columns=self.columns,
            text=self.encoding not in NUMERIC,
            unicode=self.encoding == "utf16",
        )


class RegisterRange(Strict):
    """A register that takes a value between `min` and `max` (brightness levels)."""

    address: int = Field(ge=0, le=0xFFFF)
    min: int = Field(0, ge=0, le=0xFFFF)
    max: int = Field(ge=1, le=0xFFFF)

    def value(self, percent: int) -> int:
        return self.min + round((self.max - self.min) * max(0, min(100, percent)) / 100)


class RegisterSwitch(Strict):
    """A register written `on` or `off` (blink)."""

    address: int = Field(ge=0, le=0xFFFF)
    on: int = Field(1, ge=0, le=0xFFFF)
    off: int = Field(0, ge=0, le=0xFFFF)


class ModbusProfile(Strict):
    description: str = ""
    lines: list[LineField] = Field(min_length=1, max_length=16)
    brightness: RegisterRange | None = None
    blink: RegisterSwitch | None = None
    # Some modules only implement "write single register" (function 6).
    single_register_writes: bool = False

    @model_validator(mode="after")
    def _no_overlap(self) -> ModbusProfile:
        used: dict[int, str] = {}
        named = [(f"line {i + 1}", f.address, f.registers) for i, f in enumerate(self.lines)]
        named += [("brightness", self.brightness.address, 1)] if self.brightness else []
        named += [("blink", self.blink.address, 1)] if self.blink else []
        for name, start, count in named:
            for address in range(start, start + count):
                if address in used:
                    raise ValueError(f"{name} and {used[address]} both use register {address}")
                used[address] = name
        return self


@lru_cache(maxsize=1)
def builtin_models() -> dict[str, ModbusProfile]:
    """The profiles shipped in modbus_models.toml, by model name."""
    text = resources.files(__package__).joinpath("modbus_models.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {name: ModbusProfile.model_validate(body) for name, body in data["models"].items()}


def profile_for(model: str) -> ModbusProfile:
    models = builtin_models()
    if model not in models:
        raise ProfileError(f"unknown Modbus LED model {model!r}; built in: {', '.join(sorted(models))}")
    return models[model]


# --------------------------------------------------------------------------- encoding (pure)


def register_count(encoding: str, columns: int) -> int:
    if encoding == "uint16":
        return 1
    if encoding == "uint32":
        return 2
    if encoding == "bcd":
        return (columns + 3) // 4
    if encoding == "ascii":
        return (columns + 1) // 2
    return columns  # seven_segment, char, utf16


def encode_line(field: LineField, text: str, align: Align | None = None) -> list[int]:
    """Register values for `text` on `field` (text already folded/limited by the field's LineSpec)."""
    encoding = field.encoding
    if encoding in ("uint16", "uint32"):
        digits = "".join(ch for ch in text if ch.isdigit())
        if not digits:
            blank = field.blank if field.blank is not None else 0
            return [blank] * field.registers
        limit = 0xFFFF if encoding == "uint16" else 0xFFFFFFFF
        value = int(digits[-field.columns :])
        if value > limit:
            raise ProfileError(f"{text!r} does not fit a {encoding} register")
        if encoding == "uint16":
            return [value]
        high, low = value >> 16, value & 0xFFFF
        return [high, low] if field.word_order == "big" else [low, high]
    if not text.strip() and field.blank is not None:
        return [field.blank] * field.registers
    chosen = align or field.align or ("right" if encoding in ("bcd", "seven_segment") else "left")
    cells = fit(text, field.columns, chosen)
    if encoding == "bcd":
        nibbles = [int(ch) if ch.isdigit() else 0xF for ch in cells]
        nibbles += [0xF] * (-len(nibbles) % 4)
        return [
            (nibbles[i] << 12) | (nibbles[i + 1] << 8) | (nibbles[i + 2] << 4) | nibbles[i + 3]
            for i in range(0, len(nibbles), 4)
        ]
    if encoding == "seven_segment":
        return [SEVEN_SEGMENT.get(ch.upper(), 0) for ch in cells]
    if encoding == "ascii":
        raw = cells.encode("ascii", errors="replace")
        raw += b" " * (len(raw) % 2)
        return [(raw[i] << 8) | raw[i + 1] for i in range(0, len(raw), 2)]
    if encoding == "char":
        return list(cells.encode("ascii", errors="replace"))
    units = cells.encode("utf-16-be")
    values = [(units[i] << 8) | units[i + 1] for i in range(0, len(units), 2)]
    # A character outside the BMP takes two units: keep the field's size.
    return (values + [0x20] * field.columns)[: field.columns]


# --------------------------------------------------------------------------- driver


# The board settings ModbusSerialClient takes as they are (config.ModbusBoardSettings, same names).
SERIAL_LINE = ("baudrate", "bytesize", "parity", "stopbits", "timeout", "retries")


def _open_client(settings: Any) -> Any:
    from pymodbus.client import ModbusSerialClient

    return ModbusSerialClient(settings.port, **{name: getattr(settings, name) for name in SERIAL_LINE})


class ModbusBoard(Board):
    """One module (or several lines of one module) at Modbus unit `unit` on a serial port.

    Only registers whose value changed are written; after a failure everything is written again,
    since the module may have been power-cycled.
    """

    kind = "modbus"

    def __init__(
        self,
        client: Any,
        profile: ModbusProfile,
        *,
        unit: int = 1,
        port: str = "",
        clock: Clock = time.monotonic,
        **options: float,
    ) -> None:
        self.profile = profile
        self.unit = unit
        self.port = port
        super().__init__(
            [field.spec for field in profile.lines],
            name=f"Modbus LED module {port or '(serial)'} unit {unit}",
            clock=clock,
            **options,
        )
        self.client = client
        self._written: dict[int, list[int]] = {}
        self._blinking: bool | None = None
        self._io_lock = threading.Lock()

    @property
    def hardware_blink(self) -> bool:
        return self.profile.blink is not None

    def _draw(self, output: Output) -> None:
        with self._io_lock:
            try:
                for index, field in enumerate(self.profile.lines):
                    align = output.aligns[index] if field.encoding not in NUMERIC else None
                    values = encode_line(field, output.lines[index], align)
                    if self._written.get(field.address) != values:
                        self._write(field.address, values)
                        self._written[field.address] = values
                if self.profile.blink is not None:
                    blinking = any(output.blink)
                    if blinking != self._blinking:
                        switch = self.profile.blink
                        self._write(switch.address, [switch.on if blinking else switch.off])
                        self._blinking = blinking
            except BoardError:
                self._written.clear()
                self._blinking = None
                raise

    def _apply_brightness(self, percent: int) -> None:
        if self.profile.brightness is None:
            return
        with self._io_lock:
            self._write(self.profile.brightness.address, [self.profile.brightness.value(percent)])

    def _write(self, address: int, values: list[int]) -> None:
        from pymodbus.exceptions import ModbusException

        try:
            if not self.client.connected and not self.client.connect():
                raise BoardError(f"{self.name}: cannot open the serial port")
            if self.profile.single_register_writes:
                for offset, value in enumerate(values):
                    self._check(
                        self.client.write_register(address + offset, value, device_id=self.unit), address
                    )
            else:
                for start in range(0, len(values), MAX_REGISTERS_PER_WRITE):
                    chunk = values[start : start + MAX_REGISTERS_PER_WRITE]
                    self._check(
                        self.client.write_registers(address + start, chunk, device_id=self.unit), address
                    )
        except ModbusException as error:
            raise BoardError(f"{self.name}: writing register {address} failed: {error}") from None
        except OSError as error:
            raise BoardError(f"{self.name}: {error.strerror or error}") from None

    def _check(self, response: Any, address: int) -> None:
        if response is None or response.isError():
            raise BoardError(f"{self.name}: the module refused register {address}: {response}")

    def _close(self) -> None:
        with self._io_lock:
            self.client.close()
