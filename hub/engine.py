"""The queue engine: services, counters and tickets of one site for one service day.

Pure Python: no MQTT, Flask, SQLite or clock inside. Every operation takes `now` and returns a
`Change` naming exactly what it modified, so the store can persist it in one transaction and the hub
can publish the events after the commit. Every operation checks everything first and mutates only
when it cannot fail any more: a refused operation leaves the engine untouched.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from appliance.timeutil import iso

from .queue_core import RECENT_CALLS, SERVICE_TIME_WINDOW, QueueCore
from .queue_model import (
    FINAL_STATUSES,
    Change,
    CounterSpec,
    CounterState,
    DayDecision,
    EventDraft,
    HoldReason,
    QueueError,
    Service,
    Status,
    Ticket,
    WaitingLine,
    copy_ticket,
    decide_day,
)

__all__ = [
    "FINAL_STATUSES",
    "RECENT_CALLS",
    "SERVICE_TIME_WINDOW",
    "Change",
    "CounterSpec",
    "CounterState",
    "DayDecision",
    "EventDraft",
    "HoldReason",
    "QueueEngine",
    "QueueError",
    "Service",
    "Status",
    "Ticket",
    "copy_ticket",
    "decide_day",
]


class QueueEngine(QueueCore):
    """The queue of one site for the current service day (state and core: hub.queue_core)."""

    # ------------------------------------------------------------------ the counter console
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
        self._call(counter, ticket, now, change, reason="number", by_number=True)
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
        ticket.call_reason = None  # back in a line: the next call says why, if it is out of turn
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
        ticket.call_reason = None
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
            self.lines.setdefault(service_id, WaitingLine())
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
