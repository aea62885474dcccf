"""The rules of booking, pure (no I/O, no clock): slots, booking codes, where a check-in lands in
the line."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# No 0/O, 1/I/L: a code read aloud or typed at a kiosk cannot be mistaken.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
_CODE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
# What a booking's QR code carries: the prefix tells the kiosk it is a booking, not a ticket.
QR_PREFIX = "MCBK:"

Placement = Literal["slot_time", "front"]
Arrival = Literal["early", "on_time", "late"]


def parse_hhmm(value: str) -> time:
    if not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time like 07:30")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str | None:
    """The booking code in `text` (typed with dashes or spaces, lower case, or the QR payload), or
    None when it cannot be one."""
    cleaned = text.strip()
    if cleaned.upper().startswith(QR_PREFIX):
        cleaned = cleaned[len(QR_PREFIX) :]
    if "/b/" in cleaned:  # the booking page's address
        cleaned = cleaned.rsplit("/b/", 1)[1].split("?")[0]
    cleaned = re.sub(r"[\s-]", "", cleaned).upper()
    return cleaned if _CODE.match(cleaned) else None


def show_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def bookable_days(today: date, days_ahead: int) -> list[date]:
    return [today + timedelta(days=n) for n in range(days_ahead + 1)]


def slot_open(day: date, slot: time, now: datetime, grace_minutes: int) -> bool:
    """A slot can still be booked until its grace period ends."""
    start = datetime.combine(day, slot, now.tzinfo)
    return now <= start + timedelta(minutes=grace_minutes)


@dataclass(frozen=True)
class Place:
    """Where a checked-in booking stands in its service's line: `queue_at` is the moment its place
    in line counts from (never later than now, so no one who came later is put in front)."""

    queue_at: datetime
    arrival: Arrival


def place_in_line(
    slot_start: datetime,
    now: datetime,
    *,
    grace_minutes: int,
    rule: Placement,
    first_walk_in: datetime | None,
) -> Place:
    """The fairness rule of a check-in.

    - early (before the slot): in line from now, like anyone arriving now;
    - on time (slot start .. + grace): `slot_time` — in line from the slot's start, so ahead of the
      walk-ins who took a number after the slot began; `front` — ahead of every waiting walk-in of
      the service (priority citizens stay first: the engine calls them before any ordinary ticket);
    - late beyond the grace period: a walk-in, in line from now.
    """
    if now < slot_start:
        return Place(now, "early")
    if now > slot_start + timedelta(minutes=grace_minutes):
        return Place(now, "late")
    queue_at = slot_start
    if rule == "front" and first_walk_in is not None:
        queue_at = min(queue_at, first_walk_in - timedelta(milliseconds=1))
    return Place(min(queue_at, now), "on_time")
