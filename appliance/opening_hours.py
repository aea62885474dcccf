"""Weekly opening hours with holidays, in the shape a site's TOML writes them (`[opening_hours]`):
the kiosk's own (kiosk/config.py), and the hub's (hub/site.py), which a kiosk takes over once heard.

"24:00" may end a period (an office open until midnight); nothing else takes it: a period does
not start at the end of a day, and the hub's day rollover is a time of day. An empty `periods`
list means closed every day."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from .config import Strict

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
END_OF_DAY = "24:00"


def parse_hhmm(value: str, *, end: bool = False) -> time:
    """ "07:30" → 07:30; with `end` (a period's end) also "24:00" → 23:59:59.999999."""
    if value == END_OF_DAY:
        if end:
            return time.max
        raise ValueError(f"{value!r} may only end an opening period; a day starts at 00:00")
    if not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time like 07:30")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class Period(Strict):
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _time(cls, value: str, info: ValidationInfo) -> str:
        parse_hhmm(value, end=info.field_name == "end")
        return value

    def times(self) -> tuple[time, time]:
        """(start, end) as times of day; "24:00" ends at the day's last moment."""
        return parse_hhmm(self.start), parse_hhmm(self.end, end=True)

    def contains(self, moment: time) -> bool:
        start, end = self.times()
        return start <= moment < end


class Holiday(Strict):
    date: date
    name: str = Field("", max_length=80)


class WeeklyHours(Strict):
    """Open on `days` during `periods`, closed all day on `holidays` (and every day when `periods`
    is empty: a site being set up, or one that only takes bookings)."""

    days: list[Day] = list(DAYS[:5])
    periods: list[Period] = Field(
        default_factory=lambda: [Period(start="07:30", end="11:30"), Period(start="13:00", end="17:00")]
    )
    holidays: list[Holiday] = []

    def holiday(self, moment: datetime) -> Holiday | None:
        return next((h for h in self.holidays if h.date == moment.date()), None)

    def is_open(self, moment: datetime) -> bool:
        if DAYS[moment.weekday()] not in self.days or self.holiday(moment) is not None:
            return False
        return any(period.contains(moment.time()) for period in self.periods)
