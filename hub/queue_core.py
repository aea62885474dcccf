"""The queue engine's state and its core: loading a day, the service day, lookups and estimates,
issuing and calling. hub.engine.QueueEngine adds what the counter console does with a called
ticket, live reconfiguration and the snapshot. Pure Python, no I/O (see hub.engine).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from appliance.i18n import ACTION_LABELS, STATUS_LABELS, label
from appliance.timeutil import SITE_TZ

from .queue_model import (
    Change,
    CounterSpec,
    CounterState,
    EventDraft,
    QueueError,
    Service,
    Ticket,
    WaitingLine,
)

# How many recent service times feed the estimate of a service's wait.
SERVICE_TIME_WINDOW = 20
RECENT_CALLS = 10


class QueueCore:
    """All queue state of one site for the current service day, and issuing and calling."""

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
        self.lines: dict[str, WaitingLine] = {s.id: WaitingLine() for s in services}
        self.service_times: dict[str, deque[float]] = {
            s.id: deque(maxlen=SERVICE_TIME_WINDOW) for s in services
        }
        self.recent_calls: deque[tuple[str, str, datetime]] = deque(maxlen=RECENT_CALLS)
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
        counters: dict[str, tuple[Any, ...]],
        recent_calls: Iterable[tuple[str, str, datetime]] = (),
    ) -> None:
        """Rebuild the state of `service_day` from persisted rows; `counters` maps an id to
        (open, current ticket[, pause reason, ordinary streak of this day])."""
        self.service_day = service_day
        self.tickets.clear()
        self.by_number.clear()
        self.latest_issue = None
        self.lines = {s: WaitingLine() for s in self.services}
        for service_id in self.services:
            self.last_seq[service_id] = last_seq.get(service_id, 0)
            self.service_times[service_id].clear()
        for ticket in sorted(tickets, key=lambda t: (t.completed_at or t.issued_at, t.id)):
            self._index(ticket)
            if ticket.status == "completed" and ticket.called_at and ticket.completed_at:
                self._record_service_time(ticket)
        for counter_id, row in counters.items():
            state = self.counters.get(counter_id)
            if state is None:
                continue  # a counter removed from the site configuration
            is_open, current, pause_reason, streak = (*row, None, 0)[:4]
            state.open = is_open
            state.pause_reason = pause_reason if not is_open else None
            state.ordinary_streak = int(streak or 0)
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
            if counter.current is not None or counter.ordinary_streak:
                counter.current = None
                counter.ordinary_streak = 0  # a new day starts the interleave rhythm afresh
                change.counters[counter.id] = counter
        self.service_day = today
        self.tickets.clear()
        self.by_number.clear()
        self.lines = {s: WaitingLine() for s in self.services}
        for service_id in self.services:
            self.last_seq[service_id] = 0
        self.recent_calls.clear()
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
        if service.priority_rule == "interleave" and counter.ordinary_streak < service.interleave_every:
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
            counter.ordinary_streak = 0
        elif reason == "interleave":
            counter.ordinary_streak += 1
        self._call(counter, ticket, now, change, reason=reason)
        return change

    def _call(
        self,
        counter: CounterState,
        ticket: Ticket,
        now: datetime,
        change: Change,
        *,
        reason: str | None = None,
        **extra: Any,
    ) -> None:
        """Make `ticket` the counter's called ticket (the one it was serving is completed);
        `reason`: why it was called out of issue order (Ticket.call_reason)."""
        self._finish_current(counter, now, change)
        if ticket.status == "waiting":
            self.lines[ticket.service_id].remove(ticket)
        ticket.status = "called"
        ticket.call_reason = reason
        ticket.called_at = now
        ticket.counter_id = counter.id
        counter.current = ticket.id
        self.recent_calls.appendleft((ticket.id, counter.id, now))
        change.touch(ticket)
        change.counters[counter.id] = counter
        change.events.append(EventDraft("ticket.called", ticket, counter.id, now, extra))
        change.result = ticket

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
