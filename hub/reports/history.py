"""Report history in the hub's SQLite file: per-day summary cells, built lazily from tickets+events.

The live path is untouched but for one tiny insert: who called a ticket (``report_callers``), in the
writer's transaction. A finished service day (before today, nothing open) is summarised once into
``report_cells`` — one row per day × dimension × key, with counts and the sorted waits and service
times as packed integers — so a year's report reads ~25,000 small rows instead of 300,000 tickets,
and percentiles stay exact. Today is summarised on the fly. The cells hold no personal data, so they
outlive the retention purge of tickets.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from appliance.timeutil import SITE_TZ, iso, now, parse_iso

from ..store import immediate
from .facts import ALL_DIMENSIONS, Cell, CounterTime, Fact, TicketEvent, cells_of, counter_time, make_fact
from .period import Period

SCHEMA = """
CREATE TABLE IF NOT EXISTS report_callers (
    seq INTEGER PRIMARY KEY,          -- events.seq of a ticket.called event
    caller_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS report_days (
    service_day TEXT PRIMARY KEY,
    tickets INTEGER NOT NULL,
    built_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS report_cells (
    dim TEXT NOT NULL,
    service_day TEXT NOT NULL,
    key TEXT NOT NULL,
    issued INTEGER NOT NULL, served INTEGER NOT NULL, no_show INTEGER NOT NULL,
    cancelled INTEGER NOT NULL, open INTEGER NOT NULL, transferred INTEGER NOT NULL,
    priority INTEGER NOT NULL, target_counted INTEGER NOT NULL, within_target INTEGER NOT NULL,
    ratings INTEGER NOT NULL, rating_sum INTEGER NOT NULL, satisfied INTEGER NOT NULL,
    open_s INTEGER NOT NULL, busy_s INTEGER NOT NULL, paused_s INTEGER NOT NULL,
    waits BLOB NOT NULL,              -- sorted int32 seconds, issue → first call
    services BLOB NOT NULL,           -- sorted int32 seconds, measured service times
    PRIMARY KEY (dim, service_day, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_ticket ON events (ticket_id);
-- Only the rare open/close events: a counter's state at any moment in one lookup.
CREATE INDEX IF NOT EXISTS events_counter_switches ON events (counter_id, ts)
    WHERE type IN ('counter.opened', 'counter.closed');
"""

TICKET_EVENTS = ("ticket.called", "ticket.skipped", "ticket.transferred", "ticket.completed")
SWITCH_SQL = "('counter.opened', 'counter.closed')"  # as in the index events_counter_switches
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAYS_PER_TRANSACTION = 31


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the report tables and the events index if missing (idempotent; the hub's own
    migrations in hub/store.py stay untouched)."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def record_callers(conn: sqlite3.Connection, events: Iterable[dict[str, Any]], caller_id: str) -> None:
    """Inside the writer's transaction: remember who called each ticket (the officer's account)."""
    rows = [(e["seq"], caller_id) for e in events if e.get("type") == "ticket.called"]
    if rows:
        conn.executemany("INSERT OR REPLACE INTO report_callers(seq, caller_id) VALUES(?, ?)", rows)


@dataclass(frozen=True)
class SiteFacts:
    """What the report needs of the site configuration."""

    rating_scale: int = 3
    target_wait_s: dict[str, int] = field(default_factory=dict)
    officers: frozenset[str] = frozenset()
    counter_officers: dict[str, str] = field(default_factory=dict)
    counters_open_at_start: dict[str, bool] = field(default_factory=dict)
    opening_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    periods: tuple[tuple[time, time], ...] = ()

    def windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """The opening hours of `day` as site-local moments (none on a closed day)."""
        if day.weekday() not in self.opening_days:
            return []
        return [
            (datetime.combine(day, start, SITE_TZ), datetime.combine(day, end, SITE_TZ))
            for start, end in self.periods
        ]

    @classmethod
    def of(cls, site: Any) -> SiteFacts:
        by_counter: dict[str, list[str]] = defaultdict(list)
        for officer in site.officers:
            for counter_id in officer.counters:
                by_counter[counter_id].append(officer.username)
        return cls(
            rating_scale=site.place.rating_scale,
            target_wait_s={s.id: round(s.target_wait_minutes * 60) for s in site.services},
            officers=frozenset(o.username for o in site.officers),
            counter_officers={c: names[0] for c, names in by_counter.items() if len(names) == 1},
            counters_open_at_start={c.id: c.open_at_start for c in site.counters},
            opening_days=tuple(WEEKDAYS.index(d) for d in site.opening_hours.days),
            periods=tuple(p.times() for p in site.opening_hours.periods),
        )


def day_facts(conn: sqlite3.Connection, day: str, site: SiteFacts) -> list[Fact]:
    """The facts of every ticket of one service day."""
    return day_summary(conn, day, site)[0]


def day_summary(
    conn: sqlite3.Connection, day: str, site: SiteFacts
) -> tuple[list[Fact], dict[str, CounterTime]]:
    """The facts of every ticket of one service day, and each counter's open/busy/paused time."""
    events: dict[str, list[TicketEvent]] = defaultdict(list)
    at_counter: dict[str, list[TicketEvent]] = defaultdict(list)
    marks = ",".join("?" * len(TICKET_EVENTS))
    for ticket_id, kind, ts, counter_id, caller_id in conn.execute(
        f"""SELECT e.ticket_id, e.type, e.ts, e.counter_id, c.caller_id
              FROM tickets t JOIN events e ON e.ticket_id = t.id
              LEFT JOIN report_callers c ON c.seq = e.seq
             WHERE t.service_day = ? AND e.type IN ({marks})""",
        (day, *TICKET_EVENTS),
    ):
        moment = parse_iso(ts)
        if moment is not None:
            event = TicketEvent(kind, moment, counter_id, caller_id)
            events[ticket_id].append(event)
            if counter_id:
                at_counter[counter_id].append(event)
    facts = []
    for row in conn.execute(
        """SELECT t.id, t.service_id, t.original_service_id, t.status, t.priority, t.priority_group,
                  t.issued_at, t.called_at, t.served_at, t.completed_at, t.counter_id, t.rating, r.scale
             FROM tickets t LEFT JOIN ratings r ON r.ticket_id = t.id
            WHERE t.service_day = ?""",
        (day,),
    ):
        (ticket_id, service_id, original, status, priority, group, issued, called, served, completed,
         counter_id, rating, scale) = row  # fmt: skip
        issued_at = parse_iso(issued)
        if issued_at is None:
            continue
        facts.append(
            make_fact(
                service_day=day,
                service_id=service_id,
                original_service_id=original,
                status=status,
                priority=bool(priority),
                priority_group=group,
                issued_at=issued_at,
                called_at=parse_iso(called),
                served_at=parse_iso(served),
                completed_at=parse_iso(completed),
                counter_id=counter_id,
                rating=rating,
                rating_scale=scale or site.rating_scale,
                events=events.get(ticket_id, ()),
                target_wait_s=site.target_wait_s,
                officers=site.officers,
                counter_officers=site.counter_officers,
            )
        )
    return facts, _counter_times(conn, date.fromisoformat(day), site, at_counter)


def _counter_times(
    conn: sqlite3.Connection, day: date, site: SiteFacts, at_counter: dict[str, list[TicketEvent]]
) -> dict[str, CounterTime]:
    windows = site.windows(day)
    if not windows:
        return {}
    first, last = iso(windows[0][0]), iso(windows[-1][1])
    times = {}
    for counter_id, open_at_start in site.counters_open_at_start.items():
        # The type condition is written out, not bound: SQLite uses a partial index only when the
        # query's WHERE visibly implies the index's.
        before = conn.execute(
            f"SELECT type FROM events WHERE counter_id = ? AND type IN {SWITCH_SQL} AND ts < ?"
            " ORDER BY ts DESC LIMIT 1",
            (counter_id, first),
        ).fetchone()
        switches = [
            TicketEvent(kind, moment, counter_id)
            for kind, ts in conn.execute(
                f"SELECT type, ts FROM events WHERE counter_id = ? AND type IN {SWITCH_SQL}"
                " AND ts BETWEEN ? AND ?",
                (counter_id, first, last),
            )
            if (moment := parse_iso(ts)) is not None
        ]
        initially_open = before[0] == "counter.opened" if before else open_at_start
        times[counter_id] = counter_time(
            [*switches, *at_counter.get(counter_id, ())], initially_open=initially_open, windows=windows
        )
    return times


def _store_cells(
    conn: sqlite3.Connection, day: str, tickets: int, cells: dict[tuple[str, str], Cell]
) -> None:
    marks = ",".join("?" * len(ALL_DIMENSIONS))
    conn.execute(
        f"DELETE FROM report_cells WHERE service_day = ? AND dim IN ({marks})", (day, *ALL_DIMENSIONS)
    )
    conn.executemany(
        f"INSERT INTO report_cells VALUES (?,?,?,{','.join('?' * len(Cell.COUNTS))},?,?)",
        [
            (
                dim,
                day,
                key,
                *(getattr(cell, name) for name in Cell.COUNTS),
                cell.waits.tobytes(),
                cell.services.tobytes(),
            )
            for (dim, key), cell in cells.items()
        ],
    )
    conn.execute(
        "INSERT OR REPLACE INTO report_days(service_day, tickets, built_at) VALUES(?,?,?)",
        (day, tickets, iso(now())),
    )


def refresh(
    conn: sqlite3.Connection, period: Period, today: date, site: SiteFacts
) -> dict[str, dict[tuple[str, str], Cell]]:
    """Summarise the finished days of `period` not yet summarised; return the cells of the days
    that cannot be stored yet (today, or a past day with tickets still open), by day."""
    last = min(period.end, today)
    if last < period.start:
        return {}
    done = {
        row[0]
        for row in conn.execute(
            "SELECT service_day FROM report_days WHERE service_day BETWEEN ? AND ?",
            (period.start.isoformat(), last.isoformat()),
        )
    }
    live: dict[str, dict[tuple[str, str], Cell]] = {}
    pending: list[tuple[str, int, dict[tuple[str, str], Cell]]] = []
    for day in Period(period.start, last).dates():
        key = day.isoformat()
        if key in done:
            continue
        facts, times = day_summary(conn, key, site)
        cells = cells_of(facts)
        # A day without a single ticket (a holiday, before the hub was installed) is not a day of
        # paused counters.
        for counter_id, spent in times.items() if facts else ():
            if spent.open_s or spent.paused_s:
                cells.setdefault(("counter", counter_id), Cell()).add_time(spent)
        if day < today and not any(f.outcome == "open" for f in facts):
            pending.append((key, len(facts), cells))
        else:
            live[key] = cells
        if len(pending) >= DAYS_PER_TRANSACTION:
            _write(conn, pending)
    _write(conn, pending)
    return live


def _write(conn: sqlite3.Connection, pending: list[tuple[str, int, dict[tuple[str, str], Cell]]]) -> None:
    if not pending:
        return
    with immediate(conn):
        for day, tickets, cells in pending:
            _store_cells(conn, day, tickets, cells)
    pending.clear()


def forget(conn: sqlite3.Connection, days: Iterable[str]) -> None:
    """Drop the summaries of `days` (their tickets changed: a repair, a restore)."""
    for day in days:
        conn.execute("DELETE FROM report_cells WHERE service_day = ?", (day,))
        conn.execute("DELETE FROM report_days WHERE service_day = ?", (day,))


def cells_by_key(
    conn: sqlite3.Connection, dim: str, period: Period, live: dict[str, dict[tuple[str, str], Cell]]
) -> dict[str, Cell]:
    """The merged cell of every key of `dim` over `period`."""
    merged: dict[str, Cell] = {}
    for row in conn.execute(
        "SELECT * FROM report_cells WHERE dim = ? AND service_day BETWEEN ? AND ?",
        (dim, period.start.isoformat(), period.end.isoformat()),
    ):
        key = row[2]
        cell = Cell(*row[3:-2])
        cell.waits.frombytes(row[-2])
        cell.services.frombytes(row[-1])
        _merge_into(merged, key, cell)
    for cells in live.values():
        for (cell_dim, key), cell in cells.items():
            if cell_dim == dim:
                _merge_into(merged, key, cell)
    return merged


def _merge_into(merged: dict[str, Cell], key: str, cell: Cell) -> None:
    target = merged.get(key)
    if target is None:
        target = merged[key] = Cell(waits=array("i"), services=array("i"))
    target.merge(cell)
