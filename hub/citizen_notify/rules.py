"""What a citizen should be told after a queue change (pure: the engine's state in, messages out).

Each message has a kind — `near`, `called`, `no_show` — and is due at most once per ticket: the
outbox's key is (ticket, kind, channel), so deciding the same thing twice (a restart, a recall)
sends nothing more.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Kind = str  # "near" | "called" | "no_show"
# Events that can move a waiting ticket forward in its line.
MOVES = frozenset(
    {
        "ticket.called",
        "ticket.cancelled",
        "ticket.transferred",
        "ticket.issued",
        "ticket.reinstated",
        "ticket.skipped",
    }
)


@dataclass(frozen=True)
class Due:
    ticket_id: str
    kind: Kind
    values: dict[str, Any]


def short_counter(name: str | None) -> str:
    """ "3" of "Quầy 3": the sentence says "quầy" itself."""
    text = (name or "").strip()
    for prefix in ("Quầy ", "quầy ", "Counter "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def due(
    events: Iterable[Mapping[str, Any]],
    waiting: Mapping[str, tuple[int, str]],
    contacted: set[str],
    *,
    near_ahead: int,
) -> list[Due]:
    """Messages due after `events`. `waiting`: ticket id → (people ahead, number) of the contacted
    tickets still waiting; `contacted`: ids of tickets with a way to reach their holder."""
    found: list[Due] = []
    moved = False
    for event in events:
        ticket = event.get("ticket") or {}
        ticket_id = ticket.get("id")
        kind = event.get("type")
        moved = moved or kind in MOVES
        if ticket_id not in contacted:
            continue
        values = {"number": ticket.get("number"), "counter": short_counter(event.get("counter_name"))}
        if kind == "ticket.called":
            found.append(Due(ticket_id, "called", values))
        elif kind == "ticket.skipped":
            found.append(Due(ticket_id, "no_show", values))
    if moved:
        for ticket_id, (ahead, number) in waiting.items():
            if 1 <= ahead <= near_ahead:
                found.append(Due(ticket_id, "near", {"number": number, "ahead": ahead}))
    return found


TEXTS: dict[str, tuple[str, str]] = {
    "near": (
        "Số {number}: còn {ahead} người nữa đến lượt bạn. Xin có mặt gần quầy.",
        "Number {number}: {ahead} more people before your turn. Please stay near the counters.",
    ),
    "called": ("Mời số {number} đến quầy {counter}.", "Number {number}, please come to counter {counter}."),
    "no_show": (
        "Số {number} đã được gọi nhưng bạn vắng mặt. Hãy đến quầy {counter} trong {minutes} phút để được "
        "phục vụ lại, hoặc lấy số mới.",
        "Number {number} was called but you were not there. Come to counter {counter} within {minutes} "
        "minutes to be served, or take a new number.",
    ),
}


def render(kind: Kind, values: Mapping[str, Any], language: str = "vi") -> str:
    vi, en = TEXTS[kind]
    return unicodedata.normalize("NFC", (en if language == "en" else vi).format(**values))
