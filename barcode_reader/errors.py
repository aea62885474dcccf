"""Exceptions of the barcode reader; every message names the device or backend at fault."""

from __future__ import annotations

from appliance.errors import MotcuaError


class ScannerError(MotcuaError):
    """Root of barcode_reader errors."""


class DeviceUnavailable(ScannerError):
    """A scanner or camera cannot be opened now (absent, busy, no permission). Retried."""

    def __init__(self, device: str, reason: str) -> None:
        self.device = device
        self.reason = reason
        super().__init__(f"{device}: {reason}")


class DeviceLost(DeviceUnavailable):
    """An open scanner or camera went away (unplugged, ENODEV, serial disconnect). Retried."""


class BackendUnavailable(ScannerError, ImportError):
    """An optional library (pyzbar + libzbar0, OpenCV) needed by the configuration is missing."""
