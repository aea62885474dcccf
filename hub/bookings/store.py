"""Bookings in the hub's SQLite file (tables of their own, made here; the queue's writer never
touches them). Every decision that counts (capacity of a slot, a person's limit for the day) is
taken inside one `BEGIN IMMEDIATE` transaction, so two phones cannot both take the last place."""

from __future__ import annotations

import secrets
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from appliance.rows import from_row
from hub.store import connect, immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS bookings (
    code TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    day TEXT NOT NULL,
    slot TEXT NOT NULL,
    who TEXT NOT NULL,
    who_kind TEXT NOT NULL,
    phone TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    cancelled_at TEXT,
    checked_in_at TEXT,
    arrival TEXT,
    ticket_id TEXT,
    ticket_token TEXT
);
CREATE INDEX IF NOT EXISTS bookings_by_slot ON bookings (service_id, day, slot, status);
CREATE INDEX IF NOT EXISTS bookings_by_who ON bookings (who, day, status);
CREATE TABLE IF NOT EXISTS booking_otps (
    phone_hash TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
"""
SECRET_KEY = "citizen_identity_secret"
# Statuses that hold a place (a no-show is a `booked` row whose slot has passed: see `taken`).
HOLDING = ("booked", "checked_in")


@dataclass
class Booking:
    code: str
    service_id: str
    day: date
    slot: str
    who: str
    who_kind: str
    phone: str | None
    status: str
    created_at: str
    checked_in_at: str | None = None
    arrival: str | None = None
    ticket_id: str | None = None
    ticket_token: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Booking:
        return from_row(cls, row, day=date.fromisoformat(row["day"]))


class BookingStore:
    def __init__(self, path: str | Path) -> None:
        self.conn = connect(Path(path))
        self.conn.row_factory = sqlite3.Row
        self.conn.executescript(SCHEMA)
        self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (SECRET_KEY, secrets.token_hex(32))
        )
        self.secret = bytes.fromhex(
            self.conn.execute("SELECT value FROM meta WHERE key=?", (SECRET_KEY,)).fetchone()[0]
        )

    def close(self) -> None:
        self.conn.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self.conn)

    # ------------------------------------------------------------------ reads (in or out of a tx)
    def taken(self, service_id: str, day: date) -> dict[str, int]:
        """Places held per slot of a service on a day."""
        rows = self.conn.execute(
            f"""SELECT slot, COUNT(*) FROM bookings WHERE service_id=? AND day=?
                 AND status IN ({",".join("?" * len(HOLDING))}) GROUP BY slot""",
            (service_id, day.isoformat(), *HOLDING),
        )
        return {slot: count for slot, count in rows}

    def count_for(self, who: str, day: date) -> int:
        holding = ",".join("?" * len(HOLDING))
        return self.conn.execute(
            f"SELECT COUNT(*) FROM bookings WHERE who=? AND day=? AND status IN ({holding})",
            (who, day.isoformat(), *HOLDING),
        ).fetchone()[0]

    def of_person(self, who: str, day: date) -> list[Booking]:
        """A person's bookings of a day that hold a place, earliest slot first (check-in by ID card)."""
        holding = ",".join("?" * len(HOLDING))
        rows = self.conn.execute(
            f"SELECT * FROM bookings WHERE who=? AND day=? AND status IN ({holding}) ORDER BY slot, code",
            (who, day.isoformat(), *HOLDING),
        )
        return [Booking.from_row(row) for row in rows]

    def get(self, code: str) -> Booking | None:
        row = self.conn.execute("SELECT * FROM bookings WHERE code=?", (code,)).fetchone()
        return Booking.from_row(row) if row else None

    # ------------------------------------------------------------------ writes (inside a tx)
    def insert(self, booking: Booking) -> None:
        self.conn.execute(
            """INSERT INTO bookings (code, service_id, day, slot, who, who_kind, phone, status, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                booking.code,
                booking.service_id,
                booking.day.isoformat(),
                booking.slot,
                booking.who,
                booking.who_kind,
                booking.phone,
                booking.status,
                booking.created_at,
            ),
        )

    def cancel(self, code: str, moment: datetime) -> None:
        self.conn.execute(
            "UPDATE bookings SET status='cancelled', cancelled_at=? WHERE code=?", (moment.isoformat(), code)
        )

    def checked_in(self, code: str, moment: datetime, arrival: str, ticket: dict[str, Any]) -> None:
        self.conn.execute(
            """UPDATE bookings SET status='checked_in', checked_in_at=?, arrival=?, ticket_id=?,
                      ticket_token=? WHERE code=?""",
            (moment.isoformat(), arrival, ticket["id"], ticket.get("token"), code),
        )

    # ------------------------------------------------------------------ one-time codes
    def put_otp(self, phone_hash: str, code_hash: str, expires_at: datetime) -> None:
        self.conn.execute(
            """INSERT INTO booking_otps (phone_hash, code_hash, expires_at, attempts) VALUES (?, ?, ?, 0)
               ON CONFLICT (phone_hash) DO UPDATE SET code_hash=excluded.code_hash,
                      expires_at=excluded.expires_at, attempts=0""",
            (phone_hash, code_hash, expires_at.isoformat()),
        )

    def get_otp(self, phone_hash: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM booking_otps WHERE phone_hash=?", (phone_hash,)).fetchone()

    def otp_attempt(self, phone_hash: str) -> None:
        self.conn.execute("UPDATE booking_otps SET attempts = attempts + 1 WHERE phone_hash=?", (phone_hash,))

    def drop_otp(self, phone_hash: str) -> None:
        self.conn.execute("DELETE FROM booking_otps WHERE phone_hash=?", (phone_hash,))


def purge_bookings(conn: sqlite3.Connection, before: date) -> int:
    """Retention: bookings of days before `before` go (with the phone and the identity hash)."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "bookings" not in tables:
        return 0
    return conn.execute("DELETE FROM bookings WHERE day < ?", (before.isoformat(),)).rowcount
