"""The kiosk's screens for citizens who booked or carry their ID card (issue 17): "Tôi đã đặt lịch"
(the booking code and its keyboard) and the ID card's consent and what it gave."""

from __future__ import annotations

from kivy.uix.widget import Widget

from .lookup_screens import LookupScreen
from .screen_base import GREEN, AutoSlot, Screen, Slot, Tap
from .views import BookingBody, CardBody
from .widgets import MENU_COLOURS, NAVY, SOFT_INK, NoticeBar, Text, Tile, rgb

DECLINE = rgb("5a6473")


class BookingScreen(LookupScreen):
    """The code typed (or filled in by a scan) above its keyboard; the refusal or the wait beside it."""

    split = 0.55

    def __init__(self, tap: Tap, unit: float, portrait: bool) -> None:
        super().__init__(tap, unit, portrait, Slot())

    def update(self, body: BookingBody) -> None:
        u = self.u
        self.heading.show((body.title, body.hint), lambda: [self.title(body.title), self.hint(body.hint)])
        self.entry.show(
            (body.input, body.placeholder, body.submit),
            lambda: [self.input_row(body.input, body.placeholder, body.submit, size=60)],
        )
        self.state.show((body.notice, body.busy), lambda: self.status(body.notice, body.busy))

        def identity() -> list[Widget]:
            if not body.identity:
                return [Widget()]
            return [NoticeBar(body.identity, "ok", unit=u, size=32), Widget()]

        self.content.show(body.identity, identity)
        # Few keys: as large as a finger wants them.
        self.keys.show(body.keyboard, lambda: self.keyboard(body.keyboard, key_height=110, label=46))


class CardScreen(Screen):
    """Consent in plain words with two large answers; then the priority it gave and where to go."""

    def __init__(self, tap: Tap, unit: float, portrait: bool) -> None:
        super().__init__(tap, unit, portrait)
        self.intro = AutoSlot(spacing=18 * unit)
        self.state = AutoSlot()
        # The holder's own dossiers (chip read, consent): shown here only, gone with the citizen.
        self.dossiers = Slot(size_hint_y=None, spacing=10 * unit)
        self.dossiers.bind(minimum_height=self.dossiers.setter("height"))
        self.choices = Slot(spacing=24 * unit)
        if portrait:
            # Reading at the top, the answers in the lower two thirds: within reach from a wheelchair.
            self.choices.size_hint_y = 0.62
            for widget in (self.intro, self.state, self.dossiers, Widget(size_hint_y=0.05), self.choices):
                self.add_widget(widget)
        else:
            left, right = self.columns(0.55)
            left.add_widget(self.intro)
            left.add_widget(self.state)
            left.add_widget(self.dossiers)
            left.add_widget(Widget())
            right.add_widget(self.choices)

    def update(self, body: CardBody) -> None:
        u = self.u
        self.intro.show(
            (body.title, body.text),
            lambda: [
                self.title(body.title, 60),
                Text(body.text, size=40 * u, color=SOFT_INK, auto_height=True),
            ],
        )
        self.state.show((body.notice, body.busy), lambda: self.status(body.notice, body.busy))
        self.dossiers.show(
            body.dossiers,
            lambda: [Text(line, size=28 * u, color=NAVY, auto_height=True) for line in body.dossiers],
        )

        def choices() -> list[Widget]:
            tiles: list[Widget] = []
            for button in body.choices:
                if button.action == "consent":
                    colour = GREEN if button.arg == "yes" else DECLINE
                else:
                    colour = MENU_COLOURS.get(button.arg, NAVY)
                tiles.append(
                    Tile(button, self.tap, unit=u, bg=colour, label_size=56, detail_size=32, radius=24)
                )
            return tiles

        self.choices.show(body.choices, choices)
