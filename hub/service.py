"""The hub's queue service: the engine behind one writer thread with group commit.

Callers (MQTT RPC workers, web requests) submit commands and wait. The writer thread takes every
command that is waiting, applies them to the engine in order, writes all their changes, events and
idempotency records in ONE SQLite transaction (synchronous=FULL), and only then answers the callers
and hands the events to the publishers. So an answer always means "durable", numbers are handed out
by one thread only, and a burst of 50 kiosks costs one fsync, not 50.
"""

from __future__ import annotations

import logging
import queue
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.i18n import message
from appliance.rpc import RpcError
from appliance.timeutil import iso
from appliance.timeutil import now as local_now

from . import queue_commands
from . import queue_views as views
from . import store as store_module
from .admin import edits as site_edits
from .admin import province as province_templates
from .admin import store as admin_store
from .engine import Change, DayDecision, EventDraft, QueueEngine, QueueError, Ticket
from .queue_commands import (
    DAY_CONFIRM,
    QUEUE_METHODS,
    SITE_RECONFIGURE,
    Command,
    DayConfirmParams,
    IssueParams,
    Placement,
    ReconfigureParams,
    TransferParams,
    dispatch,
    error_payload,
    parse_params,
)
from .reports import history as report_history
from .service_day import DayGuard, SyncCheck, clock_problems, sync_check
from .service_events import CommitHook, EventFanout, Listener
from .site import HubConfig

# QUEUE_METHODS, Listener and CommitHook are imported from here (hub.daemon, type hints).
__all__ = ["QUEUE_METHODS", "CommitHook", "Listener", "QueueService", "TicketFacts", "TransactionHook"]

log = logging.getLogger("motcua.hub.service")

Clock = Callable[[], datetime]
# hook(conn, engine, events, method, params): runs INSIDE the writer's transaction after a change was
# written, so what it writes (a notification outbox, a phone number) commits with the change or not
# at all.
TransactionHook = Callable[[sqlite3.Connection, QueueEngine, list[dict[str, Any]], str, Any], None]

MAX_BATCH = 256
IDEMPOTENCY_MEMORY = 20_000
IDEMPOTENCY_DAYS = 2
CALL_TIMEOUT_S = 10.0
# With nothing to do the writer still looks at the clock (rollover) and, while the disk is full,
# tries a tiny write this often to notice space coming back.
IDLE_TICK_S = 30.0

REQUEUED_PREFIX = "requeued:"


@dataclass(frozen=True)
class TicketFacts:
    id: str
    token: str
    status: str
    service_id: str
    counter_id: str | None


