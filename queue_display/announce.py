"""What an announcement says: the sentence text and the list of voice-pack clips that speak it.

Pure: no audio, no MQTT. `build_announcement("A023", "3A", settings)` gives

    clips: ("@chime", "xin mời công dân có số thứ tự", "a", "không", "hai", "ba", "đến quầy số", "ba", "a",
            "@pause", "xin mời công dân có số thứ tự", …)
    text:  "Xin mời công dân có số thứ tự a không hai ba đến quầy số ba a"

Clip keys are the spoken text in NFC lower case (a voice pack maps each key to a WAV file); keys that
start with "@" are not speech: `@chime` (the gong) and `@pause` (silence between repetitions).

Letters in ticket numbers ("A023") and counters ("3A") are spoken with their Vietnamese letter names.
The names follow how Latin letters are spelt aloud in Vietnam (the French-derived names used for
"vitamin D", "quầy B", licence plates): D is "đê" (the Vietnamese-alphabet "dê" would be heard as
"đê" by most people reading a Latin D anyway), F "ép", J "gi", W "vê kép", Z "dét". The Vietnamese
letters Ă Â Đ Ê Ô Ơ Ư, should a site use them, have their alphabet names.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from typing import Literal

from appliance.errors import MotcuaError

from .numbers import NORTH, Dialect, all_words, cardinal_words, digit_words

CHIME = "@chime"
PAUSE = "@pause"

DEFAULT_TEMPLATE = "Xin mời công dân có số thứ tự {number} đến quầy số {counter}"
TEMPLATE_FIELDS = frozenset({"number", "counter"})
MAX_LABEL_LENGTH = 32

NumberMode = Literal["digits", "cardinal"]
LeadingZeros = Literal["digits", "drop"]

LETTER_NAMES: dict[str, str] = {
    "a": "a",
    "b": "bê",
    "c": "xê",
    "d": "đê",
    "e": "e",
    "f": "ép",
    "g": "giê",
    "h": "hát",
    "i": "i",
    "j": "gi",
    "k": "ca",
    "l": "e-lờ",
    "m": "em-mờ",
    "n": "en-nờ",
    "o": "o",
    "p": "pê",
    "q": "quy",
    "r": "e-rờ",
    "s": "ét-xì",
    "t": "tê",
    "u": "u",
    "v": "vê",
    "w": "vê kép",
    "x": "ích-xì",
    "y": "i-dài",
    "z": "dét",
    # Vietnamese letters, alphabet names.
    "ă": "á",
    "â": "ớ",
    "đ": "đê",
    "ê": "ê",
    "ô": "ô",
    "ơ": "ơ",
    "ư": "ư",
}

_TOKEN = re.compile(r"[0-9]+|[^\W\d_]", re.UNICODE)
_SPACES = re.compile(r"\s+")
# Punctuation that may sit in a template ("Xin mời …, đến quầy số …."): kept in the text, not in keys.
_PUNCTUATION = re.compile(r"[^\w\s-]", re.UNICODE)


class AnnounceError(MotcuaError, ValueError):
    """An announcement cannot be built (bad template, unreadable ticket number or counter)."""


@dataclass(frozen=True)
class AnnounceSettings:
    """How an announcement is worded. Mirrors the `[announce]` section of the display configuration."""

    template: str = DEFAULT_TEMPLATE
    number_mode: NumberMode = "digits"  # the ticket number: "một không hai ba" or "một nghìn …"
    counter_mode: NumberMode = "cardinal"  # the counter: "quầy số mười hai"
    # In cardinal mode a number written with leading zeros ("0361") is still read digit by digit
    # (DOMAIN.md); "drop" reads it as the quantity instead ("ba trăm sáu mươi mốt").
    leading_zeros: LeadingZeros = "digits"
    dialect: Dialect = NORTH
    repeats: int = 2
    chime: bool = True

    def __post_init__(self) -> None:
        parse_template(self.template)
        if not 1 <= self.repeats <= 5:
            raise AnnounceError(f"repeats must be between 1 and 5 (got {self.repeats})")


@dataclass(frozen=True)
class Announcement:
    """One call to announce: the clips to play in order and the sentence (said `repeats` times)."""

    clips: tuple[str, ...]
    text: str
    number: str
    counter: str
    repeats: int = 1


@dataclass(frozen=True)
class _Part:
    literal: str | None = None
    field_name: str | None = None


def normalise(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def phrase_key(text: str) -> str:
    """Clip key of a fixed phrase: NFC, lower case, no punctuation, single spaces."""
    return normalise(_PUNCTUATION.sub(" ", unicodedata.normalize("NFC", text)).lower())


def parse_template(template: str) -> list[_Part]:
    """Split a template into literal phrases and fields; only {number} and {counter} are allowed."""
    if not template.strip():
        raise AnnounceError("the announcement template is empty")
    parts: list[_Part] = []
    seen: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise AnnounceError(f"announcement template {template!r}: {error}") from None
    for literal, field_name, format_spec, conversion in parsed:
        if literal:
            parts.append(_Part(literal=literal))
        if field_name is None:
            continue
        if field_name not in TEMPLATE_FIELDS or format_spec or conversion:
            raise AnnounceError(
                f"announcement template {template!r}: unknown field {{{field_name}}}; "
                "use {number} and {counter}"
            )
        seen.add(field_name)
        parts.append(_Part(field_name=field_name))
    if "number" not in seen:
        raise AnnounceError(f"announcement template {template!r} must contain {{number}}")
    return parts


def template_phrases(template: str) -> list[str]:
    """Clip keys of the template's fixed phrases (the voice pack needs one clip each)."""
    keys = [phrase_key(part.literal) for part in parse_template(template) if part.literal]
    return [key for key in keys if key]


