"""The kiosk's kivy screens: they lay out a `ViewState` (kiosk/views.py) and send taps back, nothing more.

Every decision (what is shown, which texts, what a tap does) is in kiosk/model.py. Widgets are rebuilt
only where the view changed (`Slot`), so typing a letter does not redraw the whole keyboard.

Portrait 1080×1920 stacks each screen's parts; landscape 1920×1080 puts them in two columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from .views import (
    Body,
    Button,
    DossierBody,
    DossierCard,
    Header,
    HomeBody,
    Keyboard,
    Notice,
    Overlay,
    ProcedureBody,
    ProceduresBody,
    RatingBody,
    ServicesBody,
    TicketBody,
    ViewState,
)
from .widgets import (
    ALARM,
    CARD,
    CHIP,
    FAINT,
    GOLD,
    HEADER,
    INK,
    KEY,
    KEY_EDGE,
    MENU_COLOURS,
    NAVY,
    PAPER,
    SCORE_COLOURS,
    SOFT_INK,
    WHITE,
    BigNumber,
    NoticeBar,
    Panel,
    QrCode,
    Text,
    Tile,
    rgb,
)

Tap = Callable[[str, str], None]
GREEN = rgb("2e7d32")


class Slot(BoxLayout):
    """A container rebuilt only when the value it shows changes."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("orientation", "vertical")
        super().__init__(**kwargs)
        self._value: object = object()

    def show(self, value: object, build: Callable[[], Iterable[Widget]]) -> None:
        if value == self._value:
            return
        self._value = value
        self.clear_widgets()
        for widget in build():
            self.add_widget(widget)


