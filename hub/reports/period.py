"""Report periods: from–to dates, or a day, ISO week, month, quarter or year. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from appliance.errors import DetailError

MAX_DAYS = 3 * 366  # a report longer than three years is a mistake, not a request

_SHAPES = (
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^(\d{4})-[Qq]([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})-[Ww](\d{2})$"), "week"),
    (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "day"),
)


class PeriodError(DetailError, ValueError):
    """A period that cannot be read; `detail` says which part, for the bad_request message."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def label(self) -> str:
        if self.start == self.end:
            return self.start.strftime("%d/%m/%Y")
        return f"{self.start:%d/%m/%Y} – {self.end:%d/%m/%Y}"


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"{what}: YYYY-MM-DD") from None


def named_period(text: str) -> Period:
    """`2026`, `2026-Q1`, `2026-W10`, `2026-03` or `2026-03-05` as a period."""
    value = text.strip()
    for pattern, kind in _SHAPES:
        match = pattern.match(value)
        if not match:
            continue
        parts = [int(p) for p in match.groups()]
        try:
            if kind == "year":
                return Period(date(parts[0], 1, 1), date(parts[0], 12, 31))
            if kind == "quarter":
                first = date(parts[0], 3 * parts[1] - 2, 1)
                return Period(first, _month_end(date(parts[0], 3 * parts[1], 1)))
            if kind == "week":
                monday = date.fromisocalendar(parts[0], parts[1], 1)
                return Period(monday, monday + timedelta(days=6))
            if kind == "month":
                first = date(parts[0], parts[1], 1)
                return Period(first, _month_end(first))
            day = date(parts[0], parts[1], parts[2])
            return Period(day, day)
        except ValueError:
            break
    raise PeriodError("period: YYYY, YYYY-Qn, YYYY-Wnn, YYYY-MM or YYYY-MM-DD")


def _month_end(first: date) -> date:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)


def parse_period(start: str | None, end: str | None, period: str | None = None, *, today: date) -> Period:
    """The period of a request: `period=` wins; else from/to (either alone means that one day;
    neither means today)."""
    if period:
        chosen = named_period(period)
    elif start or end:
        first = _date(start or end or "", "from")
        last = _date(end or start or "", "to")
        chosen = Period(first, last)
    else:
        chosen = Period(today, today)
    if chosen.end < chosen.start:
        raise PeriodError("to: before from")
    if chosen.days > MAX_DAYS:
        raise PeriodError(f"from–to: at most {MAX_DAYS} days")
    return chosen
