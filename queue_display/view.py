"""Running the kivy board: configures kivy before its window exists, then shows a BoardStore.

    run_board(service)                       the daemon's screen (reads service.store)
    run_demo(config, counters=40, screenshot=Path("out/board.png"))   a made-up hall, for a look

Headless (CI, tests): SDL_VIDEODRIVER=offscreen KIVY_NO_ARGS=1 (HARDWARE.md); `screenshot` saves
the screen as a PNG after the first frames and stops. The demo keeps a PNG of the screen current
through appliance.screen_mirror (MOTCUA_SCREEN_PNG).
"""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.kivy_setup import open_screen as shared_open_screen
from appliance.kivy_setup import skip_unseen_frames
from appliance.timeutil import now

from .board import BoardModel, BoardStore, format_clock, layout_for
from .config import DisplayConfig, ScreenSection
from .results import ResultsModel, ResultsStore, ScreenPlan

if TYPE_CHECKING:
    from .service import DisplayService

log = logging.getLogger(__name__)

SCREENSHOT_DELAY_S = 1.2  # let the layout settle and the fonts fit before the picture
SCREENSHOT_FRAMES = 8


def open_screen(screen: ScreenSection, *, fullscreen: bool) -> None:
    """Must run before anything imports kivy.core.window. A board, not a game: 30 fps spares the CPU
    (software GL on a Pi); a wall display has no touch screen, so no input probing."""
    shared_open_screen(screen, fullscreen=fullscreen, touch=False, max_fps=30)


def run_store(
    store: BoardStore,
    config: DisplayConfig,
    *,
    fullscreen: bool,
    screenshot: Path | None = None,
    clock: Any = time.monotonic,
    heartbeat: Any = None,
    results: ResultsStore | None = None,
) -> int:
    """Show `store` until the window closes (or, with `screenshot`, save one picture and return).

    With `results` the results page alternates with the board (or replaces it) per `[screen] results`.
    """
    open_screen(config.screen, fullscreen=fullscreen and screenshot is None)
    from kivy.clock import Clock
    from kivy.uix.widget import Widget

    from appliance.screen_app import ScreenApp

    from .results_screen import ResultsScreen
    from .screen import BACKGROUND, BoardScreen, FitLabel, Panel

    class BoardApp(ScreenApp):
        title = "motcua — màn hình gọi số"
        background = BACKGROUND
        first_look_s = SCREENSHOT_DELAY_S
        settle_frames = SCREENSHOT_FRAMES

        def build_screen(self, size: tuple[int, int]) -> Any:
            # Offscreen (the headless demo, tests), the pictures are exports: no frame nobody sees.
            skip_unseen_frames()
            self.screen = BoardScreen(
                orientation=config.screen.orientation,
                size=size,
                recent_slots=config.screen.recent_calls,
                language=config.language,
                marquee_fps=config.screen.marquee_fps,
            )
            self.results_screen: Any = None
            self.plan = ScreenPlan(
                config.screen.results if results is not None else "off",
                queue_s=config.screen.queue_s,
                results_s=config.screen.results_s,
                page_s=config.screen.page_s,
            )
            if results is not None:
                self.results_screen = ResultsScreen(
                    size=size, rows=config.screen.results_rows, language=config.language
                )
            self.frame = Widget(size=size)
            # The hub's "identify": the device's name over the whole screen for a few seconds.
            self.banner = Panel(bg=(0.85, 0.55, 0.05, 1), size=size)
            self.banner_text = FitLabel(fill=0.3, bold=True, two_lines=True)
            self.banner.add_widget(self.banner_text)
            self.showing: Any = None
            self._mirrored: tuple[object, ...] = ()
            return self.frame

        def resize(self, size: tuple[int, int]) -> None:
            self.screen.size = size
            self.banner.size = size
            if self.results_screen is not None:
                self.results_screen.size = size

        def seen(self) -> Any:
            return self.showing

        def _put(self, screen: Any) -> None:
            if screen is not self.showing:
                self.frame.clear_widgets()
                self.frame.add_widget(screen)
                self.showing = screen

        def redraw(self) -> bool:
            redrawn = self._refresh()
            # The picture follows what changed: a redraw, another page, the clock's minute.
            key = (id(self.showing), format_clock(now())[0])
            if redrawn or key != self._mirrored:
                self._mirrored = key
                return True
            return False

        def _refresh(self) -> bool:
            """Draw what is to be seen now; whether anything but the clock was redrawn."""
            try:
                moment = clock()
                board = store.snapshot(moment)
                if board.banner is not None:
                    self._put(self.banner)
                    self.banner_text.set_text(board.banner)
                    return False
                if results is None:
                    self._put(self.screen)
                    return self.screen.show(board, now())
                before = self.plan.showing
                page = self.plan.choose(
                    moment,
                    calling=board.latest is not None,
                    results=results.count,
                    pages=results.snapshot(moment).pages,
                )
                if page == "results":
                    if before != "results" or self.showing is not self.results_screen:
                        results.start_showing(moment)
                    self._put(self.results_screen)
                    return self.results_screen.show(results.snapshot(moment), board.site_name, now())
                self._put(self.screen)
                return self.screen.show(board, now())
            except Exception:  # a drawing bug must not take the hall's screen down
                log.exception("board redraw failed")
                return False

        def on_stop(self) -> None:
            self.screen.stop()

    app = BoardApp(screenshot=screenshot, heartbeat=heartbeat)
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
        results=service.results,
    )


