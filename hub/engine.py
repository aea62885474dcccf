"""The queue engine: services, counters and tickets of one site for one service day.

Pure Python: no MQTT, Flask, SQLite or clock inside. Every operation takes `now` and returns a
`Change` naming exactly what it modified, so the store can persist it in one transaction and the hub
can publish the events after the commit. Every operation checks everything first and mutates only
when it cannot fail any more: a refused operation leaves the engine untouched.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from appliance.errors import MotcuaError
from appliance.i18n import ACTION_LABELS, STATUS_LABELS, label
from appliance.timeutil import SITE_TZ, iso

# "held": parked at a counter while the citizen fetches a paper; the counter serves others meanwhile.
Status = Literal["waiting", "called", "serving", "held", "completed", "skipped", "cancelled"]
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "cancelled"})
# How many recent service times feed the estimate of a service's wait.
SERVICE_TIME_WINDOW = 20
RECENT_CALLS = 10


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
            "token": self.token,
        }


@dataclass
class CounterState:
    spec: CounterSpec
    open: bool = False
    current: str | None = None  # id of the ticket called or being served here
    # Why the counter is paused (a break, a meeting): shown on the hall display and LED boards.
    pause_reason: str | None = None

    @property
    def id(self) -> str:
        return self.spec.id


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


class _WaitingLine:
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


class QueueEngine:
    """All queue state of one site for the current service day."""

    def __init__(
        self,
        services: Sequence[Service],
        counters: Sequence[CounterSpec],
        *,
        rollover: time = time(0, 0),
        tz: ZoneInfo = SITE_TZ,
        service_day: date | None = None,
    ) -> None:
        self.services: dict[str, Service] = {s.id: s for s in services}
        self.counters: dict[str, CounterState] = {c.id: CounterState(c) for c in counters}
        self.rollover = rollover
        self.tz = tz
        self.service_day: date | None = service_day
        self.tickets: dict[str, Ticket] = {}
        self.by_number: dict[str, str] = {}
        self.last_seq: dict[str, int] = {s.id: 0 for s in services}
        self.lines: dict[str, _WaitingLine] = {s.id: _WaitingLine() for s in services}
        self.service_times: dict[str, deque[float]] = {
            s.id: deque(maxlen=SERVICE_TIME_WINDOW) for s in services
        }
        self.recent_calls: deque[tuple[str, str, datetime]] = deque(maxlen=RECENT_CALLS)
        # Ordinary calls per counter since its last priority call (the interleave rule), and why
        # each ticket of the day was called out of issue order (shown to the officer).
        self.ordinary_streak: dict[str, int] = {}
        self.call_reasons: dict[str, str] = {}
        # The latest issue time of the day: a clock set back must not put a new ticket in front of
        # the people already waiting (the line is ordered by issue time).
        self.latest_issue: datetime | None = None
        for counter in counters:
            unknown = [s for s in counter.services if s not in self.services]
            if unknown:
                raise ValueError(f"counter {counter.id!r} serves unknown services {unknown}")

    # ------------------------------------------------------------------ loading
    def load(
        self,
        service_day: date,
        tickets: Iterable[Ticket],
        last_seq: dict[str, int],
        counters: dict[str, tuple[bool, str | None]],
        recent_calls: Iterable[tuple[str, str, datetime]] = (),
    ) -> None:
        """Rebuild the state of `service_day` from persisted rows."""
        self.service_day = service_day
        self.tickets.clear()
        self.by_number.clear()
        self.latest_issue = None
        self.lines = {s: _WaitingLine() for s in self.services}
        for service_id in self.services:
            self.last_seq[service_id] = last_seq.get(service_id, 0)
            self.service_times[service_id].clear()
        for ticket in sorted(tickets, key=lambda t: (t.completed_at or t.issued_at, t.id)):
            self._index(ticket)
            if ticket.status == "completed" and ticket.called_at and ticket.completed_at:
                self._record_service_time(ticket)
        for counter_id, (is_open, current) in counters.items():
            state = self.counters.get(counter_id)
            if state is None:
                continue  # a counter removed from the site configuration
            state.open = is_open
            ticket = self.tickets.get(current) if current else None
            state.current = current if ticket and ticket.status in ("called", "serving") else None
        self.recent_calls.clear()
        for call in recent_calls:
            self.recent_calls.append(call)

    def _index(self, ticket: Ticket) -> None:
        self.tickets[ticket.id] = ticket
        if self.latest_issue is None or ticket.issued_at > self.latest_issue:
            self.latest_issue = ticket.issued_at
        self.by_number[ticket.number] = ticket.id
        if ticket.status == "waiting" and ticket.service_id in self.lines:
            self.lines[ticket.service_id].add(ticket)

    # ------------------------------------------------------------------ time
    def day_of(self, moment: datetime) -> date:
        """The service day `moment` belongs to: days start at the rollover time, local."""
        local = moment.astimezone(self.tz)
        shift = timedelta(hours=self.rollover.hour, minutes=self.rollover.minute)
        return (local - shift).date()

    def _ensure_day(self, now: datetime) -> Change:
        """A fresh engine (never loaded) works in the day of `now`; otherwise the service day stays
        what it is: only `roll` changes it, when the hub's day rules say so (`decide_day`)."""
        if self.service_day is None:
            self.service_day = self.day_of(now)
        return Change()

    def roll(self, now: datetime, to_day: date | None = None) -> Change:
        """Start service day `to_day` (default: the day of `now`) if it is later than the current
        one: numbers restart, tickets still waiting or at a counter are cancelled (they cannot be
        served tomorrow). The day never moves backwards."""
        change = Change()
        today = to_day or self.day_of(now)
        if self.service_day is None:
            self.service_day = today
            return change
        if today <= self.service_day:
            return change
        for ticket in list(self.tickets.values()):
            if ticket.status in ("waiting", "called", "serving", "skipped", "held"):
                ticket.status = "cancelled"
                ticket.completed_at = now
                change.touch(ticket)
                change.events.append(
                    EventDraft("ticket.cancelled", ticket, ticket.counter_id, now, {"reason": "day_end"})
                )
        for counter in self.counters.values():
            if counter.current is not None:
                counter.current = None
                change.counters[counter.id] = counter
        self.service_day = today
        self.tickets.clear()
        self.by_number.clear()
        self.lines = {s: _WaitingLine() for s in self.services}
        for service_id in self.services:
            self.last_seq[service_id] = 0
        self.recent_calls.clear()
        self.call_reasons.clear()
        self.ordinary_streak.clear()
        self.latest_issue = None
        change.day_rolled = True
        return change

    # ------------------------------------------------------------------ lookups
    def service(self, service_id: str) -> Service:
        try:
            return self.services[service_id]
        except KeyError:
            raise QueueError("unknown_service", service_id=service_id) from None

    def counter(self, counter_id: str) -> CounterState:
        try:
            return self.counters[counter_id]
        except KeyError:
            raise QueueError("unknown_counter", counter_id=counter_id) from None

    def find_ticket(self, ref: str) -> Ticket:
        """A ticket of today by id or by printed number (case-insensitive)."""
        ticket = self.tickets.get(ref)
        if ticket is None:
            ticket_id = self.by_number.get(ref.strip().upper())
            ticket = self.tickets.get(ticket_id) if ticket_id else None
        if ticket is None:
            raise QueueError("unknown_ticket", ticket_id=ref)
        return ticket

    def current_ticket(self, counter: CounterState) -> Ticket | None:
        return self.tickets.get(counter.current) if counter.current else None

    def waiting(self, service_id: str) -> int:
        return len(self.lines[service_id])

    def ahead(self, ticket: Ticket) -> int:
        if ticket.status != "waiting":
            return 0
        return self.lines[ticket.service_id].ahead_of(ticket)

    def average_service_s(self, service_id: str) -> float:
        samples = self.service_times[service_id]
        if not samples:
            return float(self.services[service_id].default_service_s)
        return sum(samples) / len(samples)

    def open_counters_for(self, service_id: str) -> int:
        return sum(1 for c in self.counters.values() if c.open and service_id in c.spec.services)

    def estimated_wait_s(self, service_id: str, ahead: int | None = None) -> int:
        """Seconds until a ticket with `ahead` people before it is called (default: a new ticket).

        Recent service times of the service divided among the open counters that serve it; with no
        counter open, as if one were (the estimate must not be infinite on a kiosk at 07:25).
        """
        people = self.waiting(service_id) if ahead is None else ahead
        counters = max(1, self.open_counters_for(service_id))
        return round(people * self.average_service_s(service_id) / counters)

    def describe(self, ticket: Ticket, *, with_token: bool = False) -> dict[str, Any]:
        """The ticket as the wire shows it, with the live figures a citizen cares about.

        The token opens the citizen's public page: only the issuer's reply carries it, never the
        events or the snapshot that every device on the broker reads.
        """
        data = ticket.to_dict()
        if not with_token:
            del data["token"]
        service = self.services.get(ticket.service_id)
        data["service_name"] = service.name if service else ticket.service_id
        data["service_name_en"] = service.name_en if service else ""
        ahead = self.ahead(ticket)
        data["ahead"] = ahead
        data["call_reason"] = self.call_reasons.get(ticket.id)
        data["estimated_wait_s"] = (
            self.estimated_wait_s(ticket.service_id, ahead) if ticket.status == "waiting" else 0
        )
        if ticket.counter_id and ticket.counter_id in self.counters:
            data["counter_name"] = self.counters[ticket.counter_id].spec.name
        else:
            data["counter_name"] = None
        return data

    # ------------------------------------------------------------------ operations
    def issue(
        self,
        service_id: str,
        *,
        now: datetime,
        token: str,
        priority: bool = False,
        priority_group: str | None = None,
        issued_by: str | None = None,
        dossier_code: str | None = None,
    ) -> Change:
        change = self._ensure_day(now)
        service = self.service(service_id)
        seq = self.last_seq[service_id] + 1
        if seq > service.capacity:
            raise QueueError("service_full", service=service.name)
        number = service.number(seq)
        assert self.service_day is not None
        ticket = Ticket(
            id=f"{self.service_day:%Y%m%d}-{number}",
            number=number,
            service_id=service_id,
            service_day=self.service_day,
            issued_at=now if self.latest_issue is None else max(now, self.latest_issue),
            token=token,
            priority=priority or priority_group is not None,
            priority_group=priority_group,
            issued_by=issued_by,
            dossier_code=dossier_code,
        )
        if ticket.number in self.by_number:  # two services configured with overlapping numbers
            raise QueueError("service_full", service=service.name)
        self.last_seq[service_id] = seq
        self._index(ticket)
        change.numbers[service_id] = seq
        change.touch(ticket)
        change.created.add(ticket.id)
        change.events.append(EventDraft("ticket.issued", ticket, None, now))
        change.result = ticket
        return change

    # ------------------------------------------------------------------ bookings (issue 17)
    def first_walk_in(self, service_id: str) -> datetime | None:
        """When the first ordinary ticket still waiting for `service_id` took its place in line."""
        line = self.lines[self.service(service_id).id].ordinary
        return line[0][0] if line else None

    def issue_booked(
        self, service_id: str, *, now: datetime, token: str, queue_at: datetime, **options: Any
    ) -> Change:
        """Issue a ticket for a checked-in booking whose place in line counts from `queue_at` (never
        later than now: see hub.bookings.model.place_in_line). Its `issued_at` is that place."""
        change = self.issue(service_id, now=now, token=token, **options)
        ticket: Ticket = change.result
        line = self.lines[ticket.service_id]
        line.remove(ticket)
        ticket.issued_at = min(queue_at, ticket.issued_at)
        line.add(ticket)
        return change

    def _check_open(self, counter: CounterState) -> None:
        if not counter.open:
            raise QueueError("counter_closed", counter=counter.spec.name)

    def _require_current(self, counter: CounterState) -> Ticket:
        ticket = self.current_ticket(counter)
        if ticket is None:
            raise QueueError("counter_idle", counter=counter.spec.name)
        return ticket

    def _oldest(self, counter: CounterState, attr: str) -> Ticket | None:
        best: tuple[datetime, str] | None = None
        for service_id in counter.spec.services:
            line: list[tuple[datetime, str]] = getattr(self.lines[service_id], attr)
            if line and (best is None or line[0] < best):
                best = line[0]
        return self.tickets[best[1]] if best is not None else None

    def _next_for(self, counter: CounterState) -> Ticket | None:
        """Oldest priority ticket of the counter's services, else the oldest ordinary one; a
        service with the interleave rule lets `interleave_every` ordinary tickets go first."""
        return self._choose_next(counter)[0]

    def _choose_next(self, counter: CounterState) -> tuple[Ticket | None, str | None]:
        """(ticket, reason): reason "priority" when a priority ticket jumps older ordinary ones,
        "interleave" when an ordinary one goes before a waiting priority ticket by the rule."""
        priority = self._oldest(counter, "priority")
        ordinary = self._oldest(counter, "ordinary")
        if priority is None:
            return ordinary, None
        if ordinary is None:
            return priority, None
        service = self.services[priority.service_id]
        streak = self.ordinary_streak.get(counter.id, 0)
        if service.priority_rule == "interleave" and streak < service.interleave_every:
            return ordinary, "interleave"
        jumped = ordinary.queue_key < priority.queue_key
        return priority, "priority" if jumped else None

    def _finish_current(self, counter: CounterState, now: datetime, change: Change) -> None:
        ticket = self.current_ticket(counter)
        if ticket is None:
            return
        ticket.status = "completed"
        ticket.completed_at = now
        self._record_service_time(ticket)
        counter.current = None
        change.touch(ticket)
        change.counters[counter.id] = counter
        change.events.append(EventDraft("ticket.completed", ticket, counter.id, now))

    def call_next(self, counter_id: str, *, now: datetime) -> Change:
        """Call the next citizen to the counter; the ticket it was serving is completed."""
        change = self._ensure_day(now)
        counter = self.counter(counter_id)
        self._check_open(counter)
        ticket, reason = self._choose_next(counter)
        if ticket is None:
            raise QueueError("no_waiting")
        if ticket.priority:
            self.ordinary_streak[counter.id] = 0
        elif reason == "interleave":
            self.ordinary_streak[counter.id] = self.ordinary_streak.get(counter.id, 0) + 1
        if reason is not None:
            self.call_reasons[ticket.id] = reason
        self._finish_current(counter, now, change)
        self.lines[ticket.service_id].remove(ticket)
        ticket.status = "called"
        ticket.called_at = now
        ticket.counter_id = counter.id
        counter.current = ticket.id
        self.recent_calls.appendleft((ticket.id, counter.id, now))
        change.touch(ticket)
        change.counters[counter.id] = counter
        change.events.append(EventDraft("ticket.called", ticket, counter.id, now))
        change.result = ticket
        return change

    # ------------------------------------------------------------------ console: by number, hold, pause
    def _call(
        self, counter: CounterState, ticket: Ticket, now: datetime, change: Change, **extra: Any
    ) -> None:
        """Make `ticket` the counter's called ticket (the one it was serving is completed)."""
        self._finish_current(counter, now, change)
        if ticket.status == "waiting":
            self.lines[ticket.service_id].remove(ticket)
        ticket.status = "called"
        ticket.called_at = now
        ticket.counter_id = counter.id
        counter.current = ticket.id
        self.recent_calls.appendleft((ticket.id, counter.id, now))
        change.touch(ticket)
        change.counters[counter.id] = counter
        change.events.append(EventDraft("ticket.called", ticket, counter.id, now, extra))
        change.result = ticket

    def call_number(self, counter_id: str, ticket_ref: str, *, now: datetime) -> Change:
        """Call a given waiting or skipped number (the citizen who stepped out and came back), of
        one of the counter's services, out of turn."""
        change = self._ensure_day(now)
        counter = self.counter(counter_id)
        self._check_open(counter)
        ticket = self.find_ticket(ticket_ref)
        if ticket.service_id not in counter.spec.services:
            service = self.services.get(ticket.service_id)
            raise QueueError(
                "service_not_at_counter",
                service=service.name if service else ticket.service_id,
                counter=counter.spec.name,
            )
        if ticket.status not in ("waiting", "skipped"):
            raise self._state_error(ticket, "call")
        if ticket.id == counter.current:
            raise self._state_error(ticket, "call")
        self._call(counter, ticket, now, change, by_number=True)
        return change

    def _let_go(self, counter_id: str, status: str, now: datetime) -> Change:
        """The counter's current citizen leaves the counter with `status` (event `ticket.{status}`);
        the counter is free for the next one."""
        change = self._ensure_day(now)
        counter = self.counter(counter_id)
        ticket = self._require_current(counter)
        ticket.status = status
        counter.current = None
        change.touch(ticket)
        change.counters[counter.id] = counter
        change.events.append(EventDraft(f"ticket.{status}", ticket, counter.id, now))
        change.result = ticket
        return change

    def hold(self, counter_id: str, *, now: datetime) -> Change:
        """Park the counter's citizen (they fetch a paper): the counter is free for the next one and
        the ticket waits, held at this counter, until `resume`."""
        return self._let_go(counter_id, "held", now)

    def resume(self, counter_id: str, ticket_ref: str, *, now: datetime) -> Change:
        """The parked citizen is back: serve them again at the counter that parked them."""
        change = self._ensure_day(now)
        counter = self.counter(counter_id)
        self._check_open(counter)
        ticket = self.find_ticket(ticket_ref)
        if ticket.status != "held" or ticket.counter_id != counter.id:
            raise self._state_error(ticket, "resume")
        self._finish_current(counter, now, change)
        ticket.status = "serving"
        ticket.served_at = ticket.served_at or now
        counter.current = ticket.id
        change.touch(ticket)
        change.counters[counter.id] = counter
        change.events.append(EventDraft("ticket.resumed", ticket, counter.id, now))
        change.result = ticket
        return change

    def held(self, counter_id: str) -> list[Ticket]:
        return sorted(
            (t for t in self.tickets.values() if t.status == "held" and t.counter_id == counter_id),
            key=lambda t: t.queue_key,
        )

    def pause(self, counter_id: str, reason: str, *, now: datetime) -> Change:
        """Close the counter for a while with a reason the hall display and LED boards show;
        `set_open(True)` ends the pause."""
        change = self._ensure_day(now)
        counter = self.counter(counter_id)
        if counter.current is not None:
            ticket = self.tickets[counter.current]
            raise QueueError("counter_busy", counter=counter.spec.name, number=ticket.number)
        counter.open = False
        counter.pause_reason = reason
        change.counters[counter.id] = counter
        change.events.append(EventDraft("counter.paused", None, counter.id, now, {"reason": reason}))
        change.result = counter
        return change

    def waiting_list(self, counter_id: str) -> list[Ticket]:
        """The waiting tickets of the counter's services in the order call-next takes them."""
        counter = self.counter(counter_id)
        tickets = [
            self.tickets[key[1]]
            for service_id in counter.spec.services
            for line in (self.lines[service_id].priority, self.lines[service_id].ordinary)
            for key in line
        ]
        return sorted(tickets, key=lambda t: (not t.priority, t.queue_key))

    def recall(self, counter_id: str, *, now: datetime) -> Change:
        change = self._ensure_day(now)
        counter = self.counter(counter_id)
        ticket = self._require_current(counter)
        ticket.recalls += 1
        self.recent_calls.appendleft((ticket.id, counter.id, now))
        change.touch(ticket)
        change.events.append(EventDraft("ticket.recalled", ticket, counter.id, now))
        change.result = ticket
        return change

    def start(self, counter_id: str, *, now: datetime) -> Change:
        """The called citizen arrived: the ticket is being served."""
        change = self._ensure_day(now)
        counter = self.counter(counter_id)
        ticket = self._require_current(counter)
        if ticket.status == "called":
            ticket.status = "serving"
            ticket.served_at = now
            change.touch(ticket)
        change.result = ticket
        return change

    def skip(self, counter_id: str, *, now: datetime) -> Change:
        """The called citizen did not come (vắng mặt): the ticket can be reinstated later."""
        return self._let_go(counter_id, "skipped", now)

    def complete(self, counter_id: str, *, now: datetime) -> Change:
        change = self._ensure_day(now)
        counter = self.counter(counter_id)
        ticket = self._require_current(counter)
        self._finish_current(counter, now, change)
        change.result = ticket
        return change

    def transfer(self, counter_id: str, to_service_id: str, *, now: datetime, to_end: bool = False) -> Change:
        """Send the counter's citizen to another service; they keep their number and, by default,
        their original issue time, so they do not start again at the back of the line
        (`to_end`: they do, behind everyone waiting now)."""
        change = self._ensure_day(now)
        counter = self.counter(counter_id)
        target = self.service(to_service_id)
        ticket = self._require_current(counter)
        if ticket.service_id == to_service_id:
            raise QueueError("same_service", service=target.name)
        ticket.original_service_id = ticket.original_service_id or ticket.service_id
        ticket.service_id = to_service_id
        if to_end:
            ticket.requeued_at = now if self.latest_issue is None else max(now, self.latest_issue)
            self.latest_issue = ticket.requeued_at
        ticket.status = "waiting"
        ticket.counter_id = None
        ticket.called_at = None
        ticket.served_at = None
        counter.current = None
        self.lines[to_service_id].add(ticket)
        change.touch(ticket)
        change.counters[counter.id] = counter
        change.events.append(
            EventDraft(
                "ticket.transferred",
                ticket,
                counter.id,
                now,
                {"to_service_id": to_service_id, "position": "end" if to_end else "front"},
            )
        )
        change.result = ticket
        return change

    def reinstate(self, ticket_ref: str, *, now: datetime) -> Change:
        """A skipped citizen came back: back in line at their original place."""
        change = self._ensure_day(now)
        ticket = self.find_ticket(ticket_ref)
        if ticket.status != "skipped":
            raise self._state_error(ticket, "reinstate")
        ticket.status = "waiting"
        ticket.counter_id = None
        ticket.called_at = None
        self.lines[ticket.service_id].add(ticket)
        change.touch(ticket)
        change.events.append(EventDraft("ticket.reinstated", ticket, None, now))
        change.result = ticket
        return change

    def cancel(self, ticket_ref: str, *, now: datetime) -> Change:
        change = self._ensure_day(now)
        ticket = self.find_ticket(ticket_ref)
        if ticket.status not in ("waiting", "skipped"):
            raise self._state_error(ticket, "cancel")
        if ticket.status == "waiting":
            self.lines[ticket.service_id].remove(ticket)
        ticket.status = "cancelled"
        ticket.completed_at = now
        change.touch(ticket)
        change.events.append(EventDraft("ticket.cancelled", ticket, None, now))
        change.result = ticket
        return change

    def set_open(self, counter_id: str, is_open: bool, *, now: datetime) -> Change:
        change = self._ensure_day(now)
        counter = self.counter(counter_id)
        if not is_open and counter.current is not None:
            ticket = self.tickets[counter.current]
            raise QueueError("counter_busy", counter=counter.spec.name, number=ticket.number)
        if is_open and counter.pause_reason is not None:
            counter.pause_reason = None
            change.counters[counter.id] = counter
        if counter.open != is_open:
            counter.open = is_open
            change.counters[counter.id] = counter
            change.events.append(
                EventDraft("counter.opened" if is_open else "counter.closed", None, counter.id, now)
            )
        change.result = counter
        return change

    def rate(self, ticket_ref: str, score: int, *, low: int, high: int, now: datetime) -> Change:
        change = self._ensure_day(now)
        ticket = self.find_ticket(ticket_ref)
        if not low <= score <= high:
            raise QueueError("bad_score", low=low, high=high)
        if ticket.rating is not None:
            raise QueueError("already_rated", number=ticket.number)
        if ticket.status not in ("called", "serving", "completed"):
            raise QueueError("not_rateable")
        ticket.rating = score
        change.touch(ticket)
        change.events.append(EventDraft("rating.submitted", ticket, ticket.counter_id, now, {"score": score}))
        change.result = ticket
        return change

    def _state_error(self, ticket: Ticket, action: str) -> QueueError:
        return QueueError(
            "invalid_state",
            number=ticket.number,
            status=label(STATUS_LABELS, ticket.status),
            action=label(ACTION_LABELS, action),
        )

    def _record_service_time(self, ticket: Ticket) -> None:
        start = ticket.served_at or ticket.called_at
        if start is None or ticket.completed_at is None:
            return
        seconds = (ticket.completed_at - start).total_seconds()
        if 0 <= seconds <= 4 * 3600:  # a ticket left open over lunch must not poison the estimate
            self.service_times[ticket.service_id].append(seconds)

    # ------------------------------------------------------------------ live configuration
    def reconfigure(
        self,
        services: Sequence[Service],
        counters: Sequence[CounterSpec],
        *,
        open_at_start: frozenset[str] = frozenset(),
    ) -> None:
        """Take a new site configuration while the day goes on (the head edited it).

        Refused (QueueError, engine untouched) when it would strand a citizen or a number: removing
        a service that still has tickets in play or a counter serving someone, or changing the
        number format of a service that issued numbers today other than by widening its block.
        New counters start open if in `open_at_start`.
        """
        new_services = {s.id: s for s in services}
        live = ("waiting", "called", "serving", "skipped", "held")
        for service_id, old in self.services.items():
            if service_id not in new_services:
                if any(t.service_id == service_id and t.status in live for t in self.tickets.values()):
                    raise QueueError("admin_service_in_use", service=old.name)
                continue
            new = new_services[service_id]
            used = self.last_seq.get(service_id, 0)
            if used and (new.prefix, new.first, new.digits) != (old.prefix, old.first, old.digits):
                raise QueueError("admin_numbers_in_use", service=old.name)
            if used and new.capacity < used:
                raise QueueError("admin_block_too_small", service=old.name, number=old.number(used))
        new_counters = {c.id: c for c in counters}
        for counter_id, state in self.counters.items():
            if counter_id not in new_counters and state.current is not None:
                number = self.tickets[state.current].number
                raise QueueError("counter_busy", counter=state.spec.name, number=number)
        for counter in counters:
            unknown = [s for s in counter.services if s not in new_services]
            if unknown:
                raise QueueError("unknown_service", service_id=", ".join(unknown))
        # Nothing can fail any more.
        for service_id in list(self.services):
            if service_id not in new_services:
                del self.lines[service_id]
                del self.service_times[service_id]
                del self.last_seq[service_id]
        for service_id in new_services:
            self.lines.setdefault(service_id, _WaitingLine())
            self.service_times.setdefault(service_id, deque(maxlen=SERVICE_TIME_WINDOW))
            self.last_seq.setdefault(service_id, 0)
        self.services = dict(new_services)
        states: dict[str, CounterState] = {}
        for counter in counters:
            state = self.counters.get(counter.id)
            if state is None:
                state = CounterState(counter, open=counter.id in open_at_start)
            else:
                state.spec = counter
            states[counter.id] = state
        self.counters = states

    # ------------------------------------------------------------------ snapshot
    def snapshot(self) -> dict[str, Any]:
        """Services, counters and recent calls as the retained queue/state shows them."""
        services = [
            {
                "id": s.id,
                "name": s.name,
                "name_en": s.name_en,
                "waiting": self.waiting(s.id),
                "estimated_wait_s": self.estimated_wait_s(s.id),
                "last_number": s.number(self.last_seq[s.id]) if self.last_seq[s.id] else None,
            }
            for s in self.services.values()
        ]
        counters = []
        for c in self.counters.values():
            current = self.current_ticket(c)
            counters.append(
                {
                    "id": c.id,
                    "name": c.spec.name,
                    "services": list(c.spec.services),
                    "open": c.open,
                    "pause_reason": c.pause_reason,
                    "serving": self.describe(current) if current else None,
                }
            )
        recent = []
        for ticket_id, counter_id, moment in self.recent_calls:
            ticket = self.tickets.get(ticket_id)
            if ticket is None:
                continue
            recent.append(
                {
                    "ticket": {"id": ticket.id, "number": ticket.number, "service_id": ticket.service_id},
                    "counter_id": counter_id,
                    "counter_name": (
                        self.counters[counter_id].spec.name if counter_id in self.counters else counter_id
                    ),
                    "ts": iso(moment),
                }
            )
        return {
            "service_day": self.service_day.isoformat() if self.service_day else None,
            "services": services,
            "counters": counters,
            "recent_calls": recent,
        }


def copy_ticket(ticket: Ticket) -> Ticket:
    return replace(ticket)
