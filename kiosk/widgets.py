"""Small kivy widgets of the kiosk: coloured panels, wrapping text, big touch tiles, a QR code.

Import only after kiosk.app.open_screen() (kivy reads its configuration on first import of the window).
Sizes are in pixels of a 1080-pixel short side, scaled by `unit` for other screens.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import segno
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Line, Rectangle, RoundedRectangle
from kivy.graphics.texture import Texture
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from appliance.kivy_setup import FONT, RGBA, hex_rgba

from .views import Button, NoticeKind

rgb = hex_rgba


# A light, high-contrast palette: dark ink on a warm white, the red and gold of public signage.
PAPER = rgb("f5f2ea")
CARD = rgb("ffffff")
INK = rgb("1a2230")
SOFT_INK = rgb("4a5568")
FAINT = rgb("8a94a6")
HEADER = rgb("8e1b1b")
GOLD = rgb("ffd54f")
WHITE = rgb("ffffff")
NAVY = rgb("1d3f6e")
NAVY_DOWN = rgb("122a4a")
CHIP = rgb("e3e8f0")
SELECTED = rgb("ffc107")
KEY = rgb("ffffff")
KEY_EDGE = rgb("c9d1dd")
ALARM = rgb("c62828")
MENU_COLOURS = {
    "services": rgb("1d5fa8"),
    "dossier": rgb("2e7d32"),
    "procedures": rgb("6a3d9a"),
    "rating": rgb("c25a00"),
    "booking": rgb("00796b"),
}
NOTICE_COLOURS: dict[NoticeKind, tuple[RGBA, RGBA]] = {
    "info": (rgb("e3eefb"), rgb("163d6b")),
    "ok": (rgb("e4f4e5"), rgb("1b5e20")),
    "warn": (rgb("fff3cd"), rgb("7a4a00")),
    "error": (rgb("fdecea"), rgb("a31515")),
}
# Best to worst, dark enough for white text.
SCORE_COLOURS = [rgb("2e7d32"), rgb("558b2f"), rgb("8d6e00"), rgb("c43e00"), rgb("b71c1c")]

# The assist mode's high contrast: yellow and white on black, every touch target outlined in yellow.
HC_BLACK = rgb("000000")
HC_YELLOW = rgb("ffeb3b")
HC_RED = rgb("ff8a80")
HC_NOTICE: dict[NoticeKind, RGBA] = {
    "info": WHITE,
    "ok": rgb("69f0ae"),
    "warn": HC_YELLOW,
    "error": HC_RED,
}
ASSIST_TEXT_SCALE = 1.2


class Style:
    """How widgets built from now on look: the plain palette, or the assist mode's high contrast
    with larger text. Set by the screen's root before it rebuilds (kiosk/screens.py)."""

    contrast = False
    text_scale = 1.0


STYLE = Style()


def set_assist(on: bool) -> None:
    STYLE.contrast = on
    STYLE.text_scale = ASSIST_TEXT_SCALE if on else 1.0


def _luminance(colour: RGBA) -> float:
    return 0.2126 * colour[0] + 0.7152 * colour[1] + 0.0722 * colour[2]


def paint_bg(colour: RGBA) -> RGBA:
    """A surface's colour: black in high contrast, except the yellow that marks a choice."""
    if not STYLE.contrast or colour[3] == 0:
        return colour
    return HC_YELLOW if colour in (SELECTED, GOLD) else HC_BLACK


def paint_fg(colour: RGBA) -> RGBA:
    """A text's colour: white, yellow (on what was a coloured tile) or light red in high contrast."""
    if not STYLE.contrast:
        return colour
    red, green, _blue, _alpha = colour
    if red > 0.6 and green < 0.35:
        return HC_RED
    return WHITE if _luminance(colour) < 0.5 else HC_YELLOW


def darker(colour: RGBA, factor: float = 0.78) -> RGBA:
    return (colour[0] * factor, colour[1] * factor, colour[2] * factor, colour[3])


