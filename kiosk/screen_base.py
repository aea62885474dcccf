"""What every kiosk screen is made of: `Slot`s rebuilt only where the view changed, and the `Screen`
that lays its parts out in portrait or landscape (kiosk/screens.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from appliance.kivy_setup import RGBA

from .views import (
    Button,
    Keyboard,
    Notice,
)
from .widgets import (
    ALARM,
    CARD,
    CHIP,
    FAINT,
    INK,
    KEY,
    KEY_EDGE,
    NAVY,
    SOFT_INK,
    WHITE,
    NoticeBar,
    Panel,
    Text,
    Tile,
    rgb,
)

Tap = Callable[[str, str], None]
GREEN = rgb("2e7d32")


def action_tile(
    button: Button,
    tap: Tap,
    unit: float,
    *,
    label_size: float,
    bg: RGBA = GREEN,
    fg: RGBA = WHITE,
    width: float | None = None,
    height: float | None = None,
) -> Tile:
    """A one-line, centred touch target of a fixed width (in a row: "Xong", the header's buttons) or
    height (under a card: "Lấy số")."""
    fixed = (
        {"size_hint_x": None, "width": width * unit}
        if width is not None
        else {"size_hint_y": None, "height": (height or 0) * unit}
    )
    return Tile(button, tap, unit=unit, bg=bg, fg=fg, label_size=label_size, halign="center", **fixed)


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
    """A slot as tall as what it holds (headings, keyboards, notices, status lines)."""

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
            row.add_widget(action_tile(submit, self.tap, u, label_size=42, width=270))
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
