"""The kiosk's look-up screens: a dossier by its code, procedures by name, one procedure's papers."""

from __future__ import annotations

from kivy.uix.widget import Widget

from .screen_base import AutoSlot, Screen, Slot, Tap, action_tile
from .views import (
    Button,
    DossierBody,
    DossierCard,
    Notice,
    ProcedureBody,
    ProceduresBody,
)
from .widgets import (
    CARD,
    INK,
    KEY_EDGE,
    SOFT_INK,
    NoticeBar,
    Panel,
    Text,
    Tile,
)


class LookupScreen(Screen):
    """A heading, a typed entry with its on-screen keyboard, a status line and one content area (the
    dossier card, the procedure results): stacked in portrait; keyboard left, answer right in
    landscape."""

    split = 0.5

    def __init__(self, tap: Tap, unit: float, portrait: bool, content: Slot) -> None:
        super().__init__(tap, unit, portrait)
        self.heading = AutoSlot(spacing=10 * unit)
        self.entry = Slot(size_hint_y=None, height=124 * unit)
        self.state = AutoSlot()
        self.content = content
        self.keys = AutoSlot(spacing=10 * unit)
        if portrait:
            for widget in (self.heading, self.entry, self.state, self.content, self.keys):
                self.add_widget(widget)
        else:
            left, right = self.columns(self.split)
            for widget in (self.heading, self.entry, Widget(), self.keys):
                left.add_widget(widget)
            right.add_widget(self.state)
            right.add_widget(self.content)


class DossierScreen(LookupScreen):
    split = 0.52

    def __init__(self, tap: Tap, unit: float, portrait: bool) -> None:
        super().__init__(tap, unit, portrait, Slot())
        self.result = self.content

    def update(self, body: DossierBody) -> None:
        self.heading.show((body.title, body.hint), lambda: [self.title(body.title), self.hint(body.hint)])
        self.entry.show(
            (body.input, body.placeholder, body.submit),
            lambda: [self.input_row(body.input, body.placeholder, body.submit)],
        )
        self.state.show((body.notice, body.busy), lambda: self.status(body.notice, body.busy))
        self.result.show(
            (body.result, body.ready, body.collect), lambda: self._card(body.result, body.ready, body.collect)
        )
        self.keys.show(body.keyboard, lambda: self.keyboard(body.keyboard))

    def _card(self, card: DossierCard | None, ready: Notice | None, collect: Button | None) -> list[Widget]:
        if card is None:
            return [Widget()]
        u = self.u
        panel = Panel(
            bg=CARD, radius=22 * u, orientation="vertical", padding=(28 * u, 22 * u), spacing=14 * u
        )
        if ready is not None:  # the news the citizen came for, above the details
            panel.add_widget(NoticeBar(ready.text, ready.kind, unit=u, size=32))
        panel.add_widget(self.card_rows(card.rows))
        for note in card.notes:
            panel.add_widget(NoticeBar(note.text, note.kind, unit=u, size=30))
        panel.add_widget(Widget())
        if collect is not None:
            panel.add_widget(action_tile(collect, self.tap, u, label_size=48, height=136))
        return [panel]


class ProceduresScreen(LookupScreen):
    def __init__(self, tap: Tap, unit: float, portrait: bool) -> None:
        super().__init__(tap, unit, portrait, Slot(spacing=12 * unit))
        self.results = self.content

    def update(self, body: ProceduresBody) -> None:
        u = self.u
        self.heading.show((body.title, body.hint), lambda: [self.title(body.title), self.hint(body.hint)])
        self.entry.show(
            (body.input, body.placeholder),
            lambda: [self.input_row(body.input, body.placeholder, body.submit, size=42)],
        )
        self.state.show(
            (body.notice, body.busy, body.summary), lambda: self.status(body.notice, body.busy, body.summary)
        )

        def results() -> list[Widget]:
            tiles: list[Widget] = [
                Tile(
                    button,
                    self.tap,
                    unit=u,
                    bg=CARD,
                    fg=INK,
                    edge=KEY_EDGE,
                    label_size=34,
                    detail_size=26,
                    min_height=110,
                    padding=(24 * u, 14 * u),
                )
                for button in body.results
            ]
            return [*tiles, Widget()]

        self.results.show(body.results, results)
        self.keys.show(body.keyboard, lambda: self.keyboard(body.keyboard, key_height=100))


class ProcedureScreen(Screen):
    def update(self, body: ProcedureBody) -> None:
        u = self.u
        self.clear_widgets()
        head = [self.title(body.title, 48), Text(body.field, size=32 * u, color=SOFT_INK, auto_height=True)]
        facts = Panel(
            bg=CARD, radius=22 * u, orientation="vertical", padding=(28 * u, 20 * u), size_hint_y=None
        )
        grid = self.card_rows(body.rows)
        facts.add_widget(grid)
        grid.bind(height=lambda *_: setattr(facts, "height", grid.height + 40 * u))
        papers = Panel(
            bg=CARD, radius=22 * u, orientation="vertical", padding=(28 * u, 20 * u), spacing=12 * u
        )
        papers.add_widget(Text(body.papers_title, size=38 * u, bold=True, auto_height=True))
        for paper in body.papers:
            papers.add_widget(Text(f"•  {paper}", size=32 * u, auto_height=True))
        papers.add_widget(Widget())
        action: list[Widget] = []
        if body.busy or body.notice:
            action.extend(self.status(body.notice, body.busy))
        if body.take is not None:
            action.append(action_tile(body.take, self.tap, u, label_size=48, height=150))
        else:
            action.append(NoticeBar(body.note, "info", unit=u))
        if self.portrait:
            for widget in (*head, facts, papers, *action):
                self.add_widget(widget)
        else:
            left, right = self.columns(0.48)
            for widget in (*head, facts, Widget(), *action):
                left.add_widget(widget)
            right.add_widget(papers)
