"""The fleet's durable records in the hub's SQLite file (own connection, own tables, WAL).

- fleet_devices: every device the hub enrolled (or is about to): role, place, role configuration
  and its revision, status pending → active → revoked.
- fleet_codes: one-time enrolment codes, by SHA-256 only; claimed atomically so two devices racing
  with one code cannot both enrol.
- fleet_seen: online/offline transitions, so "offline since" survives a hub restart (the retained
  will says *that* a device is offline, not since when).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from appliance.rows import from_row
from appliance.timeutil import iso, now, parse_iso

from ..store import connect_rows, immediate
from .errors import EnrolmentRefused, FleetRefusal
from .roles import Place

Status = Literal["pending", "active", "revoked"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fleet_devices (
    device_id     TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    place         TEXT NOT NULL,
    label         TEXT NOT NULL DEFAULT '',
    config        TEXT NOT NULL DEFAULT '{}',
    config_rev    INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
    created_at    TEXT NOT NULL,
    enrolled_at   TEXT,
    enrolled_from TEXT,
    revoked_at    TEXT
);
CREATE TABLE IF NOT EXISTS fleet_codes (
    code_hash  TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES fleet_devices (device_id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    created_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS fleet_codes_device ON fleet_codes (device_id);
CREATE TABLE IF NOT EXISTS fleet_seen (
    device_id     TEXT PRIMARY KEY,
    online        INTEGER NOT NULL,
    last_seen     TEXT,
    offline_since TEXT
);
"""


@dataclass(frozen=True)
class DeviceRecord:
    device_id: str
    role: str
    place: Place
    label: str
    config: dict[str, Any]
    config_rev: int
    status: Status
    created_at: str
    enrolled_at: str | None = None
    enrolled_from: str | None = None
    revoked_at: str | None = None


@dataclass(frozen=True)
class CodeClaim:
    """A code just claimed for `device`; release() it if enrolment fails after this point."""

    code_hash: str
    device: DeviceRecord
    expires_at: str


@dataclass(frozen=True)
class Seen:
    online: bool
    last_seen: str | None
    offline_since: str | None


