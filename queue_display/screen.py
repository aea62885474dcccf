"""The kivy widgets of the hall display. Import through queue_display.view, which configures kivy
(window size, full screen, logging) before kivy creates its window.

The screen draws a `BoardSnapshot` and nothing else; all decisions (highlight, pages, what is
shown while the broker is away) are made in queue_display.board.

Layout, landscape 1920×1080:

    ┌ header: site name ······················ [mất kết nối] ········· 08:42  Thứ Hai, 24/11/2025 ┐
    │ counters: QUẦY n / serving number (large), 20 per page   │ VỪA GỌI: number → Quầy n (6)    │
    │                                                          │ ĐANG CHỜ: service · n · ≈ wait  │
    └ footer: scrolling message ───────────────────────────────────────────────────────────────────┘

Portrait 1080×1920 stacks the counters above the two lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Rectangle, RoundedRectangle
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.stencilview import StencilView
from kivy.uix.widget import Widget

from appliance.i18n import Language, message
from appliance.kivy_setup import FONT, RGBA, hex_rgba

from .board import BoardSnapshot, CounterTile, RecentCall, ServiceLine, format_clock, format_wait, layout_for

hex_color = hex_rgba


# Dark background (less glare in a hall), the red and gold of public signage, amber for "now".
BACKGROUND = hex_color("0d1b2a")
HEADER = hex_color("8e1b1b")
GOLD = hex_color("ffd54f")
TILE = hex_color("1b3352")
TILE_CLOSED = hex_color("142030")
PANEL = hex_color("13263d")
ROW = hex_color("1b3352")
HIGHLIGHT = hex_color("ffc107")
INK = hex_color("14110a")
WHITE = hex_color("ffffff")
SOFT = hex_color("b8c7da")
DIM = hex_color("5f738c")
FOOTER = hex_color("0a1522")


class Panel(BoxLayout):
    """A BoxLayout with a (rounded) background colour."""

    def __init__(self, bg: RGBA = PANEL, radius: float = 0, **kwargs: object) -> None:
        super().__init__(**kwargs)
        with self.canvas.before:
            self._color = Color(*bg)
            self._rect = (
                RoundedRectangle(pos=self.pos, size=self.size, radius=[radius])
                if radius
                else Rectangle(pos=self.pos, size=self.size)
            )
        self.bind(pos=self._redraw, size=self._redraw)

    def _redraw(self, *_: object) -> None:
        self._rect.pos, self._rect.size = self.pos, self.size

    def set_background(self, rgba: RGBA) -> None:
        self._color.rgba = rgba


class FitLabel(Label):
    """A label whose font is as large as its box allows: `fill` of the height, never wider than it.

    `fixed=True` keeps the height-derived size and cuts a long text with "…" instead (rows of a
    list then share one size); `two_lines=True` lets a long title break in two lines rather than
    shrink below three quarters of its size. `widest` sizes the font for that text when it is wider
    than the shown one, so a column of such labels ("≈ 7 phút", "≈ 65 phút") shares one size.
    """

    def __init__(
        self,
        text: str = "",
        *,
        fill: float = 0.6,
        max_font: float = 500,
        align: str = "center",
        bold: bool = False,
        color: RGBA = WHITE,
        fixed: bool = False,
        two_lines: bool = False,
        widest: str = "",
        **kwargs: object,
    ) -> None:
        super().__init__(
            font_name=FONT,
            bold=bold,
            color=color,
            halign=align,
            valign="middle",
            shorten=fixed,
            shorten_from="right",
            **kwargs,
        )
        self.fill = fill
        self.max_font = max_font
        self.fixed = fixed
        self.two_lines = two_lines
        self.widest = widest
        self._source = ""
        self.bind(size=self._fit)
        self.set_text(text)

    def set_text(self, text: str) -> None:
        if text != self._source:
            self._source = text
            self._fit()

    def _fit(self, *_: object) -> None:
        self.text_size = self.size
        text = self._source
        if not text or self.width < 4 or self.height < 4:
            self.text = text
            return
        size = min(self.height * self.fill, self.max_font)
        if not self.fixed:
            room = self.width * 0.94
            width = max(self._extent(text, size), self._extent(self.widest, size) if self.widest else 0)
            if width > room:
                single = size * room / width
                halves = _split_in_two(text) if self.two_lines else None
                if halves and single < size * 0.75:
                    two = min(size * 0.5 / 0.62, size) * min(
                        1.0, room / max(self._extent(h, size) for h in halves)
                    )
                    if two > single:
                        text, single = "\n".join(halves), two
                size = single
        self.text = text
        self.font_size = max(6.0, size)

    def _extent(self, text: str, size: float) -> float:
        return float(CoreLabel(font_name=FONT, font_size=size, bold=self.bold).get_extents(text)[0])


def _split_in_two(text: str) -> tuple[str, str] | None:
    """Break at the space closest to the middle."""
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if not spaces:
        return None
    middle = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return text[:middle], text[middle + 1 :]


class Marquee(StencilView):
    """One line of text scrolling right to left, forever."""

    SPEED = 120.0  # px per second: readable while walking past
    HOLD_S = 3.0  # each pass starts with the text still, so the beginning can be read

    def __init__(self, fps: int = 20, **kwargs: object) -> None:
        """Every step redraws the window: 20 fps scrolls smoothly enough at 120 px/s; 0 = still."""
        super().__init__(**kwargs)
        self.label = Label(font_name=FONT, color=SOFT, size_hint=(None, None))
        self.label.bind(texture_size=self._resize)
        self.add_widget(self.label)
        self._offset = 0.0
        self._held = 0.0
        self.bind(size=self._restyle, pos=self._place)
        self._event = Clock.schedule_interval(self._step, 1 / fps) if fps > 0 else None

    def set_text(self, text: str) -> None:
        if text != self.label.text:
            self.label.text = text
            self._offset = 0.0

    def _restyle(self, *_: object) -> None:
        self.label.font_size = max(12.0, self.height * 0.5)
        self._place()

    def _resize(self, *_: object) -> None:
        self.label.size = self.label.texture_size
        self._place()

    def _step(self, dt: float) -> None:
        if self._held < self.HOLD_S:
            self._held += dt
            return
        self._offset += self.SPEED * dt
        if self._offset > self.width * 0.03 + self.label.width:
            self._offset = self._held = 0.0
        self._place()

    def _place(self, *_: object) -> None:
        # Start with the text already on screen (a screenshot or a glance shows it), then scroll.
        start = self.x + self.width * 0.03
        x = start - self._offset
        self.label.pos = (x, self.center_y - self.label.height / 2)

    def stop(self) -> None:
        if self._event is not None:
            self._event.cancel()


class CounterView(Panel):
    def __init__(self, tile: CounterTile, *, language: Language = "vi") -> None:
        super().__init__(orientation="vertical", padding=(8, 6), spacing=0, radius=14)
        self.title = FitLabel(size_hint_y=0.26, fill=0.72, bold=True)
        self.number = FitLabel(size_hint_y=0.74, fill=0.78, bold=True)
        self.add_widget(self.title)
        self.add_widget(self.number)
        self.language = language
        self.show(tile)

    def show(self, tile: CounterTile) -> None:
        self.title.set_text(tile.title.upper())
        if not tile.open:
            self.set_background(TILE_CLOSED)
            self.title.color, self.number.color = DIM, DIM
            # "Tạm nghỉ: họp" when paused: the reason may take two lines rather than shrink.
            self.number.fill, self.number.two_lines = (0.5, True) if tile.pause_reason else (0.34, False)
            self.number.set_text(tile.closed_text(self.language))
        elif tile.highlighted:
            self.set_background(HIGHLIGHT)
            self.title.color, self.number.color = INK, INK
            self.number.fill, self.number.two_lines = 0.78, False
            self.number.set_text(tile.number or "—")
        else:
            self.set_background(TILE)
            self.title.color = SOFT
            self.number.color = WHITE if tile.number else DIM
            self.number.two_lines = False
            self.number.fill = 0.78 if tile.number else 0.3  # an idle counter: a small dash
            self.number.set_text(tile.number or "—")
        self.number._fit()  # `fill` may have changed with the same text


class RecentRow(Panel):
    def __init__(self) -> None:
        super().__init__(orientation="horizontal", padding=(16, 4), spacing=12, radius=10)
        self.number = FitLabel(size_hint_x=0.44, fill=0.74, bold=True, align="left")
        self.arrow = FitLabel("→", size_hint_x=0.1, fill=0.6)
        self.counter = FitLabel(size_hint_x=0.46, fill=0.6, bold=True, align="right")
        for widget in (self.number, self.arrow, self.counter):
            self.add_widget(widget)

    def show(self, call: RecentCall | None) -> None:
        if call is None:
            self.set_background(PANEL)
            for label in (self.number, self.arrow, self.counter):
                label.set_text("")
            return
        self.set_background(HIGHLIGHT if call.highlighted else ROW)
        ink = INK if call.highlighted else WHITE
        self.number.color = self.arrow.color = self.counter.color = ink
        self.number.set_text(call.number)
        self.arrow.set_text("→")
        self.counter.set_text(call.counter_title)


class ServiceRow(BoxLayout):
    def __init__(self, language: str) -> None:
        super().__init__(orientation="horizontal", padding=(16, 2), spacing=10)
        self.language = language
        # Nothing is cut: a long name breaks in two lines or shrinks, the wait ("≈ 24 phút") shrinks.
        self.name = FitLabel(
            size_hint_x=0.56, fill=0.54, max_font=40, align="left", color=WHITE, two_lines=True
        )
        self.waiting = FitLabel(size_hint_x=0.13, fill=0.7, max_font=52, bold=True, color=GOLD)
        longest = format_wait(3 * 3600, language)
        self.wait = FitLabel(
            size_hint_x=0.31, fill=0.44, max_font=34, align="right", color=SOFT, widest=longest
        )
        for widget in (self.name, self.waiting, self.wait):
            self.add_widget(widget)

    def show(self, service: ServiceLine | None) -> None:
        if service is None:
            for label in (self.name, self.waiting, self.wait):
                label.set_text("")
            return
        self.name.set_text(service.name if self.language == "vi" else (service.name_en or service.name))
        self.waiting.set_text(str(service.waiting))
        self.wait.set_text(format_wait(service.estimated_wait_s if service.waiting else None, self.language))


class HeaderClock(BoxLayout):
    """The time, large, over the date: the right of the header on the board and the results page."""

    def __init__(self) -> None:
        super().__init__(orientation="vertical", size_hint_x=0.28)
        self.time = FitLabel(size_hint_y=0.64, fill=0.95, bold=True, align="right", color=WHITE)
        self.date = FitLabel(size_hint_y=0.36, fill=0.8, align="right", color=GOLD)
        self.add_widget(self.time)
        self.add_widget(self.date)

    def show(self, now: datetime) -> None:
        time, date = format_clock(now)
        self.time.set_text(time)
        self.date.set_text(date)


def frame_bands(height: int, portrait: bool) -> tuple[Panel, Panel]:
    """The red header band and the dark footer band of a hall screen (the board, the results page),
    as tall as a share of the screen."""
    header = Panel(
        bg=HEADER,
        orientation="horizontal",
        size_hint_y=None,
        height=round(height * (0.068 if portrait else 0.105)),
        padding=(28, 8),
    )
    footer = Panel(
        bg=FOOTER,
        orientation="horizontal",
        size_hint_y=None,
        height=round(height * (0.04 if portrait else 0.062)),
    )
    return header, footer


class BoardScreen(Panel):
    """The whole screen. `show(snapshot, now)` redraws only what changed."""

    def __init__(
        self,
        *,
        orientation: str,
        size: tuple[int, int],
        recent_slots: int,
        language: str = "vi",
        marquee_fps: int = 20,
    ) -> None:
        super().__init__(orientation="vertical", bg=BACKGROUND, size=size, size_hint=(None, None))
        self.language: Language = "en" if language == "en" else "vi"
        self.grid_layout = layout_for(orientation)
        portrait = orientation == "portrait"
        height = size[1]
        header, footer = frame_bands(height, portrait)
        header_h = header.height

        # header
        self.site = FitLabel(size_hint_x=0.56, fill=0.4, bold=True, align="left", color=GOLD, two_lines=True)
        # Discreet but legible on the red header: white text on a dark pill, only while offline.
        offline_slot = BoxLayout(size_hint_x=0.16, padding=(0, header_h * 0.22))
        self.offline_pill = Panel(bg=(0, 0, 0, 0), radius=12)
        self.offline = FitLabel(fill=0.5, bold=True, color=WHITE)
        self.offline_pill.add_widget(self.offline)
        offline_slot.add_widget(self.offline_pill)
        self.clock = HeaderClock()
        for widget in (self.site, offline_slot, self.clock):
            header.add_widget(widget)
        self.add_widget(header)

        # body
        body = BoxLayout(orientation="vertical" if portrait else "horizontal", padding=16, spacing=16)
        counters = BoxLayout(orientation="vertical", spacing=6, size_hint=(1, 0.6) if portrait else (0.66, 1))
        self.grid = GridLayout(spacing=12)
        self.page = FitLabel(
            size_hint_y=None, height=max(24, round(height * 0.028)), fill=0.6, align="right", color=SOFT
        )
        counters.add_widget(self.grid)
        counters.add_widget(self.page)
        body.add_widget(counters)

        side = BoxLayout(
            orientation="horizontal" if portrait else "vertical",
            spacing=16,
            size_hint=(1, 0.4) if portrait else (0.34, 1),
        )
        recent_box = Panel(orientation="vertical", padding=12, spacing=8, radius=14, bg=PANEL)
        recent_box.add_widget(self._section_title(message("display_recent", self.language)))
        self.recent_rows = [RecentRow() for _ in range(recent_slots)]
        for row in self.recent_rows:
            recent_box.add_widget(row)
        # Service names are long ("Lao động – Thương binh và Xã hội"): in portrait they get more width.
        services_box = Panel(
            orientation="vertical",
            padding=12,
            spacing=2,
            radius=14,
            bg=PANEL,
            size_hint=(1.3 if portrait else 1, 1),
        )
        services_box.add_widget(self._section_title(message("display_waiting", self.language)))
        self.services_box = services_box
        self.service_rows: list[ServiceRow] = []
        side.add_widget(recent_box)
        side.add_widget(services_box)
        body.add_widget(side)
        self.add_widget(body)

        # footer
        self.marquee = Marquee(fps=marquee_fps)
        footer.add_widget(self.marquee)
        self.add_widget(footer)
        self._tiles: list[CounterView] = []
        self._tile_ids: tuple[str, ...] | None = None
        self._rendered: tuple[object, ...] | None = None

    def _section_title(self, text: str) -> Widget:
        return FitLabel(text, size_hint_y=None, height=54, fill=0.62, bold=True, align="left", color=GOLD)

    # ------------------------------------------------------------------ drawing
    def show(self, board: BoardSnapshot, now: datetime) -> bool:
        """Draw `board`; returns whether anything was redrawn (the clock aside)."""
        self.clock.show(now)
        key = (board.version, board.page, board.connected, board.page_counters, board.recent, board.latest)
        if key == self._rendered:
            return False
        self._rendered = key
        self.site.set_text(board.site_name)
        self.offline.set_text("" if board.connected else message("display_offline", self.language))
        self.offline_pill.set_background((0, 0, 0, 0) if board.connected else hex_color("2a0a0a", 0.75))
        self.marquee.set_text(board.message)
        self._show_counters(board)
        for index, row in enumerate(self.recent_rows):
            row.show(board.recent[index] if index < len(board.recent) else None)
        self._show_services(board.services)
        return True

    def _show_counters(self, board: BoardSnapshot) -> None:
        tiles = board.page_counters
        ids = tuple(tile.id for tile in tiles)
        if not tiles:
            self.grid.clear_widgets()
            self._tiles, self._tile_ids = [], ids
            self.grid.cols, self.grid.rows = 1, 1
            note = FitLabel(message("display_connecting", self.language), fill=0.08, color=SOFT)
            self.grid.add_widget(note)
            self.page.set_text("")
            return
        if ids != self._tile_ids:
            columns, rows = self.grid_layout.grid(max(len(tiles), 1))
            self.grid.clear_widgets()
            self.grid.cols, self.grid.rows = columns, rows
            self._tiles = [CounterView(tile, language=self.language) for tile in tiles]
            for view in self._tiles:
                self.grid.add_widget(view)
            for _ in range(columns * rows - len(tiles)):
                self.grid.add_widget(Widget())  # keep the grid's cells the same size on the last page
            self._tile_ids = ids
        else:
            for view, tile in zip(self._tiles, tiles, strict=True):
                view.show(tile)
        pages = board.pages > 1
        self.page.set_text(
            message("display_page", self.language, page=board.page + 1, pages=board.pages) if pages else ""
        )

    def _show_services(self, services: Sequence[ServiceLine]) -> None:
        # At least a few rows, even empty, so the title stays at the top of its box.
        while len(self.service_rows) < max(len(services), 6):
            row = ServiceRow(self.language)
            self.service_rows.append(row)
            self.services_box.add_widget(row)
        for index, row in enumerate(self.service_rows):
            row.show(services[index] if index < len(services) else None)

    def stop(self) -> None:
        self.marquee.stop()