class AutoSlot(Slot):
    """A slot as tall as what it holds (notices, status lines)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(size_hint_y=None, height=0, **kwargs)
        self.bind(minimum_height=self.setter("height"))


class Screen(BoxLayout):
    """Base of the body screens: `update(body)` shows a new body of the same kind."""

    def __init__(self, tap: Tap, unit: float, portrait: bool) -> None:
        super().__init__(orientation="vertical", padding=28 * unit, spacing=20 * unit)
        self.tap = tap
        self.u = unit
        self.portrait = portrait

    def update(self, body: Any) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ shared pieces

    def title(self, text: str, size: float = 52) -> Text:
        return Text(text, size=size * self.u, bold=True, auto_height=True)

    def hint(self, text: str, size: float = 32) -> Text:
        return Text(text, size=size * self.u, color=SOFT_INK, auto_height=True)

    def status(self, notice: Notice | None, busy: str = "", extra: str = "") -> list[Widget]:
        widgets: list[Widget] = []
        if busy:
            widgets.append(NoticeBar(busy, "info", unit=self.u))
        elif notice is not None:
            widgets.append(NoticeBar(notice.text, notice.kind, unit=self.u))
        if extra and not busy:
            widgets.append(Text(extra, size=32 * self.u, bold=True, color=SOFT_INK, auto_height=True))
        return widgets

    def input_row(self, text: str, placeholder: str, submit: Button | None, size: float = 48) -> BoxLayout:
        u = self.u
        row = BoxLayout(orientation="horizontal", size_hint_y=None, height=124 * u, spacing=16 * u)
        box = Panel(bg=CARD, radius=16 * u, edge=NAVY, padding=(24 * u, 0))
        shown = text + "▏" if text else placeholder
        box.add_widget(
            Text(
                shown,
                size=(size if text else 34) * u,
                bold=bool(text),
                color=INK if text else FAINT,
                max_lines=1,
                shrink=bool(text),
            )
        )
        row.add_widget(box)
        if submit is not None:
            row.add_widget(
                Tile(
                    submit,
                    self.tap,
                    unit=u,
                    bg=GREEN,
                    label_size=42,
                    halign="center",
                    size_hint_x=None,
                    width=270 * u,
                )
            )
        return row

    def keyboard(self, keyboard: Keyboard, key_height: float = 96, label: float = 40) -> list[Widget]:
        u = self.u
        widest = max(len(row) for row in keyboard.rows[:-1]) if len(keyboard.rows) > 1 else 10
        rows: list[Widget] = []
        for index, keys in enumerate(keyboard.rows):
            row = BoxLayout(orientation="horizontal", spacing=10 * u, size_hint_y=None, height=key_height * u)
            special = index == len(keyboard.rows) - 1
            margin = 0 if special else (widest - len(keys)) / 2
            if margin:
                row.add_widget(Widget(size_hint_x=margin))
            for key in keys:
                is_char = key.action == "key" and len(key.arg) == 1 and key.arg != " "
                row.add_widget(
                    Tile(
                        key,
                        self.tap,
                        unit=u,
                        bg=KEY if is_char else CHIP,
                        fg=INK,
                        edge=KEY_EDGE,
                        label_size=label if is_char else 32,
                        halign="center",
                        radius=12,
                        padding=(4 * u, 4 * u),
                        size_hint_x=1 if is_char else (4 if key.arg == " " else 2.4),
                    )
                )
            if margin:
                row.add_widget(Widget(size_hint_x=margin))
            rows.append(row)
        return rows

    def card_rows(self, rows: Iterable[Any], label_size: float = 30, value_size: float = 36) -> GridLayout:
        u = self.u
        grid = GridLayout(cols=2, spacing=(20 * u, 12 * u), size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        for row in rows:
            label = Text(row.label, size=label_size * u, color=SOFT_INK, auto_height=True, size_hint_x=0.36)
            value = Text(
                row.value,
                size=value_size * u,
                bold=True,
                color=ALARM if row.alarm else INK,
                auto_height=True,
                size_hint_x=0.64,
            )
            # A row is as tall as its taller cell.
            label.bind(height=lambda w, h, other=value: _match_heights(w, other))
            value.bind(height=lambda w, h, other=label: _match_heights(other, w))
            grid.add_widget(label)
            grid.add_widget(value)
        return grid

    def columns(self, left: float = 0.5) -> tuple[BoxLayout, BoxLayout]:
        u = self.u
        row = BoxLayout(orientation="horizontal", spacing=36 * u)
        first = BoxLayout(orientation="vertical", spacing=18 * u, size_hint_x=left)
        second = BoxLayout(orientation="vertical", spacing=18 * u, size_hint_x=1 - left)
        row.add_widget(first)
        row.add_widget(second)
        self.add_widget(row)
        return first, second


def _match_heights(a: Widget, b: Widget) -> None:
    tallest = max(a.texture_size[1], b.texture_size[1])
    if a.height != tallest:
        a.height = tallest
    if b.height != tallest:
        b.height = tallest


class HomeScreen(Screen):
    def update(self, body: HomeBody) -> None:
        u = self.u
        self.clear_widgets()
        self.add_widget(Widget(size_hint_y=0.02))
        self.add_widget(Text(body.title, size=68 * u, bold=True, halign="center", auto_height=True))
        self.add_widget(Text(body.subtitle, size=38 * u, color=SOFT_INK, halign="center", auto_height=True))
        grid = GridLayout(cols=1 if self.portrait else 2, spacing=26 * u, padding=(0, 16 * u, 0, 0))
        for button in body.buttons:
            grid.add_widget(
                Tile(
                    button,
                    self.tap,
                    unit=u,
                    bg=MENU_COLOURS.get(button.arg, NAVY),
                    label_size=62,
                    detail_size=34,
                    radius=24,
                )
            )
        self.add_widget(grid)


class ServicesScreen(Screen):
    def __init__(self, tap: Tap, unit: float, portrait: bool) -> None:
        super().__init__(tap, unit, portrait)
        self.heading = Slot(size_hint_y=None, spacing=10 * unit)
        self.heading.bind(minimum_height=self.heading.setter("height"))
        self.chips = GridLayout(cols=3 if portrait else 6, spacing=12 * unit, size_hint_y=None)
        self.chips.bind(minimum_height=self.chips.setter("height"))
        self.tiles = GridLayout(cols=1 if portrait else 2, spacing=16 * unit)
        self.state = AutoSlot()
        for widget in (self.heading, self.chips, self.tiles, self.state):
            self.add_widget(widget)
        self._chips: tuple[Button, ...] | None = None
        self._tiles: tuple[Button, ...] | None = None

    def update(self, body: ServicesBody) -> None:
        u = self.u

        def heading() -> list[Widget]:
            widgets: list[Widget] = [self.title(body.title)]
            if self.portrait:
                widgets.append(self.hint(body.hint))
            widgets.append(
                Text(body.priority_title, size=34 * u, bold=True, color=rgb("8e1b1b"), auto_height=True)
            )
            return widgets

        self.heading.show((body.title, body.hint, body.priority_title), heading)
        if body.priorities != self._chips:
            self._chips = body.priorities
            self.chips.clear_widgets()
            for chip in body.priorities:
                self.chips.add_widget(
                    Tile(
                        chip,
                        self.tap,
                        unit=u,
                        bg=CHIP,
                        fg=INK,
                        label_size=30,
                        halign="center",
                        radius=40,
                        size_hint_y=None,
                        height=92 * u,
                        padding=(10 * u, 4 * u),
                    )
                )
        if body.services != self._tiles:
            self._tiles = body.services
            self.tiles.clear_widgets()
            for service in body.services:
                self.tiles.add_widget(Tile(service, self.tap, unit=u, label_size=44, detail_size=30))
        self.state.show((body.notice, body.busy), lambda: self.status(body.notice, body.busy))


class TicketScreen(Screen):
    def __init__(self, tap: Tap, unit: float, portrait: bool) -> None:
        super().__init__(tap, unit, portrait)
        self._key: tuple[str, ...] | None = None
        self.print_state = AutoSlot()
        self.closes = Text("", size=28 * unit, color=SOFT_INK, halign="right")

    def update(self, body: TicketBody) -> None:
        key = (body.title, body.number, body.service, body.priority, body.ahead, body.wait, body.qr_url)
        if key != self._key:
            self._key = key
            self._build(body)
        self.print_state.show(
            (body.print_text, body.print_kind),
            lambda: [NoticeBar(body.print_text, body.print_kind, unit=self.u, size=38)],
        )
        self.closes.text = body.closes

    def _build(self, body: TicketBody) -> None:
        u = self.u
        self.clear_widgets()
        card = Panel(bg=CARD, radius=28 * u, orientation="vertical", padding=(32 * u, 20 * u), spacing=10 * u)
        card.add_widget(Text(body.title, size=42 * u, color=SOFT_INK, halign="center", auto_height=True))
        number_height = (400 if self.portrait else 330) * u
        card.add_widget(BigNumber(body.number, color=HEADER, size_hint_y=None, height=number_height))
        card.add_widget(Text(body.service, size=56 * u, bold=True, halign="center", auto_height=True))
        if body.priority:
            card.add_widget(
                Text(
                    body.priority,
                    size=36 * u,
                    bold=True,
                    color=rgb("c25a00"),
                    halign="center",
                    auto_height=True,
                )
            )
        card.add_widget(Text(body.ahead, size=40 * u, halign="center", auto_height=True))
        if body.wait:
            card.add_widget(Text(body.wait, size=40 * u, halign="center", auto_height=True))
        side = 440 * u
        code = QrCode(body.qr_url, size_hint=(None, None), size=(side, side))
        holder = BoxLayout(orientation="horizontal", size_hint_y=None, height=side)
        for widget in (Widget(), code, Widget()):
            holder.add_widget(widget)
        hint = Text(body.qr_hint, size=34 * u, color=SOFT_INK, halign="center", auto_height=True)
        if self.portrait:
            # One card, top to bottom: the number, where it is in the queue, the QR code to take along.
            for widget in (Widget(size_hint_y=0.3), holder, hint, Widget(size_hint_y=0.3)):
                card.add_widget(widget)
            self.add_widget(card)
        else:
            card.add_widget(Widget())
            left, right = self.columns(0.6)
            left.add_widget(card)
            for widget in (Widget(size_hint_y=0.1), holder, hint, Widget()):
                right.add_widget(widget)
        self.add_widget(self.print_state)
        bottom = BoxLayout(orientation="horizontal", size_hint_y=None, height=130 * u, spacing=24 * u)
        bottom.add_widget(self.closes)
        bottom.add_widget(
            Tile(
                body.done,
                self.tap,
                unit=u,
                bg=GREEN,
                label_size=52,
                halign="center",
                size_hint_x=None,
                width=340 * u,
            )
        )
        self.add_widget(bottom)


class LookupScreen(Screen):
    """A heading, a typed entry with its on-screen keyboard, a status line and one content area (the
    dossier card, the procedure results): stacked in portrait; keyboard left, answer right in
    landscape."""

    split = 0.5

    def __init__(self, tap: Tap, unit: float, portrait: bool, content: Slot) -> None:
        super().__init__(tap, unit, portrait)
        self.heading = Slot(size_hint_y=None, spacing=10 * unit)
        self.heading.bind(minimum_height=self.heading.setter("height"))
        self.entry = Slot(size_hint_y=None, height=124 * unit)
        self.state = AutoSlot()
        self.content = content
        self.keys = Slot(size_hint_y=None, spacing=10 * unit)
        self.keys.bind(minimum_height=self.keys.setter("height"))
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
            panel.add_widget(
                Tile(
                    collect,
                    self.tap,
                    unit=u,
                    bg=GREEN,
                    label_size=48,
                    halign="center",
                    size_hint_y=None,
                    height=136 * u,
                )
            )
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
            action.append(
                Tile(
                    body.take,
                    self.tap,
                    unit=u,
                    bg=GREEN,
                    label_size=48,
                    halign="center",
                    size_hint_y=None,
                    height=150 * u,
                )
            )
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


class RatingScreen(Screen):
    def __init__(self, tap: Tap, unit: float, portrait: bool) -> None:
        super().__init__(tap, unit, portrait)
        self.heading = Slot(size_hint_y=None, spacing=10 * unit)
        self.heading.bind(minimum_height=self.heading.setter("height"))
        self.entry = Slot(size_hint_y=None, height=140 * unit)
        self.keys = Slot(spacing=12 * unit, size_hint_y=None)
        self.keys.bind(minimum_height=self.keys.setter("height"))
        self.state = AutoSlot()
        self.scores = Slot(spacing=14 * unit)
        if portrait:
            pad = BoxLayout(orientation="horizontal", size_hint_y=None)
            self.keys.bind(height=pad.setter("height"))
            pad.add_widget(Widget(size_hint_x=0.15))
            pad.add_widget(self.keys)
            pad.add_widget(Widget(size_hint_x=0.15))
            for widget in (self.heading, self.entry, pad, self.state, self.scores):
                self.add_widget(widget)
        else:
            left, right = self.columns(0.5)
            for widget in (self.heading, self.entry, self.keys, Widget()):
                left.add_widget(widget)
            right.add_widget(self.state)
            right.add_widget(self.scores)

    def update(self, body: RatingBody) -> None:
        u = self.u
        self.heading.show((body.title, body.hint), lambda: [self.title(body.title), self.hint(body.hint)])

        def entry() -> list[Widget]:
            box = Panel(bg=CARD, radius=18 * u, edge=NAVY, padding=(24 * u, 0))
            text = body.input or body.placeholder
            box.add_widget(
                Text(
                    text,
                    size=(76 if body.input else 40) * u,
                    bold=bool(body.input),
                    color=INK if body.input else FAINT,
                    halign="center",
                )
            )
            return [box]

        self.entry.show((body.input, body.placeholder), entry)
        self.keys.show(body.keypad, lambda: self.keyboard(body.keypad, key_height=104, label=52))
        self.state.show((body.notice, body.busy), lambda: self.status(body.notice, body.busy))

        def scores() -> list[Widget]:
            colours = (
                SCORE_COLOURS
                if len(body.scores) == 5
                else [SCORE_COLOURS[0], SCORE_COLOURS[1], SCORE_COLOURS[4]]
            )
            return [
                Tile(score, self.tap, unit=u, bg=colour, label_size=46, halign="center")
                for score, colour in zip(body.scores, colours, strict=False)
            ]

        self.scores.show(body.scores, scores)


SCREENS: dict[type, type[Screen]] = {
    HomeBody: HomeScreen,
    ServicesBody: ServicesScreen,
    TicketBody: TicketScreen,
    DossierBody: DossierScreen,
    ProceduresBody: ProceduresScreen,
    ProcedureBody: ProcedureScreen,
    RatingBody: RatingScreen,
}


class HeaderBar(Panel):
    def __init__(self, tap: Tap, unit: float, portrait: bool) -> None:
        super().__init__(
            bg=HEADER,
            orientation="horizontal",
            size_hint_y=None,
            height=(136 if portrait else 112) * unit,
            padding=(24 * unit, 16 * unit),
            spacing=20 * unit,
        )
        self.tap = tap
        self.u = unit
        self.portrait = portrait
        self._shown: Header | None = None

    def update(self, header: Header) -> None:
        if header == self._shown:
            return
        self._shown = header
        u = self.u
        self.clear_widgets()
        buttons = [button for button in (header.back, header.home) if button is not None]
        for button in buttons:
            self.add_widget(
                Tile(
                    button,
                    self.tap,
                    unit=u,
                    bg=WHITE,
                    fg=INK,
                    label_size=36,
                    halign="center",
                    size_hint_x=None,
                    width=290 * u,
                )
            )
        if buttons:
            self.add_widget(Widget())  # inside the site, the screen's own title says where one is
        else:
            self.add_widget(Text(header.site, size=32 * u, bold=True, color=GOLD, max_lines=2))
        if len(buttons) < 2 or not self.portrait:  # a narrow screen with two buttons has no room left
            clock = BoxLayout(orientation="vertical", size_hint_x=None, width=330 * u)
            clock.add_widget(Text(header.clock, size=46 * u, bold=True, color=WHITE, halign="right"))
            clock.add_widget(Text(header.date, size=26 * u, color=GOLD, halign="right"))
            self.add_widget(clock)
        self.add_widget(
            Tile(
                header.language,
                self.tap,
                unit=u,
                bg=GOLD,
                fg=INK,
                label_size=30,
                halign="center",
                size_hint_x=None,
                width=250 * u,
            )
        )


class OverlayView(Panel):
    """Covers everything and swallows touches: the reconnecting and the lock screens."""

    def __init__(self, overlay: Overlay, unit: float, portrait: bool) -> None:
        bg = {"reconnecting": rgb("1d3f6e"), "identify": rgb("8a5a00")}.get(overlay.kind, rgb("14202e"))
        super().__init__(bg=bg, orientation="vertical", padding=80 * unit, spacing=36 * unit)
        self.overlay = overlay
        self.add_widget(Widget())
        symbol = {"reconnecting": "⟳", "identify": "★"}.get(overlay.kind, "☾")
        self.add_widget(Text(symbol, size=150 * unit, color=GOLD, halign="center", auto_height=True))
        self.add_widget(
            Text(
                overlay.title,
                size=(60 if portrait else 70) * unit,
                bold=True,
                color=WHITE,
                halign="center",
                auto_height=True,
            )
        )
        for index, line in enumerate(overlay.lines):
            strong = overlay.kind == "locked" and index == 1
            self.add_widget(
                Text(
                    line,
                    size=(50 if strong else 40) * unit,
                    bold=strong,
                    color=GOLD if strong else WHITE,
                    halign="center",
                    auto_height=True,
                )
            )
        self.add_widget(Widget())

    def on_touch_down(self, touch: Any) -> bool:
        return True

    def on_touch_move(self, touch: Any) -> bool:
        return True

    def on_touch_up(self, touch: Any) -> bool:
        return True


class KioskRoot(FloatLayout):
    """The whole screen: header, the current body screen, and the overlay when there is one."""

    def __init__(self, tap: Tap, *, size: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(size=size, size_hint=(None, None), **kwargs)
        self.tap = tap
        self.portrait = size[1] > size[0]
        self.u = min(size) / 1080
        self.page = Panel(bg=PAPER, orientation="vertical", size_hint=(1, 1), pos_hint={"x": 0, "y": 0})
        self.header = HeaderBar(tap, self.u, self.portrait)
        self.page.add_widget(self.header)
        self.add_widget(self.page)
        self.screen: Screen | None = None
        self._screen_key: tuple[object, ...] | None = None
        self.overlay: OverlayView | None = None
        self.shown: ViewState | None = None

    def show(self, view: ViewState) -> None:
        if view == self.shown:
            return
        self.shown = view
        self.header.update(view.header)
        self._show_body(view.body, view)
        self._show_overlay(view.overlay)

    def _show_body(self, body: Body, view: ViewState) -> None:
        key = (type(body), view.screen, view.language)
        if key != self._screen_key or self.screen is None:
            if self.screen is not None:
                self.page.remove_widget(self.screen)
            self.screen = SCREENS[type(body)](self.tap, self.u, self.portrait)
            self.page.add_widget(self.screen)
            self._screen_key = key
        self.screen.update(body)

    def _show_overlay(self, overlay: Overlay | None) -> None:
        if self.overlay is not None and (overlay is None or overlay != self.overlay.overlay):
            self.remove_widget(self.overlay)
            self.overlay = None
        if overlay is not None and self.overlay is None:
            self.overlay = OverlayView(overlay, self.u, self.portrait)
            self.overlay.size_hint = (1, 1)
            self.overlay.pos_hint = {"x": 0, "y": 0}
            self.add_widget(self.overlay)

    def tiles(self) -> list[Tile]:
        """The touchable tiles now on screen (none while an overlay covers them)."""
        if self.overlay is not None:
            return []
        return [widget for widget in self.page.walk() if isinstance(widget, Tile)]