def run_demo(
    config: DisplayConfig,
    *,
    counters: int,
    screenshot: Path | None,
    fullscreen: bool = False,
    connected: bool = True,
    results: dict[str, Any] | None = None,
) -> int:
    """A made-up hall with `counters` counters (some closed, one just called), without MQTT;
    `counters=0` shows the screen before the first queue/state. `results`: a results/ready payload
    (see demo_results) shown per `[screen] results`."""
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
        if results is None:
            model.apply_event(demo_call(counters), start)
    shown: ResultsStore | None = None
    if results is not None:
        shown = ResultsStore(
            ResultsModel(rows_per_page=config.screen.results_rows, page_s=config.screen.page_s)
        )
        shown.apply(results, start)
    return run_store(BoardStore(model), config, fullscreen=fullscreen, screenshot=screenshot, results=shown)


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
    """A plausible queue/state: every 7th counter closed (the 14th for a meeting), most serving someone."""
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
                "pause_reason": "Họp giao ban" if i % 14 == 0 else None,
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


def demo_results(count: int = 12, *, stale: bool = False) -> dict[str, Any]:
    """A plausible results/ready payload: the newest two just ready, a few waiting too long."""
    from datetime import timedelta

    from appliance.timeutil import iso

    moment = now().replace(second=0, microsecond=0)
    procedures = (
        "Cấp giấy chứng nhận quyền sử dụng đất lần đầu",
        "Đăng ký khai sinh",
        "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "Chứng thực bản sao từ bản chính",
        "Đăng ký hộ kinh doanh",
        "Cấp Giấy xác nhận tình trạng hôn nhân",
    )
    names = ("Nguyễn V** A**", "Trần T** B**", "Lê H** P**", "Phạm Đ** Q**", "Huỳnh M** T**", "Võ T** H**")
    items = []
    for index in range(count):
        age = timedelta(minutes=7 + index * 5) if index < 4 else timedelta(days=2 * index - 4)
        since = moment - age
        days = (moment.date() - since.date()).days
        items.append(
            {
                "code": f"000.00.16.H19-2611{20 - min(index, 19):02d}-{101 + index:04d}",
                "procedure": procedures[index % len(procedures)],
                "applicant_masked": names[index % len(names)],
                "ready_since": iso(since),
                "uncollected_days": days,
                "overdue_collection": days >= 7,
            }
        )
    return {
        "v": 1,
        "ts": iso(moment),
        "fetched_at": iso(moment - timedelta(minutes=42) if stale else moment),
        "stale": stale,
        "new_since": iso(moment - timedelta(minutes=15)),
        "overdue_days": 7,
        "count": count,
        "items": items,
    }
