"""Keyboard-like USB devices through evdev (HID barcode scanners, numeric keypads): finding one by
path or glob, opening it and grabbing it so its keystrokes reach only us.

The errors are the caller's own (`unavailable(path, reason)`), so a scanner and a keypad each report
in their words; evdev itself is imported only when a real device is opened (tests pass an opener).
"""

from __future__ import annotations

import errno
import glob
from collections.abc import Callable, Iterable
from typing import Any, Protocol

Unavailable = Callable[[str, str], Exception]


class InputDeviceLike(Protocol):
    """What a reader needs of `evdev.InputDevice` (tests pass a fake fed with InputEvents)."""

    path: str

    def fileno(self) -> int: ...
    def read(self) -> Iterable[Any]: ...
    def grab(self) -> None: ...
    def close(self) -> None: ...


Opener = Callable[[str], InputDeviceLike]


def open_evdev(path: str) -> InputDeviceLike:
    from evdev import InputDevice

    device: Any = InputDevice(path)
    return device


def first_match(pattern: str, unavailable: Unavailable) -> str:
    """`pattern` itself, or the first path (sorted) its glob matches."""
    if not glob.has_magic(pattern):
        return pattern
    matches = sorted(glob.glob(pattern))
    if not matches:
        raise unavailable(pattern, "no device matches")
    return matches[0]


def open_grabbed(
    path: str, opener: Opener, unavailable: Unavailable, *, grab: bool = True
) -> InputDeviceLike:
    """The device at `path`, grabbed if asked; `unavailable(path, reason)` raised when it cannot be."""
    try:
        device = opener(path)
    except OSError as error:
        raise unavailable(path, error.strerror or str(error)) from None
    if grab:
        try:
            device.grab()
        except OSError as error:
            device.close()
            reason = "grabbed by another program" if error.errno == errno.EBUSY else error.strerror
            raise unavailable(path, f"cannot grab: {reason or error}") from None
    return device
