"""Server-rendered SVG bar charts for the reports page (no script, no CDN; presentation attributes
only, so the page's Content-Security-Policy needs no inline style)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#2f6fb3", "#8cb8e4", "#d9822b")


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
        f'width="100%" role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="16" font-size="14" font-weight="bold" fill="#222">{escape(title)}</text>',
    ]
    for index, (name, _) in enumerate(series):
        x = left + index * 150
        parts.append(f'<rect x="{x}" y="22" width="10" height="10" fill="{PALETTE[index % 3]}"/>')
        parts.append(f'<text x="{x + 14}" y="31" font-size="11" fill="#333">{escape(name)}</text>')
    for row, label in enumerate(labels):
        y0 = top + row * group
        parts.append(
            f'<text x="{left - 6}" y="{y0 + group / 2 + 2:.0f}" font-size="12" text-anchor="end" '
            f'fill="#222">{escape(label[:30])}</text>'
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
