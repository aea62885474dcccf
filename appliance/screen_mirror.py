"""A kivy screen seen and touched from elsewhere: the headless demo shows the kiosk and the hall
display in a browser (the hub's /demo page) and forwards the visitor's clicks as touches.

    MOTCUA_SCREEN_PNG=/path/kiosk-1.png    keep a PNG of the screen current (rewritten on change)
    MOTCUA_TOUCH_FIFO=/path/kiosk-1.touch  touches to replay: lines "x y", fractions of the screen
                                           from its top-left corner (0.5 0.5 is the centre)

The PNG is written a moment after the app says its screen changed, at most every `SETTLE_S`
seconds, never per frame: a picture of a 1080×1920 screen costs tens of milliseconds.
Kivy must be configured (appliance.kivy_setup) before `attach` is called.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("motcua.screen_mirror")

PNG_ENV = "MOTCUA_SCREEN_PNG"
TOUCH_ENV = "MOTCUA_TOUCH_FIFO"
SETTLE_S = 0.4  # after a change: new widgets are laid out and fonts fitted over a few frames
SETTLE_FRAMES = 4
# At most one picture a second (the demo page looks once a second): a full-HD export on a software
# GL costs tens of ms, and a busy hall display changing 10 times a second took a core with it.
MIN_INTERVAL_S = 1.0


class ScreenMirror:
    """Created on kivy's thread once the root widget exists; `changed()` from kivy's thread."""

    def __init__(self, widget: Callable[[], Any], png: Path | None, touch_fifo: Path | None) -> None:
        from kivy.clock import Clock

        self._widget = widget
        self.png = png
        self.touch_fifo = touch_fifo
        self._clock = Clock
        self._save = Clock.create_trigger(self._write, SETTLE_S)
        self._due_frame = 0
        self._written_at = -MIN_INTERVAL_S
        if touch_fifo is not None:
            _make_fifo(touch_fifo)
            threading.Thread(target=self._read_touches, name="touch-fifo", daemon=True).start()

    def changed(self) -> None:
        if self.png is not None:
            self._due_frame = self._clock.frames_displayed + SETTLE_FRAMES
            self._save()

    def _write(self, _dt: float = 0) -> None:
        assert self.png is not None
        if self._clock.frames_displayed < self._due_frame:  # a busy machine draws slowly
            self._save()
            return
        if time.monotonic() - self._written_at < MIN_INTERVAL_S:
            self._save()  # the newest picture, a moment later
            return
        self._written_at = time.monotonic()
        widget = self._widget()
        if widget is None or widget.width < 1 or widget.height < 1:
            return
        temporary = self.png.with_name(f".{self.png.stem}.tmp.png")
        try:
            self.png.parent.mkdir(parents=True, exist_ok=True)
            widget.export_to_png(str(temporary))
            os.replace(temporary, self.png)  # a browser never loads a half-written picture
        except OSError as error:
            log.warning("cannot write %s: %s", self.png, error)

    # ------------------------------------------------------------------ touches
    def _read_touches(self) -> None:
        assert self.touch_fifo is not None
        # Read and write: the FIFO never reaches end-of-file between two writers, and a writer
        # opening it without blocking always finds a reader while the screen runs.
        with open(os.open(self.touch_fifo, os.O_RDWR), encoding="utf-8", errors="replace") as fifo:
            for line in fifo:
                point = _parse_point(line)
                if point is None:
                    log.warning("touch FIFO: ignored %r (want two fractions: x y)", line.strip())
                    continue
                from kivy.clock import Clock

                Clock.schedule_once(lambda _dt, p=point: self._touch(*p), 0)

    def _touch(self, x: float, y: float) -> None:
        from kivy.core.window import Window
        from kivy.tests.common import UnitTestTouch

        # Kivy's origin is the bottom-left corner.
        event = UnitTestTouch(x * Window.width, (1 - y) * Window.height)
        event.touch_down()
        event.touch_up()
        self.changed()


def attach(widget: Callable[[], Any]) -> ScreenMirror | None:
    """A mirror per the environment (see the module's docstring), or None when neither is set."""
    png = os.environ.get(PNG_ENV) or None
    fifo = os.environ.get(TOUCH_ENV) or None
    if png is None and fifo is None:
        return None
    mirror = ScreenMirror(widget, Path(png) if png else None, Path(fifo) if fifo else None)
    mirror.changed()
    return mirror


def _parse_point(line: str) -> tuple[float, float] | None:
    parts = line.split()
    if len(parts) != 2:
        return None
    try:
        x, y = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (0 <= x <= 1 and 0 <= y <= 1):
        return None
    return x, y


def _make_fifo(path: Path) -> None:
    try:
        if not stat.S_ISFIFO(path.stat().st_mode):
            path.unlink()
            os.mkfifo(path)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)


def send_touch(fifo: Path, x: float, y: float) -> bool:
    """Queue a touch for the screen reading `fifo`; False when no screen reads it."""
    try:
        descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENXIO: nobody reads; ENOENT: no such FIFO
        return False
    try:
        if not stat.S_ISFIFO(os.fstat(descriptor).st_mode):
            return False
        os.write(descriptor, f"{x:.4f} {y:.4f}\n".encode())
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)
