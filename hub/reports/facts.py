"""From a ticket and its events to one report fact, and from facts to per-day cells. Pure.

A ticket is one fact however often it was transferred: it counts once, under the service it was
issued for, the counter and officer that finished with it, and the hour it was issued. Waiting is
from issue to the FIRST call; service time is measured from start (or call) to completion at the
last counter, never the configured default.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from appliance.timeutil import SITE_TZ

# The dimensions a report groups by; "priority" is the priority group of priority tickets only.
DIMENSIONS = ("service", "counter", "officer", "hour", "day")
ALL_DIMENSIONS = (*DIMENSIONS, "priority")
MAX_SERVICE_S = 4 * 3600  # a ticket left open over lunch is not a service time
OPEN_STATUSES = frozenset({"waiting", "called", "serving", "skipped"})


@dataclass(frozen=True)
class TicketEvent:
    type: str
    ts: datetime
    counter_id: str | None
    caller_id: str | None = None


@dataclass(frozen=True)
class Fact:
    service_day: str
    hour: int
    service_id: str
    counter_id: str  # "" when never called
    officer: str  # "" when unknown or never called
    outcome: str  # served | no_show | cancelled | open
    transferred: bool
    priority_group: str | None  # "" for a priority ticket without a group; None: not priority
    wait_s: int | None  # issue → first call; None when never called
    service_s: int | None  # measured, served tickets only
    within_target: bool | None  # None: not counted (left before the target, or still waiting)
    rating: int | None
    satisfied: bool | None

    def key(self, dim: str) -> str | None:
        if dim == "service":
            return self.service_id
        if dim == "counter":
            return self.counter_id
        if dim == "officer":
            return self.officer
        if dim == "hour":
            return f"{self.hour:02d}"
        if dim == "day":
            return self.service_day
        return self.priority_group  # "priority": None leaves the ticket out


def satisfied(score: int, scale: int) -> bool:
    """Hài lòng: the top two answers of three (hài lòng, rất hài lòng), the top two of five."""
    return score >= (2 if scale == 3 else 4)


def officer_from(
    caller_id: str | None, counter_id: str, officers: Collection[str], counter_officers: Mapping[str, str]
) -> str:
    """The officer's user name: who pressed "call" on the web console (caller ``web:USER``), else
    the only officer assigned to the counter (an LED keypad does not say who pressed it), else ""."""
    if caller_id and caller_id.startswith("web:") and caller_id[4:] in officers:
        return caller_id[4:]
    return counter_officers.get(counter_id, "")


def make_fact(
    *,
    service_day: str,
    service_id: str,
    original_service_id: str | None,
    status: str,
    priority: bool,
    priority_group: str | None,
    issued_at: datetime,
    called_at: datetime | None,
    served_at: datetime | None,
    completed_at: datetime | None,
    counter_id: str | None,
    rating: int | None,
    rating_scale: int,
    events: Iterable[TicketEvent],
    target_wait_s: Mapping[str, int],
    officers: Collection[str],
    counter_officers: Mapping[str, str],
) -> Fact:
    events = sorted(events, key=lambda e: e.ts)
    calls = [e for e in events if e.type == "ticket.called"]
    skipped = any(e.type == "ticket.skipped" for e in events)
    transferred = bool(original_service_id) or any(e.type == "ticket.transferred" for e in events)
    first_call = calls[0].ts if calls else called_at
    last_call = calls[-1] if calls else None
    issued_for = original_service_id or service_id

    if status == "completed":
        outcome = "served"
    elif skipped or status == "skipped":
        outcome = "no_show"
    elif status == "cancelled":
        outcome = "cancelled"
    else:
        outcome = "open"

    wait_s = max(0, round((first_call - issued_at).total_seconds())) if first_call else None
    service_s = None
    if outcome == "served" and completed_at is not None:
        start = served_at or called_at
        if start is not None:
            measured = round((completed_at - start).total_seconds())
            service_s = measured if 0 <= measured <= MAX_SERVICE_S else None

    target = target_wait_s.get(issued_for)
    within: bool | None = None
    if target is not None:
        if wait_s is not None:
            within = wait_s <= target
        elif outcome == "cancelled" and completed_at and (completed_at - issued_at).total_seconds() > target:
            # Gave up (or the day ended) after waiting longer than the target: a miss. Leaving
            # earlier says nothing about the service level.
            within = False

    counter = counter_id or (last_call.counter_id if last_call else None) or ""
    officer = (
        officer_from(last_call.caller_id if last_call else None, counter, officers, counter_officers)
        if counter
        else ""
    )
    return Fact(
        service_day=service_day,
        hour=issued_at.astimezone(SITE_TZ).hour,
        service_id=issued_for,
        counter_id=counter,
        officer=officer,
        outcome=outcome,
        transferred=transferred,
        priority_group=(priority_group or "") if priority else None,
        wait_s=wait_s,
        service_s=service_s,
        within_target=within,
        rating=rating,
        satisfied=satisfied(rating, rating_scale) if rating is not None else None,
    )


@dataclass
class Cell:
    """The measures of a set of tickets; cells of days merge into the cell of a period."""

    issued: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    open: int = 0
    transferred: int = 0
    priority: int = 0
    target_counted: int = 0
    within_target: int = 0
    ratings: int = 0
    rating_sum: int = 0
    satisfied: int = 0
    open_s: int = 0
    busy_s: int = 0
    paused_s: int = 0
    waits: array = field(default_factory=lambda: array("i"))
    services: array = field(default_factory=lambda: array("i"))

    COUNTS = (
        "issued", "served", "no_show", "cancelled", "open", "transferred", "priority",
        "target_counted", "within_target", "ratings", "rating_sum", "satisfied", "open_s", "busy_s",
        "paused_s",
    )  # fmt: skip

    def add(self, fact: Fact) -> None:
        self.issued += 1
        if fact.outcome == "served":
            self.served += 1
        elif fact.outcome == "no_show":
            self.no_show += 1
        elif fact.outcome == "cancelled":
            self.cancelled += 1
        else:
            self.open += 1
        self.transferred += fact.transferred
        self.priority += fact.priority_group is not None
        if fact.within_target is not None:
            self.target_counted += 1
            self.within_target += fact.within_target
        if fact.rating is not None:
            self.ratings += 1
            self.rating_sum += fact.rating
            self.satisfied += bool(fact.satisfied)
        if fact.wait_s is not None:
            self.waits.append(fact.wait_s)
        if fact.service_s is not None:
            self.services.append(fact.service_s)

    def merge(self, other: Cell) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.waits.extend(other.waits)
        self.services.extend(other.services)

    def measures(self) -> dict[str, int | float | None]:
        waits = sorted(self.waits)
        services = sorted(self.services)
        return {
            "issued": self.issued,
            "served": self.served,
            "no_show": self.no_show,
            "cancelled": self.cancelled,
            "transferred": self.transferred,
            "priority": self.priority,
            "waiting_or_open": self.open,
            "wait_p50_s": percentile(waits, 50),
            "wait_p90_s": percentile(waits, 90),
            "wait_max_s": waits[-1] if waits else None,
            "service_p50_s": percentile(services, 50),
            "service_p90_s": percentile(services, 90),
            "service_measured": len(services),
            "within_target_share": _share(self.within_target, self.target_counted),
            "ratings": self.ratings,
            "rating_avg": round(self.rating_sum / self.ratings, 2) if self.ratings else None,
            "satisfied_share": _share(self.satisfied, self.ratings),
            "open_s": self.open_s,
            "paused_s": self.paused_s,
            "idle_s": max(0, self.open_s - self.busy_s),
        }

    def add_time(self, time: CounterTime) -> None:
        self.open_s += time.open_s
        self.busy_s += time.busy_s
        self.paused_s += time.paused_s


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def percentile(values: list[int], pct: float) -> int | None:
    """Nearest-rank percentile of sorted values (a value that occurred, as a head can check)."""
    if not values:
        return None
    rank = max(1, -(-len(values) * pct // 100))  # ceil(n * p / 100)
    return values[int(rank) - 1]


def cells_of(facts: Iterable[Fact]) -> dict[tuple[str, str], Cell]:
    """{(dimension, key): Cell} of one day's facts, every dimension at once."""
    cells: dict[tuple[str, str], Cell] = {}
    for fact in facts:
        for dim in ALL_DIMENSIONS:
            key = fact.key(dim)
            if key is None:
                continue
            cell = cells.get((dim, key))
            if cell is None:
                cell = cells[(dim, key)] = Cell()
            cell.add(fact)
    for cell in cells.values():
        cell.waits = array("i", sorted(cell.waits))
        cell.services = array("i", sorted(cell.services))
    return cells


