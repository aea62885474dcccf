"""The printer's job log: a small SQLite file that makes "print each job once" survive restarts.

A job is written here before its MQTT message is acknowledged, so a job is never lost; its state moves
pending → printing → printed | failed. A job found `printing` at start-up was interrupted mid-print:
it is failed, not printed again (a second ticket with the same number is worse than a reprint request).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.rows import from_row

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    kind TEXT,
    payload BLOB,
    state TEXT NOT NULL CHECK (state IN ('pending', 'printing', 'printed', 'failed')),
    received_at REAL NOT NULL,
    finished_at REAL,
    error TEXT,
    reported INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_open ON jobs (state) WHERE state IN ('pending', 'printing');
CREATE INDEX IF NOT EXISTS jobs_unreported ON jobs (reported) WHERE reported = 0;
"""

FINISHED = ("printed", "failed")


@dataclass(frozen=True)
class JobRecord:
    seq: int
    job_id: str
    kind: str | None
    payload: bytes | None
    state: str
    received_at: float
    finished_at: float | None
    error: dict[str, Any] | None
    reported: bool

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def result(self) -> dict[str, Any]:
        """The `print/{id}/results` payload of a finished job."""
        status = self.state
        # Stored as failed (the log's states are fixed); on the wire a cancelled late ticket says so.
        if status == "failed" and self.error and self.error.get("code") == "print_expired":
            status = "expired"
        body: dict[str, Any] = {"v": 1, "job_id": self.job_id, "status": status}
        if self.error:
            body["error"] = self.error
        return body


class JobStore:
    """Thread-safe (one connection, one lock): the MQTT thread adds, the print worker updates."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # A job is acknowledged to the broker only after it is on disk.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @staticmethod
    def _record(row: sqlite3.Row | None) -> JobRecord | None:
        if row is None:
            return None
        error = json.loads(row["error"]) if row["error"] else None
        return from_row(JobRecord, row, error=error, reported=bool(row["reported"]))

    def add(self, job_id: str, kind: str | None, payload: bytes, received_at: float) -> bool:
        """Record a new pending job; False if this job id was seen before (then nothing changes)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO jobs (job_id, kind, payload, state, received_at) "
                "VALUES (?, ?, ?, 'pending', ?)",
                (job_id, kind, payload, received_at),
            )
            return cursor.rowcount == 1

    def add_failed(self, job_id: str, kind: str | None, error: dict[str, Any], at: float) -> bool:
        """Record a job refused on arrival (bad payload) so that a resend gets the same answer."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO jobs (job_id, kind, state, received_at, finished_at, error) "
                "VALUES (?, ?, 'failed', ?, ?, ?)",
                (job_id, kind, at, at, json.dumps(error, ensure_ascii=False)),
            )
            return cursor.rowcount == 1

    def get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return self._record(row)

    def pending(self) -> list[JobRecord]:
        """Jobs still to print, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE state = 'pending' ORDER BY seq").fetchall()
        return [record for row in rows if (record := self._record(row)) is not None]

    def count_pending(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM jobs WHERE state = 'pending'").fetchone()[0])

    def mark_printing(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET state = 'printing' WHERE job_id = ?", (job_id,))

    def mark_pending(self, job_id: str) -> None:
        """Back to the queue after a send that failed before the printer took the job."""
        with self._lock:
            self._db.execute("UPDATE jobs SET state = 'pending' WHERE job_id = ?", (job_id,))

    def finish(self, job_id: str, state: str, at: float, error: dict[str, Any] | None = None) -> None:
        if state not in FINISHED:
            raise ValueError(f"{state!r} is not a final job state")
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = ?, finished_at = ?, error = ?, payload = NULL, reported = 0 "
                "WHERE job_id = ?",
                (state, at, json.dumps(error, ensure_ascii=False) if error else None, job_id),
            )

    def mark_reported(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET reported = 1 WHERE job_id = ?", (job_id,))

    def unreported(self) -> list[JobRecord]:
        """Finished jobs whose result the broker has not acknowledged yet."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM jobs WHERE reported = 0 AND state IN ('printed', 'failed') ORDER BY seq"
            ).fetchall()
        return [record for row in rows if (record := self._record(row)) is not None]

    def interrupted(self) -> list[JobRecord]:
        """Jobs that were being printed when the process stopped."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE state = 'printing' ORDER BY seq").fetchall()
        return [record for row in rows if (record := self._record(row)) is not None]

    def forget_before(self, moment: float) -> int:
        """Drop finished jobs received before `moment`; their ids could be printed again after that."""
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM jobs WHERE state IN ('printed', 'failed') AND reported = 1 AND received_at < ?",
                (moment,),
            )
            return cursor.rowcount
