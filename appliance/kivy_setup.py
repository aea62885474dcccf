"""Kivy set-up shared by the kiosk and the hall display. Must run before anything imports
kivy.core.window; kivy itself is imported here only when called (the hub never needs it)."""

from __future__ import annotations

import ctypes.util
import logging
import os
import sys
from typing import Any, Protocol

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

    global _scale
    _scale = 1.0 if fullscreen else _window_scale()
    if _scale != 1.0:
        # A desk's window (the demo on a laptop): the screen laid out at its real size, drawn smaller.
        size = (round(size[0] * _scale), round(size[1] * _scale))
    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    position = os.environ.get(WINDOW_POSITION_ENV, "").split(",")
    if not fullscreen and len(position) == 2 and all(part.strip().isdigit() for part in position):
        # The demo puts the kiosk and the hall display side by side rather than on top of each other.
        Config.set("graphics", "position", "custom")
        Config.set("graphics", "left", position[0].strip())
        Config.set("graphics", "top", position[1].strip())
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


# The name the screens' labels use for the fonts of their `[screen]` section.
FONT = "MotcuaSans"


class ScreenFonts(Protocol):
    """What `open_screen` reads of a screen's `[screen]` section."""

    @property
    def size(self) -> tuple[int, int]: ...

    font: str
    font_bold: str


def register_fonts(regular: str, bold: str) -> None:
    """DejaVu Sans (the default) draws every Vietnamese letter with its stacked tone marks."""
    from kivy.core.text import LabelBase

    LabelBase.register(name=FONT, fn_regular=regular, fn_bold=bold)


def open_screen(screen: ScreenFonts, *, fullscreen: bool, touch: bool, max_fps: int | None = None) -> None:
    """What a screen's process does before it imports a widget: kivy configured for its `[screen]`
    section (configure_kivy) and that section's fonts registered."""
    configure_kivy(screen.size, fullscreen=fullscreen, touch=touch, max_fps=max_fps)
    register_fonts(screen.font, screen.font_bold)


def unseen_window() -> bool:
    """Whether the window is drawn offscreen (SDL_VIDEODRIVER=offscreen: tests, the headless demo),
    where no one sees it: its pictures come from exports (appliance.screen_mirror, --screenshot)."""
    return os.environ.get("SDL_VIDEODRIVER") == "offscreen"


def skip_unseen_frames() -> bool:
    """Offscreen, stop the window from drawing its frames; True if it now draws none.

    On a software GL (llvmpipe) a full-HD frame with new label textures costs ~100 ms of CPU: the
    headless demo's hall display drew one for every queue change nobody could see, on the cores the
    hub answers counters on. Pictures are unaffected: `export_to_png` draws the widget into a
    framebuffer of its own (filling the label textures then), once per picture. Call after the
    window exists (in App.build).
    """
    if not unseen_window():
        return False
    from kivy.core.window import Window

    # A handler returning True stops the event before the window's own handler (the drawing, the
    # buffer swap).
    Window.bind(on_draw=_skip, on_flip=_skip)
    return True


def _skip(*_: object) -> bool:
    return True


WINDOW_SCALE_ENV = "MOTCUA_WINDOW_SCALE"
WINDOW_POSITION_ENV = "MOTCUA_WINDOW_POSITION"  # "left,top" of a desk's window, in pixels
_scale = 1.0  # of the window, set by configure_kivy


def layout_size(window_size: tuple[float, float]) -> tuple[int, int]:
    """The size to lay the screen out at, for a window of `window_size` (larger when scaled)."""
    return round(window_size[0] / _scale), round(window_size[1] / _scale)


def fit_window(root: Any) -> Any:
    """`root` as the window's widget: itself, or drawn scaled down into a scaled window (touches
    are scaled back by the Scatter, so taps land where they are seen)."""
    if _scale == 1.0:
        return root
    from kivy.uix.scatter import Scatter

    scatter = Scatter(
        do_rotation=False,
        do_scale=False,
        do_translation=False,
        scale=_scale,
        size=root.size,
        size_hint=(None, None),
        pos=(0, 0),
    )
    scatter.add_widget(root)
    return scatter


def _window_scale() -> float:
    try:
        scale = float(os.environ.get(WINDOW_SCALE_ENV, "1"))
    except ValueError:
        return 1.0
    return min(1.0, max(0.2, scale))


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
