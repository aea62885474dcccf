"""The kivy app around a screen, shared by the kiosk (kiosk/app.py) and the hall display
(queue_display/view.py): the window's background, the layout following the window's size, a
redraw on a timer that beats the daemon's heartbeat, the demo's mirror (appliance.screen_mirror),
and a picture once the first frames are drawn (`--screenshot`, scripted runs).

Import only after appliance.kivy_setup.configure_kivy (kivy reads its configuration on first import).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window

from . import screen_mirror
from .kivy_setup import RGBA, fit_window, layout_size

log = logging.getLogger("motcua.screen_app")


class ScreenApp(App):
    """Subclasses build the screen (`build_screen`) and draw it (`redraw`); `started()` runs once
    the first frames are drawn when a picture or a script wants them (by default: save the picture
    and stop)."""

    background: RGBA = (0, 0, 0, 1)
    refresh_s = 0.1
    first_look_s = 0.2  # before counting the frames of the first picture
    settle_frames = 6

    def __init__(
        self, *, screenshot: Path | None = None, heartbeat: Callable[[], None] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.screenshot = screenshot
        self.heartbeat = heartbeat

    # ------------------------------------------------------------------ for subclasses
    def build_screen(self, size: tuple[int, int]) -> Any:
        """The widget to put in the window, laid out at `size`."""
        raise NotImplementedError

    def redraw(self) -> bool:
        """Draw what is to be seen now; whether the picture changed (the mirror then writes it)."""
        raise NotImplementedError

    def resize(self, size: tuple[int, int]) -> None:
        self.frame.size = size

    def seen(self) -> Any:
        """The widget on screen now (what pictures show)."""
        return self.frame

    def wants_start(self) -> bool:
        return self.screenshot is not None

    def started(self) -> None:
        assert self.screenshot is not None
        self._save(self.screenshot)
        self.stop()

    # ------------------------------------------------------------------ the app
    def build(self) -> Any:
        Window.clearcolor = self.background
        self.frame = self.build_screen(layout_size(Window.size))
        Window.bind(size=self._resize)
        self.mirror = screen_mirror.attach(self.seen)
        Clock.schedule_interval(self.refresh, self.refresh_s)
        if self.wants_start():
            Clock.schedule_once(self._drawn, self.first_look_s)
        self.refresh(0)
        return fit_window(self.frame)

    def _resize(self, _window: Any, window_size: tuple[int, int]) -> None:
        self.resize(layout_size(window_size))

    def refresh(self, _dt: float) -> None:
        if self.heartbeat is not None:
            self.heartbeat()
        if self.redraw() and self.mirror is not None:
            self.mirror.changed()

    def _drawn(self, _dt: float) -> None:
        # On a busy machine frames come slowly: wait for a few drawn frames, not just time.
        if Clock.frames_displayed < self.settle_frames:
            Clock.schedule_once(self._drawn, 0.1)
            return
        self.started()

    def _save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.refresh(0)
        self.seen().export_to_png(str(path))
        log.info("screenshot saved to %s", path)
