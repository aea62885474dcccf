"""The kivy widgets of the results page (dossiers ready for collection) of the hall display, drawn
from a `ResultsSnapshot` (queue_display.results); import through queue_display.view like screen.py."""

from __future__ import annotations

from datetime import datetime

from kivy.uix.boxlayout import BoxLayout

from appliance.i18n import Language, message

from .results import ResultRow, ResultsSnapshot, format_ready
from .screen import (
    BACKGROUND,
    GOLD,
    HEADER,
    HIGHLIGHT,
    INK,
    ROW,
    SOFT,
    WHITE,
    FitLabel,
    HeaderClock,
    Panel,
    frame_bands,
    hex_color,
)

# ---------------------------------------------------------------------- the results page
# Column shares of the results list: code, procedure, masked name, ready since.
COLUMNS = (0.31, 0.36, 0.16, 0.17)


class ResultRowView(Panel):
    """One dossier: code · procedure · masked name · since when ready (amber while new).

    Landscape: one line of four columns. Portrait (`stacked`): the code and the time on a first line,
    procedure, name and the note on a second, so the code keeps a size readable from the benches.
    """

    def __init__(self, language: Language, *, stacked: bool = False) -> None:
        super().__init__(
            orientation="vertical" if stacked else "horizontal",
            padding=(18, 4),
            spacing=0 if stacked else 16,
            radius=10,
        )
        self.language = language
        if stacked:
            top = BoxLayout(orientation="horizontal", size_hint_y=0.56, spacing=16)
            bottom = BoxLayout(orientation="horizontal", size_hint_y=0.44, spacing=16)
            self.code = FitLabel(size_hint_x=0.7, fill=0.72, max_font=48, bold=True, align="left")
            self.since = FitLabel(size_hint_x=0.3, fill=0.6, max_font=38, align="right")
            self.procedure = FitLabel(size_hint_x=0.5, fill=0.62, max_font=30, align="left", fixed=True)
            self.applicant = FitLabel(size_hint_x=0.25, fill=0.62, max_font=30, bold=True, align="left")
            self.overdue = FitLabel(size_hint_x=0.25, fill=0.56, max_font=26, bold=True, align="right")
            top.add_widget(self.code)
            top.add_widget(self.since)
            for widget in (self.procedure, self.applicant, self.overdue):
                bottom.add_widget(widget)
            self.add_widget(top)
            self.add_widget(bottom)
            return
        # The code is what people look for: never cut, the font shrinks to fit instead.
        self.code = FitLabel(size_hint_x=COLUMNS[0], fill=0.46, max_font=44, bold=True, align="left")
        self.procedure = FitLabel(
            size_hint_x=COLUMNS[1], fill=0.36, max_font=34, align="left", two_lines=True
        )
        self.applicant = FitLabel(size_hint_x=COLUMNS[2], fill=0.42, max_font=38, bold=True, align="left")
        since = BoxLayout(orientation="vertical", size_hint_x=COLUMNS[3])
        self.since = FitLabel(size_hint_y=0.56, fill=0.72, max_font=36, align="left", fixed=True)
        self.overdue = FitLabel(size_hint_y=0.44, fill=0.8, max_font=26, bold=True, align="left")
        since.add_widget(self.since)
        since.add_widget(self.overdue)
        for widget in (self.code, self.procedure, self.applicant, since):
            self.add_widget(widget)

    def show(self, row: ResultRow | None) -> None:
        labels = (self.code, self.procedure, self.applicant, self.since, self.overdue)
        if row is None:
            self.set_background(BACKGROUND)
            for label in labels:
                label.set_text("")
            return
        self.set_background(HIGHLIGHT if row.new else ROW)
        ink = INK if row.new else WHITE
        for label in labels[:4]:
            label.color = ink
        self.overdue.color = HEADER if row.new else hex_color("ff8a80")
        self.code.set_text(row.code)
        self.procedure.set_text(row.procedure)
        self.applicant.set_text(row.applicant)
        self.since.set_text(format_ready(row.ready_since))
        note = ""
        if row.new:
            note = message("results_new", self.language)
        elif row.overdue:
            note = message("results_overdue", self.language, days=row.uncollected_days)
        self.overdue.set_text(note)


