"""The result-return counter: `ResultDesk` links a ticket of the site's result-return service to a
dossier (`ticket.issue` with `dossier_code`), shows the officer of the return counter the dossier of
the ticket being served, and records "Đã trả kết quả": the return row and the outbox row for central
are written in one transaction with the unique key `result-returned-{code}`, so pressing twice, a
retried request or a crash in between still tells central exactly once. (The board of results ready
is hub.central.results.)
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance import dossier_code
from appliance.payload import PROTOCOL_VERSION
from appliance.rpc import RpcError, RpcRequest
from appliance.timeutil import iso
from appliance.timeutil import now as local_now
from hub.store import connect, immediate

from .base import RESULT_RETURNED
from .config import CentralConfig
from .model import Dossier, Language, status_label, uncollected_days

log = logging.getLogger("motcua.hub.central.results")

DEFAULT_RESULT_SERVICE = "tra-ket-qua"
LINKS_KEPT_DAYS = 30
MAX_OFFICER_CHARS = 64

SCHEMA = (
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
        self._db = connect(Path(db_path))
        for statement in SCHEMA:
            self._db.execute(statement)
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
