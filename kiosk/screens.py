"""The kiosk's kivy screens: they lay out a `ViewState` (kiosk/views.py) and send taps back, nothing more.

Every decision (what is shown, which texts, what a tap does) is in kiosk/model.py. Widgets are rebuilt
only where the view changed (`Slot`), so typing a letter does not redraw the whole keyboard.

Portrait 1080×1920 stacks each screen's parts; landscape 1920×1080 puts them in two columns.
"""

from __future__ import annotations

from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from .citizen_screens import BookingScreen, CardScreen
from .lookup_screens import DossierScreen, ProcedureScreen, ProceduresScreen
from .screen_base import AutoSlot, Screen, Slot, Tap, action_tile
from .views import (
    Body,
    BookingBody,
    Button,
    CardBody,
    DossierBody,
    Header,
    HomeBody,
    Overlay,
    ProcedureBody,
    ProceduresBody,
    RatingBody,
    ServicesBody,
    TicketBody,
    ViewState,
)
from .widgets import (
    CARD,
    CHIP,
    FAINT,
    GOLD,
    HEADER,
    INK,
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
    paint_bg,
    rgb,
    set_assist,
)


class HomeScreen(Screen):
    def update(self, body: HomeBody) -> None:
        u = self.u
        self.clear_widgets()
        # Portrait: the greeting above, the buttons in the lower two thirds of the screen — the reach
        # of a seated or short citizen (EN 301 549, QCVN 10:2024: operable parts 40–120 cm high).
        self.add_widget(Widget(size_hint_y=0.16 if self.portrait else 0.02))
        self.add_widget(Text(body.title, size=68 * u, bold=True, halign="center", auto_height=True))
        self.add_widget(Text(body.subtitle, size=38 * u, color=SOFT_INK, halign="center", auto_height=True))
        if self.portrait:
            self.add_widget(Widget(size_hint_y=0.06))
        grid = GridLayout(cols=1 if self.portrait else 2, spacing=26 * u, padding=(0, 16 * u, 0, 0))
        if self.portrait:
            grid.size_hint_y = 0.78
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
        self.heading = AutoSlot(spacing=10 * unit)
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
        bottom.add_widget(action_tile(body.done, self.tap, u, label_size=52, width=340))
        self.add_widget(bottom)


class RatingScreen(Screen):
    def __init__(self, tap: Tap, unit: float, portrait: bool) -> None:
        super().__init__(tap, unit, portrait)
        self.heading = AutoSlot(spacing=10 * unit)
        self.entry = Slot(size_hint_y=None, height=140 * unit)
        self.keys = AutoSlot(spacing=12 * unit)
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
    BookingBody: BookingScreen,
    CardBody: CardScreen,
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
        narrow = self.portrait and header.assist is not None
        for button in buttons:
            self.add_widget(
                action_tile(
                    button, self.tap, u, label_size=36, bg=WHITE, fg=INK, width=250 if narrow else 290
                )
            )
        if buttons:
            self.add_widget(Widget())  # inside the site, the screen's own title says where one is
        else:
            site = 26 if narrow else 32
            self.add_widget(
                Text(header.site, size=site * u, bold=True, color=GOLD, max_lines=3, scaled=False)
            )
        if len(buttons) < 2 or not self.portrait:  # a narrow screen with two buttons has no room left
            clock = BoxLayout(orientation="vertical", size_hint_x=None, width=(250 if narrow else 330) * u)
            clock.add_widget(
                Text(header.clock, size=46 * u, bold=True, color=WHITE, halign="right", scaled=False)
            )
            clock.add_widget(
                Text(
                    header.date,
                    size=26 * u,
                    color=GOLD,
                    halign="right",
                    max_lines=1,
                    shrink=True,
                    scaled=False,
                )
            )
            self.add_widget(clock)
        if header.assist is not None:  # "Hỗ trợ": within reach of the language button, as large
            self.add_widget(
                action_tile(header.assist, self.tap, u, label_size=30, bg=WHITE, fg=INK, width=190)
            )
        language_width = 220 if header.assist is not None else 250
        self.add_widget(
            action_tile(header.language, self.tap, u, label_size=30, bg=GOLD, fg=INK, width=language_width)
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
        self.assist = False
        self.page, self.header = self._page()
        self.screen: Screen | None = None
        self._screen_key: tuple[object, ...] | None = None
        self.overlay: OverlayView | None = None
        self.shown: ViewState | None = None

    def _page(self) -> tuple[Panel, HeaderBar]:
        page = Panel(bg=PAPER, orientation="vertical", size_hint=(1, 1), pos_hint={"x": 0, "y": 0})
        header = HeaderBar(self.tap, self.u, self.portrait)
        page.add_widget(header)
        self.add_widget(page, index=len(self.children))  # under the overlay, if one is up
        return page, header

    def _restyle(self, assist: bool) -> None:
        """The assist mode's high contrast and larger text: everything is built again in that style."""
        from kivy.core.window import Window

        self.assist = assist
        set_assist(assist)
        Window.clearcolor = paint_bg(PAPER)
        self.remove_widget(self.page)
        self.page, self.header = self._page()
        self.screen, self._screen_key = None, None

    def show(self, view: ViewState) -> None:
        if view == self.shown:
            return
        if view.assist != self.assist:
            self._restyle(view.assist)
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
