"""The Vietnamese number reader against a table of readings (rules: shared/design/DOMAIN.md)."""

from __future__ import annotations

import unicodedata

import pytest

from queue_display.numbers import (
    NORTH,
    SOUTH,
    Dialect,
    NumberReadingError,
    all_words,
    cardinal_text,
    cardinal_words,
    digits_text,
)

TU = Dialect(four_after_tens="tư")
SOUTH_TU = Dialect.for_region("south", four_as_tu=True)

# (value, dialect, expected reading)
CARDINALS: list[tuple[int, Dialect, str]] = [
    # units
    (0, NORTH, "không"),
    (1, NORTH, "một"),
    (4, NORTH, "bốn"),
    (4, TU, "bốn"),  # "tư" only after "mươi"
    (5, NORTH, "năm"),
    (7, NORTH, "bảy"),
    (9, NORTH, "chín"),
    # 10–19: "mười", 11 keeps "một", 15 is "lăm"
    (10, NORTH, "mười"),
    (11, NORTH, "mười một"),
    (12, NORTH, "mười hai"),
    (14, NORTH, "mười bốn"),
    (14, TU, "mười bốn"),
    (15, NORTH, "mười lăm"),
    (15, SOUTH, "mười lăm"),
    (19, NORTH, "mười chín"),
    # tens: "mươi", "mốt", "lăm", optional "tư"
    (20, NORTH, "hai mươi"),
    (21, NORTH, "hai mươi mốt"),
    (24, NORTH, "hai mươi bốn"),
    (24, TU, "hai mươi tư"),
    (24, SOUTH_TU, "hai mươi tư"),
    (25, NORTH, "hai mươi lăm"),
    (30, NORTH, "ba mươi"),
    (31, NORTH, "ba mươi mốt"),
    (44, TU, "bốn mươi tư"),
    (45, NORTH, "bốn mươi lăm"),
    (55, NORTH, "năm mươi lăm"),
    (71, SOUTH, "bảy mươi mốt"),
    (90, NORTH, "chín mươi"),
    (99, NORTH, "chín mươi chín"),
    # hundreds: "linh"/"lẻ" for a zero tens digit; plain units after it
    (100, NORTH, "một trăm"),
    (101, NORTH, "một trăm linh một"),
    (101, SOUTH, "một trăm lẻ một"),
    (104, TU, "một trăm linh bốn"),
    (105, NORTH, "một trăm linh năm"),
    (105, SOUTH, "một trăm lẻ năm"),
    (110, NORTH, "một trăm mười"),
    (111, NORTH, "một trăm mười một"),
    (115, NORTH, "một trăm mười lăm"),
    (121, NORTH, "một trăm hai mươi mốt"),
    (200, NORTH, "hai trăm"),
    (305, NORTH, "ba trăm linh năm"),
    (361, NORTH, "ba trăm sáu mươi mốt"),
    (555, NORTH, "năm trăm năm mươi lăm"),
    (909, SOUTH, "chín trăm lẻ chín"),
    (999, NORTH, "chín trăm chín mươi chín"),
    # thousands: "không trăm" inside, "nghìn"/"ngàn"
    (1000, NORTH, "một nghìn"),
    (1000, SOUTH, "một ngàn"),
    (1001, NORTH, "một nghìn không trăm linh một"),
    (1005, SOUTH, "một ngàn không trăm lẻ năm"),
    (1010, NORTH, "một nghìn không trăm mười"),
    (1015, NORTH, "một nghìn không trăm mười lăm"),
    (1015, SOUTH, "một ngàn không trăm mười lăm"),
    (1023, NORTH, "một nghìn không trăm hai mươi ba"),
    (1100, NORTH, "một nghìn một trăm"),
    (1105, NORTH, "một nghìn một trăm linh năm"),
    (1999, NORTH, "một nghìn chín trăm chín mươi chín"),
    (2000, NORTH, "hai nghìn"),
    (2024, NORTH, "hai nghìn không trăm hai mươi bốn"),
    (2024, TU, "hai nghìn không trăm hai mươi tư"),
    (2025, SOUTH, "hai ngàn không trăm hai mươi lăm"),
    (2501, NORTH, "hai nghìn năm trăm linh một"),
    (9999, NORTH, "chín nghìn chín trăm chín mươi chín"),
    (10_000, NORTH, "mười nghìn"),
    (10_005, NORTH, "mười nghìn không trăm linh năm"),
    (15_000, NORTH, "mười lăm nghìn"),
    (21_000, NORTH, "hai mươi mốt nghìn"),
    (24_000, TU, "hai mươi tư nghìn"),
    (100_000, NORTH, "một trăm nghìn"),
    (105_000, NORTH, "một trăm linh năm nghìn"),
    (105_000, SOUTH, "một trăm lẻ năm ngàn"),
    (999_999, NORTH, "chín trăm chín mươi chín nghìn chín trăm chín mươi chín"),
    # millions: zero groups skipped, following groups read in full
    (1_000_000, NORTH, "một triệu"),
    (1_000_001, NORTH, "một triệu không trăm linh một"),
    (1_000_015, SOUTH, "một triệu không trăm mười lăm"),
    (1_005_000, NORTH, "một triệu không trăm linh năm nghìn"),
    (1_050_000, NORTH, "một triệu không trăm năm mươi nghìn"),
    (2_500_000, NORTH, "hai triệu năm trăm nghìn"),
    (12_345_678, NORTH, "mười hai triệu ba trăm bốn mươi lăm nghìn sáu trăm bảy mươi tám"),
    (
        999_999_999,
        NORTH,
        "chín trăm chín mươi chín triệu chín trăm chín mươi chín nghìn chín trăm chín mươi chín",
    ),
    (
        999_999_999,
        SOUTH,
        "chín trăm chín mươi chín triệu chín trăm chín mươi chín ngàn chín trăm chín mươi chín",
    ),
    # beyond: "tỷ", then "nghìn tỷ"
    (1_000_000_000, NORTH, "một tỷ"),
    (1_000_000_005, NORTH, "một tỷ không trăm linh năm"),
    (2_024_000_000, NORTH, "hai tỷ không trăm hai mươi bốn triệu"),
    (1_000_000_000_000, NORTH, "một nghìn tỷ"),
]

