"""Vietnamese in the printer's own fonts: the TCVN-3 code pages of Epson-style firmware.

TCVN-3 needs two code pages, one for lower case (python-escpos "TCVN-3-1", ESC t 30 on Epson) and one
for upper case ("TCVN-3-2", ESC t 31); ASCII is the same in every page, CP437 (ESC t 0) is the
printer's default. python-escpos's `MagicEncode` switches between pages as it writes; here it is given
only these three pages, so that it never wanders into another page the firmware may lack.

The character tables are python-escpos's own (capabilities.json). Their upper-case page spells "Đ"
with its look-alike "Ð" (U+00D0), hence `PRINTER_SPELLING`. Every Vietnamese letter is in the tables;
anything else is brought down to something they hold by `printable_tcvn3` (pure, no printer needed).
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

from escpos.capabilities import get_profile
from escpos.magicencode import Encoder, MagicEncode

TCVN3_LOWER = "TCVN-3-1"
TCVN3_UPPER = "TCVN-3-2"
ASCII_PAGE = "CP437"
TEXT_CODE_PAGES = (ASCII_PAGE, TCVN3_LOWER, TCVN3_UPPER)
# Features of a profile that text mode relies on: the printer draws its own Code 128 (GS k, form B).
TEXT_FEATURES = ("barcodeB",)

# Unicode letter → the character python-escpos's table uses for the same glyph.
PRINTER_SPELLING = str.maketrans({"Đ": "Ð"})
# The Vietnamese tone marks (huyền, sắc, ngã, hỏi, nặng): dropped first, before the vowel's shape.
TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
# Punctuation a receipt may carry that none of the pages has, and its plain spelling.
PLAIN_PUNCTUATION = {
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2026": "...",
    "\u2022": "-",
    "\u00d7": "x",
    "\u00a0": " ",
    "\u2007": " ",
    "\u202f": " ",
    "\u20ab": "d",  # ₫: "d" as handwritten prices do
}
UNPRINTABLE = "?"
GENERIC_PROFILE = "default"


# Slots do not matter for asking what a page holds; the printer's own come from its profile.
_TABLES = Encoder({page: slot for slot, page in enumerate(TEXT_CODE_PAGES)})


@functools.lru_cache(maxsize=4096)
def can_print(char: str) -> bool:
    """True if one of the text-mode code pages holds this (single) character."""
    if char == "Đ":
        return True  # printed as its look-alike, see PRINTER_SPELLING
    if len(char) != 1 or not char.isprintable():
        return False
    return any(_TABLES.can_encode(page, char) for page in TEXT_CODE_PAGES)


def _without(char: str, marks: frozenset[str] | None) -> str:
    """The character with the given combining marks (all when None) removed, recomposed."""
    decomposed = unicodedata.normalize("NFD", char)
    kept = "".join(
        part
        for part in decomposed
        if not unicodedata.combining(part) or (marks is not None and part not in marks)
    )
    return unicodedata.normalize("NFC", kept)


def _fallback(char: str) -> str:
    for candidate in (_without(char, TONE_MARKS), _without(char, None)):
        if candidate and all(can_print(part) for part in candidate):
            return candidate
    if char in PLAIN_PUNCTUATION:
        return PLAIN_PUNCTUATION[char]
    if unicodedata.category(char).startswith("Z"):
        return " "
    if unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return ""  # a stray combining mark or format character: nothing to print
    compatible = _without(unicodedata.normalize("NFKD", char), None)
    if compatible and all(can_print(part) for part in compatible):
        return compatible  # ﬁ → fi, ① → 1
    return UNPRINTABLE


def printable_tcvn3(text: str) -> str:
    """`text` as TCVN-3 firmware can print it: NFC first; a character no page holds loses its tone
    mark, then its other marks (so a letter stays a letter, never "?"), punctuation gets its plain
    spelling; only symbols with no such reading become "?"."""
    text = unicodedata.normalize("NFC", text)
    return "".join(char if can_print(char) else _fallback(char) for char in text)


def text_mode_problem(profile_name: str) -> str | None:
    """Why a python-escpos profile cannot print text mode, or None when it can.

    "default" lists every code page python-escpos knows, which says nothing about the firmware at
    hand: text mode wants the printer's model named, so that TCVN-3 is a fact, not a guess."""
    if profile_name == GENERIC_PROFILE:
        return (
            f'mode "text" needs the TCVN-3 code pages, and profile {profile_name!r} does not say '
            f'whether the printer has them: name its model, e.g. profile = "TM-T88V"'
        )
    try:
        profile = get_profile(profile_name)
    except KeyError:
        return f"python-escpos has no printer profile {profile_name!r}"
    pages = profile.get_code_pages()
    missing = [page for page in TEXT_CODE_PAGES if page not in pages]
    if missing:
        return (
            f'mode "text" needs the TCVN-3 code pages, and profile {profile_name!r} has no '
            f'{", ".join(missing)}: use mode "raster", or a profile such as "TM-T88V"'
        )
    lacking = [feature for feature in TEXT_FEATURES if not profile.supports(feature)]
    if lacking:
        return f'mode "text" needs printer-drawn barcodes, and profile {profile_name!r} has no {lacking[0]}'
    return None


def text_encoder(profile: Any) -> Encoder:
    """A python-escpos Encoder limited to CP437 and the two TCVN-3 pages, at the profile's slots."""
    pages = profile.get_code_pages()
    return Encoder({page: pages[page] for page in TEXT_CODE_PAGES})


def tcvn3_magic(driver: Any) -> MagicEncode:
    """A fresh MagicEncode for `driver` (after ESC @ the printer is back on its default page)."""
    return MagicEncode(driver, encoder=text_encoder(driver.profile), defaultsymbol=UNPRINTABLE)
