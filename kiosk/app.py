"""Running the kivy kiosk: configures kivy before its window exists, then shows a backend's ViewState.

    run_kiosk(controller, config)                 the kiosk's screen
    run_kiosk(controller, config, screenshot=p)   save one picture of the screen and stop

Headless (CI, tests): SDL_VIDEODRIVER=offscreen KIVY_NO_ARGS=1 (HARDWARE.md). `KioskApp.press()` and
`KioskApp.capture()` may be called from any thread: a scripted run (tests, a technician's check) taps
the real widgets with real touch events and saves what is drawn. The demo keeps a PNG of the screen
and replays touches through appliance.screen_mirror (MOTCUA_SCREEN_PNG, MOTCUA_TOUCH_FIFO).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from appliance.kivy_setup import open_screen as shared_open_screen

from .config import KioskConfig, ScreenSection
from .views import ViewState

log = logging.getLogger("motcua.kiosk")

REFRESH_S = 0.05  # timers (countdowns, the reconnect screen) show within 50 ms
SCREENSHOT_FRAMES = 6
T = TypeVar("T")


class Backend(Protocol):
    def view(self) -> ViewState: ...
    def tap(self, action: str, arg: str = "") -> None: ...
    def on_change(self, callback: Callable[[], None]) -> None: ...


def open_screen(screen: ScreenSection, *, fullscreen: bool) -> None:
    """Must run before anything imports kivy.core.window (a touch screen: input probing kept)."""
    shared_open_screen(screen, fullscreen=fullscreen, touch=True)


def run_kiosk(
    backend: Backend,
    config: KioskConfig,
    *,
    fullscreen: bool,
    screenshot: Path | None = None,
    on_start: Callable[[Any], None] | None = None,
    heartbeat: Callable[[], None] | None = None,
) -> int:
    """Show the kiosk until the window closes; with `screenshot`, save one picture and return.

    `on_start(app)` runs on a thread of its own once the first frame is drawn (scripted runs).
    """
    open_screen(config.screen, fullscreen=fullscreen and screenshot is None)
    from kivy.clock import Clock
    from kivy.tests.common import UnitTestTouch

    from appliance.screen_app import ScreenApp

    from .screens import KioskRoot
    from .widgets import PAPER

    class KioskApp(ScreenApp):
        title = "motcua — ki-ốt"
        background = PAPER
        refresh_s = REFRESH_S
        settle_frames = SCREENSHOT_FRAMES

        def build(self) -> Any:
            window = super().build()
            # Everything built so far lives as long as the kiosk: keep it out of the collector's
            # full passes, which otherwise cost a tap-to-number pause now and then.
            gc.freeze()
            return window

        def build_screen(self, size: tuple[int, int]) -> Any:
            self.backend = backend
            self.root_widget = KioskRoot(self._tap, size=size)
            backend.on_change(lambda: Clock.schedule_once(self.refresh, 0))
            return self.root_widget

        def _tap(self, action: str, arg: str) -> None:
            backend.tap(action, arg)
            self.refresh(0)

        def redraw(self) -> bool:
            try:
                shown = self.root_widget.shown
                self.root_widget.show(backend.view())
            except Exception:  # a drawing bug must not take the kiosk down
                log.exception("kiosk redraw failed")
                return False
            return self.root_widget.shown is not shown

        def wants_start(self) -> bool:
            return self.screenshot is not None or on_start is not None

        def started(self) -> None:
            if self.screenshot is not None:
                super().started()
                return
            assert on_start is not None

            def script() -> None:
                try:
                    on_start(self)
                except BaseException:
                    log.exception("kiosk script failed")
                    self.failed = True
                finally:
                    self.on_main(self.stop)

            self.failed = False
            threading.Thread(target=script, name="kiosk-script", daemon=True).start()

        # ---------------------------------------------------------------- scripted use (any thread)

        def on_main(self, function: Callable[[], T], timeout: float = 30.0) -> T:
            """Run `function` on kivy's thread and return its result."""
            done = threading.Event()
            box: dict[str, Any] = {}

            def run(_dt: float) -> None:
                try:
                    box["value"] = function()
                except BaseException as error:
                    box["error"] = error
                done.set()

            Clock.schedule_once(run, 0)
            if not done.wait(timeout):
                raise TimeoutError("kivy's thread did not run the request")
            if "error" in box:
                raise box["error"]
            return box.get("value")  # type: ignore[return-value]

        def press(self, action: str, arg: str = "") -> None:
            """Touch the centre of the tile for `action`/`arg` with a real touch event, once the
            current view is laid out (new widgets have no position until the next frame)."""
            self.settle(2)

            def touch() -> None:
                tile = next(
                    (t for t in self.root_widget.tiles() if t.action == action and (not arg or t.arg == arg)),
                    None,
                )
                if tile is None:
                    raise LookupError(f"no tile {action}:{arg} on screen")
                x, y = tile.to_window(*tile.center)
                event = UnitTestTouch(x, y)
                event.touch_down()
                event.touch_up()

            self.on_main(touch)

        def settle(self, frames: int = 3) -> None:
            """Wait until the current view is drawn (a few frames after the last change)."""
            self.on_main(lambda: self.refresh(0))
            start = self.on_main(lambda: Clock.frames_displayed)
            event = threading.Event()
            while self.on_main(lambda: Clock.frames_displayed) < start + frames:
                event.wait(0.02)

        def capture(self, path: Path) -> None:
            self.settle()
            self.on_main(lambda: self._save(path))

    app = KioskApp(screenshot=screenshot, heartbeat=heartbeat)
    app.run()
    return 1 if getattr(app, "failed", False) else 0