class QueueService:
    def __init__(
        self,
        site: HubConfig,
        db_path: str | Path | None = None,
        *,
        clock: Clock = local_now,
        token_factory: Callable[[], str] = lambda: secrets.token_urlsafe(16),
        outbox: bool = False,
        synchronised: SyncCheck | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.site = site
        self.db_path = Path(db_path or site.hub.db)
        self.clock = clock
        self.day_guard = DayGuard(synchronised or sync_check(site), monotonic)
        self._token = token_factory
        self._outbox = outbox
        self.engine = QueueEngine(
            site.service_specs(), site.counter_specs(), rollover=site.place.rollover_time
        )
        self.store = store_module.Store(self.db_path)
        self.storage = self.store.watch
        report_history.ensure_schema(self.store.conn)
        admin_store.ensure_schema(self.store.conn)
        self._site_changed = False
        self._site_state: tuple[HubConfig, dict[str, Any]] | None = None
        self._lock = threading.RLock()  # guards the engine between the writer and readers
        self._commands: queue.Queue[Command | None] = queue.Queue()
        self._transaction_hooks: list[TransactionHook] = []
        self._events = EventFanout()
        self._by_token: dict[str, str] = {}
        self._answers: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._reader = threading.local()
        self._load()
        self._snapshot: dict[str, Any] | None = None
        self._stopping = False
        self._writer = threading.Thread(target=self._run, name="queue-writer", daemon=True)
        self._writer.start()

    # ------------------------------------------------------------------ start-up
    def _load(self, *, quiet: bool = False) -> None:
        now = self.clock()
        clock_day = self.engine.day_of(now)
        floor = self.store.service_day_floor()
        held = self.store.get_meta(store_module.HELD_DAY_KEY)
        decision = self.day_guard.starting(now, clock_day, floor, held)
        today = decision.day
        try:
            with self.store.transaction() as conn:
                stale = self.store.stale_open_tickets(today)
                for ticket in stale:  # the hub was off across a rollover: yesterday's line is gone
                    ticket.status = "cancelled"
                    ticket.completed_at = now
                if stale:
                    change = Change(tickets={t.id: t for t in stale})
                    self.store.write_change(change, today)
                    conn.execute("UPDATE counters SET current_ticket=NULL")
                self.store.forget_requests_before(now - timedelta(days=IDEMPOTENCY_DAYS))
                self.day_guard.remember(self.store, today, decision)
        except sqlite3.Error as error:
            # On a full disk the queue is still read back (answers, the console, the displays);
            # what could not be written now is written by the next write that succeeds.
            if not self.storage.failed(error, iso(now) or ""):
                raise
            today = self.engine.service_day or floor or clock_day
        state = self.store.load_day(today)
        for ticket in state.tickets:
            if ticket.status == "waiting" and ticket.original_service_id:
                requeued = self.store.get_meta(REQUEUED_PREFIX + ticket.id)
                if requeued:
                    ticket.requeued_at = datetime.fromisoformat(requeued)
        counters = dict(state.counters)
        for spec in self.site.counters:
            counters.setdefault(spec.id, (spec.open_at_start, None, None, 0))
        self.engine.load(today, state.tickets, state.last_seq, counters, state.recent_calls)
        self._seq = state.last_event_seq
        self._by_token = {t.token: t.id for t in state.tickets}
        log.log(
            logging.DEBUG if quiet else logging.INFO,
            "loaded service day %s: %d tickets, last event %d",
            today,
            len(state.tickets),
            self._seq,
        )
        if floor is not None and clock_day < floor:
            log.warning(
                "the clock says %s, before service day %s: numbers go on in %s", clock_day, floor, floor
            )

    # ------------------------------------------------------------------ the service day
    def clock_status(self) -> dict[str, Any]:
        """The service day and what the clock says of it, for /healthz, the fleet page and the
        console: `state` is ok | unsynchronised (no day held yet) | held | behind."""
        with self._lock:
            status = self.day_guard.status(self.engine.service_day)
        status["now"] = iso(self.clock())
        return status

    def problems(self, language: str = "vi") -> list[dict[str, Any]]:
        """What is wrong with the hub itself, each {code, level, message}: level "error" makes
        /healthz answer 503."""
        lang = "en" if language == "en" else "vi"
        found: list[dict[str, Any]] = []
        if self.storage.full:
            key = "hub_storage_full"
            text = message(key, lang, path=self.db_path.parent)
            found.append({"code": key, "level": "error", "message": text, "since": self.storage.full_since})
        return found + clock_problems(self.clock_status(), lang)

    def _submit(self, command: Command, language: str) -> dict[str, Any]:
        """Hand `command` to the writer thread and wait for its durable result; RpcError if the
        service is stopping, the writer does not answer in time, or the command was refused."""
        if self._stopping:
            raise RpcError.from_key("unavailable", language)
        self._commands.put(command)
        try:
            reply = command.future.result(timeout=CALL_TIMEOUT_S)
        except FutureTimeout:
            raise RpcError.from_key("timeout", language) from None
        if not reply["ok"]:
            error = reply["error"]
            raise RpcError(error["code"], error["message"], error.get("message_en", ""))
        return reply["result"]

    def confirm_day(self, username: str, language: str = "vi") -> dict[str, Any]:
        """An administrator says the clock is right: open its day now (the held day's line is
        cancelled, as at any rollover). {service_day, rolled, cancelled, message}."""
        command = Command(DAY_CONFIRM, DayConfirmParams(username=username), f"web:{username}", None, language)
        return self._submit(command, language)

    def reconfigure(
        self,
        site: HubConfig,
        audit: list[dict[str, Any]],
        *,
        username: str,
        language: str = "vi",
        province: dict[str, Any] | None = None,
    ) -> None:
        """Make `site` the live configuration now: the engine takes it, it is written to the
        database with its `audit` entries (kind, object_id, action, before, after) in one
        transaction, and the retained queue state is published again. RpcError if refused."""
        command = Command(
            SITE_RECONFIGURE,
            ReconfigureParams(site=site, audit=audit, province=province),
            f"web:{username}",
            None,
            language,
        )
        self._submit(command, language)

    def _reconfigure(self, command: Command, now: datetime) -> dict[str, Any]:
        assert isinstance(command.params, ReconfigureParams)
        site: HubConfig = command.params.site
        old_counters = {c.id for c in self.site.counters}
        opening = frozenset(c.id for c in site.counters if c.open_at_start and c.id not in old_counters)
        try:
            self.engine.reconfigure(site.service_specs(), site.counter_specs(), open_at_start=opening)
        except QueueError as error:
            return {"v": 1, "ok": False, "error": error_payload(error.code, command.language, error.values)}
        self.engine.rollover = site.place.rollover_time
        ts = iso(now) or ""
        admin_store.write_live(self.store.conn, site_edits.live_parts(site), ts)
        username = command.caller_id.removeprefix("web:")
        for entry in command.params.audit:
            admin_store.write_audit(self.store.conn, ts=ts, username=username, **entry)
        if command.params.province is not None:
            province_templates.write_answer(self.store.conn, command.params.province)
        self.site = site
        self._site_changed = True
        return {"v": 1, "ok": True, "result": {}}

    def province_templates(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The province's latest templates (newest first) and those in force, one per kind."""
        conn = self._read()
        return province_templates.read_answers(conn), province_templates.read_in_force(conn)

    def audit_log(self, *, limit: int = 200, before_id: int | None = None) -> list[dict[str, Any]]:
        return admin_store.read_audit(self._read(), limit=limit, before_id=before_id)

    def _confirm_day(self, command: Command, now: datetime, events: list[dict[str, Any]]) -> dict[str, Any]:
        assert isinstance(command.params, DayConfirmParams)
        lang = "en" if command.language == "en" else "vi"
        clock_day = self.engine.day_of(now)
        before = self.engine.service_day
        assert before is not None
        if clock_day <= before:
            text = message(
                "day_nothing_to_confirm", lang, day=before.isoformat(), clock_day=clock_day.isoformat()
            )
            return {"service_day": before.isoformat(), "rolled": False, "cancelled": 0, "message": text}
        change = self.engine.roll(now, clock_day)
        cancelled = sum(1 for e in change.events if e.type == "ticket.cancelled")
        self._apply_change(change, now, events, command.caller_id)
        self.day_guard.remember(self.store, clock_day, DayDecision(clock_day))
        log.warning(
            "%s confirmed service day %s (was %s; %d tickets cancelled)",
            command.params.username,
            clock_day,
            before,
            cancelled,
        )
        text = message("day_confirmed", lang, day=clock_day.isoformat(), cancelled=cancelled)
        return {"service_day": clock_day.isoformat(), "rolled": True, "cancelled": cancelled, "message": text}

    # ------------------------------------------------------------------ public API
    def call(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        caller_id: str,
        request_id: str | None = None,
        language: str = "vi",
        placement: Placement | None = None,
    ) -> dict[str, Any]:
        """Run one queue method; returns its result once durable, raises RpcError if refused.
        `placement` (Python callers only: hub.bookings) places a checked-in booking in line."""
        parsed = parse_params(method, params, language)
        if method == "ticket.issue":
            self._check_issue(parsed, language)  # type: ignore[arg-type]
        command = Command(method, parsed, caller_id, request_id, language, placement=placement)
        return self._submit(command, language)

    def _check_issue(self, params: IssueParams, language: str) -> None:
        groups = [group.id for group in self.site.priority_groups]  # the head may edit them
        if params.priority_group is not None and params.priority_group not in groups:
            raise RpcError.from_key("bad_request", language, detail=f"priority_group: {', '.join(groups)}")
        hours = self.site.opening_hours
        moment = self.clock()
        if hours.refuse_tickets_outside and not hours.is_open(moment):
            raise RpcError.from_key("service_closed", language, hours=hours.describe(moment))
        if params.phone is not None:
            from .bookings.identity import IdentityError, normalise_phone

            try:
                params.phone = normalise_phone(params.phone)
            except IdentityError as error:
                raise RpcError.from_key(error.code, language) from None

    def snapshot(self) -> dict[str, Any]:
        """The queue state now (`queue/state`). Built lazily, at most once per change: never on the
        writer's way to its callers' replies."""
        snapshot = self._snapshot
        if snapshot is not None:
            return snapshot
        with self._lock:
            if self._snapshot is None:
                self._snapshot = self._build_snapshot()
            return self._snapshot

    def ticket_facts(self, ref: str) -> TicketFacts | None:
        """What an authorisation check needs of today's ticket `ref` (id or number), or None."""
        with self._lock:
            try:
                ticket = self.engine.find_ticket(ref)
            except QueueError:
                return None
            return TicketFacts(ticket.id, ticket.token, ticket.status, ticket.service_id, ticket.counter_id)

    def counter_services(self, counter_id: str) -> frozenset[str]:
        spec = next((c for c in self.site.counters if c.id == counter_id), None)
        return frozenset(spec.services) if spec is not None else frozenset()

    def add_transaction_hook(self, hook: TransactionHook) -> None:
        """`hook(conn, engine, events, method, params)` runs on the writer thread inside the
        transaction of every change (and must not commit); an exception rolls the batch back."""
        self._transaction_hooks.append(hook)

    def add_commit_hook(self, hook: CommitHook) -> None:
        """`hook(events, snapshot)` runs on the writer thread after each commit (after the callers
        have their answers), in order; keep it quick: the next batch waits for it."""
        self._events.add_hook(hook)

    def listen(self) -> Listener:
        return self._events.listen()

    def public_ticket(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            ticket_id = self._by_token.get(token)
            if ticket_id is not None and ticket_id in self.engine.tickets:
                return views.live_ticket(self.engine, self.engine.tickets[ticket_id], self.site.place.name)
        row = self._read().execute("SELECT * FROM tickets WHERE token=?", (token,)).fetchone()
        if row is None:
            return None
        return views.stored_ticket(store_module._row_to_ticket(row), self.site)

    def counter_view(self, counter_id: str, language: str = "vi") -> dict[str, Any]:
        with self._lock:
            return views.counter_view(
                self.engine, counter_id, clock=self.clock, seq=self._seq, language=language
            )

    def waiting_list(self, counter_id: str, language: str = "vi") -> list[dict[str, Any]]:
        """`GET /api/v1/counters/{id}/waiting`: the counter's waiting citizens in calling order."""
        with self._lock:
            return views.waiting_list(self.engine, counter_id, clock=self.clock, language=language)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return views.stats(self.engine, self.site.place.rating_scale)

    def close(self) -> None:
        """Finish the commands already submitted, then stop the writer; idempotent."""
        if self._stopping:
            return
        self._stopping = True
        self._commands.put(None)
        self._writer.join(timeout=15)
        self.store.close()

    # ------------------------------------------------------------------ the writer
    def _read(self) -> sqlite3.Connection:
        conn = getattr(self._reader, "conn", None)
        if conn is None:
            conn = store_module.connect(self.db_path)
            self._reader.conn = conn
        return conn

    def _run(self) -> None:
        while True:
            try:
                first = self._commands.get(timeout=IDLE_TICK_S)
            except queue.Empty:
                self._process([])  # a quiet minute still rolls the service day over
                continue
            batch: list[Command] = []
            stop = first is None
            if first is not None:
                batch.append(first)
            while len(batch) < MAX_BATCH and not stop:
                try:
                    more = self._commands.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                else:
                    batch.append(more)
            if batch:
                self._process(batch)
            if stop:
                return

    def _process(self, batch: list[Command]) -> None:
        now = self.clock()
        replies: list[tuple[Command, dict[str, Any]]] = []
        events: list[dict[str, Any]] = []
        staged: dict[tuple[str, str], dict[str, Any]] = {}
        with self._lock:
            written = self.store.conn.total_changes
            try:
                with self.store.transaction():
                    if not batch and self.storage.full:
                        # Nobody is writing: try a tiny write, so the hub sees space return.
                        self.store.set_meta("storage_probe", iso(now) or "")
                    assert self.engine.service_day is not None
                    decision = self.day_guard.day_change(
                        now, self.engine.service_day, self.engine.day_of(now), self.site.hub.clock_step_s
                    )
                    if decision.roll:
                        self._apply_change(self.engine.roll(now, decision.day), now, events, "hub")
                        log.info("service day %s opened", decision.day)
                    if decision.roll or self.day_guard.changed(decision):
                        self.day_guard.remember(self.store, self.engine.service_day or decision.day, decision)
                    for command in batch:
                        reply = self._execute(command, now, events, staged)
                        replies.append((command, reply))
            except Exception as error:
                # A full disk is a state, said once (StorageWatch), not a traceback per request.
                full = self.storage.failed(error, iso(now) or "")
                if not full:
                    log.exception("commit failed; reloading the queue from the database")
                self._reload_after_failure(quiet=full)
                code = "storage_full" if full else "internal"
                for command in batch:
                    if not command.future.done():
                        failure = {"v": 1, "ok": False, "error": error_payload(code, command.language, {})}
                        command.future.set_result(failure)
                return
            if self.store.conn.total_changes != written:
                self.storage.wrote()
            self._answers.update(staged)
            while len(self._answers) > IDEMPOTENCY_MEMORY:
                self._answers.popitem(last=False)
            if events or batch:
                self._snapshot = None  # rebuilt when someone asks (publishers, pages), not here
        for command, reply in replies:
            command.future.set_result(reply)
        if events or self._site_changed:
            self._site_changed = False
            self._events.deliver(events, self.snapshot, resync=not events)

    def _execute(
        self,
        command: Command,
        now: datetime,
        events: list[dict[str, Any]],
        staged: dict[tuple[str, str], dict[str, Any]],
    ) -> dict[str, Any]:
        key = (command.caller_id, command.request_id) if command.request_id else None
        if key is not None:
            earlier = staged.get(key) or self._answers.get(key) or self.store.lookup_request(*key)
            if earlier is not None:
                return earlier
        if command.method == DAY_CONFIRM:
            return {"v": 1, "ok": True, "result": self._confirm_day(command, now, events)}
        if command.method == SITE_RECONFIGURE:
            return self._reconfigure(command, now)
        try:
            change = self._dispatch(command, now)
        except QueueError as error:
            reply = {"v": 1, "ok": False, "error": error_payload(error.code, command.language, error.values)}
        else:
            result = self._apply_change(change, now, events, command.caller_id, command)
            reply = {"v": 1, "ok": True, "result": result}
        if key is not None:
            self.store.remember_request(key[0], key[1], command.method, reply, now)
            # Remembered in memory only once the batch is committed (a rolled-back answer must not
            # be replayed to a retry).
            staged[key] = reply
        return reply

    def _dispatch(self, command: Command, now: datetime) -> Change:
        change = dispatch(
            self.engine, command, now, token=self._token, rating_scale=self.site.place.rating_scale
        )
        ticket = change.result
        if isinstance(command.params, TransferParams) and ticket.requeued_at is not None:
            # Not a column of `tickets`: kept beside it so a restart keeps the line's order.
            self.store.set_meta(REQUEUED_PREFIX + ticket.id, iso(ticket.requeued_at) or "")
        return change

    def _apply_change(
        self,
        change: Change,
        now: datetime,
        events: list[dict[str, Any]],
        caller_id: str,
        command: Command | None = None,
    ) -> dict[str, Any]:
        assert self.engine.service_day is not None
        if change.day_rolled:
            self._by_token.clear()
        self.store.write_change(change, self.engine.service_day)
        drafts = [self._event(draft) for draft in change.events]
        self.store.write_events(drafts)
        report_history.record_callers(self.store.conn, drafts, caller_id)
        events.extend(drafts)
        for ticket in change.tickets.values():
            self._by_token[ticket.token] = ticket.id
        if command is not None and command.method == "rating.submit":
            assert isinstance(change.result, Ticket)
            self.store.write_rating(change.result, self.site.place.rating_scale, now, caller_id)
        for hook in self._transaction_hooks:
            method = command.method if command is not None else ""
            hook(self.store.conn, self.engine, drafts, method, command.params if command else None)
        if self._outbox:
            for event in drafts:
                self.store.write_outbox(f"event-{event['seq']}", event["type"], event, now)
        return queue_commands.result(self.engine, command, change)

    def _event(self, draft: EventDraft) -> dict[str, Any]:
        self._seq += 1
        event: dict[str, Any] = {
            "v": 1,
            "type": draft.type,
            "seq": self._seq,
            "ts": iso(draft.ts),
            "ticket": self.engine.describe(draft.ticket) if draft.ticket else None,
            "counter_id": draft.counter_id,
        }
        if draft.counter_id and draft.counter_id in self.engine.counters:
            event["counter_name"] = self.engine.counters[draft.counter_id].spec.name
        event.update(draft.extra)
        return event

    def _build_snapshot(self) -> dict[str, Any]:
        body = self.engine.snapshot()
        return {"v": 1, "seq": self._seq, "ts": iso(self.clock()), **self._site_part(), **body}

    def _site_part(self) -> dict[str, Any]:
        """The state's site part, made once per configuration (snapshots are shared read-only)."""
        site = self.site
        cached = self._site_state
        if cached is None or cached[0] is not site:
            part = {
                # elderly_age: the kiosk gives elderly priority from an ID card's age
                # (`[booking] elderly_age`).
                "site": {"id": site.site, "name": site.place.name, "elderly_age": self._elderly_age()},
                "message": site.place.hall_message,
                **site.device_settings(),
            }
            self._site_state = cached = (site, part)
        return cached[1]

    def _elderly_age(self) -> int:
        age = (self.site.booking or {}).get("elderly_age", 60)
        return age if isinstance(age, int) and 50 <= age <= 100 else 60

    def _reload_after_failure(self, *, quiet: bool = False) -> None:
        # The engine may hold changes the database refused: rebuild it from what is durable.
        try:
            self.engine = QueueEngine(
                self.site.service_specs(),
                self.site.counter_specs(),
                rollover=self.site.place.rollover_time,
            )
            self._load(quiet=quiet)
            self._snapshot = None
        except Exception:
            log.exception("reload after a failed commit failed too")
