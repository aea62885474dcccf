"""Results ready for collection: the board of dossiers waiting at the one-stop shop, and the
result-return counter that hands them over.

* `ResultsBoard` asks central (`CentralSystem.list_ready_dossiers`) every `results_refresh_s`, keeps
  the list in the hub's SQLite (a hub restarted while central is down still shows it, marked stale
  with the time it was fetched) and publishes it as the retained topic `results/ready`:

      {v, ts, fetched_at, stale, new_since, items: [{code, procedure, applicant_masked, ready_since,
       uncollected_days, overdue_collection}]}

  Only masked names ever leave the hub on this topic or the public page. `new_since`: items ready
  since then are "new" (highlighted) — the last `results_new_minutes`, or at least the newest one.
* `ResultDesk` links a ticket of the site's result-return service to a dossier (`ticket.issue` with
  `dossier_code`), shows the officer of the return counter the dossier of the ticket being served,
  and records "Đã trả kết quả": the return row and the outbox row for central are written in one
  transaction with the unique key `result-returned-{code}`, so pressing twice, a retried request or
  a crash in between still tells central exactly once.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance import dossier_code
from appliance.rpc import RpcError, RpcRequest
from appliance.timeutil import iso
from appliance.timeutil import now as local_now
from hub.store import connect, immediate

from .base import RESULT_RETURNED, CentralSystem
from .config import CentralConfig
from .errors import NotSupported
from .model import Dossier, Language, mask_name, status_label

log = logging.getLogger("motcua.hub.central.results")

PROTOCOL_VERSION = 1
DEFAULT_RESULT_SERVICE = "tra-ket-qua"
LINKS_KEPT_DAYS = 30
MAX_OFFICER_CHARS = 64

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
    """CREATE TABLE IF NOT EXISTS result_links (
        ticket_id TEXT PRIMARY KEY,
        dossier_code TEXT NOT NULL,
        linked_at TEXT NOT NULL,
        linked_by TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS result_returns (
        dossier_code TEXT PRIMARY KEY,
        ticket_id TEXT,
        ticket_number TEXT,
        counter_id TEXT,
        officer TEXT,
        returned_at TEXT NOT NULL,
        outbox_key TEXT
    )""",
)


def _open(db_path: str | Path) -> sqlite3.Connection:
    conn = connect(Path(db_path))
    for statement in SCHEMA:
        conn.execute(statement)
    return conn


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


def uncollected_days(ready_since: datetime, now: datetime) -> int:
    """Whole calendar days the result has waited (0 on the day it became ready)."""
    return max(0, (now.date() - ready_since.astimezone(now.tzinfo).date()).days)


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
class ResultsBoard:
    """The list of results ready, refreshed from central in a thread of its own."""

    def __init__(
        self,
        adapter: CentralSystem,
        config: CentralConfig,
        db_path: str | Path,
        *,
        clock: Callable[[], datetime] = local_now,
        hidden: Callable[[], Collection[str]] = frozenset,
    ) -> None:
        self.adapter = adapter
        self.config = config
        self.clock = clock
        # Codes handed over here that central may still list until the relay reaches it.
        self.hidden = hidden
        self._db = _open(db_path)
        # A copy of central's list: a lost last write costs one refresh, not durability.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db_lock = threading.Lock()
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


# ---------------------------------------------------------------------- the return counter
class ResultDesk:
    """Links tickets of the result-return service to dossiers and records results handed over."""

    def __init__(
        self,
        config: CentralConfig,
        db_path: str | Path,
        *,
        service_id: str | None,
        counters: Collection[str],
        relay: bool,
        clock: Callable[[], datetime] = local_now,
        on_returned: Callable[[str], None] | None = None,
        live: Callable[[], tuple[str | None, Collection[str]]] | None = None,
    ) -> None:
        self.config = config
        self._service_id = service_id
        self._counters = frozenset(counters)
        self._live = live  # the site's service and counters as the head sets them now (live edits)
        self.relay = relay
        self.clock = clock
        self.on_returned = on_returned
        self._db = _open(db_path)
        self._db_lock = threading.Lock()
        self._returned: set[str] = {
            row[0] for row in self._db.execute("SELECT dossier_code FROM result_returns")
        }
        cutoff = iso(clock() - timedelta(days=LINKS_KEPT_DAYS))
        self._db.execute("DELETE FROM result_links WHERE linked_at < ?", (cutoff,))

    def close(self) -> None:
        with self._db_lock:
            self._db.close()

    @property
    def service_id(self) -> str | None:
        return (self._live()[0] if self._live else None) or self._service_id

    @property
    def counters(self) -> frozenset[str]:
        service, counters = self._live() if self._live else (None, ())
        return frozenset(counters) if service else self._counters

    def serves(self, counter_id: str) -> bool:
        return counter_id in self.counters

    # ------------------------------------------------------------------ links
    def link(self, ticket_id: str, code: str, *, by: str) -> None:
        """Tie `ticket_id` to the dossier `code` (canonical); a later link replaces an earlier one."""
        with self._db_lock:
            self._db.execute(
                "INSERT INTO result_links(ticket_id, dossier_code, linked_at, linked_by) VALUES(?,?,?,?)"
                " ON CONFLICT(ticket_id) DO UPDATE SET dossier_code=excluded.dossier_code,"
                " linked_at=excluded.linked_at, linked_by=excluded.linked_by",
                (ticket_id, code, iso(self.clock()), by[:MAX_OFFICER_CHARS]),
            )
        log.info("ticket %s linked to dossier %s by %s", ticket_id, code, by)

    def dossier_of(self, ticket_id: str) -> str | None:
        """The dossier linked by an officer (`result.link`), else the one the ticket was issued for."""
        with self._db_lock:
            row = self._db.execute(
                "SELECT dossier_code FROM result_links WHERE ticket_id=?", (ticket_id,)
            ).fetchone()
            if row is None:
                row = self._db.execute("SELECT dossier_code FROM tickets WHERE id=?", (ticket_id,)).fetchone()
        return row[0] if row and row[0] else None

    @staticmethod
    def canonical(code: object, language: Language = "vi") -> str:
        """The dossier code as central files it; RpcError `central_code_invalid` otherwise."""
        if not isinstance(code, str) or len(code) > 2048:
            raise RpcError.from_key("bad_request", language, detail="dossier_code")
        try:
            return dossier_code.parse_any(code, language).canonical
        except dossier_code.DossierCodeError as error:
            reason = error.message if language == "vi" else error.message_en
            raise RpcError.from_key("central_code_invalid", language, reason=reason) from None

    def wrap_issue(
        self, issue: Callable[[RpcRequest], Mapping[str, Any]]
    ) -> Callable[[RpcRequest], Mapping[str, Any]]:
        """`ticket.issue` that also takes `dossier_code` (the kiosk's "Lấy số nhận kết quả")."""

        def handler(request: RpcRequest) -> Mapping[str, Any]:
            raw = request.params.get("dossier_code")
            if raw is None:
                return issue(request)
            code = self.canonical(raw, request.language)
            if self.service_id is None or request.params.get("service_id") != self.service_id:
                raise RpcError.from_key(
                    "bad_request", request.language, detail=f"dossier_code: service_id {self.service_id}"
                )
            # The ticket itself carries the code, committed with it: no crash can separate them.
            params = {**request.params, "dossier_code": code}
            result = dict(issue(replace(request, params=params)))
            result["dossier_code"] = code
            return result

        return handler

    def rpc_link(self, request: RpcRequest) -> dict[str, Any]:
        """`result.link {ticket_id, dossier_code}`: link an already issued ticket."""
        ticket_id = request.params.get("ticket_id")
        if not isinstance(ticket_id, str) or not 0 < len(ticket_id) <= 64:
            raise RpcError.from_key("bad_request", request.language, detail="ticket_id")
        code = self.canonical(request.params.get("dossier_code"), request.language)
        self.link(ticket_id, code, by=request.caller_id)
        return {"ticket_id": ticket_id, "dossier_code": code}

    # ------------------------------------------------------------------ returns
    def returned_codes(self) -> frozenset[str]:
        with self._db_lock:
            return frozenset(self._returned)

    def returned(self, code: str) -> dict[str, Any] | None:
        with self._db_lock:
            row = self._db.execute(
                "SELECT dossier_code, ticket_id, ticket_number, counter_id, officer, returned_at"
                " FROM result_returns WHERE dossier_code=?",
                (code,),
            ).fetchone()
        if row is None:
            return None
        keys = ("dossier_code", "ticket_id", "ticket_number", "counter_id", "officer", "returned_at")
        return dict(zip(keys, row, strict=True))

    def mark_returned(
        self,
        code: str,
        *,
        officer: str,
        counter_id: str | None,
        counter_name: str | None = None,
        ticket: Mapping[str, Any] | None = None,
        central_id: str = "",
    ) -> tuple[dict[str, Any], bool]:
        """Record that the result of `code` was handed over: (the record, whether it is new).

        The record and the outbox row are one transaction: either central will hear of it exactly
        once (the key is unique per site and dossier) or nothing happened. A second press finds the
        record and writes nothing.
        """
        now = self.clock()
        key = f"result-returned-{code}"
        ticket_part = (
            {
                "id": ticket.get("id"),
                "number": ticket.get("number"),
                "service_id": ticket.get("service_id"),
            }
            if ticket
            else None
        )
        event = {
            "v": PROTOCOL_VERSION,
            "type": RESULT_RETURNED,
            "ts": iso(now),
            "dossier_code": code,
            "dossier_id": central_id or None,
            "ticket": ticket_part,
            "counter_id": counter_id,
            "counter_name": counter_name,
            "officer": officer[:MAX_OFFICER_CHARS],
            "note": f"Đã trả kết quả tại quầy {counter_name or counter_id or '—'}",
        }
        with self._db_lock:
            with immediate(self._db):
                existing = self._db.execute(
                    "SELECT 1 FROM result_returns WHERE dossier_code=?", (code,)
                ).fetchone()
                if existing is None:
                    self._db.execute(
                        "INSERT INTO result_returns(dossier_code, ticket_id, ticket_number, counter_id,"
                        " officer, returned_at, outbox_key) VALUES(?,?,?,?,?,?,?)",
                        (
                            code,
                            ticket_part["id"] if ticket_part else None,
                            ticket_part["number"] if ticket_part else None,
                            counter_id,
                            event["officer"],
                            iso(now),
                            key if self.relay else None,
                        ),
                    )
                    if self.relay:
                        self._db.execute(
                            "INSERT OR IGNORE INTO outbox(idempotency_key, kind, payload, created_at,"
                            " next_attempt_at) VALUES(?,?,?,?,?)",
                            (key, RESULT_RETURNED, json.dumps(event, ensure_ascii=False), iso(now), iso(now)),
                        )
            fresh = existing is None
            if fresh:
                self._returned.add(code)
        record = self.returned(code)
        assert record is not None
        if fresh:
            log.info("result of %s handed over by %s at counter %s", code, officer, counter_id)
            if self.on_returned is not None:
                self.on_returned(code)
        return record, fresh


def result_service_id(
    config: CentralConfig, services: Collection[str], chosen: str | None = None
) -> str | None:
    """The site's result-return service: `chosen` (the site's `[result_return] service`, which the
    head edits), else `[central] result_service`, else "tra-ket-qua" if present.

    Raises ValueError when the configured one is not a service of the site.
    """
    if chosen is not None and chosen in services:
        return chosen
    if config.result_service is not None:
        if config.result_service not in services:
            raise ValueError(f"result_service {config.result_service!r} is not one of the site's services")
        return config.result_service
    return DEFAULT_RESULT_SERVICE if DEFAULT_RESULT_SERVICE in services else None


def dossier_for_officer(
    dossier: Dossier, *, now: datetime, ready_statuses: Collection[str], language: Language = "vi"
) -> dict[str, Any]:
    """What the officer of the return counter sees of the dossier: everything, to check identity."""
    return {
        "code": dossier.dossier_no,
        "procedure": dossier.service_name or dossier.service_code,
        "applicant_name": dossier.applicant_name,
        "applicant_id_no": dossier.applicant_id_no or None,
        "status": dossier.status,
        "status_label": status_label(dossier.status, language, dossier.status_text),
        "ready": dossier.status in ready_statuses,
        "ready_since": iso(dossier.released_at),
        "central_id": dossier.central_id,
        "uncollected_days": uncollected_days(dossier.released_at, now) if dossier.released_at else None,
    }
