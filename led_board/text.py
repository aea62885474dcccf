"""Text helpers for LED boards: fold Vietnamese to ASCII for modules without a Unicode font,
fit text to a line, and window a scrolling message. Pure functions."""

from __future__ import annotations

import unicodedata
from typing import Literal

Align = Literal["left", "center", "right"]

# Letters and signs NFD does not decompose, or that a 7-bit module cannot show.
_ASCII_EXTRA = str.maketrans(
    {
        "đ": "d",
        "Đ": "D",
        "→": ">",
        "←": "<",
        "–": "-",
        "—": "-",
        "…": "...",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "·": "-",
        "\u00a0": " ",
    }
)
SCROLL_GAP = "   "


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold_ascii(text: str) -> str:
    """Vietnamese without diacritics ("QUẦY SỐ" -> "QUAY SO"); anything else non-ASCII becomes "?".

    Modules with a 7-bit font print garbage for UTF-8; an unaccented word is still readable."""
    decomposed = unicodedata.normalize("NFD", text.translate(_ASCII_EXTRA))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return "".join(ch if ord(ch) < 128 and (ch.isprintable()) else "?" for ch in stripped)


def digits_only(text: str) -> str:
    """What a numbers-only line can show of `text`: digits, spaces and dashes."""
    return "".join(ch for ch in text if ch.isdigit() or ch in " -")


def fit(text: str, columns: int, align: Align = "left") -> str:
    """Exactly `columns` characters: cut on the right, padded as `align` says."""
    text = text[:columns]
    if align == "right":
        return text.rjust(columns)
    if align == "center":
        return text.center(columns)
    return text.ljust(columns)


def scroll_window(text: str, columns: int, offset: int) -> str:
    """The `columns` characters visible at step `offset` of a message scrolling right to left in a loop."""
    if len(text) <= columns:
        return text
    loop = text + SCROLL_GAP
    start = offset % len(loop)
    return (loop + loop)[start : start + columns]
