"""What LED boards need of the queue, rebuilt from the retained `queue/state` and kept current by
`queue/events` and by the hub's replies to this counter's own presses (which arrive first).

Plain data, no MQTT: the daemon calls it from the network thread and the render thread under its
own lock. Every input is untrusted: a payload of the wrong shape is refused with ValueError and the
model is left as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

log = logging.getLogger(__name__)

CALL_EVENTS = frozenset({"ticket.called", "ticket.recalled"})
# After these the ticket is no longer at its counter.
LEAVE_EVENTS = frozenset(
    {"ticket.completed", "ticket.skipped", "ticket.transferred", "ticket.cancelled", "ticket.held"}
)
RECENT_LIMIT = 20


@dataclass(frozen=True)
class TicketRef:
    id: str
    number: str
    recalls: int = 0
    service_name: str = ""

    @classmethod
    def parse(cls, data: object) -> TicketRef:
        if not isinstance(data, Mapping):
            raise ValueError("ticket is not an object")
        ticket_id, number = data.get("id"), data.get("number")
        if not isinstance(ticket_id, str) or not isinstance(number, str | int) or isinstance(number, bool):
            raise ValueError("ticket without id or number")
        recalls = data.get("recalls")
        service = data.get("service_name")
        return cls(
            id=ticket_id,
            number=str(number),
            recalls=recalls if isinstance(recalls, int) and not isinstance(recalls, bool) else 0,
            service_name=service if isinstance(service, str) else "",
        )


@dataclass(frozen=True)
class CounterInfo:
    id: str
    name: str
    open: bool = True
    serving: TicketRef | None = None
    pause_reason: str | None = None  # why the closed counter is closed (a break, a meeting)


@dataclass(frozen=True)
class CallRow:
    ticket_id: str
    number: str
    counter_id: str
    counter_name: str


@dataclass(frozen=True)
class CallMark:
    """The latest call at a counter: `key` tells a new call from the same one seen twice (reply and
    event); `at` is the local monotonic time it was seen, None when it came from a rebuilt state
    (an old call must not blink after a restart)."""

    key: tuple[str, int]
    at: float | None


def _reason(data: Mapping[str, Any], key: str = "pause_reason") -> str | None:
    """A pause reason from the hub (`pause_reason` of a counter, `reason` of a counter.paused
    event), as much of it as a board shows."""
    value = data.get(key, data.get("reason"))
    return value.strip()[:80] or None if isinstance(value, str) else None


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{key} missing or not text")
    return str(value)


class QueueModel:
    def __init__(self, recent_limit: int = RECENT_LIMIT) -> None:
        self.recent_limit = recent_limit
        self.counters: dict[str, CounterInfo] = {}
        self.recent: list[CallRow] = []
        self.calls: dict[str, CallMark] = {}
        self.seq: int | None = None
        self.synced = False  # a queue/state has been applied
        self._resync = True  # accept the next state whatever its seq (after a reconnect)

    # ------------------------------------------------------------------ inputs
    def expect_resync(self) -> None:
        """After a reconnect: the next queue/state is the truth, even if its seq went backwards
        (a hub restored from a backup)."""
        self._resync = True

    def apply_state(self, state: Mapping[str, Any]) -> bool:
        """Rebuild from a queue/state payload; False if it is older than what we already know."""
        seq = state.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ValueError("queue/state without seq")
        if not self._resync and self.seq is not None and seq < self.seq:
            return False
        raw_counters, raw_recent = state.get("counters"), state.get("recent_calls", [])
        if not isinstance(raw_counters, list) or not isinstance(raw_recent, list):
            raise ValueError("queue/state counters or recent_calls is not a list")
        counters: dict[str, CounterInfo] = {}
        for item in raw_counters:
            if not isinstance(item, Mapping):
                raise ValueError("a counter is not an object")
            serving = item.get("serving")
            counter = CounterInfo(
                id=_text(item, "id"),
                name=str(item.get("name") or item.get("id")),
                open=bool(item.get("open", True)),
                serving=TicketRef.parse(serving) if serving else None,
                pause_reason=_reason(item) if not item.get("open", True) else None,
            )
            counters[counter.id] = counter
        recent: list[CallRow] = []
        for item in raw_recent:
            if not isinstance(item, Mapping):
                raise ValueError("a recent call is not an object")
            ticket = TicketRef.parse(item.get("ticket"))
            counter_id = _text(item, "counter_id")
            name = item.get("counter_name")
            recent.append(CallRow(ticket.id, ticket.number, counter_id, str(name or counter_id)))
        self.counters = counters
        self.recent = self._dedupe(recent)
        for counter in counters.values():
            mark = self.calls.get(counter.id)
            if counter.serving is None:
                self.calls.pop(counter.id, None)
            elif mark is None or mark.key != self._key(counter.serving):
                # A call we missed (restart, outage): show it, do not blink it.
                self.calls[counter.id] = CallMark(self._key(counter.serving), None)
        self.seq = seq
        self.synced = True
        self._resync = False
        return True

    def apply_event(self, event: Mapping[str, Any], now: float) -> bool:
        """Apply one queue/events payload; False if it was already applied or does not concern us."""
        kind = event.get("type")
        seq = event.get("seq")
        if not isinstance(kind, str):
            raise ValueError("event without type")
        if isinstance(seq, int) and not isinstance(seq, bool):
            if self.seq is not None and seq <= self.seq and not self._resync:
                return False
            if self.synced:
                self.seq = seq
        counter_id = event.get("counter_id")
        if not isinstance(counter_id, str):
            return False
        if kind in CALL_EVENTS:
            return self.called(
                counter_id, TicketRef.parse(event.get("ticket")), now, event.get("counter_name")
            )
        if kind in LEAVE_EVENTS:
            ticket = event.get("ticket")
            ticket_id = ticket.get("id") if isinstance(ticket, Mapping) else None
            return self.left(counter_id, ticket_id if isinstance(ticket_id, str) else None)
        if kind in ("counter.opened", "counter.closed", "counter.paused"):
            reason = _reason(event) if kind == "counter.paused" else None
            return self.set_open(counter_id, kind == "counter.opened", reason)
        return False

    def apply_reply(self, method: str, result: Mapping[str, Any], counter_id: str, now: float) -> bool:
        """Apply the hub's answer to one of this counter's own requests (before its event arrives)."""
        if method in ("counter.call_next", "counter.recall"):
            return self.called(counter_id, TicketRef.parse(result.get("ticket")), now)
        if method in ("counter.skip", "counter.complete", "counter.transfer"):
            ticket = result.get("ticket")
            ticket_id = ticket.get("id") if isinstance(ticket, Mapping) else None
            return self.left(counter_id, ticket_id if isinstance(ticket_id, str) else None)
        if method in ("counter.open", "counter.close", "counter.pause"):
            counter = result.get("counter")
            if isinstance(counter, Mapping) and isinstance(counter.get("open"), bool):
                return self.set_open(counter_id, counter["open"], _reason(counter))
        return False

    # ------------------------------------------------------------------ changes
    def called(self, counter_id: str, ticket: TicketRef, now: float, counter_name: object = None) -> bool:
        counter = self.counters.get(counter_id) or CounterInfo(counter_id, str(counter_name or counter_id))
        self.counters[counter_id] = replace(counter, serving=ticket, open=True)
        key = self._key(ticket)
        mark = self.calls.get(counter_id)
        if mark is not None and mark.key == key:
            return False  # the reply and the event of one press
        self.calls[counter_id] = CallMark(key, now)
        row = CallRow(ticket.id, ticket.number, counter_id, self.counters[counter_id].name)
        self.recent = self._dedupe([row, *self.recent])
        return True

    def left(self, counter_id: str, ticket_id: str | None) -> bool:
        counter = self.counters.get(counter_id)
        if counter is None or counter.serving is None:
            return False
        if ticket_id is not None and counter.serving.id != ticket_id:
            return False  # an older ticket of this counter (e.g. completed by call_next)
        self.counters[counter_id] = replace(counter, serving=None)
        self.calls.pop(counter_id, None)
        return True

    def set_open(self, counter_id: str, is_open: bool, pause_reason: str | None = None) -> bool:
        counter = self.counters.get(counter_id)
        reason = None if is_open else pause_reason
        if counter is None or (counter.open == is_open and counter.pause_reason == reason):
            return False
        self.counters[counter_id] = replace(
            counter, open=is_open, serving=None if not is_open else counter.serving, pause_reason=reason
        )
        if not is_open:
            self.calls.pop(counter_id, None)
        return True

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _key(ticket: TicketRef) -> tuple[str, int]:
        return (ticket.id, ticket.recalls)

    def _dedupe(self, rows: list[CallRow]) -> list[CallRow]:
        """Newest first, each ticket once (a recall moves it back to the top)."""
        seen: set[str] = set()
        kept: list[CallRow] = []
        for row in rows:
            if row.ticket_id in seen:
                continue
            seen.add(row.ticket_id)
            kept.append(row)
        return kept[: self.recent_limit]
