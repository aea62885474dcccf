"""Announcement wording: template, number modes, letters, repeats, counters (pure)."""

from __future__ import annotations

import unicodedata

import pytest

from queue_display.announce import (
    CHIME,
    LETTER_NAMES,
    PAUSE,
    AnnounceError,
    AnnounceSettings,
    build_announcement,
    label_words,
    phrase_key,
    spoken_counter,
    template_phrases,
    vocabulary,
)
from queue_display.numbers import SOUTH, Dialect


def test_default_sentence_matches_deployed_systems() -> None:
    announcement = build_announcement("1023", "5")
    assert announcement.text == "Xin mời công dân có số thứ tự một không hai ba đến quầy số năm"
    assert unicodedata.is_normalized("NFC", announcement.text)


def test_clips_are_chime_then_the_sentence_twice_with_a_pause() -> None:
    sentence = ["xin mời công dân có số thứ tự", "một", "không", "hai", "ba", "đến quầy số", "năm"]
    assert build_announcement(1023, 5).clips == (CHIME, *sentence, PAUSE, *sentence)


@pytest.mark.parametrize(
    ("number", "counter", "settings", "expected"),
    [
        ("A023", "3A", AnnounceSettings(), "a không hai ba đến quầy số ba a"),
        (
            "1023",
            "12",
            AnnounceSettings(number_mode="cardinal"),
            "một nghìn không trăm hai mươi ba đến quầy số mười hai",
        ),
        ("0361", "1", AnnounceSettings(number_mode="cardinal"), "không ba sáu một đến quầy số một"),
        (
            "0361",
            "21",
            AnnounceSettings(number_mode="cardinal", leading_zeros="drop"),
            "ba trăm sáu mươi mốt đến quầy số hai mươi mốt",
        ),
        (
            "T105",
            "B",
            AnnounceSettings(number_mode="cardinal", dialect=SOUTH),
            "tê một trăm lẻ năm đến quầy số bê",
        ),
        (
            "2024",
            "24",
            AnnounceSettings(number_mode="cardinal", dialect=Dialect(four_after_tens="tư")),
            "hai nghìn không trăm hai mươi tư đến quầy số hai mươi tư",
        ),
        ("1015", "15", AnnounceSettings(counter_mode="digits"), "một không một năm đến quầy số một năm"),
        ("W-07", "L", AnnounceSettings(), "vê kép không bảy đến quầy số e-lờ"),
    ],
)
def test_numbers_letters_and_modes(
    number: str, counter: str, settings: AnnounceSettings, expected: str
) -> None:
    assert build_announcement(number, counter, settings).text.endswith("thứ tự " + expected)


def test_custom_template_with_punctuation() -> None:
    settings = AnnounceSettings(template="Kính mời công dân số {number}, đến quầy {counter}.", repeats=1)
    announcement = build_announcement("1001", "2", settings)
    assert announcement.text == "Kính mời công dân số một không không một, đến quầy hai."
    assert announcement.clips == (
        CHIME,
        "kính mời công dân số",
        "một",
        "không",
        "không",
        "một",
        "đến quầy",
        "hai",
    )
    assert template_phrases(settings.template) == ["kính mời công dân số", "đến quầy"]


def test_repeats_and_no_chime() -> None:
    settings = AnnounceSettings(repeats=3, chime=False)
    clips = build_announcement("7", "1", settings).clips
    assert clips.count(PAUSE) == 2 and CHIME not in clips
    assert build_announcement("7", "1", settings, repeats=1).clips.count(PAUSE) == 0


@pytest.mark.parametrize(
    "template",
    ["", "Mời quầy {counter}", "Mời số {number} {room}", "Mời số {number!r}", "Mời số {number:>5}", "Mời {"],
)
def test_bad_templates_are_refused_with_a_clear_message(template: str) -> None:
    with pytest.raises(AnnounceError, match="template"):
        AnnounceSettings(template=template)


@pytest.mark.parametrize("label", ["", "#", "x" * 40, "Số ③"])
def test_unspeakable_labels_are_refused(label: str) -> None:
    with pytest.raises(AnnounceError, match="cannot announce"):
        label_words(label, "digits")


def test_letter_names_cover_the_latin_alphabet() -> None:
    assert {chr(c) for c in range(ord("a"), ord("z") + 1)} <= set(LETTER_NAMES)
    assert LETTER_NAMES["d"] == "đê" and LETTER_NAMES["w"] == "vê kép" and LETTER_NAMES["z"] == "dét"
    assert label_words("ab", "digits") == ["a", "bê"]


@pytest.mark.parametrize(
    ("counter_id", "name", "overrides", "expected"),
    [
        ("5", "5", None, "5"),
        ("c3a", "Quầy 3A", None, "3A"),
        ("x", "Quầy số B", None, "B"),
        ("12", "Tiếp nhận hồ sơ", None, "12"),
        ("tn", "Tiếp nhận hồ sơ", {"tn": "1"}, "1"),
    ],
)
def test_spoken_counter(counter_id: str, name: str, overrides: dict[str, str] | None, expected: str) -> None:
    assert spoken_counter(counter_id, name, overrides) == expected


def test_counter_without_a_number_names_the_fix() -> None:
    with pytest.raises(AnnounceError, match="counter_labels"):
        spoken_counter("tn", "Tiếp nhận hồ sơ")


def test_vocabulary_covers_every_clip_an_announcement_uses() -> None:
    for settings in (AnnounceSettings(), AnnounceSettings(number_mode="cardinal", dialect=SOUTH)):
        words = vocabulary(settings)
        for number in ("1023", "A023", "T105", "2024", "999999"):
            clips = set(build_announcement(number, "3A", settings).clips) - {PAUSE}
            assert clips <= words, clips - words


def test_phrase_keys_are_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "Đến  Quầy số,")
    assert phrase_key(decomposed) == "đến quầy số"
