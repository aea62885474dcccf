"""Running the kivy board: configures kivy before its window exists, then shows a BoardStore.

    run_board(service)                       the daemon's screen (reads service.store)
    run_demo(config, counters=40, screenshot=Path("out/board.png"))   a made-up hall, for a look

Headless (CI, tests): SDL_VIDEODRIVER=offscreen KIVY_NO_ARGS=1 (HARDWARE.md); `screenshot` saves
the screen as a PNG after the first frames and stops.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.timeutil import now

from .board import BoardModel, BoardStore, layout_for
from .config import DisplayConfig

if TYPE_CHECKING:
    from .service import DisplayService

log = logging.getLogger(__name__)

SCREENSHOT_DELAY_S = 1.2  # let the layout settle and the fonts fit before the picture
SCREENSHOT_FRAMES = 8


def configure_kivy(size: tuple[int, int], *, fullscreen: bool) -> None:
    """Must run before anything imports kivy.core.window."""
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
    Config.set("graphics", "maxfps", "30")  # a board, not a game: spare the CPU (software GL on a Pi)
    Config.set("kivy", "exit_on_escape", "0" if fullscreen else "1")
    # A wall display has no touch screen: no probing of input devices (it logs errors without mtdev).
    for option in Config.options("input"):
        Config.remove_option("input", option)
    Config.set("input", "mouse", "mouse,disable_multitouch")


def _drop_mtdev_noise(record: logging.LogRecord) -> bool:
    # kivy tries libmtdev (multitouch) on every Linux start; a wall display has no touch screen.
    return not str(record.msg).startswith("Input: MTDev")


def run_store(
    store: BoardStore,
    config: DisplayConfig,
    *,
    fullscreen: bool,
    screenshot: Path | None = None,
    clock: Any = time.monotonic,
    heartbeat: Any = None,
) -> int:
    """Show `store` until the window closes (or, with `screenshot`, save one picture and return)."""
    size = config.screen.size
    configure_kivy(size, fullscreen=fullscreen and screenshot is None)
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window

    from .screen import BoardScreen, register_fonts

    register_fonts(config.screen.font, config.screen.font_bold)

    class BoardApp(App):
        title = "motcua — màn hình gọi số"

        def build(self) -> Any:
            Window.clearcolor = (0.05, 0.1, 0.16, 1)
            self.screen = BoardScreen(
                orientation=config.screen.orientation,
                size=(int(Window.width), int(Window.height)),
                recent_slots=config.screen.recent_calls,
                language=config.language,
                marquee_fps=config.screen.marquee_fps,
            )
            Window.bind(size=self._resize)
            Clock.schedule_interval(self.refresh, 0.1)  # event → screen within ~100 ms
            if screenshot is not None:
                Clock.schedule_once(self.capture, SCREENSHOT_DELAY_S)
            self.refresh(0)
            return self.screen

        def _resize(self, _window: Any, new_size: tuple[int, int]) -> None:
            self.screen.size = new_size

        def refresh(self, _dt: float) -> None:
            if heartbeat is not None:
                heartbeat()
            try:
                self.screen.show(store.snapshot(clock()), now())
            except Exception:  # a drawing bug must not take the hall's screen down
                log.exception("board redraw failed")

        def capture(self, _dt: float) -> None:
            assert screenshot is not None
            # On a busy machine frames come slowly: wait for a few drawn frames, not just time.
            if Clock.frames_displayed < SCREENSHOT_FRAMES:
                Clock.schedule_once(self.capture, 0.1)
                return
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            self.refresh(0)
            self.screen.export_to_png(str(screenshot))
            log.info("screenshot saved to %s", screenshot)
            self.stop()

        def on_stop(self) -> None:
            self.screen.stop()

    app = BoardApp()
    # systemd stops the display with SIGTERM: close the window cleanly (the daemon then says offline).
    signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda _dt: app.stop()))
    app.run()
    return 0


def run_board(service: DisplayService, *, fullscreen: bool, screenshot: Path | None = None) -> int:
    def beat() -> None:
        service.heartbeat = service.clock()

    return run_store(
        service.store,
        service.config,
        fullscreen=fullscreen,
        screenshot=screenshot,
        clock=service.clock,
        heartbeat=beat,
    )


def run_demo(
    config: DisplayConfig,
    *,
    counters: int,
    screenshot: Path | None,
    fullscreen: bool = False,
    connected: bool = True,
) -> int:
    """A made-up hall with `counters` counters (some closed, one just called), without MQTT;
    `counters=0` shows the screen before the first queue/state."""
    layout = layout_for(config.screen.orientation)
    model = BoardModel(
        page_size=layout.page_size,
        page_s=config.screen.page_s,
        highlight_s=config.screen.highlight_s,
        recent_limit=config.screen.recent_calls,
        message=config.screen.message,
    )
    start = time.monotonic()
    model.set_connected(connected)
    if counters > 0:
        model.apply_state(demo_state(counters), start)
        model.apply_event(demo_call(counters), start)
    return run_store(BoardStore(model), config, fullscreen=fullscreen, screenshot=screenshot)


DEMO_SERVICES = [
    ("dat-dai", "Đất đai", "Land", 1001, 7, 1260),
    ("ho-tich", "Hộ tịch", "Civil status", 2001, 3, 420),
    ("chung-thuc", "Chứng thực", "Certification", 3001, 12, 540),
    ("xay-dung", "Xây dựng", "Construction", 4001, 0, 0),
    ("kinh-doanh", "Đăng ký kinh doanh", "Business registration", 5001, 4, 960),
    ("lao-dong", "Lao động – Thương binh và Xã hội", "Labour and social affairs", 6001, 2, 3900),
    ("tra-ket-qua", "Trả kết quả", "Result collection", 1, 9, 150),
]


def _number(service_index: int, seq: int) -> str:
    _, _, _, first, _, _ = DEMO_SERVICES[service_index]
    return f"T{first + seq - 1:03d}" if first == 1 else str(first + seq - 1)


def demo_state(counters: int) -> dict[str, Any]:
    """A plausible queue/state: every 7th counter closed, most serving someone."""
    rows = []
    for i in range(1, counters + 1):
        service = (i - 1) % len(DEMO_SERVICES)
        serving = None
        if i % 7 != 0 and i % 5 != 4:
            number = _number(service, 10 + i)
            serving = {"id": f"d-{number}", "number": number, "service_id": DEMO_SERVICES[service][0]}
        rows.append(
            {
                "id": str(i),
                "name": str(i),
                "services": [DEMO_SERVICES[service][0]],
                "open": i % 7 != 0,
                "serving": serving,
            }
        )
    recent = [
        {"ticket": row["serving"], "counter_id": row["id"], "counter_name": row["name"], "ts": None}
        for row in reversed(rows)
        if row["serving"]
    ][:6]
    return {
        "v": 1,
        "seq": 100,
        "site": {"id": "demo", "name": "Bộ phận Một cửa UBND huyện Long Thành"},
        "services": [
            {"id": sid, "name": name, "name_en": name_en, "waiting": waiting, "estimated_wait_s": wait}
            for sid, name, name_en, _, waiting, wait in DEMO_SERVICES
        ],
        "counters": rows,
        "recent_calls": recent,
    }


def demo_call(counters: int) -> dict[str, Any]:
    """A ticket.called event on counter 2 (on the first page), just now."""
    counter = str(min(2, counters))
    return {
        "v": 1,
        "type": "ticket.called",
        "seq": 101,
        "ticket": {"id": "d-1023", "number": "1023", "service_id": "dat-dai"},
        "counter_id": counter,
        "counter_name": counter,
    }
