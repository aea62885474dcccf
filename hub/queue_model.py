"""The queue's domain data: services, counters, tickets, what an operation changed, and the
service-day rules. Pure Python, no I/O (hub.engine works on these).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

from appliance.errors import MotcuaError
from appliance.timeutil import iso

# "held": parked at a counter while the citizen fetches a paper; the counter serves others meanwhile.
Status = Literal["waiting", "called", "serving", "held", "completed", "skipped", "cancelled"]
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "cancelled"})


class QueueError(MotcuaError):
    """A refused queue operation. `code` is a key of appliance.i18n.MESSAGES."""

    def __init__(self, code: str, **values: Any) -> None:
        super().__init__(code, values)
        self.code = code
        self.values = values


@dataclass(frozen=True)
class Service:
    """A service (lĩnh vực) with its number format.

    Numbers are `prefix` + the value zero-padded to `digits`, for values `first`..`last`: a letter
    prefix ("A", 1..999, 3 digits → A001) or a numeric block ("", 1001..1999 → 1001).
    """

    id: str
    name: str
    name_en: str = ""
    prefix: str = ""
    first: int = 1
    last: int = 999
    digits: int = 3
    default_service_s: int = 300
    # "strict": a priority ticket is always called first; "interleave": one priority ticket after
    # every `interleave_every` ordinary ones (when both wait).
    priority_rule: str = "strict"
    interleave_every: int = 3

    def number(self, seq: int) -> str:
        return f"{self.prefix}{self.first + seq - 1:0{self.digits}d}"

    @property
    def capacity(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class CounterSpec:
    id: str
    name: str
    services: tuple[str, ...]


@dataclass
class Ticket:
    id: str
    number: str
    service_id: str
    service_day: date
    issued_at: datetime
    token: str
    priority: bool = False
    priority_group: str | None = None
    status: Status = "waiting"
    original_service_id: str | None = None
    called_at: datetime | None = None
    served_at: datetime | None = None
    completed_at: datetime | None = None
    counter_id: str | None = None
    recalls: int = 0
    rating: int | None = None
    issued_by: str | None = None
    # The dossier whose result this citizen came to collect (result-return tickets).
    dossier_code: str | None = None
    # Set when a transfer sent the citizen to the end of the new service's line.
    requeued_at: datetime | None = None
    # Why its last call took it out of issue order (shown to the officer), stored with the ticket
    # so a restarted hub still says it: "priority" (it jumped older ordinary tickets), "interleave"
    # (an ordinary ticket called while a priority one waits, by the rule), "number" (called by its
    # number); None: called in its turn.
    call_reason: str | None = None

    @property
    def queue_key(self) -> tuple[datetime, str]:
        # Order of calling within a class: original issue time (or the time a transfer put the
        # citizen at the end of the line), then id (numbers of one day sort).
        return (self.requeued_at or self.issued_at, self.id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "service_id": self.service_id,
            "original_service_id": self.original_service_id,
            "priority": self.priority,
            "priority_group": self.priority_group,
            "status": self.status,
            "issued_at": iso(self.issued_at),
            "called_at": iso(self.called_at),
            "served_at": iso(self.served_at),
            "completed_at": iso(self.completed_at),
            "counter_id": self.counter_id,
            "recalls": self.recalls,
            "rating": self.rating,
            "dossier_code": self.dossier_code,
            "call_reason": self.call_reason,
            "token": self.token,
        }


@dataclass
class CounterState:
    spec: CounterSpec
    open: bool = False
    current: str | None = None  # id of the ticket called or being served here
    # Why the counter is paused (a break, a meeting): shown on the hall display and LED boards.
    pause_reason: str | None = None
    # Ordinary calls since the counter's last priority call (the interleave rule); persisted with
    # the counter so a restarted hub keeps the rhythm.
    ordinary_streak: int = 0

    @property
    def id(self) -> str:
        return self.spec.id

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.spec.name, "open": self.open, "pause_reason": self.pause_reason}


@dataclass(frozen=True)
class EventDraft:
    """An event before the hub gives it its sequence number."""

    type: str
    ticket: Ticket | None
    counter_id: str | None
    ts: datetime
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Change:
    """What one operation did: the result for the caller and the rows and events to persist."""

    result: Any = None
    tickets: dict[str, Ticket] = field(default_factory=dict)
    counters: dict[str, CounterState] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)  # service_id -> last seq used today
    events: list[EventDraft] = field(default_factory=list)
    day_rolled: bool = False
    # Ids of tickets this change created: the store INSERTs them (a duplicate id fails loudly)
    # and only UPDATEs the others.
    created: set[str] = field(default_factory=set)

    def touch(self, ticket: Ticket) -> None:
        self.tickets[ticket.id] = ticket

    def merge(self, other: Change) -> None:
        self.tickets.update(other.tickets)
        self.counters.update(other.counters)
        self.numbers.update(other.numbers)
        self.events.extend(other.events)
        self.day_rolled = self.day_rolled or other.day_rolled
        self.created |= other.created


HoldReason = Literal["clock_unsynchronised", "clock_jump"]


@dataclass(frozen=True)
class DayDecision:
    """Which service day the hub works in after looking at its clock.

    `roll`: open `day` now (the clock passed a rollover the way a clock should). `held`: a later day
    the clock claims but that is not opened, and why; the hub goes on in the current day until an
    officer confirms the new day or the clock passes the next rollover by itself.
    """

    day: date
    roll: bool = False
    held: date | None = None
    reason: HoldReason | None = None


def decide_day(
    service_day: date,
    clock_day: date,
    *,
    held: date | None,
    synchronised: bool | None,
    stepped: bool,
    starting: bool,
) -> DayDecision:
    """The rollover rules. A number once acknowledged must never be acknowledged again, and a
    line must not be cancelled because a clock was wrong, so:

    - the day never moves backwards (a clock behind the service day keeps issuing in it);
    - on a clock the platform says is not synchronised, no new day opens;
    - a running hub opens the next day only when its clock ran into it: one rollover, no step of
      the wall clock (a jump across the rollover waits, `clock_jump`); a held day opens at the
      next real rollover after it;
    - a hub starting up (it may have been off for days) opens the clock's day when the clock is
      synchronised, or when sync is unknown and it is exactly the next day.
    """
    if clock_day <= service_day:
        return DayDecision(service_day)  # the clock agrees again, or is behind: stay
    if synchronised is False:
        return DayDecision(service_day, held=clock_day, reason="clock_unsynchronised")
    if held is not None and clock_day <= held:
        # Still the day that was refused (a restart does not make a jumped clock right).
        return DayDecision(service_day, held=held, reason="clock_jump")
    if held is not None and not stepped:
        return DayDecision(clock_day, roll=True)  # the clock ran past the next rollover
    if starting:
        if synchronised or clock_day == service_day + timedelta(days=1):
            return DayDecision(clock_day, roll=True)
        return DayDecision(service_day, held=clock_day, reason="clock_jump")
    if stepped or clock_day != service_day + timedelta(days=1):
        return DayDecision(service_day, held=clock_day, reason="clock_jump")
    return DayDecision(clock_day, roll=True)


class WaitingLine:
    """Waiting tickets of one service, priority and ordinary, each kept in calling order."""

    def __init__(self) -> None:
        self.priority: list[tuple[datetime, str]] = []
        self.ordinary: list[tuple[datetime, str]] = []

    def _list(self, ticket: Ticket) -> list[tuple[datetime, str]]:
        return self.priority if ticket.priority else self.ordinary

    def add(self, ticket: Ticket) -> None:
        bisect.insort(self._list(ticket), ticket.queue_key)

    def remove(self, ticket: Ticket) -> None:
        line = self._list(ticket)
        index = bisect.bisect_left(line, ticket.queue_key)
        if index < len(line) and line[index] == ticket.queue_key:
            del line[index]

    def ahead_of(self, ticket: Ticket) -> int:
        """How many waiting tickets of this service are called before `ticket`."""
        if ticket.priority:
            return bisect.bisect_left(self.priority, ticket.queue_key)
        return len(self.priority) + bisect.bisect_left(self.ordinary, ticket.queue_key)

    def __len__(self) -> int:
        return len(self.priority) + len(self.ordinary)


def copy_ticket(ticket: Ticket) -> Ticket:
    return replace(ticket)
