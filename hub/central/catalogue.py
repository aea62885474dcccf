"""The procedure catalogue, synced from central into the hub's SQLite and searched locally.

Searching never touches the network, so a kiosk can browse procedures while central is down. Text
is folded (lower case, no diacritics, đ → d) before indexing and before matching, so "dang ky
khai sinh" finds "Đăng ký khai sinh"; an FTS5 index ranks the matches (bm25, the name weighing most,
whole-phrase matches first).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.timeutil import iso
from appliance.timeutil import now as local_now
from hub.store import connect

from .model import Procedure, fold

log = logging.getLogger("motcua.hub.central.catalogue")

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS central_procedures (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        field_code TEXT NOT NULL,
        field_name TEXT NOT NULL,
        data TEXT NOT NULL
    )""",
    # Folded copies only: what is shown comes from central_procedures.
    """CREATE VIRTUAL TABLE IF NOT EXISTS central_procedures_fts USING fts5(
        name, field, papers, code, tokenize = 'unicode61 remove_diacritics 2'
    )""",
    "CREATE TABLE IF NOT EXISTS central_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
# bm25 weights of the FTS columns (name, field, papers, code).
WEIGHTS = (10.0, 2.0, 0.5, 4.0)
MAX_QUERY_CHARS = 200
MAX_TOKENS = 12
MAX_LIMIT = 100


class ProcedureCatalogue:
    def __init__(self, db_path: str | Path, *, clock: Any = local_now) -> None:
        self.db_path = Path(db_path)
        self.clock = clock
        self._local = threading.local()
        self._write_lock = threading.Lock()
        conn = self._conn()
        for statement in SCHEMA:
            conn.execute(statement)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.db_path)
            # The catalogue can always be fetched again: no need to wait for the disk on commit.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    # ------------------------------------------------------------------ sync
    def replace_all(self, procedures: Iterable[Procedure], source: str = "central") -> int:
        """Swap in a complete catalogue in one transaction; readers see the old or the new one."""
        rows = {p.code: p for p in procedures}  # a code listed twice: the last one wins
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM central_procedures")
                conn.execute("DELETE FROM central_procedures_fts")
                for number, procedure in enumerate(rows.values(), start=1):
                    conn.execute(
                        "INSERT INTO central_procedures(id, code, name, field_code, field_name, data)"
                        " VALUES(?,?,?,?,?,?)",
                        (
                            number,
                            procedure.code,
                            procedure.name,
                            procedure.field_code,
                            procedure.field_name,
                            json.dumps(procedure.to_dict(), ensure_ascii=False),
                        ),
                    )
                    conn.execute(
                        "INSERT INTO central_procedures_fts(rowid, name, field, papers, code)"
                        " VALUES(?,?,?,?,?)",
                        (
                            number,
                            fold(procedure.name),
                            fold(procedure.field_name),
                            fold(" ".join(p.name for p in procedure.papers)),
                            fold(procedure.code),
                        ),
                    )
                self._set_meta(conn, "synced_at", iso(self.clock()) or "")
                self._set_meta(conn, "source", source)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return len(rows)

    @staticmethod
    def _set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute(
            "INSERT INTO central_meta(key, value) VALUES(?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (f"catalogue.{key}", value),
        )

    def synced_at(self) -> datetime | None:
        row = (
            self._conn().execute("SELECT value FROM central_meta WHERE key='catalogue.synced_at'").fetchone()
        )
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def count(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM central_procedures").fetchone()[0])

    # ------------------------------------------------------------------ reading
    def get(self, code: str) -> Procedure | None:
        row = self._conn().execute("SELECT data FROM central_procedures WHERE code=?", (code,)).fetchone()
        return Procedure.from_dict(json.loads(row[0])) if row else None

    def fields(self) -> list[dict[str, Any]]:
        rows = self._conn().execute(
            "SELECT field_code, field_name, COUNT(*) FROM central_procedures"
            " GROUP BY field_code, field_name ORDER BY field_name"
        )
        return [{"code": code, "name": name, "count": count} for code, name, count in rows]

    def search(self, query: str, *, field: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Procedures matching every word of `query` (as prefixes); if none, any word. Best first."""
        limit = max(1, min(MAX_LIMIT, limit))
        tokens = fold(query[:MAX_QUERY_CHARS]).split()[:MAX_TOKENS]
        if not tokens:
            return self._browse(field, limit)
        phrase = " ".join(tokens)
        all_words = " ".join(f'"{t}"*' for t in tokens)
        rows = self._match(all_words, phrase, field, limit)
        if not rows and len(tokens) > 1:
            rows = self._match(" OR ".join(f'"{t}"*' for t in tokens), phrase, field, limit)
        return [_result(row) for row in rows]

    def _match(self, expression: str, phrase: str, field: str | None, limit: int) -> list[tuple[Any, ...]]:
        # Whole phrase at the start of the name, then anywhere in it, then bm25.
        sql = (
            "SELECT p.data, bm25(central_procedures_fts, ?, ?, ?, ?) AS score,"
            " CASE WHEN f.name = ? THEN 0 WHEN f.name LIKE ? THEN 1 WHEN instr(f.name, ?) > 0 THEN 2"
            " ELSE 3 END AS tier"
            " FROM central_procedures_fts AS f JOIN central_procedures AS p ON p.id = f.rowid"
            " WHERE central_procedures_fts MATCH ?"
        )
        params: list[Any] = [*WEIGHTS, phrase, phrase.replace("%", "") + "%", phrase, expression]
        if field:
            sql += " AND p.field_code = ?"
            params.append(field)
        sql += " ORDER BY tier, score LIMIT ?"
        params.append(limit)
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.OperationalError as error:  # a query FTS5 cannot parse: no match, not a crash
            log.info("procedure search %r: %s", expression, error)
            return []

    def _browse(self, field: str | None, limit: int) -> list[dict[str, Any]]:
        sql = "SELECT data, 0, 3 FROM central_procedures"
        params: list[Any] = []
        if field:
            sql += " WHERE field_code = ?"
            params.append(field)
        sql += " ORDER BY name LIMIT ?"
        params.append(limit)
        return [_result(row) for row in self._conn().execute(sql, params)]


def _result(row: tuple[Any, ...]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(row[0])
    return data