DIGIT_STRINGS: list[tuple[str, str]] = [
    ("0", "không"),
    ("1023", "một không hai ba"),
    ("0361", "không ba sáu một"),  # leading zero is spoken
    ("0005", "không không không năm"),
    ("15", "một năm"),  # digit by digit: no "mười lăm", no "lăm"
    ("21", "hai một"),  # and no "mốt"
    ("4444", "bốn bốn bốn bốn"),
    ("9876543210", "chín tám bảy sáu năm bốn ba hai một không"),
]


@pytest.mark.parametrize(("value", "dialect", "expected"), CARDINALS, ids=lambda v: str(v))
def test_cardinal_reading(value: int, dialect: Dialect, expected: str) -> None:
    assert cardinal_text(value, dialect) == expected


@pytest.mark.parametrize(("digits", "expected"), DIGIT_STRINGS)
def test_digit_by_digit_reading(digits: str, expected: str) -> None:
    assert digits_text(digits) == expected


def test_table_is_large_enough_to_cover_the_rules() -> None:
    assert len(CARDINALS) + len(DIGIT_STRINGS) >= 60


def test_every_reading_is_nfc_and_uses_known_words() -> None:
    known = all_words()
    for value in [*range(0, 2100), 10_005, 1_000_001, 999_999_999, 1_000_000_005]:
        for dialect in (NORTH, SOUTH, TU, SOUTH_TU):
            words = cardinal_words(value, dialect)
            assert all(unicodedata.is_normalized("NFC", word) for word in words)
            assert set(words) <= known, value


def test_never_the_num2words_mistake() -> None:
    # num2words says "một nghìn lẻ mười lăm"; "lẻ/linh" never precedes "mười" or "mươi".
    for value in range(1, 100_000):
        text = cardinal_text(value, SOUTH)
        assert "lẻ mười" not in text and "lẻ mươi" not in text, value


@pytest.mark.parametrize("bad", [-1, 1.5, "12", True, None])
def test_bad_cardinals_are_rejected_clearly(bad: object) -> None:
    with pytest.raises(NumberReadingError, match="cannot read"):
        cardinal_words(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "12a", "٣", "1 2", "-1"])
def test_bad_digit_strings_are_rejected_clearly(bad: str) -> None:
    with pytest.raises(NumberReadingError, match="digit by digit"):
        digits_text(bad)


def test_regions_give_the_expected_dialects() -> None:
    assert Dialect.for_region("north") == NORTH
    assert Dialect.for_region("south") == SOUTH
    assert Dialect.for_region("north", four_as_tu=True) == TU
