"""What the hall display shows, as plain data (no kivy, no MQTT).

`BoardModel` rebuilds itself from the retained `queue/state`, applies `queue/events` as they come (so a
call shows before the next state arrives), remembers which counter was just called so the view can
highlight it for a few seconds, and cuts 60+ counters into pages. `snapshot(now)` gives the view an
immutable picture; the daemon calls the model from the MQTT thread and the view reads snapshots from
the UI thread, so the model itself is not thread-safe and `BoardStore` adds the lock.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from appliance.i18n import Language, message
from appliance.timeutil import parse_iso_or_none

# The counter grid lives in .layout; its names stay importable from here.
from .layout import LANDSCAPE as LANDSCAPE
from .layout import PORTRAIT as PORTRAIT
from .layout import Layout as Layout
from .layout import layout_for as layout_for

log = logging.getLogger(__name__)

CALL_EVENTS = frozenset({"ticket.called", "ticket.recalled"})
# After these the ticket is no longer at the counter.
LEAVE_EVENTS = frozenset(
    {"ticket.completed", "ticket.skipped", "ticket.cancelled", "ticket.transferred", "ticket.held"}
)
WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


@dataclass(frozen=True)
class CounterTile:
    id: str
    name: str
    number: str | None  # the ticket being served
    ticket_id: str | None
    open: bool
    highlighted: bool = False
    pause_reason: str | None = None  # why a closed counter is closed (a break, a meeting)

    @property
    def title(self) -> str:
        return counter_title(self.name)

    def closed_text(self, language: Language = "vi") -> str:
        """What a closed counter's tile says: "Tạm nghỉ", or "Tạm nghỉ: họp" when paused."""
        if self.pause_reason:
            return message("display_paused", language, reason=self.pause_reason)
        return message("display_closed", language)


@dataclass(frozen=True)
class RecentCall:
    ticket_id: str
    number: str
    counter_id: str
    counter_name: str
    at: datetime | None
    highlighted: bool = False

    @property
    def counter_title(self) -> str:
        return counter_title(self.counter_name)


@dataclass(frozen=True)
class ServiceLine:
    id: str
    name: str
    name_en: str
    waiting: int
    estimated_wait_s: int | None


@dataclass(frozen=True)
class Call:
    """A call to announce, from a ticket.called / ticket.recalled event."""

    ticket_id: str
    number: str
    counter_id: str
    counter_name: str
    kind: str  # "called" | "recalled"
    seq: int | None


@dataclass(frozen=True)
class BoardSnapshot:
    version: int
    site_name: str
    message: str
    connected: bool
    has_state: bool
    counters: tuple[CounterTile, ...]
    page: int  # 0-based
    pages: int
    page_counters: tuple[CounterTile, ...]
    recent: tuple[RecentCall, ...]
    services: tuple[ServiceLine, ...]
    latest: RecentCall | None  # the newest call while it is highlighted
    banner: str | None = None  # full-screen text over everything (the hub's "identify"), while it lasts


@dataclass
class _Counter:
    id: str
    name: str
    open: bool
    number: str | None = None
    ticket_id: str | None = None
    highlight_until: float = -math.inf
    pause_reason: str | None = None


@dataclass
class _Service:
    id: str
    name: str
    name_en: str
    waiting: int
    estimated_wait_s: int | None


