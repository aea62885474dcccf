"""The live site configuration and the audit log in the hub's SQLite file.

The site TOML seeds the site; once an administrator changed something, the live configuration here
is the source of truth (`motcua hub --export-site` writes it back out as TOML). Each change and its
audit entry are written in the same transaction as the queue's own rows (the queue writer's).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS site_live (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    ts        TEXT NOT NULL,
    username  TEXT NOT NULL,
    kind      TEXT NOT NULL,
    object_id TEXT NOT NULL,
    action    TEXT NOT NULL,
    before    TEXT,
    after     TEXT
);
-- Configuration templates from the province and what became of each (hub.admin.province).
CREATE TABLE IF NOT EXISTS province_templates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    template_id INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT,
    reason_en   TEXT,
    fields      TEXT,
    overridable TEXT,
    ts          TEXT NOT NULL
);
"""


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def read_live(conn: sqlite3.Connection) -> dict[str, Any] | None:
    ensure_schema(conn)
    row = conn.execute("SELECT body FROM site_live WHERE id = 1").fetchone()
    return json.loads(row[0]) if row else None


def read_live_file(db_path: str | Path) -> dict[str, Any] | None:
    """The live configuration of the hub whose database is `db_path`; None if never edited."""
    path = Path(db_path)
    if not path.exists():
        return None
    conn = sqlite3.connect(path, timeout=10.0)
    try:
        return read_live(conn)
    finally:
        conn.close()


def write_live(conn: sqlite3.Connection, body: dict[str, Any], ts: str) -> None:
    conn.execute(
        """INSERT INTO site_live (id, body, updated_at) VALUES (1, ?, ?)
           ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at""",
        (json.dumps(body, ensure_ascii=False), ts),
    )


def write_audit(
    conn: sqlite3.Connection,
    *,
    ts: str,
    username: str,
    kind: str,
    object_id: str,
    action: str,
    before: Any,
    after: Any,
) -> None:
    conn.execute(
        """INSERT INTO admin_audit (ts, username, kind, object_id, action, before, after)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (
            ts,
            username,
            kind,
            object_id,
            action,
            None if before is None else json.dumps(before, ensure_ascii=False),
            None if after is None else json.dumps(after, ensure_ascii=False),
        ),
    )


def read_audit(
    conn: sqlite3.Connection, *, limit: int = 200, before_id: int | None = None
) -> list[dict[str, Any]]:
    ensure_schema(conn)
    query = "SELECT * FROM admin_audit"
    args: list[Any] = []
    if before_id is not None:
        query += " WHERE id < ?"
        args.append(before_id)
    query += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row  # this cursor only: the connection is shared
    rows = cursor.execute(query, args).fetchall()
    return [
        {
            "id": row["id"],
            "ts": row["ts"],
            "username": row["username"],
            "kind": row["kind"],
            "object_id": row["object_id"],
            "action": row["action"],
            "before": json.loads(row["before"]) if row["before"] else None,
            "after": json.loads(row["after"]) if row["after"] else None,
        }
        for row in rows
    ]