def label_words(
    label: str | int,
    mode: NumberMode,
    dialect: Dialect = NORTH,
    leading_zeros: LeadingZeros = "digits",
) -> list[str]:
    """Words of a ticket number or counter label: letters by name, digit runs by `mode`.

    "A023" → a không hai ba (digits) · "3A" → ba a · "12" → mười hai (cardinal). Separators such as
    "-", "." or spaces are silent.
    """
    text = normalise(str(label)).lower()
    if not text or len(text) > MAX_LABEL_LENGTH:
        raise AnnounceError(f"cannot announce {label!r}: expected 1 to {MAX_LABEL_LENGTH} characters")
    words: list[str] = []
    for token in _TOKEN.findall(text):
        if token.isdigit():
            if not token.isascii():
                raise AnnounceError(f"cannot announce {label!r}: only digits 0-9 are spoken")
            words += _digit_run(token, mode, dialect, leading_zeros)
        elif token in LETTER_NAMES:
            words.append(LETTER_NAMES[token])
        else:
            raise AnnounceError(f"cannot announce {label!r}: no name for the letter {token!r}")
    if not words:
        raise AnnounceError(f"cannot announce {label!r}: it has no letters or digits")
    return words


def _digit_run(run: str, mode: NumberMode, dialect: Dialect, leading_zeros: LeadingZeros) -> list[str]:
    if mode == "digits" or (len(run) > 1 and run.startswith("0") and leading_zeros == "digits"):
        return digit_words(run)
    return cardinal_words(int(run), dialect)


def build_announcement(
    number: str | int,
    counter: str | int | None,
    settings: AnnounceSettings | None = None,
    *,
    repeats: int | None = None,
) -> Announcement:
    """The announcement of ticket `number` called to `counter` (repeats overrides the settings)."""
    settings = settings or AnnounceSettings()
    times = settings.repeats if repeats is None else max(1, repeats)
    number_words = label_words(number, settings.number_mode, settings.dialect, settings.leading_zeros)
    counter_words = (
        label_words(counter, settings.counter_mode, settings.dialect, settings.leading_zeros)
        if counter not in (None, "")
        else []
    )
    spoken = {"number": number_words, "counter": counter_words}
    sentence_clips: list[str] = []
    text_parts: list[str] = []
    for part in parse_template(settings.template):
        if part.literal is not None:
            text_parts.append(part.literal)
            key = phrase_key(part.literal)
            if key:
                sentence_clips.append(key)
        else:
            assert part.field_name is not None
            words = spoken[part.field_name]
            if part.field_name == "counter" and not words:
                raise AnnounceError(f"cannot announce ticket {number!r}: the template needs a counter")
            text_parts.append(" ".join(words))
            sentence_clips += words
    text = normalise("".join(text_parts))
    clips: list[str] = [CHIME] if settings.chime else []
    for index in range(times):
        if index:
            clips.append(PAUSE)
        clips += sentence_clips
    return Announcement(
        clips=tuple(clips), text=text, number=str(number), counter=str(counter or ""), repeats=times
    )


def vocabulary(settings: AnnounceSettings) -> set[str]:
    """Every clip key an announcement under `settings` may need, for checking a voice pack up front."""
    keys = {*template_phrases(settings.template), *all_words(), *LETTER_NAMES.values()}
    return keys | {CHIME} if settings.chime else keys


_COUNTER_WORD = re.compile(r"^(quầy|quay|counter)\s*(số)?\s*[:.#-]?\s*", re.IGNORECASE)
_SPEAKABLE_COUNTER = re.compile(r"[0-9]{1,4}[^\W\d_]?|[^\W\d_][0-9]{0,4}", re.UNICODE)


def spoken_counter(counter_id: str, counter_name: str | None, overrides: dict[str, str] | None = None) -> str:
    """What to say for a counter: an override from the configuration, else its name without a
    leading "Quầy" ("Quầy 3A" → "3A"), else its id when that is a number ("12"). A counter named
    "Tiếp nhận hồ sơ" with no number is an error: configure `counter_labels` for it."""
    if overrides and counter_id in overrides:
        return overrides[counter_id]
    for candidate, pattern in (
        (counter_name, _SPEAKABLE_COUNTER),
        (counter_id, re.compile(r"[0-9]{1,4}[a-zA-Z]?")),
    ):
        label = _COUNTER_WORD.sub("", normalise(candidate or ""))
        if label and pattern.fullmatch(label):
            return label
    raise AnnounceError(
        f"counter {counter_id!r} ({counter_name!r}) has no number to announce; "
        f'set [announce] counter_labels = {{ {json_key(counter_id)} = "…" }}'
    )


def json_key(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