class ResultsScreen(Panel):
    """The results page: the same frame as the queue board (header, clock, footer), a list inside."""

    def __init__(self, *, size: tuple[int, int], rows: int, language: str = "vi") -> None:
        super().__init__(orientation="vertical", bg=BACKGROUND, size=size, size_hint=(None, None))
        self.language: Language = "en" if language == "en" else "vi"
        height = size[1]
        portrait = size[1] > size[0]
        header, footer = frame_bands(height, portrait)
        titles = BoxLayout(orientation="vertical", size_hint_x=0.72)
        self.site = FitLabel(size_hint_y=0.36, fill=0.8, bold=True, align="left", color=hex_color("ffe9a8"))
        self.title = FitLabel(
            message("results_title", self.language),
            size_hint_y=0.64,
            fill=0.85,
            bold=True,
            align="left",
            color=GOLD,
        )
        titles.add_widget(self.site)
        titles.add_widget(self.title)
        self.clock = HeaderClock()
        header.add_widget(titles)
        header.add_widget(self.clock)
        self.add_widget(header)

        body = BoxLayout(orientation="vertical", padding=(20, 12), spacing=8)
        self.stale_pill = Panel(bg=(0, 0, 0, 0), radius=10, size_hint_y=None, height=round(height * 0.045))
        self.stale = FitLabel(fill=0.6, bold=True, color=hex_color("ffe0a3"))
        self.stale_pill.add_widget(self.stale)
        body.add_widget(self.stale_pill)
        if not portrait:  # stacked rows (portrait) explain themselves without column heads
            heads = BoxLayout(
                orientation="horizontal", padding=(18, 0), spacing=16, size_hint_y=None, height=44
            )
            keys = ("results_code", "results_procedure", "results_applicant", "results_ready_since")
            for key, share in zip(keys, COLUMNS, strict=True):
                heads.add_widget(
                    FitLabel(
                        message(key, self.language).upper(),
                        size_hint_x=share,
                        fill=0.7,
                        max_font=28,
                        bold=True,
                        align="left",
                        color=GOLD,
                        fixed=True,
                    )
                )
            body.add_widget(heads)
        self.rows = [ResultRowView(self.language, stacked=portrait) for _ in range(rows)]
        for row in self.rows:
            body.add_widget(row)
        self.empty = FitLabel(size_hint_y=None, height=0, fill=0.5, color=SOFT)
        body.add_widget(self.empty)
        self.add_widget(body)

        footer.padding = (28, 4)
        self.hint = FitLabel(
            message("results_hint", self.language), size_hint_x=0.78, fill=0.5, align="left", color=SOFT
        )
        self.page = FitLabel(size_hint_x=0.22, fill=0.55, bold=True, align="right", color=GOLD)
        footer.add_widget(self.hint)
        footer.add_widget(self.page)
        self.add_widget(footer)
        self._rendered: tuple[object, ...] | None = None

    def show(self, results: ResultsSnapshot, site_name: str, now: datetime) -> bool:
        self.clock.show(now)
        key = (results.version, results.page, results.stale, site_name)
        if key == self._rendered:
            return False
        self._rendered = key
        self.site.set_text(site_name)
        if results.stale and results.fetched_at is not None:
            stamp = f"{results.fetched_at:%H:%M %d/%m/%Y}"
            self.stale.set_text(message("results_stale", self.language, time=stamp))
            self.stale_pill.set_background(hex_color("5c3b00"))
        else:
            self.stale.set_text("")
            self.stale_pill.set_background((0, 0, 0, 0))
        for index, row in enumerate(self.rows):
            row.show(results.rows[index] if index < len(results.rows) else None)
        if not results.rows:
            words = "results_empty" if results.received else "results_loading"
            self.empty.set_text(message(words, self.language))
            self.empty.height = 120
        else:
            self.empty.set_text("")
            self.empty.height = 0
        page = message("results_count", self.language, count=results.count) if results.count else ""
        if results.pages > 1:
            page += " · " + message("display_page", self.language, page=results.page + 1, pages=results.pages)
        self.page.set_text(page)
        return True
