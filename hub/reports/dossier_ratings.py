"""Ratings keyed to the dossier (QĐ 766/2022: satisfaction is scored per hồ sơ, not per counter).

An officer links the citizen's ticket at the counter to a dossier code; the counter's rating page
(`/rate/{counter_id}`, a tablet) or a signed link from the receipt's QR then takes ONE rating of
that dossier: overall (3 hài lòng, 2 bình thường, 1 không hài lòng) plus the province's criteria.
The rating and its outbox row (kind `rating.dossier`, key `dossier-rating-{code}`) are written in
one transaction, so the relay takes it to central exactly once, through outages.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from appliance.timeutil import iso

from ..store import immediate

DOSSIER_RATED = "rating.dossier"
OVERALL = {
    3: ("Hài lòng", "Satisfied"),
    2: ("Bình thường", "Neutral"),
    1: ("Không hài lòng", "Not satisfied"),
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS dossier_links (
    ticket_id TEXT NOT NULL,
    dossier_code TEXT NOT NULL,
    counter_id TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    linked_by TEXT,
    PRIMARY KEY (ticket_id, dossier_code)
);
CREATE INDEX IF NOT EXISTS dossier_links_by_counter ON dossier_links (counter_id, linked_at);
CREATE TABLE IF NOT EXISTS dossier_ratings (
    dossier_code TEXT PRIMARY KEY,
    ticket_id TEXT,
    counter_id TEXT,
    overall INTEGER NOT NULL CHECK (overall BETWEEN 1 AND 3),
    criteria TEXT NOT NULL,
    via TEXT NOT NULL,
    rated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dossier_ratings_by_time ON dossier_ratings (rated_at);
"""


class AlreadyRated(Exception):
    """The dossier (the argument) has its one rating already."""


@dataclass(frozen=True)
class Pending:
    dossier_code: str
    ticket_id: str | None
    counter_id: str | None


def ensure_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def link(
    conn: sqlite3.Connection, *, counter_id: str, ticket_id: str, code: str, officer: str, now: datetime
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO dossier_links(ticket_id, dossier_code, counter_id, linked_at, linked_by)"
        " VALUES(?,?,?,?,?)",
        (ticket_id, code, counter_id, iso(now), officer),
    )


def rated(conn: sqlite3.Connection, code: str) -> bool:
    return conn.execute("SELECT 1 FROM dossier_ratings WHERE dossier_code=?", (code,)).fetchone() is not None


def pending_at(conn: sqlite3.Connection, counter_id: str, ticket_id: str | None) -> Pending | None:
    """The latest dossier linked to the counter's current ticket and not rated yet."""
    if ticket_id is None:
        return None
    row = conn.execute(
        """SELECT l.dossier_code FROM dossier_links l
            LEFT JOIN dossier_ratings r ON r.dossier_code = l.dossier_code
           WHERE l.counter_id = ? AND l.ticket_id = ? AND r.dossier_code IS NULL
           ORDER BY l.linked_at DESC LIMIT 1""",
        (counter_id, ticket_id),
    ).fetchone()
    return Pending(row[0], ticket_id, counter_id) if row else None


def linked_ticket(conn: sqlite3.Connection, code: str) -> tuple[str | None, str | None]:
    row = conn.execute(
        "SELECT ticket_id, counter_id FROM dossier_links WHERE dossier_code=?"
        " ORDER BY linked_at DESC LIMIT 1",
        (code,),
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def rate(
    conn: sqlite3.Connection,
    *,
    code: str,
    overall: int,
    criteria: dict[str, int],
    via: str,
    ticket: dict[str, Any] | None,
    counter_id: str | None,
    counter_name: str | None,
    site: str,
    relay: bool,
    now: datetime,
) -> dict[str, Any]:
    """Record the one rating of `code` (AlreadyRated otherwise) and, with `relay`, its outbox row —
    in one transaction. Returns the event relayed."""
    if overall not in OVERALL or any(score not in OVERALL for score in criteria.values()):
        raise ValueError("scores are 1, 2 or 3")
    event = {
        "v": 1,
        "type": DOSSIER_RATED,
        "ts": iso(now),
        "site": site,
        "dossier_code": code,
        "overall": overall,
        "overall_label": OVERALL[overall][0],
        "criteria": [{"name": name, "score": score} for name, score in criteria.items()],
        "via": via,
        "counter_id": counter_id,
        "counter_name": counter_name,
        "ticket": {"id": ticket.get("id"), "number": ticket.get("number")} if ticket else None,
    }
    with immediate(conn):
        if rated(conn, code):
            raise AlreadyRated(code)
        conn.execute(
            "INSERT INTO dossier_ratings(dossier_code, ticket_id, counter_id, overall, criteria, via,"
            " rated_at) VALUES(?,?,?,?,?,?,?)",
            (
                code,
                ticket.get("id") if ticket else None,
                counter_id,
                overall,
                json.dumps(criteria, ensure_ascii=False),
                via,
                iso(now),
            ),
        )
        if relay:
            conn.execute(
                "INSERT OR IGNORE INTO outbox(idempotency_key, kind, payload, created_at, next_attempt_at)"
                " VALUES(?,?,?,?,?)",
                (
                    f"dossier-rating-{code}",
                    DOSSIER_RATED,
                    json.dumps(event, ensure_ascii=False),
                    iso(now),
                    iso(now),
                ),
            )
    return event


def summary(conn: sqlite3.Connection, start: str, end: str) -> dict[str, Any] | None:
    """Dossier ratings given from `start` to `end` (ISO moments): overall and per criterion
    (count, average 1–3, share "hài lòng" = 3). None when the hub has no dossier ratings table."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'dossier_ratings'").fetchone()
    if not exists:
        return None
    count, average, satisfied = conn.execute(
        "SELECT COUNT(*), AVG(overall), SUM(overall = 3) FROM dossier_ratings"
        " WHERE rated_at >= ? AND rated_at < ?",
        (start, end),
    ).fetchone()
    criteria = [
        {"name": name, "count": n, "avg": round(avg, 2), "satisfied_share": round(good / n, 4)}
        for name, n, avg, good in conn.execute(
            """SELECT j.key, COUNT(*), AVG(j.value), SUM(j.value = 3)
                 FROM dossier_ratings, json_each(dossier_ratings.criteria) AS j
                WHERE rated_at >= ? AND rated_at < ? GROUP BY j.key ORDER BY MIN(j.id)""",
            (start, end),
        )
    ]
    return {
        "count": count,
        "overall_avg": round(average, 2) if count else None,
        "satisfied_share": round(satisfied / count, 4) if count else None,
        "criteria": criteria,
    }
