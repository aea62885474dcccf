"""Exceptions of the LED board package; every message names the board, port, pin or device."""

from __future__ import annotations

from appliance.errors import MotcuaError


class LedBoardError(MotcuaError):
    """Root of the errors raised on purpose by led_board."""


class BoardError(LedBoardError, OSError):
    """A board could not be opened or written to (serial port, SPI bus, PNG file)."""


class ProfileError(LedBoardError, ValueError):
    """A Modbus module profile is unusable (unknown model, text that cannot be encoded)."""


class InputUnavailable(LedBoardError, OSError):
    """A keypad device is missing, unreadable or grabbed by another program."""

    def __init__(self, device: str, reason: str) -> None:
        super().__init__(f"keypad {device}: {reason}")
        self.device = device
        self.reason = reason
