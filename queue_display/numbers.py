"""Reading numbers aloud in Vietnamese: cardinal ("một nghìn không trăm mười lăm") and digit by digit
("một không hai ba").

Written here on purpose: num2words `lang='vi'` reads 1015 as "một nghìn lẻ mười lăm", which is wrong.
The rules (docs: shared/design/DOMAIN.md, "Reading numbers aloud"):

- 10–19 are "mười …"; 15 is "mười lăm"; 11 is "mười một".
- 20–90 are "<digit> mươi"; after "mươi", 1 is "mốt", 5 is "lăm" and 4 is "bốn" or, optionally, "tư".
- A zero tens digit inside a hundred is "linh" (north) or "lẻ" (south): 105 "một trăm linh năm";
  after it the units keep their plain names ("linh một", "linh năm", "linh bốn").
- Inside a larger number, a group of three digits that is not the leading one is read in full,
  with "không trăm" for a zero hundreds digit: 1015 "một nghìn không trăm mười lăm".
- A group that is entirely zero is not read: 1 000 005 is "một triệu không trăm linh năm".
- Groups are named "nghìn" (north) / "ngàn" (south), "triệu", "tỷ"; above a thousand "tỷ" the names
  repeat ("một nghìn tỷ"), so any non-negative integer can be read.

Every function returns words (one syllable each) so that the announcement builder can map each word to
a recorded clip; the `…_text` helpers join them with spaces. All strings are NFC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from appliance.errors import MotcuaError

DIGITS: tuple[str, ...] = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

Region = Literal["north", "south"]


class NumberReadingError(MotcuaError, ValueError):
    """The value cannot be read as a number (negative, not an integer, not digits)."""


@dataclass(frozen=True)
class Dialect:
    """Regional word choices. `NORTH` and `SOUTH` are the usual sets; each choice can be changed alone."""

    zero_tens: Literal["linh", "lẻ"] = "linh"
    thousand: Literal["nghìn", "ngàn"] = "nghìn"
    # 4 after "mươi": "hai mươi bốn" (standard) or "hai mươi tư" (common in speech, mostly southern).
    four_after_tens: Literal["bốn", "tư"] = "bốn"

    @classmethod
    def for_region(cls, region: Region, *, four_as_tu: bool = False) -> Dialect:
        four: Literal["bốn", "tư"] = "tư" if four_as_tu else "bốn"
        if region == "south":
            return cls(zero_tens="lẻ", thousand="ngàn", four_after_tens=four)
        return cls(zero_tens="linh", thousand="nghìn", four_after_tens=four)


NORTH = Dialect()
SOUTH = Dialect(zero_tens="lẻ", thousand="ngàn")

_BILLION = 1_000_000_000


def cardinal_words(value: int, dialect: Dialect = NORTH) -> list[str]:
    """The words of a non-negative integer read as a quantity: 2024 → hai nghìn không trăm hai mươi bốn."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise NumberReadingError(f"cannot read {value!r}: a cardinal must be an int")
    if value < 0:
        raise NumberReadingError(f"cannot read {value}: negative numbers are not announced")
    if value == 0:
        return [DIGITS[0]]
    return _read(value, dialect, leading=True)


def cardinal_text(value: int, dialect: Dialect = NORTH) -> str:
    return " ".join(cardinal_words(value, dialect))


def digit_words(digits: str) -> list[str]:
    """The words of a string of ASCII digits read one by one: "0361" → không ba sáu một."""
    if not digits or not (digits.isascii() and digits.isdigit()):
        raise NumberReadingError(f"cannot read {digits!r} digit by digit: expected only digits 0-9")
    return [DIGITS[int(ch)] for ch in digits]


def digits_text(digits: str) -> str:
    return " ".join(digit_words(digits))


def _read(value: int, dialect: Dialect, *, leading: bool) -> list[str]:
    """Words of value > 0. `leading` is False when a higher group was already read (so the first
    group of this part is read in full: "không trăm …")."""
    if value >= _BILLION:
        high, rest = divmod(value, _BILLION)
        words = [*_read(high, dialect, leading=leading), "tỷ"]
        if rest:
            words += _read(rest, dialect, leading=False)
        return words
    words: list[str] = []
    started = not leading
    groups = ((value // 1_000_000, "triệu"), (value // 1000 % 1000, dialect.thousand), (value % 1000, None))
    for group, name in groups:
        if group == 0:
            continue  # a group of zeros is skipped entirely
        words += _group(group, dialect, full=started)
        if name:
            words.append(name)
        started = True
    return words


def _group(value: int, dialect: Dialect, *, full: bool) -> list[str]:
    """Words of 0 < value < 1000. `full` reads a zero hundreds digit ("không trăm")."""
    hundreds, tens, units = value // 100, value // 10 % 10, value % 10
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            if words:
                words.append(dialect.zero_tens)
            words.append(DIGITS[units])
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else DIGITS[units])
    else:
        words += [DIGITS[tens], "mươi"]
        if units == 1:
            words.append("mốt")
        elif units == 4:
            words.append(dialect.four_after_tens)
        elif units == 5:
            words.append("lăm")
        elif units:
            words.append(DIGITS[units])
    return words


def all_words() -> frozenset[str]:
    """Every word any dialect of this reader can produce (a voice pack needs a clip for each)."""
    return frozenset(
        {*DIGITS, "mười", "mươi", "mốt", "lăm", "tư", "linh", "lẻ", "trăm", "nghìn", "ngàn", "triệu", "tỷ"}
    )
