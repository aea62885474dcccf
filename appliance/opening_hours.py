"""Weekly opening hours with holidays, in the shape a site's TOML writes them (`[opening_hours]`):
the kiosk's own (kiosk/config.py), and the hub's, which a kiosk takes over once heard."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Literal

from pydantic import Field, field_validator

from .config import Strict

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def parse_hhmm(value: str) -> time:
    """ "07:30" → 07:30; "24:00" (end of day) → 23:59:59.999999."""
    if not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time like 07:30")
    if value == "24:00":
        return time.max
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class Period(Strict):
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _time(cls, value: str) -> str:
        parse_hhmm(value)
        return value

    def contains(self, moment: time) -> bool:
        return parse_hhmm(self.start) <= moment < parse_hhmm(self.end)


class Holiday(Strict):
    date: date
    name: str = Field("", max_length=80)


class WeeklyHours(Strict):
    """Open on `days` during `periods`, closed all day on `holidays`."""

    days: list[Day] = list(DAYS[:5])
    periods: list[Period] = Field(
        default_factory=lambda: [Period(start="07:30", end="11:30"), Period(start="13:00", end="17:00")],
        min_length=1,
    )
    holidays: list[Holiday] = []

    def holiday(self, moment: datetime) -> Holiday | None:
        return next((h for h in self.holidays if h.date == moment.date()), None)

    def is_open(self, moment: datetime) -> bool:
        if DAYS[moment.weekday()] not in self.days or self.holiday(moment) is not None:
            return False
        return any(period.contains(moment.time()) for period in self.periods)
