"""The hub's SQLite store: one file, WAL, synchronous=FULL, schema versioned.

A batch of engine changes is written in one transaction; the hub answers a caller only after that
transaction committed, so an acknowledged ticket survives power loss and `kill -9`.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from appliance.errors import MotcuaError
from appliance.timeutil import iso, parse_iso

from .engine import Change, Ticket

SCHEMA_VERSION = 4

# Each entry migrates from version i to i+1; append only.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE tickets (
        id TEXT PRIMARY KEY,
        service_day TEXT NOT NULL,
        number TEXT NOT NULL,
        service_id TEXT NOT NULL,
        original_service_id TEXT,
        priority INTEGER NOT NULL,
        priority_group TEXT,
        status TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        called_at TEXT,
        served_at TEXT,
        completed_at TEXT,
        counter_id TEXT,
        recalls INTEGER NOT NULL DEFAULT 0,
        rating INTEGER,
        token TEXT NOT NULL UNIQUE,
        issued_by TEXT,
        UNIQUE (service_day, number)
    );
    CREATE INDEX tickets_by_day ON tickets (service_day, status);
    CREATE TABLE number_seq (
        service_day TEXT NOT NULL,
        service_id TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (service_day, service_id)
    );
    CREATE TABLE counters (
        id TEXT PRIMARY KEY,
        open INTEGER NOT NULL,
        current_ticket TEXT
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        type TEXT NOT NULL,
        ticket_id TEXT,
        counter_id TEXT,
        payload TEXT NOT NULL
    );
    CREATE TABLE requests (
        caller_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        method TEXT NOT NULL,
        reply TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (caller_id, request_id)
    );
    CREATE TABLE ratings (
        ticket_id TEXT PRIMARY KEY,
        score INTEGER NOT NULL,
        scale INTEGER NOT NULL,
        counter_id TEXT,
        submitted_at TEXT NOT NULL,
        caller_id TEXT
    );
    -- Events bound for the central dossier system, written in the same transaction as the event.
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        delivered_at TEXT,
        last_error TEXT
    );
    CREATE INDEX outbox_pending ON outbox (delivered_at, next_attempt_at);
    """,
    # 2: a result-return ticket carries the dossier it is for.
    """
    ALTER TABLE tickets ADD COLUMN dossier_code TEXT;
    """,
    # 3: a counter's pause reason and its interleave streak (ordinary calls since its last
    # priority call, counted within `streak_day`) survive a restart.
    """
    ALTER TABLE counters ADD COLUMN pause_reason TEXT;
    ALTER TABLE counters ADD COLUMN ordinary_streak INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE counters ADD COLUMN streak_day TEXT;
    """,
    # 4: why a ticket was called out of issue order (priority, interleave, by number) survives a
    # restart: the officer still reads it on the console.
    """
    ALTER TABLE tickets ADD COLUMN call_reason TEXT;
    """,
]


class StoreError(MotcuaError):
    """The database cannot be opened or is of an unknown schema. The message names the file."""


class DuplicateTicket(StoreError):
    """A new ticket whose id, number of the day or token is stored already: refused, never merged."""

    def __init__(self, ticket_id: str, detail: str) -> None:
        super().__init__(f"ticket {ticket_id} exists already ({detail}): not issued twice")
        self.ticket_id = ticket_id


log = logging.getLogger("motcua.hub.store")

SQLITE_FULL = 13
SQLITE_IOERR = 10
# Below this much free space a failed write is taken for a full disk (SQLite reports some ENOSPC
# failures, e.g. while growing the WAL index, as a plain I/O error).
LOW_SPACE_BYTES = 256 * 1024


def free_bytes(path: Path) -> int | None:
    """Free space for an unprivileged writer on the file system holding `path`, if known."""
    try:
        stats = os.statvfs(path if path.is_dir() else path.parent)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