class Panel(BoxLayout):
    """A BoxLayout on a (rounded) coloured background, with an optional outline."""

    def __init__(
        self, bg: RGBA = CARD, radius: float = 0, edge: RGBA | None = None, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)
        bg = paint_bg(bg)
        if STYLE.contrast and edge is not None:
            edge = HC_YELLOW
        with self.canvas.before:
            self._colour = Color(*bg)
            self._shape = (
                RoundedRectangle(pos=self.pos, size=self.size, radius=[radius])
                if radius
                else Rectangle(pos=self.pos, size=self.size)
            )
            self._edge_colour = Color(*(edge or (0, 0, 0, 0)))
            width = 3.0 if STYLE.contrast else 1.6
            self._edge = Line(rounded_rectangle=(*self.pos, *self.size, max(radius, 1)), width=width)
        self._radius = radius
        self.bind(pos=self._redraw, size=self._redraw)

    def _redraw(self, *_: object) -> None:
        self._shape.pos, self._shape.size = self.pos, self.size
        self._edge.rounded_rectangle = (*self.pos, *self.size, max(self._radius, 1))

    def set_background(self, colour: RGBA) -> None:
        self._colour.rgba = colour


class Text(Label):
    """Wrapping text. `auto_height=True` makes the widget as tall as its lines."""

    def __init__(
        self,
        text: str = "",
        *,
        size: float,
        bold: bool = False,
        color: RGBA = INK,
        halign: str = "left",
        valign: str = "middle",
        auto_height: bool = False,
        max_lines: int = 0,
        shrink: bool = False,
        keep_color: bool = False,
        scaled: bool = True,
        **kwargs: object,
    ) -> None:
        if scaled:  # False: a fixed-height band (the header) keeps its sizes
            size *= STYLE.text_scale
        if not keep_color:
            color = paint_fg(color)
        self.base_size = size
        self.shrink = shrink
        super().__init__(
            text=text,
            font_name=FONT,
            font_size=size,
            bold=bold,
            color=color,
            halign=halign,
            valign=valign,
            max_lines=max_lines,
            shorten=max_lines == 1,  # kivy's shorten always means one line
            shorten_from="right",
            **kwargs,
        )
        self.auto_height = auto_height
        if auto_height:
            self.size_hint_y = None
            self.bind(texture_size=self._grow)
        self.bind(size=self._wrap)
        self._wrap()

    def _wrap(self, *_: object) -> None:
        self.text_size = (max(1.0, self.width), None if self.auto_height else max(1.0, self.height))
        if self.shrink and self.text and self.width > 4:
            # One line that must stay whole (a dossier code): smaller letters rather than "…".
            width = CoreLabel(font_name=FONT, font_size=self.base_size, bold=self.bold).get_extents(
                self.text
            )[0]
            room = self.width * 0.98
            self.font_size = self.base_size * min(1.0, max(0.55, room / max(1, width)))

    def _grow(self, *_: object) -> None:
        self.height = self.texture_size[1]


class BigNumber(Label):
    """A ticket number as large as its box allows."""

    def __init__(self, text: str, *, color: RGBA = INK, **kwargs: object) -> None:
        super().__init__(
            text=text,
            font_name=FONT,
            bold=True,
            color=paint_fg(color),
            halign="center",
            valign="middle",
            **kwargs,
        )
        self.bind(size=self._fit)

    def _fit(self, *_: object) -> None:
        self.text_size = self.size
        characters = max(3, len(self.text))
        self.font_size = max(10.0, min(self.height * 0.82, self.width * 1.55 / characters))


