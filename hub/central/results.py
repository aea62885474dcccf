"""Results ready for collection: the board of dossiers waiting at the one-stop shop. (The
result-return counter that hands them over is hub.central.result_desk.)

`ResultsBoard` asks central (`CentralSystem.list_ready_dossiers`) every `results_refresh_s`, keeps the
list in the hub's SQLite (a hub restarted while central is down still shows it, marked stale with the
time it was fetched) and publishes it as the retained topic `results/ready`:

    {v, ts, fetched_at, stale, new_since, items: [{code, procedure, applicant_masked, ready_since,
     uncollected_days, overdue_collection}]}

Only masked names ever leave the hub on this topic or the public page. `new_since`: items ready since
then are "new" (highlighted) — the last `results_new_minutes`, or at least the newest one.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from appliance.payload import PROTOCOL_VERSION
from appliance.timeutil import iso
from hub.store import immediate

from .errors import NotSupported
from .local_copy import CentralCopy
from .model import Dossier, mask_name, uncollected_days

# hub.central.wiring takes the result desk from here too.

log = logging.getLogger("motcua.hub.central.results")

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS results_ready (
        code TEXT PRIMARY KEY,
        procedure TEXT NOT NULL,
        applicant_masked TEXT NOT NULL,
        ready_since TEXT NOT NULL,
        central_id TEXT NOT NULL DEFAULT '',
        position INTEGER NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS results_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


# ---------------------------------------------------------------------- pure rules
@dataclass(frozen=True)
class ReadyItem:
    """One dossier on the board, already masked: nothing here may not be shown in the hall."""

    code: str
    procedure: str
    applicant_masked: str
    ready_since: datetime
    central_id: str = ""

    @classmethod
    def from_dossier(cls, dossier: Dossier, *, first_seen: datetime) -> ReadyItem:
        return cls(
            code=dossier.dossier_no,
            procedure=dossier.service_name or dossier.service_code,
            applicant_masked=mask_name(dossier.applicant_name),
            # Central's release time when it gives one; else when the hub first saw it ready.
            ready_since=dossier.released_at or dossier.finished_at or first_seen,
            central_id=dossier.central_id,
        )


def board_payload(
    items: Iterable[ReadyItem],
    *,
    now: datetime,
    fetched_at: datetime | None,
    stale: bool,
    overdue_days: int,
    new_minutes: float,
) -> dict[str, Any]:
    """The `results/ready` payload: newest first, with the rule for "new" spelled out."""
    ordered = sorted(items, key=lambda item: (item.ready_since, item.code), reverse=True)
    new_since: datetime | None = None
    if ordered:
        window = now - timedelta(minutes=new_minutes)
        new_since = min(window, ordered[0].ready_since)
    return {
        "v": PROTOCOL_VERSION,
        "ts": iso(now),
        "fetched_at": iso(fetched_at),
        "stale": stale,
        "new_since": iso(new_since),
        "overdue_days": overdue_days,
        "count": len(ordered),
        "items": [
            {
                "code": item.code,
                "procedure": item.procedure,
                "applicant_masked": item.applicant_masked,
                "ready_since": iso(item.ready_since),
                "uncollected_days": (days := uncollected_days(item.ready_since, now)),
                "overdue_collection": days >= overdue_days,
            }
            for item in ordered
        ],
    }


# ---------------------------------------------------------------------- the board
@dataclass(eq=False, repr=False)
class ResultsBoard(CentralCopy):
    """The list of results ready, refreshed from central in a thread of its own."""

    # Codes handed over here that central may still list until the relay reaches it.
    hidden: Callable[[], Collection[str]] = field(default=frozenset, kw_only=True)
    schema = SCHEMA

    def __post_init__(self) -> None:
        super().__post_init__()
        self._lock = threading.Condition()
        self._publishers: list[Callable[[dict[str, Any]], None]] = []
        self._items, self._fetched_at = self._load()
        self._stale = True  # until this run has heard from central
        self.version = 0
        self.failures = 0
        self.last_error: str | None = None
        self.supported = True
        self._stop = threading.Event()
        self._refresh_now = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="central-results", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._refresh_now.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._db_lock:
            self._db.close()
        with self._lock:
            self._lock.notify_all()

    def request_refresh(self) -> None:
        self._refresh_now.set()

    def add_publisher(self, publish: Callable[[dict[str, Any]], None]) -> None:
        """`publish(payload)` after every refresh (and on `republish()`); it must not block."""
        self._publishers.append(publish)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            if not self.supported:
                return
            self._refresh_now.wait(self.config.results_refresh_s)
            self._refresh_now.clear()

    # ------------------------------------------------------------------ refreshing
    def refresh(self) -> bool:
        """Fetch the list once; True if central answered. A failure keeps the last list, stale."""
        try:
            dossiers = self.adapter.list_ready_dossiers(self.config.results_max)
        except NotSupported as error:
            log.info("results board not refreshed: %s", error)
            self.supported = False
            self._changed(stale=True)
            return False
        except Exception as error:  # central down, slow, refusing, or an adapter bug
            self.failures += 1
            self.last_error = str(error)
            if self.failures == 1 or self.failures % 10 == 0:
                log.warning(
                    "results board: central unavailable (%s); showing the list of %s",
                    error,
                    iso(self._fetched_at) or "never",
                )
            self._changed(stale=True)
            return False
        now = self.clock()
        known = {item.code: item for item in self._items}
        items: list[ReadyItem] = []
        seen: set[str] = set()
        for dossier in dossiers:
            code = dossier.dossier_no.strip()
            if not code or code in seen:
                continue
            seen.add(code)
            before = known.get(code)
            items.append(ReadyItem.from_dossier(dossier, first_seen=before.ready_since if before else now))
        self._save(items, now)
        if self.failures:
            log.info("results board: central answers again (%d dossiers ready)", len(items))
        self.failures = 0
        self.last_error = None
        with self._lock:
            self._items, self._fetched_at = items, now
        self._changed(stale=False)
        return True

    def _changed(self, *, stale: bool) -> None:
        with self._lock:
            self._stale = stale
            self.version += 1
            self._lock.notify_all()
        self.republish()

    def republish(self) -> None:
        if not self._publishers:
            return
        payload = self.payload()
        for publish in self._publishers:
            try:
                publish(payload)
            except Exception as error:  # the broker may be away; the next refresh publishes again
                log.warning("results board not published: %s", error)

    def forget(self, code: str) -> None:
        """A result was handed over here: off the board now, not at the next refresh."""
        self._changed(stale=self._stale)
        log.info("results board: %s handed over", code)

    # ------------------------------------------------------------------ reading
    def payload(self) -> dict[str, Any]:
        hidden = set(self.hidden())
        with self._lock:
            items = [item for item in self._items if item.code not in hidden]
            fetched, stale = self._fetched_at, self._stale
        return board_payload(
            items,
            now=self.clock(),
            fetched_at=fetched,
            stale=stale,
            overdue_days=self.config.collection_overdue_days,
            new_minutes=self.config.results_new_minutes,
        )

    def item(self, code: str) -> ReadyItem | None:
        with self._lock:
            return next((item for item in self._items if item.code == code), None)

    def wait_for_change(self, version: int, timeout: float) -> int:
        """Block until the board's version differs from `version` (or timeout); the version now."""
        with self._lock:
            self._lock.wait_for(lambda: self.version != version or self._stop.is_set(), timeout)
            return self.version

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "ready": len(self._items),
                "fetched_at": iso(self._fetched_at),
                "stale": self._stale,
                "failures": self.failures,
                "error": self.last_error,
                "supported": self.supported,
            }

    # ------------------------------------------------------------------ storage
    def _load(self) -> tuple[list[ReadyItem], datetime | None]:
        with self._db_lock:
            rows = self._db.execute(
                "SELECT code, procedure, applicant_masked, ready_since, central_id FROM results_ready"
                " ORDER BY position"
            ).fetchall()
            fetched = self._db.execute("SELECT value FROM results_meta WHERE key='fetched_at'").fetchone()
        items = []
        for code, procedure, masked, since, central_id in rows:
            try:
                items.append(ReadyItem(code, procedure, masked, datetime.fromisoformat(since), central_id))
            except ValueError:
                log.warning("ignoring an unreadable saved result %s", code)
        return items, datetime.fromisoformat(fetched[0]) if fetched else None

    def _save(self, items: list[ReadyItem], fetched_at: datetime) -> None:
        try:
            with self._db_lock, immediate(self._db):
                self._db.execute("DELETE FROM results_ready")
                self._db.executemany(
                    "INSERT INTO results_ready(code, procedure, applicant_masked, ready_since,"
                    " central_id, position) VALUES(?,?,?,?,?,?)",
                    [
                        (i.code, i.procedure, i.applicant_masked, iso(i.ready_since), i.central_id, n)
                        for n, i in enumerate(items)
                    ],
                )
                self._db.execute(
                    "INSERT INTO results_meta(key, value) VALUES('fetched_at', ?)"
                    " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (iso(fetched_at),),
                )
        except sqlite3.Error as error:  # the board still shows the new list; only the copy is old
            log.error("results board not saved: %s", error)