class StorageWatch:
    """Whether the database's disk is full, from the writes themselves: a write that fails for lack
    of space makes it "full" (logged once, without a traceback), the next write that commits makes
    it "ok" again (logged once). Read from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._full_since: str | None = None
        self.failures = 0  # writes refused for lack of space since the start

    @property
    def full(self) -> bool:
        with self._lock:
            return self._full_since is not None

    @property
    def full_since(self) -> str | None:
        with self._lock:
            return self._full_since

    def is_full_error(self, error: BaseException) -> bool:
        if not isinstance(error, sqlite3.Error):
            return False
        code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
        if code == SQLITE_FULL or "disk is full" in str(error):
            return True
        if code == SQLITE_IOERR or "disk I/O error" in str(error):
            free = free_bytes(self.path)
            return free is not None and free < LOW_SPACE_BYTES
        return False

    def failed(self, error: BaseException, moment: str) -> bool:
        """Note a failed write; True when it failed for lack of space."""
        if not self.is_full_error(error):
            return False
        with self._lock:
            self.failures += 1
            first = self._full_since is None
            if first:
                self._full_since = moment
        if first:
            log.error(
                "storage full: %s cannot be written (%s, %s bytes free); refusing writes until space returns",
                self.path,
                error,
                free_bytes(self.path),
            )
        return True

    def wrote(self) -> None:
        """Note a write that committed."""
        with self._lock:
            was = self._full_since
            self._full_since = None
        if was is not None:
            log.warning("storage writable again: %s (full since %s)", self.path, was)


SERVICE_DAY_KEY = "service_day"
HELD_DAY_KEY = "held_day"
HELD_REASON_KEY = "held_reason"

_TICKET_COLUMNS = (
    "id, service_day, number, service_id, original_service_id, priority, priority_group, status,"
    " issued_at, called_at, served_at, completed_at, counter_id, recalls, rating, token, issued_by,"
    " dossier_code, call_reason"
)
_MARKS = ",".join("?" * len(_TICKET_COLUMNS.split(",")))
_TICKET_NAMES = tuple(name.strip() for name in _TICKET_COLUMNS.split(","))
# A stored ticket is found by what makes it that ticket; when and by whom it was issued never change.
_TICKET_KEY = ("id", "service_day", "number", "token")
_TICKET_CHANGING = tuple(n for n in _TICKET_NAMES if n not in (*_TICKET_KEY, "issued_at", "issued_by"))
_UPDATE_TICKET = (
    f"UPDATE tickets SET {', '.join(f'{n}=:{n}' for n in _TICKET_CHANGING)}"
    f" WHERE {' AND '.join(f'{n}=:{n}' for n in _TICKET_KEY)}"
)


@dataclass
class DayState:
    tickets: list[Ticket]
    last_seq: dict[str, int]
    # id -> (open, current ticket, pause reason, ordinary streak of this day)
    counters: dict[str, tuple[bool, str | None, str | None, int]]
    recent_calls: list[tuple[str, str, datetime]]
    last_event_seq: int


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the durability settings every user of the file must share."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def connect_rows(path: Path) -> sqlite3.Connection:
    """A connection to a part's own database file (enrolled devices, officers' accounts), shared
    by its threads under the part's lock: rows by column name, writes on disk before an answer."""
    conn = sqlite3.connect(path, timeout=10.0, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken at once (BEGIN IMMEDIATE) so that two writers wait for each
    other instead of failing halfway; rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Store:
    """Owned by the hub's single writer thread; readers open their own connections."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.watch = StorageWatch(self.path)
        try:
            self.conn = connect(self.path)
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: cannot open the hub database: {error}") from None

    def close(self) -> None:
        self.conn.close()

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: database schema {version} is newer than this hub ({SCHEMA_VERSION});"
                " upgrade motcua"
            )
        for step in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={step + 1}")

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self.conn)

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        if self.get_meta(key) == value:
            return  # no write at all (a full disk must not fail a reload that changes nothing)
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    # ------------------------------------------------------------------ reading
    def load_day(self, service_day: date) -> DayState:
        day = service_day.isoformat()
        tickets = [
            _row_to_ticket(row)
            for row in self.conn.execute("SELECT * FROM tickets WHERE service_day=?", (day,))
        ]
        last_seq = dict(
            self.conn.execute(
                "SELECT service_id, last_seq FROM number_seq WHERE service_day=?", (day,)
            ).fetchall()
        )
        counters = {
            row[0]: (bool(row[1]), row[2], row[3], row[4] if row[5] == day else 0)
            for row in self.conn.execute(
                "SELECT id, open, current_ticket, pause_reason, ordinary_streak, streak_day FROM counters"
            )
        }
        recent: list[tuple[str, str, datetime]] = []
        for ticket_id, counter_id, ts in self.conn.execute(
            "SELECT ticket_id, counter_id, ts FROM events WHERE type IN ('ticket.called', 'ticket.recalled')"
            " ORDER BY seq DESC LIMIT 10"
        ):
            moment = parse_iso(ts)
            if ticket_id and counter_id and moment:
                recent.append((ticket_id, counter_id, moment))
        last_event = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        return DayState(tickets, last_seq, counters, recent, last_event)

    def stale_open_tickets(self, before_day: date) -> list[Ticket]:
        """Tickets of earlier days still open (the hub was off over a rollover)."""
        return [
            _row_to_ticket(row)
            for row in self.conn.execute(
                "SELECT * FROM tickets WHERE service_day < ? AND status IN"
                " ('waiting', 'called', 'serving', 'skipped', 'held')",
                (before_day.isoformat(),),
            )
        ]

    def lookup_request(self, caller_id: str, request_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT reply FROM requests WHERE caller_id=? AND request_id=?", (caller_id, request_id)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def service_day_floor(self) -> date | None:
        """The latest service day this database has worked in: the hub never goes back before it
        (a clock that went back must not hand out that day's numbers again). Taken from the day
        the hub recorded and from the tickets and numbers themselves (a database of an older hub
        has no record)."""
        days = [self.get_meta(SERVICE_DAY_KEY)]
        days += self.conn.execute(
            "SELECT (SELECT MAX(service_day) FROM tickets), (SELECT MAX(service_day) FROM number_seq)"
        ).fetchone()
        known = [date.fromisoformat(day) for day in days if day]
        return max(known) if known else None

    # ------------------------------------------------------------------ writing (inside a transaction)
    def write_change(self, change: Change, service_day: date) -> None:
        for ticket in change.tickets.values():
            values = _ticket_row(ticket)
            if ticket.id in change.created:
                # A new ticket is a plain INSERT: an id (or a number of the day, or a token) that
                # exists already fails the whole transaction, so the caller is never told a number
                # somebody else holds.
                try:
                    self.conn.execute(f"INSERT INTO tickets({_TICKET_COLUMNS}) VALUES({_MARKS})", values)
                except sqlite3.IntegrityError as error:
                    raise DuplicateTicket(ticket.id, str(error)) from None
                continue
            updated = self.conn.execute(_UPDATE_TICKET, dict(zip(_TICKET_NAMES, values, strict=True)))
            if updated.rowcount != 1:
                raise StoreError(f"{self.path}: ticket {ticket.id} to update is not the one stored")
        for counter in change.counters.values():
            self.conn.execute(
                "INSERT INTO counters(id, open, current_ticket, pause_reason, ordinary_streak, streak_day)"
                " VALUES(?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET open=excluded.open,"
                " current_ticket=excluded.current_ticket, pause_reason=excluded.pause_reason,"
                " ordinary_streak=excluded.ordinary_streak, streak_day=excluded.streak_day",
                (
                    counter.id,
                    int(counter.open),
                    counter.current,
                    counter.pause_reason,
                    counter.ordinary_streak,
                    service_day.isoformat(),
                ),
            )
        if change.numbers:
            day = service_day.isoformat()
            for service_id, seq in change.numbers.items():
                self.conn.execute(
                    "INSERT INTO number_seq(service_day, service_id, last_seq) VALUES(?,?,?)"
                    " ON CONFLICT(service_day, service_id) DO UPDATE SET last_seq=excluded.last_seq",
                    (day, service_id, seq),
                )

    def write_events(self, events: Iterable[dict[str, Any]]) -> None:
        self.conn.executemany(
            "INSERT INTO events(seq, ts, type, ticket_id, counter_id, payload) VALUES(?,?,?,?,?,?)",
            [
                (
                    e["seq"],
                    e["ts"],
                    e["type"],
                    (e.get("ticket") or {}).get("id"),
                    e.get("counter_id"),
                    json.dumps(e, ensure_ascii=False),
                )
                for e in events
            ],
        )

    def write_rating(self, ticket: Ticket, scale: int, now: datetime, caller_id: str) -> None:
        self.conn.execute(
            "INSERT INTO ratings(ticket_id, score, scale, counter_id, submitted_at, caller_id)"
            " VALUES(?,?,?,?,?,?)",
            (ticket.id, ticket.rating, scale, ticket.counter_id, iso(now), caller_id),
        )

    def write_outbox(self, key: str, kind: str, payload: dict[str, Any], now: datetime) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO outbox(idempotency_key, kind, payload, created_at, next_attempt_at)"
            " VALUES(?,?,?,?,?)",
            (key, kind, json.dumps(payload, ensure_ascii=False), iso(now), iso(now)),
        )

    def remember_request(
        self, caller_id: str, request_id: str, method: str, reply: dict[str, Any], now: datetime
    ) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO requests(caller_id, request_id, method, reply, created_at)"
            " VALUES(?,?,?,?,?)",
            (caller_id, request_id, method, json.dumps(reply, ensure_ascii=False), iso(now)),
        )

    def forget_requests_before(self, moment: datetime) -> None:
        self.conn.execute("DELETE FROM requests WHERE created_at < ?", (iso(moment),))


def _ticket_row(ticket: Ticket) -> tuple[Any, ...]:
    return (
        ticket.id,
        ticket.service_day.isoformat(),
        ticket.number,
        ticket.service_id,
        ticket.original_service_id,
        int(ticket.priority),
        ticket.priority_group,
        ticket.status,
        iso(ticket.issued_at),
        iso(ticket.called_at),
        iso(ticket.served_at),
        iso(ticket.completed_at),
        ticket.counter_id,
        ticket.recalls,
        ticket.rating,
        ticket.token,
        ticket.issued_by,
        ticket.dossier_code,
        ticket.call_reason,
    )


def _row_to_ticket(row: tuple[Any, ...]) -> Ticket:
    (
        ticket_id,
        service_day,
        number,
        service_id,
        original_service_id,
        priority,
        priority_group,
        status,
        issued_at,
        called_at,
        served_at,
        completed_at,
        counter_id,
        recalls,
        rating,
        token,
        issued_by,
        dossier_code,
        call_reason,
    ) = row  # the column order of `tickets` (migrations append columns at the end)
    issued = parse_iso(issued_at)
    assert issued is not None
    return Ticket(
        id=ticket_id,
        number=number,
        service_id=service_id,
        service_day=date.fromisoformat(service_day),
        issued_at=issued,
        token=token,
        priority=bool(priority),
        priority_group=priority_group,
        status=status,
        original_service_id=original_service_id,
        called_at=parse_iso(called_at),
        served_at=parse_iso(served_at),
        completed_at=parse_iso(completed_at),
        counter_id=counter_id,
        recalls=recalls,
        rating=rating,
        issued_by=issued_by,
        dossier_code=dossier_code,
        call_reason=call_reason,
    )