class Tile(ButtonBehavior, Panel):
    """A large touch target for one `Button` of the view: a label, a smaller detail, a warning note."""

    def __init__(
        self,
        button: Button,
        on_tap: Callable[[str, str], None],
        *,
        unit: float,
        bg: RGBA = NAVY,
        fg: RGBA = WHITE,
        label_size: float = 44,
        detail_size: float = 30,
        halign: str = "left",
        radius: float = 18,
        edge: RGBA | None = None,
        min_height: float | None = None,
        **kwargs: object,
    ) -> None:
        """`min_height` (unscaled): the tile grows with its text from that height (lists of results);
        without it the layout decides the height and the text is centred in it."""
        if button.selected:
            bg, fg = SELECTED, INK
        keep = False
        if STYLE.contrast:  # every target outlined; yellow text on black, black on a yellow choice
            edge = HC_YELLOW
            keep = paint_bg(bg) == HC_YELLOW
            fg = HC_BLACK if keep else HC_YELLOW
            keep = True
        super().__init__(
            bg=bg,
            radius=radius * unit,
            edge=edge,
            orientation="vertical",
            spacing=4 * unit,
            **{"padding": (24 * unit, 10 * unit), **kwargs},
        )
        self.action = button.action
        self.arg = button.arg
        self._bg = paint_bg(bg)
        self._on_tap = on_tap
        texts = [
            Text(
                button.label,
                size=label_size * unit,
                bold=True,
                color=fg,
                halign=halign,
                auto_height=True,
                keep_color=keep,
            )
        ]
        if button.detail:
            texts.append(
                Text(
                    button.detail,
                    size=detail_size * unit,
                    color=WHITE if STYLE.contrast and fg != HC_BLACK else fg,
                    halign=halign,
                    auto_height=True,
                    keep_color=keep,
                )
            )
        if button.note:
            note_colour = rgb("ffcc80") if fg == WHITE else ALARM
            texts.append(
                Text(
                    button.note,
                    size=detail_size * 0.9 * unit,
                    color=note_colour,
                    halign=halign,
                    auto_height=True,
                )
            )
        spacers = min_height is None
        if spacers:
            self.add_widget(Widget(size_hint_y=0.001))
        for text in texts:
            self.add_widget(text)
        if spacers:
            self.add_widget(Widget(size_hint_y=0.001))
        else:
            self.size_hint_y = None
            self._texts = texts
            self._min_height = (min_height or 0) * unit
            for text in texts:
                text.bind(height=self._grow)
            self._grow()
        self.bind(state=self._pressed)

    def _grow(self, *_: object) -> None:
        content = sum(text.height for text in self._texts) + self.spacing * (len(self._texts) - 1)
        self.height = max(self._min_height, content + self.padding[1] + self.padding[3])

    def _pressed(self, *_: object) -> None:
        self.set_background(darker(self._bg) if self.state == "down" else self._bg)

    def on_release(self) -> None:
        self._on_tap(self.action, self.arg)


class NoticeBar(Panel):
    def __init__(
        self, text: str, kind: NoticeKind, *, unit: float, size: float = 34, **kwargs: object
    ) -> None:
        bg, fg = NOTICE_COLOURS[kind]
        edge = None
        if STYLE.contrast:
            fg = edge = HC_NOTICE[kind]
        super().__init__(
            bg=bg, edge=edge, radius=14 * unit, padding=(24 * unit, 14 * unit), size_hint_y=None, **kwargs
        )
        if edge is not None:
            self._edge_colour.rgba = edge  # a notice's frame in its own colour, not a button's yellow
        self.label = Text(
            text,
            size=size * unit,
            color=fg,
            bold=kind in ("error", "warn"),
            auto_height=True,
            keep_color=STYLE.contrast,
        )
        self.add_widget(self.label)
        self.label.bind(height=self._fit)
        self._pad = 28 * unit
        self._fit()

    def _fit(self, *_: object) -> None:
        self.height = self.label.height + self._pad


@lru_cache(maxsize=32)
def qr_pixels(url: str, border: int = 4) -> tuple[int, bytes]:
    """The QR code of `url` (segno, error correction M) as one byte per module, 0 black / 255 white,
    bottom row first (kivy's textures start at the bottom), with the standard 4-module quiet zone."""
    matrix = [[bool(module) for module in row] for row in segno.make(url, error="m").matrix]
    side = len(matrix) + 2 * border
    rows = [bytes([255]) * side] * border
    for row in matrix:
        rows.append(bytes([255]) * border + bytes(0 if dark else 255 for dark in row) + bytes([255]) * border)
    rows += [bytes([255]) * side] * border
    return side, b"".join(reversed(rows))


class QrCode(Image):
    """A QR code drawn from a tiny one-byte-per-module texture scaled up without smoothing: crisp
    modules, and no PNG to encode and decode while the citizen waits for their number."""

    def __init__(self, url: str, **kwargs: object) -> None:
        side, pixels = qr_pixels(url)
        texture = Texture.create(size=(side, side), colorfmt="luminance")
        texture.blit_buffer(pixels, colorfmt="luminance", bufferfmt="ubyte")
        texture.mag_filter = "nearest"
        texture.min_filter = "nearest"
        super().__init__(texture=texture, fit_mode="contain", **kwargs)