class BoardModel:
    """The display's picture of the queue. `now` arguments are monotonic seconds (time.monotonic())."""

    def __init__(
        self,
        *,
        page_size: int = 20,
        page_s: float = 10.0,
        highlight_s: float = 8.0,
        recent_limit: int = 6,
        message: str = "",
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size
        self.page_s = page_s
        self.highlight_s = highlight_s
        self.recent_limit = recent_limit
        self.default_message = message
        self.version = 0
        self.seq: int | None = None  # of the last state or event applied
        self.connected = False
        self.site_name = ""
        self.message = ""
        self._has_state = False
        self._counters: dict[str, _Counter] = {}
        self._services: dict[str, _Service] = {}
        self._recent: list[RecentCall] = []
        self._latest_until = -math.inf
        self._announced: dict[int, None] = {}  # event seqs already turned into calls (ordered set)
        # Calls (ticket, time of the call) already announced, or let go as too old: an ordered set
        # shared by events and the retained state, so a call is said once whichever brings it.
        self._calls_heard: dict[tuple[str, datetime | None], None] = {}
        self._hub_time: datetime | None = None  # the latest `ts` the hub stamped on a state or event
        self._banner: tuple[str, float] | None = None  # (text, until)

    # ------------------------------------------------------------------ inputs
    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.version += 1

    def apply_state(self, payload: Mapping[str, Any], now: float) -> bool:
        """Replace everything with a `queue/state` snapshot (the hub's truth; always applied).

        A seq lower than the board's means the hub's numbering started again (a new database):
        the record of announced events is forgotten so that new calls are not taken for old ones.
        """
        seq = _int_or_none(payload.get("seq"))
        if seq is not None and self.seq is not None and seq < self.seq:
            log.warning("queue/state seq went back from %d to %d: the hub was reset", self.seq, seq)
            self._announced.clear()
            # Calls heard stay: they are keyed by ticket and time of the call, which a new database
            # does not repeat, while a broker restarted from an older save brings back an older
            # retained state — forgetting them then made the hall hear the last calls again.
            self._hub_time = None
        site = payload.get("site") or {}
        previous = {c.id: c for c in self._counters.values()}
        counters: dict[str, _Counter] = {}
        for raw in _dicts(payload.get("counters")):
            counter_id = str(raw.get("id", ""))
            if not counter_id:
                continue
            number, ticket_id = _ticket_number(raw.get("serving"))
            counter = _Counter(
                id=counter_id,
                name=str(raw.get("name") or counter_id),
                open=bool(raw.get("open", True)),
                number=number,
                ticket_id=ticket_id,
                pause_reason=_pause_reason(raw),
            )
            before = previous.get(counter_id)
            if before is not None:
                counter.highlight_until = before.highlight_until
                # A call we did not see as an event (e.g. while we were away) is still news.
                if self._has_state and ticket_id and ticket_id != before.ticket_id:
                    counter.highlight_until = now + self.highlight_s
            counters[counter_id] = counter
        self._counters = counters
        self._services = {}
        for raw in _dicts(payload.get("services")):
            service_id = str(raw.get("id", ""))
            if service_id:
                self._services[service_id] = _Service(
                    id=service_id,
                    name=str(raw.get("name") or service_id),
                    name_en=str(raw.get("name_en") or ""),
                    waiting=max(0, _int_or_none(raw.get("waiting")) or 0),
                    estimated_wait_s=_int_or_none(raw.get("estimated_wait_s")),
                )
        highlighted = {call.ticket_id for call in self._recent if call.highlighted}
        self._recent = []
        for raw in _dicts(payload.get("recent_calls")):
            number, ticket_id = _ticket_number(raw.get("ticket"))
            # The hub lists every call, a recall included: one line per ticket (the newest call).
            if number is None or any(call.ticket_id == (ticket_id or number) for call in self._recent):
                continue
            counter_id = str(raw.get("counter_id") or "")
            self._recent.append(
                RecentCall(
                    ticket_id=ticket_id or number,
                    number=number,
                    counter_id=counter_id,
                    counter_name=str(raw.get("counter_name") or counter_id),
                    at=parse_iso_or_none(raw.get("ts")),
                    highlighted=(ticket_id or number) in highlighted,
                )
            )
            if len(self._recent) >= self.recent_limit:
                break
        self.site_name = str(site.get("name") or site.get("id") or self.site_name)
        self.message = str(payload.get("message") or "")
        self.seq = seq
        self._has_state = True
        self.version += 1
        return True

    def apply_event(self, payload: Mapping[str, Any], now: float) -> Call | None:
        """Apply a `queue/events` message; returns the Call to announce for called/recalled (once
        per event seq, so a redelivered event is not announced twice)."""
        kind = str(payload.get("type", ""))
        seq = _int_or_none(payload.get("seq"))
        ticket = payload.get("ticket") if isinstance(payload.get("ticket"), Mapping) else {}
        number, ticket_id = _ticket_number(ticket)
        counter_id = str(payload.get("counter_id") or (ticket or {}).get("counter_id") or "")
        counter = self._counters.get(counter_id)
        counter_name = str(payload.get("counter_name") or (counter.name if counter else counter_id))
        fresh = seq is None or self.seq is None or seq > self.seq  # not already in the state we show

        if fresh:
            at = parse_iso_or_none(ticket.get("called_at")) or parse_iso_or_none(payload.get("ts"))
            self._apply_to_board(kind, number, ticket_id, counter, counter_id, counter_name, ticket, at, now)
            if seq is not None:
                self.seq = seq
            self.version += 1
        if kind not in CALL_EVENTS or number is None or not counter_id:
            return None
        if seq is not None:
            if seq in self._announced:
                return None
            self._announced[seq] = None
            while len(self._announced) > 1000:
                del self._announced[next(iter(self._announced))]
        if not self._first_hearing((ticket_id or number, parse_iso_or_none(payload.get("ts")))):
            return None  # a resync from queue/state announced it already
        if not fresh:
            # The state already showed this call; still highlight it (the event is the news).
            self._highlight(counter, ticket_id or number, now)
            self.version += 1
        return Call(
            ticket_id=ticket_id or number,
            number=number,
            counter_id=counter_id,
            counter_name=counter_name,
            kind=kind.removeprefix("ticket."),
            seq=seq,
        )

    def missed_calls(self, payload: Mapping[str, Any], wall: datetime, max_age_s: float) -> list[Call]:
        """Calls in a `queue/state`'s `recent_calls` that no event brought (the broker was down, the
        display reconnected after the hub published): to announce now, oldest first, each once.

        A call older than `max_age_s` is only shown, not said: its citizen has long walked up or
        given up. The age is taken by both clocks, the display's and the hub's (the state's own
        `ts`), and the larger counts, so a stale retained state or a wrong clock never makes an old
        call news.
        """
        self._saw_hub_time(parse_iso_or_none(payload.get("ts")))
        missed: list[Call] = []
        for raw in reversed(_dicts(payload.get("recent_calls"))):
            number, ticket_id = _ticket_number(raw.get("ticket"))
            counter_id = str(raw.get("counter_id") or "")
            called_at = parse_iso_or_none(raw.get("ts"))
            if number is None or not counter_id or called_at is None:
                continue
            key = ticket_id or number
            recalled = any(heard == key for heard, _ in self._calls_heard)
            if not self._first_hearing((key, called_at)):
                continue
            age = self.call_age(called_at, wall)
            if age is not None and age > max_age_s:
                log.info("call of %s at counter %s %.0f s ago: shown, not announced", number, counter_id, age)
                continue
            counter = self._counters.get(counter_id)
            missed.append(
                Call(
                    ticket_id=key,
                    number=number,
                    counter_id=counter_id,
                    counter_name=str(raw.get("counter_name") or (counter.name if counter else counter_id)),
                    kind="recalled" if recalled else "called",
                    seq=None,
                )
            )
        return missed

    def call_age(self, called_at: datetime | None, wall: datetime) -> float | None:
        """Seconds since a call by the display's clock and by the hub's (its latest stamp): the larger,
        so that neither a wrong clock here nor a stale retained state makes an old call news."""
        if called_at is None:
            return None
        ages = [(wall - called_at).total_seconds()]
        if self._hub_time is not None:
            ages.append((self._hub_time - called_at).total_seconds())
        return max(ages)

    def event_age(self, payload: Mapping[str, Any], wall: datetime) -> float | None:
        return self.call_age(parse_iso_or_none(payload.get("ts")), wall)

    def _saw_hub_time(self, moment: datetime | None) -> None:
        if moment is not None and (self._hub_time is None or moment > self._hub_time):
            self._hub_time = moment

    def _first_hearing(self, call: tuple[str, datetime | None]) -> bool:
        """Record a call as heard; False if it was heard before."""
        if call in self._calls_heard:
            return False
        self._calls_heard[call] = None
        while len(self._calls_heard) > 1000:
            del self._calls_heard[next(iter(self._calls_heard))]
        return True

    def _apply_to_board(
        self,
        kind: str,
        number: str | None,
        ticket_id: str | None,
        counter: _Counter | None,
        counter_id: str,
        counter_name: str,
        ticket: Mapping[str, Any],
        at: datetime | None,
        now: float,
    ) -> None:
        service = self._services.get(str(ticket.get("service_id") or ""))
        if kind == "ticket.issued" and service is not None:
            service.waiting += 1
        elif kind in CALL_EVENTS and number is not None:
            if kind == "ticket.called" and service is not None:
                service.waiting = max(0, service.waiting - 1)
            key = ticket_id or number
            for other in self._counters.values():
                if other.ticket_id == key and other is not counter:
                    other.number = other.ticket_id = None
            if counter is not None:
                counter.number, counter.ticket_id = number, key
            call = RecentCall(key, number, counter_id, counter_name, at)
            self._recent = [call, *(c for c in self._recent if c.ticket_id != key)][: self.recent_limit]
            self._highlight(counter, key, now)
        elif kind in LEAVE_EVENTS:
            key = ticket_id or number
            for other in self._counters.values():
                if key is not None and other.ticket_id == key:
                    other.number = other.ticket_id = None
            if kind == "ticket.transferred" and service is not None:
                service.waiting += 1

    def _highlight(self, counter: _Counter | None, key: str, now: float) -> None:
        if counter is not None:
            counter.highlight_until = now + self.highlight_s
        self._recent = [replace(c, highlighted=c.ticket_id == key) for c in self._recent]
        self._latest_until = now + self.highlight_s

    def show_banner(self, text: str, until: float) -> None:
        """Show `text` over the whole screen until `until` (the hub's "identify" command)."""
        self._banner = (text, until)
        self.version += 1

    # ------------------------------------------------------------------ output
    def snapshot(self, now: float) -> BoardSnapshot:
        tiles = tuple(
            CounterTile(
                id=c.id,
                name=c.name,
                number=c.number,
                ticket_id=c.ticket_id,
                open=c.open,
                highlighted=now < c.highlight_until,
                pause_reason=c.pause_reason,
            )
            for c in self._counters.values()
        )
        pages = max(1, math.ceil(len(tiles) / self.page_size))
        page = self._page(tiles, pages, now)
        recent_live = now < self._latest_until
        recent = tuple(c if recent_live else replace(c, highlighted=False) for c in self._recent)
        latest = recent[0] if recent and recent[0].highlighted else None
        return BoardSnapshot(
            version=self.version,
            site_name=self.site_name,
            message=self.message or self.default_message,
            connected=self.connected,
            has_state=self._has_state,
            counters=tiles,
            page=page,
            pages=pages,
            page_counters=tiles[page * self.page_size : (page + 1) * self.page_size],
            recent=recent,
            services=tuple(
                ServiceLine(s.id, s.name, s.name_en, s.waiting, s.estimated_wait_s)
                for s in self._services.values()
            ),
            latest=latest,
            banner=self._banner[0] if self._banner is not None and now < self._banner[1] else None,
        )

    def _page(self, tiles: tuple[CounterTile, ...], pages: int, now: float) -> int:
        if pages == 1:
            return 0
        # While a call is highlighted, show the page of its counter; otherwise turn pages in turn.
        newest = max(
            (c for c in self._counters.values() if now < c.highlight_until),
            key=lambda c: c.highlight_until,
            default=None,
        )
        if newest is not None:
            index = next(i for i, tile in enumerate(tiles) if tile.id == newest.id)
            return index // self.page_size
        return int(now // self.page_s) % pages


class BoardStore:
    """A BoardModel behind a lock, for one writer thread (MQTT) and one reader (the screen)."""

    def __init__(self, model: BoardModel) -> None:
        self.model = model
        self._lock = threading.Lock()
        self._listeners: list[Any] = []

    def on_change(self, callback: Any) -> None:
        self._listeners.append(callback)

    def apply_state(self, payload: Mapping[str, Any], now: float) -> bool:
        with self._lock:
            changed = self.model.apply_state(payload, now)
        if changed:
            self._notify()
        return changed

    def apply_event(self, payload: Mapping[str, Any], now: float) -> Call | None:
        with self._lock:
            call = self.model.apply_event(payload, now)
        self._notify()
        return call

    def set_connected(self, connected: bool) -> None:
        with self._lock:
            self.model.set_connected(connected)
        self._notify()

    def missed_calls(self, payload: Mapping[str, Any], wall: datetime, max_age_s: float) -> list[Call]:
        with self._lock:
            return self.model.missed_calls(payload, wall, max_age_s)

    def event_age(self, payload: Mapping[str, Any], wall: datetime) -> float | None:
        with self._lock:
            return self.model.event_age(payload, wall)

    def show_banner(self, text: str, until: float) -> None:
        with self._lock:
            self.model.show_banner(text, until)
        self._notify()

    def configure(self, *, message: str, highlight_s: float, page_s: float, recent_limit: int) -> None:
        """New screen settings from a reloaded configuration, taken at the next snapshot."""
        with self._lock:
            model = self.model
            model.default_message, model.highlight_s, model.page_s = message, highlight_s, page_s
            model.recent_limit = recent_limit
            model.version += 1
        self._notify()

    def snapshot(self, now: float) -> BoardSnapshot:
        with self._lock:
            return self.model.snapshot(now)

    def _notify(self) -> None:
        for callback in self._listeners:
            try:
                callback()
            except Exception as error:  # a view that cannot refresh must not break the MQTT thread
                log.error("board listener %r failed: %s", callback, error)


# ---------------------------------------------------------------------- formatting helpers


def counter_title(name: str) -> str:
    """ "5" → "Quầy 5"; a name that already says Quầy/Counter is kept."""
    name = name.strip()
    if name.lower().startswith(("quầy", "quay", "counter", "phòng", "bàn")):
        return name
    return f"Quầy {name}"


def format_wait(seconds: int | None, language: str = "vi") -> str:
    """Estimated wait for people: "< 1 phút", "≈ 12 phút", "≈ 65 phút", "> 3 giờ" (short enough
    for a narrow column; minutes are what people compare)."""
    if seconds is None or seconds < 0:
        return "—"
    minutes = round(seconds / 60)
    unit_min, unit_h = ("phút", "giờ") if language == "vi" else ("min", "h")
    if minutes < 1:
        return f"< 1 {unit_min}"
    if minutes <= 180:
        return f"≈ {minutes} {unit_min}"
    return f"> 3 {unit_h}"


def format_clock(moment: datetime) -> tuple[str, str]:
    """("08:42", "Thứ Hai, 24/11/2025")."""
    return f"{moment:%H:%M}", f"{WEEKDAYS_VI[moment.weekday()]}, {moment:%d/%m/%Y}"


# ---------------------------------------------------------------------- payload helpers


def _dicts(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _pause_reason(raw: Mapping[str, Any]) -> str | None:
    """A closed counter's pause reason, as far as a tile can show it."""
    reason = raw.get("pause_reason")
    return reason.strip()[:80] or None if isinstance(reason, str) and not raw.get("open", True) else None


def _ticket_number(ticket: object) -> tuple[str | None, str | None]:
    """(printed number, ticket id) of a ticket object, or of a bare number."""
    if isinstance(ticket, Mapping):
        number = ticket.get("number")
        ticket_id = ticket.get("id")
        return (str(number) if number not in (None, "") else None, str(ticket_id) if ticket_id else None)
    if isinstance(ticket, str | int) and not isinstance(ticket, bool) and str(ticket):
        return str(ticket), None
    return None, None


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return None
