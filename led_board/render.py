"""Draw an `Output` as LED pixels (Pillow), for dot-matrix boards and the simulator.

Two fonts: luma's 8-pixel legacy font for MAX7219 rows of 8 LEDs (ASCII only, so those lines are
folded), and DejaVu Sans Bold for lines of 12 LEDs or more, which has every Vietnamese letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

from .board import Output
from .errors import BoardError

FontKind = Literal["legacy", "ttf"]
DEFAULT_TTF = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
# Tallest Vietnamese capitals (stacked marks) and a descender: a line must hold all of them.
_PROBE = "ẦỄỸg"
MIN_TTF_LINE = 12


@lru_cache(maxsize=64)
def _ttf(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size)
    except OSError as error:
        raise BoardError(f"font {path}: {error}") from None


def fitting_size(path: str, line_height: int) -> int:
    """The largest font size whose tallest Vietnamese glyphs fit in `line_height` pixels."""
    size = line_height
    while size > 6:
        _, top, _, bottom = _ttf(path, size).getbbox(_PROBE)
        if bottom - top <= line_height:
            return size
        size -= 1
    return size


class PixelRenderer:
    """Output -> 1-bit image `width` pixels wide, one band of `heights[i]` pixel rows per line."""

    def __init__(
        self,
        width: int,
        heights: Sequence[int],
        *,
        font: FontKind = "ttf",
        ttf_path: str | Path = DEFAULT_TTF,
    ) -> None:
        if font == "ttf" and min(heights) < MIN_TTF_LINE:
            raise BoardError(f"a TTF font needs lines of {MIN_TTF_LINE} pixels or more, not {min(heights)}")
        self.width = width
        self.heights = tuple(heights)
        self.font = font
        self.ttf_path = str(ttf_path)
        self._sizes = [fitting_size(self.ttf_path, h) if font == "ttf" else 0 for h in self.heights]

    @property
    def size(self) -> tuple[int, int]:
        return self.width, sum(self.heights)

    def render(self, output: Output) -> Image.Image:
        image = Image.new("1", self.size, 0)
        draw = ImageDraw.Draw(image)
        top = 0
        for index, (text, align) in enumerate(zip(output.lines, output.aligns, strict=False)):
            if index >= len(self.heights):
                break
            if text and self.font == "legacy":
                self._legacy_line(draw, text, align, top)
            elif text:
                self._ttf_line(draw, text, align, top, index)
            top += self.heights[index]
        return image

    def _x(self, text_width: int, align: str) -> int:
        if align == "right":
            return max(0, self.width - text_width)
        if align == "center":
            return max(0, (self.width - text_width) // 2)
        return 0

    def _legacy_line(self, draw: ImageDraw.ImageDraw, text: str, align: str, top: int) -> None:
        from luma.core.legacy import text as legacy_text
        from luma.core.legacy import textsize
        from luma.core.legacy.font import LCD_FONT, proportional

        font = proportional(LCD_FONT)
        width, _ = textsize(text, font=font)
        legacy_text(draw, (self._x(width, align), top), text, fill=1, font=font)

    def _ttf_line(self, draw: ImageDraw.ImageDraw, text: str, align: str, top: int, index: int) -> None:
        size = self._sizes[index]
        height = self.heights[index]
        font = _ttf(self.ttf_path, size)
        # A long line is drawn smaller rather than cut: a ticket number must stay whole.
        while size > 6 and font.getlength(text) > self.width:
            size -= 1
            font = _ttf(self.ttf_path, size)
        probe_top, probe_bottom = font.getbbox(_PROBE)[1], font.getbbox(_PROBE)[3]
        y = top + (height - (probe_bottom - probe_top)) // 2 - probe_top
        draw.text((self._x(int(font.getlength(text)), align), y), text, fill=1, font=font)


COLOURS = {"red": (255, 40, 20), "amber": (255, 176, 0), "green": (40, 255, 90), "white": (240, 240, 240)}


def led_picture(
    pixels: Image.Image, *, dot: int = 6, colour: str = "red", brightness: int = 100
) -> Image.Image:
    """A photo-like picture of an LED panel: one round dot per pixel, dark dots where unlit.

    Drawn with whole-image operations (the dot pattern is made once per size): a simulated board
    redraws on every scroll step, and an ellipse per LED in Python cost a tenth of a core.
    """
    lit = COLOURS.get(colour, COLOURS["red"])
    scale = max(0.15, brightness / 100)
    on = tuple(int(channel * scale) for channel in lit)
    off = (38, 22, 20) if colour == "red" else (34, 30, 22)
    width, height = pixels.size
    margin = dot
    size = (width * dot, height * dot)
    lit_mask = pixels.convert("L").resize(size, Image.Resampling.NEAREST)
    dots = Image.composite(Image.new("RGB", size, on), Image.new("RGB", size, off), lit_mask)
    picture = Image.new("RGB", (size[0] + 2 * margin, size[1] + 2 * margin), (12, 12, 12))
    picture.paste(dots, (margin, margin), _dot_pattern(width, height, dot))
    return picture


@lru_cache(maxsize=8)
def _dot_pattern(width: int, height: int, dot: int) -> Image.Image:
    """A mask with one round dot per LED cell."""
    cell = Image.new("L", (dot, dot), 0)
    inset = max(1, dot // 6)
    ImageDraw.Draw(cell).ellipse((inset, inset, dot - inset, dot - inset), fill=255)
    pattern = Image.new("L", (width * dot, height * dot), 0)
    for y in range(height):
        for x in range(width):
            pattern.paste(cell, (x * dot, y * dot))
    return pattern
