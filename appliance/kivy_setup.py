"""Kivy set-up shared by the kiosk and the hall display. Must run before anything imports
kivy.core.window; kivy itself is imported here only when called (the hub never needs it)."""

from __future__ import annotations

import ctypes.util
import logging
import os
import sys

from appliance.errors import MotcuaError

# The system libraries kivy's wheel loads but does not bundle, and the Debian packages that have them.
WINDOW_LIBRARIES = {"GL": "libgl1 libgl1-mesa-dri", "EGL": "libegl1 libegl-mesa0"}


class WindowLibraryMissing(MotcuaError):
    """kivy cannot open a window here: a system graphics library is not installed."""


def configure_kivy(
    size: tuple[int, int], *, fullscreen: bool, touch: bool = True, max_fps: int | None = None
) -> None:
    """Window size and mode, kivy logging through Python's, and the input providers.

    `touch=False` (a wall display) removes kivy's input-device probing; a kiosk keeps it, but a long
    press must not start kivy's multi-touch simulation circle in either case.
    """
    require_window_libraries()
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    logging.getLogger("kivy").addFilter(_drop_mtdev_noise)
    from kivy.config import Config

    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("graphics", "resizable", "0")
    if max_fps is not None:
        Config.set("graphics", "maxfps", str(max_fps))
    Config.set("kivy", "exit_on_escape", "0" if fullscreen else "1")
    if not touch:
        for option in Config.options("input"):
            Config.remove_option("input", option)
    Config.set("input", "mouse", "mouse,disable_multitouch")


def require_window_libraries() -> None:
    """Raise WindowLibraryMissing naming the package, instead of kivy's "no window provider" later."""
    if not sys.platform.startswith("linux"):
        return
    missing = [name for name in WINDOW_LIBRARIES if ctypes.util.find_library(name) is None]
    if missing:
        names = ", ".join(f"lib{name}" for name in missing)
        packages = " ".join(WINDOW_LIBRARIES[name] for name in missing)
        raise WindowLibraryMissing(f"kivy window: {names} missing (install {packages})")


def _drop_mtdev_noise(record: logging.LogRecord) -> bool:
    # kivy tries libmtdev (multitouch) on every Linux start and logs its absence as an error.
    return not str(record.msg).startswith("Input: MTDev")


RGBA = tuple[float, float, float, float]


def hex_rgba(value: str, alpha: float = 1.0) -> RGBA:
    """Kivy's colour tuple from "#rrggbb"."""
    value = value.lstrip("#")
    return (int(value[0:2], 16) / 255, int(value[2:4], 16) / 255, int(value[4:6], 16) / 255, alpha)