@dataclass(frozen=True)
class CounterTime:
    """Seconds of a counter's opening hours: open, busy with a citizen, paused (closed)."""

    open_s: int = 0
    busy_s: int = 0
    paused_s: int = 0


def _overlap(intervals: list[tuple[datetime, datetime]], windows: list[tuple[datetime, datetime]]) -> float:
    total = 0.0
    for start, end in intervals:
        for w_start, w_end in windows:
            lo, hi = max(start, w_start), min(end, w_end)
            if hi > lo:
                total += (hi - lo).total_seconds()
    return total


def counter_time(
    events: Iterable[TicketEvent], *, initially_open: bool, windows: list[tuple[datetime, datetime]]
) -> CounterTime:
    """A counter's day from its own events: counter.opened/closed switch it, ticket.called starts a
    citizen, the next completed/skipped/transferred/called at that counter ends them. Only the
    opening hours (`windows`) count: a counter closed during them was paused."""
    if not windows:
        return CounterTime()
    day_start, day_end = windows[0][0], windows[-1][1]
    open_since: datetime | None = day_start if initially_open else None
    busy_since: datetime | None = None
    opened: list[tuple[datetime, datetime]] = []
    busy: list[tuple[datetime, datetime]] = []
    # At one moment, "call next" completes the previous citizen before calling the next one.
    for event in sorted(events, key=lambda e: (e.ts, e.type == "ticket.called")):
        if event.type in ("ticket.completed", "ticket.skipped", "ticket.transferred", "ticket.called"):
            if busy_since is not None:
                busy.append((busy_since, event.ts))
                busy_since = None
            if event.type == "ticket.called":
                busy_since = event.ts
        elif event.type == "counter.opened" and open_since is None:
            open_since = event.ts
        elif event.type == "counter.closed" and open_since is not None:
            opened.append((open_since, event.ts))
            open_since = None
    if open_since is not None:
        opened.append((open_since, max(day_end, open_since)))
    if busy_since is not None:
        busy.append((busy_since, max(day_end, busy_since)))
    hours = sum((end - start).total_seconds() for start, end in windows)
    open_s = _overlap(opened, windows)
    return CounterTime(round(open_s), round(_overlap(busy, windows)), round(hours - open_s))
