"""Server-rendered SVG bar charts for the reports page (no script, no CDN; presentation attributes
only, so the page's Content-Security-Policy needs no inline style)."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup
from PIL import ImageFont

PALETTE = ("#2f6fb3", "#8cb8e4", "#d9822b")
# The page's font (motcua.css), named on the chart too so the measured widths are the drawn ones.
FONT_FAMILY = "DejaVu Sans, Noto Sans, Arial, sans-serif"
FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf")
LABEL_SIZE = 12
LABEL_LINE = 14  # px between the lines of a wrapped label
ELLIPSIS = "…"


@functools.cache
def _measure(size: int) -> Callable[[str], float]:
    """Width of a text in px at `size`: DejaVu Sans as the browser draws it; without the font file,
    a generous average (DejaVu is wide), so a label errs on the short side."""
    for path in FONT_FILES:
        try:
            font = ImageFont.truetype(path, size)
        except OSError:
            continue
        return font.getlength
    return lambda text: len(text) * size * 0.66


def graphemes(text: str) -> list[str]:
    """The text as the glyphs a reader sees: a base letter with its combining marks (a decomposed
    “ệ” is e + ̣ + ̂) and joined sequences stay whole, so a cut never strips a letter's tone mark."""
    clusters: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        joins = clusters and (
            unicodedata.combining(char) or char in "\u200d\ufe0f" or clusters[-1][-1] == "\u200d"
        )
        if joins:
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


def _fit(clusters: list[str], width: float, measure: Callable[[str], float], tail: str = "") -> int:
    """How many of `clusters` fit in `width` followed by `tail` (at least one)."""
    count = len(clusters)
    while count > 1 and measure("".join(clusters[:count]) + tail) > width:
        count -= 1
    return count


def wrap_label(text: str, width: float, max_lines: int, size: int = LABEL_SIZE) -> list[str]:
    """`text` in at most `max_lines` lines of `width` px: broken between words (a word too long for a
    line between glyphs), the last line ending in “…” when the rest does not fit. Never mid-glyph."""
    measure = _measure(size)
    lines: list[str] = []
    words = unicodedata.normalize("NFC", text).split()
    while words and len(lines) < max_lines:
        line = ""
        while words:
            candidate = f"{line} {words[0]}" if line else words[0]
            if measure(candidate) <= width:
                line, words = candidate, words[1:]
                continue
            if not line:  # one word wider than the line: as many glyphs as fit
                clusters = graphemes(words[0])
                taken = _fit(clusters, width, measure)
                line, words = "".join(clusters[:taken]), ["".join(clusters[taken:]), *words[1:]]
            break
        lines.append(line)
    if words:  # more than fits: the last line ends in an ellipsis, cut between glyphs
        clusters = graphemes(f"{lines[-1]} {' '.join(words)}")
        taken = _fit(clusters, width, measure, ELLIPSIS)
        lines[-1] = "".join(clusters[:taken]).rstrip() + ELLIPSIS
    return lines


def bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    bar_height: int = 15,
) -> Markup:
    """Horizontal grouped bars: one group per label, one bar per series, values written at the end."""
    left, right, top = 190, 70, 34
    group = bar_height * len(series) + 8
    height = top + group * max(1, len(labels)) + 10
    peak = max((v for _, values in series for v in values if v is not None), default=0) or 1
    scale = (width - left - right) / peak
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" font-family="{FONT_FAMILY}">',
        f'<text x="0" y="16" font-size="14" font-weight="bold" fill="#222">{escape(title)}</text>',
    ]
    for index, (name, _) in enumerate(series):
        x = left + index * 150
        parts.append(f'<rect x="{x}" y="22" width="10" height="10" fill="{PALETTE[index % 3]}"/>')
        parts.append(f'<text x="{x + 14}" y="31" font-size="11" fill="#333">{escape(name)}</text>')
    # Labels wrap on as many lines as their group of bars is tall; the full name is in a <title>.
    max_lines = max(1, (group - 4) // LABEL_LINE)
    for row, label in enumerate(labels):
        y0 = top + row * group
        lines = wrap_label(label, left - 12, max_lines)
        first = y0 + group / 2 + 4 - (len(lines) - 1) * LABEL_LINE / 2
        spans = "".join(
            f'<tspan x="{left - 6}" y="{first + index * LABEL_LINE:.0f}">{escape(line)}</tspan>'
            for index, line in enumerate(lines)
        )
        parts.append(
            f'<text class="chart-label" font-size="{LABEL_SIZE}" text-anchor="end" fill="#222">'
            f"<title>{escape(label)}</title>{spans}</text>"
        )
        for index, (_, values) in enumerate(series):
            value = values[row]
            y = y0 + index * bar_height
            length = (value or 0) * scale
            parts.append(
                f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar_height - 2}" '
                f'fill="{PALETTE[index % 3]}"/>'
            )
            shown = "–" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
            parts.append(
                f'<text x="{left + length + 4:.1f}" y="{y + bar_height - 4}" font-size="11" '
                f'fill="#333">{escape(shown)}{escape(unit)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
