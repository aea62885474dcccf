"""What a ticket, a receipt and a test page look like on thermal paper: pure Pillow rendering.

Everything is drawn as a picture, so Vietnamese prints on any ESC/POS printer whatever its code pages
(../shared/design/HARDWARE.md): text is set in a Unicode TTF (DejaVu Sans) on a grey canvas and
thresholded to 1 bit at the end (dithering would fray the letters). The result is an image exactly
`paper.dots` wide, ready for `GS v 0`.

No I/O except reading the font files. This module holds the means (paper, fonts, the `Sheet` that
lines are set on, QR and barcodes); ticket_printer/documents.py the documents drawn with them, which
`motcua render` and the daemon share.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import segno
from barcode.codex import Code128
from PIL import Image, ImageDraw, ImageFont, ImageOps

from .errors import FontError, LayoutError

Align = Literal["left", "center", "right"]
FreeTypeFont = ImageFont.FreeTypeFont

SYSTEM_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
# A site may ship its own copy of the fonts next to the package (setup installs them otherwise).
PACKAGE_FONT_DIR = Path(__file__).with_name("fonts")
REGULAR_FONT = "DejaVuSans.ttf"
BOLD_FONT = "DejaVuSans-Bold.ttf"
# Tallest and deepest glyphs a Vietnamese line can hold: stacked marks above capitals, dot below.
_TALL_SAMPLE = "ẾỄỖẴẪỂÃÕĨŨỸÁ"
_DEEP_SAMPLE = "gjpqyỵỴọẠ"

WHITE = 255
BLACK = 0
# A label wider than this share of the line is printed above its value rather than before it.
STACK_LABEL = 0.4


def threshold(image: Image.Image) -> Image.Image:
    """Grey → 1 bit without dithering: anti-aliased letter edges become clean, not speckled."""
    return image.point(lambda value: 255 if value > 128 else 0, "1")


@dataclass(frozen=True)
class PaperSpec:
    """Printable width in dots and the type sizes (pixels) that read well on it."""

    dots: int
    mm: int
    margin: int
    small: int
    body: int
    heading: int
    title: int
    number: int  # largest size of the queue number
    line_gap: int

    @property
    def inner(self) -> int:
        return self.dots - 2 * self.margin


PAPERS: dict[int, PaperSpec] = {
    # 58 mm roll, 203 dpi: 48 mm printable = 384 dots.
    384: PaperSpec(384, mm=58, margin=6, small=18, body=21, heading=25, title=28, number=150, line_gap=4),
    # 80 mm roll on 180 dpi Epson TM-T88 (512 dots).
    512: PaperSpec(512, mm=80, margin=10, small=21, body=24, heading=29, title=33, number=190, line_gap=5),
    # 80 mm roll, 203 dpi: 72 mm printable = 576 dots.
    576: PaperSpec(576, mm=80, margin=12, small=22, body=26, heading=31, title=36, number=210, line_gap=5),
}


def paper_for(dots: int) -> PaperSpec:
    try:
        return PAPERS[dots]
    except KeyError:
        widths = ", ".join(str(width) for width in PAPERS)
        raise ValueError(f"paper width {dots} dots is not supported (use one of {widths})") from None


class Fonts:
    """Regular and bold DejaVu Sans at any size, loaded once per size."""

    def __init__(self, font_dir: str | Path | None = None) -> None:
        candidates = [Path(font_dir)] if font_dir else [PACKAGE_FONT_DIR, SYSTEM_FONT_DIR]
        self.font_dir = next((d for d in candidates if (d / REGULAR_FONT).is_file()), candidates[-1])
        for name in (REGULAR_FONT, BOLD_FONT):
            if not (self.font_dir / name).is_file():
                raise FontError(path=str(self.font_dir / name))
        self._fonts: dict[tuple[int, bool], FreeTypeFont] = {}
        self._extent: dict[tuple[int, bool], tuple[int, int]] = {}

    def get(self, size: int, bold: bool = False) -> FreeTypeFont:
        key = (size, bold)
        font = self._fonts.get(key)
        if font is None:
            font = ImageFont.truetype(str(self.font_dir / (BOLD_FONT if bold else REGULAR_FONT)), size)
            self._fonts[key] = font
        return font

    def extent(self, size: int, bold: bool = False) -> tuple[int, int]:
        """(above, below) the baseline that any Vietnamese line of this font can reach."""
        key = (size, bold)
        extent = self._extent.get(key)
        if extent is None:
            font = self.get(size, bold)
            ascent, descent = font.getmetrics()
            top = -font.getbbox(_TALL_SAMPLE, anchor="ls")[1]
            bottom = font.getbbox(_DEEP_SAMPLE, anchor="ls")[3]
            extent = (max(ascent, top) + 1, max(descent, bottom) + 1)
            self._extent[key] = extent
        return extent


@functools.cache
def default_fonts() -> Fonts:
    return Fonts()


# A line is a list of (x, text, font) pieces; x is measured from the left margin.
Piece = tuple[float, str, FreeTypeFont]


def _break_word(word: str, font: FreeTypeFont, width: float) -> list[str]:
    """Split a word wider than the line (a long URL, a code) at character boundaries."""
    pieces: list[str] = []
    current = ""
    for char in word:
        if current and font.getlength(current + char) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    pieces.append(current)
    return pieces


def wrap_runs(
    runs: Sequence[tuple[str, FreeTypeFont]], width: float, *, indent: float = 0
) -> list[list[Piece]]:
    """Greedy word wrap of runs of text in different fonts; continuation lines start at `indent`."""
    lines: list[list[Piece]] = []
    line: list[Piece] = []
    x = 0.0
    for text, font in runs:
        for word in text.split():
            space = font.getlength(" ") if line else 0.0
            advance = font.getlength(word)
            if line and x + space + advance > width:
                lines.append(line)
                line, x, space = [], indent, 0.0
            if not line and x + advance > width:
                pieces = _break_word(word, font, width - x)
                for piece in pieces[:-1]:
                    lines.append([(x, piece, font)])
                    x = indent
                word = pieces[-1]
                advance = font.getlength(word)
            line.append((x + space, word, font))
            x += space + advance
    if line:
        lines.append(line)
    return lines


def _line_width(line: Sequence[Piece]) -> float:
    x, text, font = line[-1]
    return x + font.getlength(text)


def _merge(line: Sequence[Piece]) -> Iterable[Piece]:
    """Join neighbouring words of the same font into one draw call (faster, keeps kerning)."""
    start_x, words, font = line[0][0], [line[0][1]], line[0][2]
    for x, text, piece_font in line[1:]:
        if piece_font is font:
            words.append(text)
        else:
            yield start_x, " ".join(words), font
            start_x, words, font = x, [text], piece_font
    yield start_x, " ".join(words), font


class Sheet:
    """A strip of paper built top to bottom; `finish()` returns the thresholded 1-bit image."""

    def __init__(self, paper: PaperSpec, fonts: Fonts, *, max_height: int) -> None:
        self.paper = paper
        self.fonts = fonts
        self.max_height = max_height
        self._strips: list[Image.Image] = []
        self.height = 0

    def _add(self, strip: Image.Image, what: str) -> None:
        if self.height + strip.height > self.max_height:
            raise LayoutError(detail=f"{what}: longer than {self.max_height} dots of paper")
        self._strips.append(strip)
        self.height += strip.height

    def strip(self, image: Image.Image, *, what: str = "strip") -> None:
        """A full-width picture drawn edge to edge (margins included)."""
        if image.width != self.paper.dots:
            raise LayoutError(detail=f"{what}: {image.width} dots wide, the paper has {self.paper.dots}")
        self._add(image.convert("L"), what)

    def gap(self, dots: int) -> None:
        if dots > 0:
            self._add(Image.new("L", (self.paper.dots, dots), WHITE), "gap")

    def runs(
        self,
        runs: Sequence[tuple[str, FreeTypeFont]],
        *,
        align: Align = "left",
        indent: int = 0,
        max_lines: int | None = None,
        what: str = "text",
        inset: int = 0,
        tight: bool = False,
    ) -> None:
        """Wrapped text made of runs in different fonts (e.g. a bold label then a regular value)."""
        width = self.paper.inner - 2 * inset
        lines = wrap_runs(runs, width, indent=indent)
        if not lines:
            return
        if max_lines is not None and len(lines) > max_lines:
            raise LayoutError(detail=f"{what}: needs {len(lines)} lines, at most {max_lines} fit")
        if tight:
            # Only this text's own ink: the queue number needs no room for marks it does not have.
            boxes = [font.getbbox(text, anchor="ls") for text, font in runs]
            above, below = -min(box[1] for box in boxes) + 2, max(box[3] for box in boxes) + 2
        else:
            fonts = {font.size for _, font in runs}
            bold = any(font.path.endswith(BOLD_FONT) for _, font in runs)
            above, below = self.fonts.extent(max(fonts), bold)
        line_height = above + below + self.paper.line_gap
        strip = Image.new("L", (self.paper.dots, line_height * len(lines)), WHITE)
        draw = ImageDraw.Draw(strip)
        for row, line in enumerate(lines):
            free = width - _line_width(line)
            offset = {"left": 0.0, "center": free / 2, "right": free}[align]
            baseline = row * line_height + above
            for x, text, font in _merge(line):
                draw.text(
                    (self.paper.margin + inset + offset + x, baseline),
                    text,
                    font=font,
                    fill=BLACK,
                    anchor="ls",
                )
        self._add(strip, what)

    def text(
        self,
        text: str,
        size: int,
        *,
        bold: bool = False,
        align: Align = "left",
        max_lines: int | None = None,
        what: str = "text",
        shrink_to: int | None = None,
        tight: bool = False,
    ) -> None:
        """Wrapped text; with `shrink_to`, the largest size down to it that fits on one line is used."""
        if shrink_to is not None:
            size = self._fitting_size(text, size, shrink_to, bold)
            if size is None:
                if max_lines == 1:
                    raise LayoutError(detail=f"{what} “{text}” is wider than the paper")
                size = shrink_to
        font = self.fonts.get(size, bold)
        self.runs([(text, font)], align=align, max_lines=max_lines, what=what, tight=tight)

    def _fitting_size(self, text: str, largest: int, smallest: int, bold: bool) -> int | None:
        for size in range(largest, smallest - 1, -1):
            if self.fonts.get(size, bold).getlength(text) <= self.paper.inner:
                return size
        return None

    def field(self, label: str, value: str, size: int, *, max_lines: int = 12, what: str = "field") -> None:
        """`Label: value` with a bold label. On one line when it fits; a long label (more than
        `STACK_LABEL` of the width) goes on its own line so the value is not split around it."""
        bold, regular = self.fonts.get(size, True), self.fonts.get(size)
        label_width = bold.getlength(label)
        together = label_width + regular.getlength(" " + value) if value else label_width
        if value and together > self.paper.inner and label_width > STACK_LABEL * self.paper.inner:
            self.runs([(label, bold)], max_lines=3, what=what)
            self.runs([(value, regular)], max_lines=max_lines, what=what)
            return
        self.runs([(label, bold), (value, regular)], max_lines=max_lines, what=what)

    def rule(self, *, dashed: bool = False, thickness: int = 2, pad: int = 6) -> None:
        strip = Image.new("L", (self.paper.dots, thickness + 2 * pad), WHITE)
        draw = ImageDraw.Draw(strip)
        left, right = self.paper.margin, self.paper.dots - self.paper.margin
        if dashed:
            for x in range(left, right, 12):
                draw.rectangle((x, pad, min(x + 6, right) - 1, pad + thickness - 1), fill=BLACK)
        else:
            draw.rectangle((left, pad, right - 1, pad + thickness - 1), fill=BLACK)
        self._add(strip, "rule")

    def underline(self, width: int, *, thickness: int = 2, pad: int = 4) -> None:
        """A short centred line, as under the national motto."""
        strip = Image.new("L", (self.paper.dots, thickness + 2 * pad), WHITE)
        left = (self.paper.dots - width) // 2
        ImageDraw.Draw(strip).rectangle((left, pad, left + width - 1, pad + thickness - 1), fill=BLACK)
        self._add(strip, "rule")

    def picture(self, image: Image.Image, *, align: Align = "center", what: str = "picture") -> None:
        if image.width > self.paper.inner:
            raise LayoutError(detail=f"{what}: {image.width} dots wide, the paper has {self.paper.inner}")
        strip = Image.new("L", (self.paper.dots, image.height), WHITE)
        free = self.paper.inner - image.width
        x = self.paper.margin + {"left": 0, "center": free // 2, "right": free}[align]
        strip.paste(image.convert("L"), (x, 0))
        self._add(strip, what)

    def badge(self, text: str, size: int, *, pad: int = 6) -> None:
        """White bold letters on a black box, centred: the priority mark."""
        font = self.fonts.get(size, True)
        above, below = self.fonts.extent(size, True)
        width = math.ceil(font.getlength(text)) + 4 * pad
        height = above + below + 2 * pad
        if width > self.paper.inner:
            raise LayoutError(detail=f"mark “{text}” is wider than the paper")
        strip = Image.new("L", (self.paper.dots, height), WHITE)
        draw = ImageDraw.Draw(strip)
        left = (self.paper.dots - width) // 2
        draw.rounded_rectangle((left, 0, left + width - 1, height - 1), radius=pad, fill=BLACK)
        draw.text((left + 2 * pad, pad + above), text, font=font, fill=WHITE, anchor="ls")
        self._add(strip, "priority mark")

    def item(self, marker: str, text: str, right: str, size: int, *, what: str = "item") -> None:
        """A numbered list entry: `marker` in its own column, wrapped text, `right` flush right."""
        font = self.fonts.get(size)
        marker_width = math.ceil(font.getlength("00.")) + 8
        right_width = math.ceil(font.getlength(right)) + 8
        text_width = self.paper.inner - marker_width - right_width
        lines = wrap_runs([(text, font)], text_width)
        if len(lines) > 12:
            raise LayoutError(detail=f"{what}: needs {len(lines)} lines, at most 12 fit")
        above, below = self.fonts.extent(size)
        line_height = above + below + self.paper.line_gap
        strip = Image.new("L", (self.paper.dots, line_height * len(lines)), WHITE)
        draw = ImageDraw.Draw(strip)
        left = self.paper.margin
        draw.text((left + marker_width - 6, above), marker, font=font, fill=BLACK, anchor="rs")
        draw.text((self.paper.dots - self.paper.margin, above), right, font=font, fill=BLACK, anchor="rs")
        for row, line in enumerate(lines):
            for x, piece, piece_font in _merge(line):
                draw.text(
                    (left + marker_width + x, row * line_height + above),
                    piece,
                    font=piece_font,
                    fill=BLACK,
                    anchor="ls",
                )
        self._add(strip, what)

    def finish(self) -> Image.Image:
        """The whole sheet as a 1-bit image, `paper.dots` wide."""
        image = Image.new("L", (self.paper.dots, max(self.height, 1)), WHITE)
        y = 0
        for strip in self._strips:
            image.paste(strip, (0, y))
            y += strip.height
        return threshold(image)


def qr_image(data: str, *, target: int, error: str = "m", border: int = 2) -> Image.Image:
    """A QR code with square modules of a whole number of dots, about `target` dots wide."""
    try:
        code = segno.make(data, error=error, micro=False)
    except segno.DataOverflowError:
        raise LayoutError(detail="QR content is too long") from None
    size = code.symbol_size(scale=1, border=0)[0]
    scale = max(2, target // (size + 2 * border))
    light_dark = bytes.maketrans(b"\x00\x01", b"\xff\x00")
    pixels = b"".join(bytes(row).translate(light_dark) for row in code.matrix)
    image = Image.frombytes("L", (size, size), pixels).resize((size * scale,) * 2, Image.Resampling.NEAREST)
    return ImageOps.expand(image, border=border * scale, fill=WHITE)


def code128_image(data: str, *, max_width: int, height: int, quiet: int = 10) -> Image.Image:
    """Code 128 bars from python-barcode's module pattern, each module a whole number of dots."""
    modules = Code128(data).build()[0]
    total = len(modules) + 2 * quiet
    module = max_width // total
    if module < 1:
        raise LayoutError(detail=f"Code 128 of “{data}” needs {total} dots, the paper has {max_width}")
    row = bytes(BLACK if bit == "1" else WHITE for bit in modules)
    bars = Image.frombytes("L", (len(modules), 1), row)
    bars = bars.resize((len(modules) * module, height), Image.Resampling.NEAREST)
    return ImageOps.expand(bars, border=(quiet * module, 0), fill=WHITE)