@dataclass
class FleetStore:
    db_path: Path
    clock: Callable[[], datetime] = now
    _db: sqlite3.Connection = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.db_path = Path(self.db_path)
        self._db = connect_rows(self.db_path)
        with self._lock:
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, immediate(self._db) as db:
            yield db

    @staticmethod
    def _device(row: sqlite3.Row) -> DeviceRecord:
        return from_row(
            DeviceRecord,
            row,
            place=Place.parse(row["place"]),
            config=json.loads(row["config"]),
            config_rev=int(row["config_rev"]),
        )

    # -- devices ------------------------------------------------------------------------------

    def get(self, device_id: str) -> DeviceRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM fleet_devices WHERE device_id = ?", (device_id,)).fetchone()
        return self._device(row) if row else None

    def all(self, *, include_revoked: bool = False) -> list[DeviceRecord]:
        query = "SELECT * FROM fleet_devices"
        if not include_revoked:
            query += " WHERE status != 'revoked'"
        with self._lock:
            rows = self._db.execute(query + " ORDER BY device_id").fetchall()
        return [self._device(row) for row in rows]

    def add_code(
        self,
        *,
        device_id: str,
        role: str,
        place: Place,
        label: str,
        config: dict[str, Any],
        code_hash: str,
        ttl: timedelta,
        created_by: str,
        replace: bool,
    ) -> tuple[DeviceRecord, str]:
        """Create (or, with `replace`, re-issue) the device record and a code for it.

        Earlier unused codes of the device stop working: only the latest slip on the technician's
        desk is valid. Returns the record and the expiry time (ISO).
        """
        moment = self.clock()
        expires = iso(moment + ttl)
        assert expires is not None
        with self._transaction() as db:
            row = db.execute("SELECT * FROM fleet_devices WHERE device_id = ?", (device_id,)).fetchone()
            if row is not None and row["status"] != "revoked" and not replace:
                raise FleetRefusal("fleet_id_taken", device=device_id)
            if row is not None and replace and row["status"] == "active":
                # A replacement keeps the record (and its configuration) until the new unit enrols.
                db.execute("UPDATE fleet_devices SET label = ? WHERE device_id = ?", (label, device_id))
            else:
                db.execute(
                    """INSERT INTO fleet_devices (device_id, role, place, label, config, config_rev, status,
                                                  created_at)
                       VALUES (?, ?, ?, ?, ?, 1, 'pending', ?)
                       ON CONFLICT (device_id) DO UPDATE SET
                           role = excluded.role, place = excluded.place, label = excluded.label,
                           config = excluded.config, config_rev = fleet_devices.config_rev + 1,
                           status = 'pending', created_at = excluded.created_at, enrolled_at = NULL,
                           enrolled_from = NULL, revoked_at = NULL""",
                    (device_id, role, str(place), label, json.dumps(config, ensure_ascii=False), iso(moment)),
                )
            db.execute("DELETE FROM fleet_codes WHERE device_id = ? AND used_at IS NULL", (device_id,))
            db.execute(
                """INSERT INTO fleet_codes (code_hash, device_id, created_at, expires_at, created_by)
                   VALUES (?, ?, ?, ?, ?)""",
                (code_hash, device_id, iso(moment), expires, created_by),
            )
            record = self._device(
                db.execute("SELECT * FROM fleet_devices WHERE device_id = ?", (device_id,)).fetchone()
            )
        return record, expires

    def claim(self, code_hash: str) -> CodeClaim:
        """Mark the code used, atomically; EnrolmentRefused(unknown|used|expired) otherwise."""
        moment = self.clock()
        with self._transaction() as db:
            row = db.execute("SELECT * FROM fleet_codes WHERE code_hash = ?", (code_hash,)).fetchone()
            if row is None:
                raise EnrolmentRefused("enrol_code_unknown")
            if row["used_at"] is not None:
                raise EnrolmentRefused("enrol_code_used", used_at=_clock_text(row["used_at"]))
            expires = parse_iso(row["expires_at"])
            assert expires is not None
            if moment >= expires:
                raise EnrolmentRefused("enrol_code_expired", expired_at=_clock_text(row["expires_at"]))
            device = db.execute(
                "SELECT * FROM fleet_devices WHERE device_id = ?", (row["device_id"],)
            ).fetchone()
            if device is None or device["status"] == "revoked":
                raise EnrolmentRefused("enrol_code_unknown")
            db.execute("UPDATE fleet_codes SET used_at = ? WHERE code_hash = ?", (iso(moment), code_hash))
        return CodeClaim(code_hash, self._device(device), row["expires_at"])

    def release(self, claim: CodeClaim) -> None:
        """Make a claimed code usable again (enrolment failed on the hub's side, not the device's)."""
        with self._transaction() as db:
            db.execute("UPDATE fleet_codes SET used_at = NULL WHERE code_hash = ?", (claim.code_hash,))

    def activate(self, device_id: str, enrolled_from: str) -> DeviceRecord:
        with self._transaction() as db:
            db.execute(
                """UPDATE fleet_devices SET status = 'active', enrolled_at = ?, enrolled_from = ?,
                       revoked_at = NULL WHERE device_id = ?""",
                (iso(self.clock()), enrolled_from[:200], device_id),
            )
            row = db.execute("SELECT * FROM fleet_devices WHERE device_id = ?", (device_id,)).fetchone()
        if row is None:
            raise FleetRefusal("fleet_unknown_device", device=device_id)
        return self._device(row)

    def revoke(self, device_id: str) -> DeviceRecord:
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE fleet_devices SET status = 'revoked', revoked_at = ? WHERE device_id = ?",
                (iso(self.clock()), device_id),
            ).rowcount
            if not changed:
                raise FleetRefusal("fleet_unknown_device", device=device_id)
            db.execute("DELETE FROM fleet_codes WHERE device_id = ? AND used_at IS NULL", (device_id,))
            row = db.execute("SELECT * FROM fleet_devices WHERE device_id = ?", (device_id,)).fetchone()
        return self._device(row)

    def set_config(self, device_id: str, config: dict[str, Any]) -> DeviceRecord:
        """Store a new role configuration; its revision goes up by one."""
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE fleet_devices SET config = ?, config_rev = config_rev + 1 WHERE device_id = ?",
                (json.dumps(config, ensure_ascii=False), device_id),
            ).rowcount
            if not changed:
                raise FleetRefusal("fleet_unknown_device", device=device_id)
            row = db.execute("SELECT * FROM fleet_devices WHERE device_id = ?", (device_id,)).fetchone()
        return self._device(row)

    def pending_code_expiry(self, device_id: str) -> str | None:
        """When the device's unused code expires, if it has one."""
        with self._lock:
            row = self._db.execute(
                "SELECT max(expires_at) AS e FROM fleet_codes WHERE device_id = ? AND used_at IS NULL",
                (device_id,),
            ).fetchone()
        return row["e"] if row else None

    # -- online/offline -----------------------------------------------------------------------

    def seen(self) -> dict[str, Seen]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM fleet_seen").fetchall()
        return {
            row["device_id"]: Seen(bool(row["online"]), row["last_seen"], row["offline_since"])
            for row in rows
        }

    def record_seen(self, device_id: str, seen: Seen) -> None:
        with self._transaction() as db:
            db.execute(
                """INSERT INTO fleet_seen (device_id, online, last_seen, offline_since) VALUES (?, ?, ?, ?)
                   ON CONFLICT (device_id) DO UPDATE SET online = excluded.online,
                       last_seen = excluded.last_seen, offline_since = excluded.offline_since""",
                (device_id, int(seen.online), seen.last_seen, seen.offline_since),
            )


def _clock_text(iso_time: str) -> str:
    """'06/01/2025 07:31' of an ISO time (site-local already), for messages people read."""
    moment = parse_iso(iso_time)
    return moment.strftime("%d/%m/%Y %H:%M") if moment else iso_time
