"""Words of the web pages, Vietnamese first, English on request (``?lang=en`` or the `lang` cookie).

Error messages that also travel over MQTT live in appliance/i18n.py; these are page labels.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from appliance.i18n import ACTION_LABELS, STATUS_LABELS, label

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")
# Every word table of the web pages: key → (Vietnamese, English).
WordTable = dict[str, tuple[str, str]]
# The tables are data, one file a page group (`key = ["Vietnamese", "English"]`), for translators.
WORDS_DIR = Path(__file__).with_name("words")


def load_words(name: str) -> WordTable:
    """The word table hub/web/words/`name`.toml, in its order; a malformed entry fails the import."""
    with (WORDS_DIR / f"{name}.toml").open("rb") as file:
        raw = tomllib.load(file)
    table: WordTable = {}
    for key, pair in raw.items():
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(w, str) and w for w in pair)):
            raise ValueError(f"{name}.toml: {key} is not [Vietnamese, English]")
        table[key] = (pair[0], pair[1])
    return table


TEXTS = load_words("pages")
ROLE_LABELS = load_words("roles")


def role_label(role: str | None, language: Language = "vi") -> str:
    return label(ROLE_LABELS, role, language) if role else "—"


def normalise_language(value: str | None) -> Language | None:
    if value is None:
        return None
    value = value.strip().lower()[:2]
    return value if value in LANGUAGES else None  # type: ignore[return-value]


def words(table: WordTable, key: str, language: Language = "vi", **values: object) -> str:
    """`key`'s words in `table` in `language` (the key itself when the table lacks it), placeholders
    filled, NFC-normalised: the one lookup of every page's word table."""
    vi, en = table.get(key, (key, key))
    template = vi if language == "vi" else en
    try:
        filled = template.format(**values) if values else template
    except (KeyError, IndexError):
        filled = template
    return unicodedata.normalize("NFC", filled)


def catalogue(table: WordTable, language: Language, keys: Iterable[str] | None = None) -> dict[str, str]:
    """A table's words in one language (all of them, or `keys`), for a page's script."""
    return {key: words(table, key, language) for key in (table if keys is None else keys)}


def text(key: str, language: Language = "vi", **values: object) -> str:
    """The page label `key` in `language`, placeholders filled, NFC-normalised."""
    return words(TEXTS, key, language, **values)


def counter_short_name(name: str | None) -> str:
    """'3' of 'Quầy 3' (the sentence around it already says quầy/counter)."""
    if not name:
        return ""
    for word in ("quầy ", "counter "):
        if name.lower().startswith(word):
            return name[len(word) :].strip()
    return name


def counter_title(name: str | None, language: Language = "vi") -> str:
    """'Quầy 3' for a counter named '3'; a name that already says so stays as it is."""
    short = counter_short_name(name)
    if short != (name or ""):
        return name or ""
    return text("counter_title", language, name=short)


def status_label(status: str | None, language: Language = "vi") -> str:
    return label(STATUS_LABELS, status, language) if status else ""


def client_catalogue(language: Language) -> dict[str, object]:
    """The words the console's JavaScript needs, embedded in the page as JSON."""
    keys = (
        "no_one_called",
        "counter_is_closed",
        "people",
        "minutes_short",
        "under_a_minute",
        "empty_list",
        "reinstate",
        "open_counter",
        "close_counter",
        "live",
        "offline",
        "priority",
        "done_called",
        "your_turn",
        "none",
        "choose_service",
        "server_error",
        "transfer_to",
        "open",
        "closed",
        "ticket_ongoing",
        "receipt_sent",
        "receipt_waiting",
        "receipt_code_missing",
    )
    return {
        "texts": catalogue(TEXTS, language, keys),
        "statuses": catalogue(STATUS_LABELS, language),
        "actions": catalogue(ACTION_LABELS, language),
    }
