"""What a technician sees with `--list-devices`: the input devices and serial ports of this machine."""

from __future__ import annotations

import glob


def keyboards() -> list[str]:
    """Keyboard-like input devices (HID scanners, USB keypads), one line each with their name."""
    lines = []
    paths = sorted(glob.glob("/dev/input/by-id/*-event-kbd"))
    for path in paths:
        try:
            from evdev import InputDevice

            with InputDevice(path) as device:
                name = device.name
        except (OSError, ImportError) as error:
            name = f"(cannot open: {error})"
        lines.append(f"  {path}  {name}")
    return lines or ["  none under /dev/input/by-id/"]


def serial_ports() -> list[str]:
    try:
        from serial.tools import list_ports
    except ImportError:
        return ["  (pyserial not installed)"]
    return [f"  {port.device}  {port.description}" for port in list_ports.comports()] or ["  none"]


def device_files(pattern: str) -> list[str]:
    return [f"  {path}" for path in sorted(glob.glob(pattern))] or ["  none"]
