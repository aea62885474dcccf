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
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from appliance.i18n import PRIORITY_GROUPS, message
from appliance.rpc import RpcError
from appliance.timeutil import clock_synchronised, iso
from appliance.timeutil import now as local_now

from . import store as store_module
from .admin import edits as site_edits
from .admin import store as admin_store
from .engine import Change, DayDecision, EventDraft, HoldReason, QueueEngine, QueueError, Ticket, decide_day
from .reports import history as report_history
from .site import HubConfig

log = logging.getLogger("motcua.hub.service")

Clock = Callable[[], datetime]
SyncCheck = Callable[[], "bool | None"]
# hook(events, snapshot): `snapshot()` is the queue state after the commit, built on first use and
# shared by every caller until the next change (so a hook that does not need it costs nothing).
CommitHook = Callable[[list[dict[str, Any]], Callable[[], dict[str, Any]]], None]
# hook(conn, engine, events, method, params): runs INSIDE the writer's transaction after a change was
# written, so what it writes (a notification outbox, a phone number) commits with the change or not
# at all.
TransactionHook = Callable[[sqlite3.Connection, QueueEngine, list[dict[str, Any]], str, Any], None]
Placement = Callable[[datetime, "datetime | None"], datetime]

MAX_BATCH = 256
IDEMPOTENCY_MEMORY = 20_000
IDEMPOTENCY_DAYS = 2
CALL_TIMEOUT_S = 10.0
# With nothing to do the writer still looks at the clock (rollover) and, while the disk is full,
# tries a tiny write this often to notice space coming back.
IDLE_TICK_S = 30.0


# ---------------------------------------------------------------------- request schemas
class _Params(BaseModel):
    # Unknown keys are ignored so newer devices can talk to an older hub; known keys are typed
    # strictly: "5" is not a score.
    model_config = ConfigDict(extra="ignore", strict=True)


class IssueParams(_Params):
    service_id: str = Field(min_length=1, max_length=64)
    priority: StrictBool = False
    priority_group: str | None = None
    # For a result-return ticket: the dossier (canonical code, checked by hub.central.results).
    dossier_code: str | None = Field(None, min_length=1, max_length=64)
    # A mobile number for "your turn is near" messages (hub.citizen_notify); never in an event.
    phone: str | None = Field(None, min_length=1, max_length=32)


class CounterParams(_Params):
    counter_id: str = Field(min_length=1, max_length=64)


class TransferParams(CounterParams):
    to_service_id: str = Field(min_length=1, max_length=64)
    # "front": keep the place the original issue time gives; "end": behind everyone waiting now.
    position: Literal["front", "end"] = "front"


class CallNumberParams(CounterParams):
    # A number as printed ("1005") or a ticket id.
    number: str = Field(min_length=1, max_length=64)


class ResumeParams(CounterParams):
    ticket_id: str = Field(min_length=1, max_length=64)


class PauseParams(CounterParams):
    reason: str = Field(min_length=1, max_length=80)


class TicketParams(_Params):
    ticket_id: str = Field(min_length=1, max_length=64)


class RatingParams(TicketParams):
    score: StrictInt
    # The ticket's secret (its QR code): how a kiosk proves the rating is the ticket holder's.
    token: str | None = Field(None, min_length=1, max_length=64)


PARAMS: dict[str, type[_Params]] = {
    "ticket.issue": IssueParams,
    "ticket.cancel": TicketParams,
    "ticket.reinstate": TicketParams,
    "counter.call_next": CounterParams,
    "counter.recall": CounterParams,
    "counter.skip": CounterParams,
    "counter.complete": CounterParams,
    "counter.start": CounterParams,
    "counter.transfer": TransferParams,
    "counter.open": CounterParams,
    "counter.call_number": CallNumberParams,
    "counter.hold": CounterParams,
    "counter.resume": ResumeParams,
    "counter.pause": PauseParams,
    "counter.close": CounterParams,
    "rating.submit": RatingParams,
}
QUEUE_METHODS = frozenset(PARAMS)


def parse_params(method: str, params: Mapping[str, Any], language: str = "vi") -> _Params:
    model = PARAMS.get(method)
    if model is None:
        raise RpcError.from_key("unknown_method", language, method=method)
    try:
        return model.model_validate(dict(params))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "params"
        detail = f"{where}: {_explain(first['type'], language)}"
        raise RpcError.from_key("bad_request", language, detail=detail) from None


def _explain(kind: str, language: str) -> str:
    vi = {
        "missing": "thiếu",
        "string_type": "phải là chuỗi",
        "bool_type": "phải là true/false",
        "int_type": "phải là số nguyên",
        "string_too_short": "không được rỗng",
        "string_too_long": "quá dài",
    }
    en = {
        "missing": "missing",
        "string_type": "must be a string",
        "bool_type": "must be true/false",
        "int_type": "must be an integer",
        "string_too_short": "must not be empty",
        "string_too_long": "too long",
    }
    table = vi if language == "vi" else en
    return table.get(kind, "không hợp lệ" if language == "vi" else "invalid")


# ---------------------------------------------------------------------- commands
class _DayConfirmParams(_Params):
    """An administrator confirms the day the clock shows (never an MQTT method)."""

    username: str


DAY_CONFIRM = "day.confirm"
REQUEUED_PREFIX = "requeued:"
SITE_RECONFIGURE = "site.reconfigure"


class _ReconfigureParams(_Params):
    """A new live site configuration and its audit entries (never an MQTT method)."""

    model_config = ConfigDict(extra="ignore", strict=False, arbitrary_types_allowed=True)
    site: Any
    audit: list[dict[str, Any]]


HELD_MESSAGES = {
    "clock_unsynchronised": "hub_day_held_unsynchronised",
    "clock_jump": "hub_day_held_clock_jump",
}


@dataclass(frozen=True)
class TicketFacts:
    id: str
    token: str
    status: str
    service_id: str
    counter_id: str | None


@dataclass
class _Command:
    method: str
    params: _Params
    caller_id: str
    request_id: str | None
    language: str
    future: Future[dict[str, Any]] = field(default_factory=Future)
    # A checked-in booking (hub.bookings): (now, first waiting walk-in) -> its place in line.
    placement: Placement | None = None


class Listener:
    """Receives every committed event in order; falls back to a `resync` marker if it lags."""

    def __init__(self, owner: QueueService, size: int = 1000) -> None:
        self._owner = owner
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=size)

    def push(self, event: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._drain()
            self._queue.put_nowait({"type": "resync"})

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._owner._remove_listener(self)

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
        self._synchronised = synchronised or _sync_check(site)
        self._monotonic = monotonic
        # The day rules' inputs: the last (wall, monotonic) reading tells a clock step from time
        # passing; a held day is one the clock claims but the hub did not open (persisted).
        self._last_reading: tuple[datetime, float] | None = None
        self._clock_synced: bool | None = None
        # The clock was synchronised during this run and has not stepped since: it is still right
        # even if the kernel stops calling it synchronised (NTP unreachable for a few hours).
        self._kept_in_sync = False
        self._held: date | None = None
        self._held_reason: HoldReason | None = None
        self._clock_day: date | None = None
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
        self._lock = threading.RLock()  # guards the engine between the writer and readers
        self._commands: queue.Queue[_Command | None] = queue.Queue()
        self._hooks: list[CommitHook] = []
        self._transaction_hooks: list[TransactionHook] = []
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()
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
        synced = self._check_sync()
        self._kept_in_sync = synced is True
        self._last_reading = (now, self._monotonic())
        clock_day = self.engine.day_of(now)
        self._clock_day = clock_day
        floor = self.store.service_day_floor()
        held = self.store.get_meta(store_module.HELD_DAY_KEY)
        if floor is None:
            decision = DayDecision(clock_day)  # a new database: the first day is the clock's
        else:
            decision = decide_day(
                floor,
                clock_day,
                held=date.fromisoformat(held) if held else None,
                synchronised=synced,
                stepped=False,
                starting=True,
            )
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
                self._remember_day(today, decision)
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
            counters.setdefault(spec.id, (spec.open_at_start, None))
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
    def _check_sync(self) -> bool | None:
        try:
            synced = self._synchronised()
        except Exception as error:  # a broken check must not stop the queue
            log.warning("cannot tell whether the clock is synchronised: %r", error)
            synced = None
        if synced != self._clock_synced:
            if synced is False:
                log.warning("the clock is not synchronised: no new service day opens until it is")
            elif self._clock_synced is False:
                log.info("the clock is synchronised")
        self._clock_synced = synced
        return synced

    def _observe_clock(self, now: datetime) -> bool:
        """Whether the wall clock stepped since the last reading (beyond what elapsed)."""
        mono = self._monotonic()
        stepped = False
        if self._last_reading is not None:
            wall, then = self._last_reading
            step = (now - wall).total_seconds() - (mono - then)
            stepped = abs(step) > self.site.hub.clock_step_s
            if stepped:
                log.warning("the wall clock stepped by %+.0f s (now %s)", step, iso(now))
        self._last_reading = (now, mono)
        return stepped

    def _remember_day(self, day: date, decision: DayDecision) -> None:
        """Persist the service day and the held day (inside the caller's transaction)."""
        self.store.set_meta(store_module.SERVICE_DAY_KEY, day.isoformat())
        held = decision.held.isoformat() if decision.held else ""
        self.store.set_meta(store_module.HELD_DAY_KEY, held)
        self.store.set_meta(store_module.HELD_REASON_KEY, decision.reason or "")
        if (decision.held, decision.reason) != (self._held, self._held_reason):
            if decision.held is not None:
                log.warning(
                    "service day %s held (%s): the clock says %s; numbers go on in %s",
                    decision.held,
                    decision.reason,
                    self._clock_day,
                    day,
                )
            elif self._held is not None:
                log.info("held day %s no longer held; service day %s", self._held, day)
        self._held, self._held_reason = decision.held, decision.reason

    def _day_change(self, now: datetime) -> DayDecision:
        stepped = self._observe_clock(now)
        synced = self._check_sync()
        if stepped:
            self._kept_in_sync = False
        if synced is True:
            self._kept_in_sync = True
        elif synced is False and self._kept_in_sync:
            synced = True  # synchronised earlier in this run and running smoothly since
        clock_day = self.engine.day_of(now)
        self._clock_day = clock_day
        assert self.engine.service_day is not None
        return decide_day(
            self.engine.service_day,
            clock_day,
            held=self._held,
            synchronised=synced,
            stepped=stepped,
            starting=False,
        )

    def clock_status(self) -> dict[str, Any]:
        """The service day and what the clock says of it, for /healthz, the fleet page and the
        console: `state` is ok | unsynchronised (no day held yet) | held | behind."""
        with self._lock:
            day, clock_day = self.engine.service_day, self._clock_day
            held, reason, synced = self._held, self._held_reason, self._clock_synced
        state = "ok"
        if held is not None:
            state = "held"
        elif clock_day is not None and day is not None and clock_day < day:
            state = "behind"
        elif synced is False:
            state = "unsynchronised"
        return {
            "state": state,
            "synchronised": synced,
            "service_day": day.isoformat() if day else None,
            "clock_day": clock_day.isoformat() if clock_day else None,
            "held_day": held.isoformat() if held else None,
            "reason": reason,
            "now": iso(self.clock()),
        }

    def problems(self, language: str = "vi") -> list[dict[str, Any]]:
        """What is wrong with the hub itself, each {code, level, message}: level "error" makes
        /healthz answer 503."""
        lang = "en" if language == "en" else "vi"
        found: list[dict[str, Any]] = []
        if self.storage.full:
            key = "hub_storage_full"
            text = message(key, lang, path=self.db_path.parent)
            found.append({"code": key, "level": "error", "message": text, "since": self.storage.full_since})
        clock = self.clock_status()
        values = {
            "day": clock["service_day"],
            "clock_day": clock["clock_day"],
            "held": clock["held_day"],
        }
        if clock["state"] == "held":
            key = HELD_MESSAGES.get(clock["reason"], "hub_day_held_clock_jump")
            found.append({"code": key, "level": "error", "message": message(key, lang, **values)})
        elif clock["state"] == "behind":
            key = "hub_clock_behind"
            found.append({"code": key, "level": "warning", "message": message(key, lang, **values)})
        elif clock["state"] == "unsynchronised":
            key = "hub_clock_unsynchronised"
            found.append({"code": key, "level": "warning", "message": message(key, lang)})
        return found

    def _submit(self, command: _Command, language: str) -> dict[str, Any]:
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
        command = _Command(
            DAY_CONFIRM, _DayConfirmParams(username=username), f"web:{username}", None, language
        )
        return self._submit(command, language)

    def reconfigure(
        self, site: HubConfig, audit: list[dict[str, Any]], *, username: str, language: str = "vi"
    ) -> None:
        """Make `site` the live configuration now: the engine takes it, it is written to the
        database with its `audit` entries (kind, object_id, action, before, after) in one
        transaction, and the retained queue state is published again. RpcError if refused."""
        command = _Command(
            SITE_RECONFIGURE, _ReconfigureParams(site=site, audit=audit), f"web:{username}", None, language
        )
        self._submit(command, language)

    def _reconfigure(self, command: _Command, now: datetime) -> dict[str, Any]:
        assert isinstance(command.params, _ReconfigureParams)
        site: HubConfig = command.params.site
        old_counters = {c.id for c in self.site.counters}
        opening = frozenset(c.id for c in site.counters if c.open_at_start and c.id not in old_counters)
        try:
            self.engine.reconfigure(site.service_specs(), site.counter_specs(), open_at_start=opening)
        except QueueError as error:
            return {"v": 1, "ok": False, "error": _error_payload(error.code, command.language, error.values)}
        self.engine.rollover = site.place.rollover_time
        ts = iso(now) or ""
        admin_store.write_live(self.store.conn, site_edits.live_parts(site), ts)
        username = command.caller_id.removeprefix("web:")
        for entry in command.params.audit:
            admin_store.write_audit(self.store.conn, ts=ts, username=username, **entry)
        self.site = site
        self._site_changed = True
        return {"v": 1, "ok": True, "result": {}}

    def audit_log(self, *, limit: int = 200, before_id: int | None = None) -> list[dict[str, Any]]:
        return admin_store.read_audit(self._read(), limit=limit, before_id=before_id)

    def _confirm_day(self, command: _Command, now: datetime, events: list[dict[str, Any]]) -> dict[str, Any]:
        assert isinstance(command.params, _DayConfirmParams)
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
        self._remember_day(clock_day, DayDecision(clock_day))
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
        command = _Command(method, parsed, caller_id, request_id, language, placement=placement)
        return self._submit(command, language)

    def _check_issue(self, params: IssueParams, language: str) -> None:
        if params.priority_group is not None and params.priority_group not in PRIORITY_GROUPS:
            groups = ", ".join(PRIORITY_GROUPS)
            raise RpcError.from_key("bad_request", language, detail=f"priority_group: {groups}")
        hours = self.site.opening_hours
        if hours.refuse_tickets_outside and not hours.is_open(self.clock()):
            raise RpcError.from_key("service_closed", language, hours=hours.describe())
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
        self._hooks.append(hook)

    def listen(self) -> Listener:
        listener = Listener(self)
        with self._listeners_lock:
            self._listeners.append(listener)
        return listener

    def _remove_listener(self, listener: Listener) -> None:
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def public_ticket(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            ticket_id = self._by_token.get(token)
            if ticket_id is not None and ticket_id in self.engine.tickets:
                data = self.engine.describe(self.engine.tickets[ticket_id])
                data["site_name"] = self.site.place.name
                return data
        row = self._read().execute("SELECT * FROM tickets WHERE token=?", (token,)).fetchone()
        if row is None:
            return None
        ticket = store_module._row_to_ticket(row)
        data = ticket.to_dict()
        data.update(
            service_name=self.site.service_name(ticket.service_id),
            ahead=0,
            estimated_wait_s=0,
            counter_name=None,
            site_name=self.site.place.name,
        )
        return data

    def counter_view(self, counter_id: str, language: str = "vi") -> dict[str, Any]:
        with self._lock:
            try:
                counter = self.engine.counter(counter_id)
            except QueueError as error:
                raise RpcError.from_key(error.code, language, **error.values) from None
            current = self.engine.current_ticket(counter)
            now = self.clock()
            services = [self.engine.services[s] for s in counter.spec.services]
            mine = set(counter.spec.services)
            skipped = [
                self.engine.describe(t)
                for t in self.engine.tickets.values()
                if t.status == "skipped" and t.service_id in mine
            ]
            recent = sorted(
                (
                    t
                    for t in self.engine.tickets.values()
                    if t.counter_id == counter_id and t.status in ("completed", "skipped")
                ),
                key=lambda t: t.completed_at or t.called_at or t.issued_at,
                reverse=True,
            )[:10]
            return {
                "counter": {
                    "id": counter.id,
                    "name": counter.spec.name,
                    "open": counter.open,
                    "pause_reason": counter.pause_reason,
                    "services": [{"id": s.id, "name": s.name, "name_en": s.name_en} for s in services],
                },
                "queue": [self._waiting_row(t, now) for t in self.engine.waiting_list(counter_id)],
                "held": [self.engine.describe(t) for t in self.engine.held(counter_id)],
                "serving": self.engine.describe(current) if current else None,
                "waiting": [
                    {
                        "service_id": s.id,
                        "name": s.name,
                        "waiting": self.engine.waiting(s.id),
                        "estimated_wait_s": self.engine.estimated_wait_s(s.id),
                    }
                    for s in services
                ],
                "skipped": sorted(skipped, key=lambda t: t["issued_at"]),
                "recent": [self.engine.describe(t) for t in recent],
                "all_services": [
                    {"id": s.id, "name": s.name, "name_en": s.name_en} for s in self.engine.services.values()
                ],
                "seq": self._seq,
            }

    def waiting_list(self, counter_id: str, language: str = "vi") -> list[dict[str, Any]]:
        """`GET /api/v1/counters/{id}/waiting`: the counter's waiting citizens in calling order."""
        with self._lock:
            try:
                tickets = self.engine.waiting_list(counter_id)
            except QueueError as error:
                raise RpcError.from_key(error.code, language, **error.values) from None
            now = self.clock()
            return [self._waiting_row(t, now) for t in tickets]

    def _waiting_row(self, ticket: Ticket, now: datetime) -> dict[str, Any]:
        return {
            "id": ticket.id,
            "number": ticket.number,
            "service_id": ticket.service_id,
            "priority": ticket.priority,
            "priority_group": ticket.priority_group,
            "issued_at": iso(ticket.issued_at),
            "waited_s": max(0, round((now - ticket.issued_at).total_seconds())),
            "transferred_from": ticket.original_service_id,
        }

    def stats(self) -> dict[str, Any]:
        with self._lock:
            day = self.engine.service_day
            tickets = list(self.engine.tickets.values())
            per_service = []
            for service in self.engine.services.values():
                mine = [t for t in tickets if t.service_id == service.id]
                waits = [(t.called_at - t.issued_at).total_seconds() for t in mine if t.called_at is not None]
                per_service.append(
                    {
                        "id": service.id,
                        "name": service.name,
                        "issued": len(mine),
                        "waiting": self.engine.waiting(service.id),
                        "served": sum(1 for t in mine if t.status == "completed"),
                        "skipped": sum(1 for t in mine if t.status == "skipped"),
                        "cancelled": sum(1 for t in mine if t.status == "cancelled"),
                        "average_wait_s": round(sum(waits) / len(waits)) if waits else None,
                        # Measured only: the configured default is an estimate, not a figure.
                        "average_service_s": (
                            round(sum(samples) / len(samples))
                            if (samples := self.engine.service_times[service.id])
                            else None
                        ),
                    }
                )
            per_counter = [
                {
                    "id": c.id,
                    "name": c.spec.name,
                    "open": c.open,
                    "served": sum(1 for t in tickets if t.counter_id == c.id and t.status == "completed"),
                }
                for c in self.engine.counters.values()
            ]
            rated = [t.rating for t in tickets if t.rating is not None]
            return {
                "service_day": day.isoformat() if day else None,
                "issued": len(tickets),
                "services": per_service,
                "counters": per_counter,
                "ratings": {
                    "count": len(rated),
                    "average": round(sum(rated) / len(rated), 2) if rated else None,
                    "scale": self.site.place.rating_scale,
                },
            }

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
            batch: list[_Command] = []
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

    def _process(self, batch: list[_Command]) -> None:
        now = self.clock()
        replies: list[tuple[_Command, dict[str, Any]]] = []
        events: list[dict[str, Any]] = []
        staged: dict[tuple[str, str], dict[str, Any]] = {}
        with self._lock:
            written = self.store.conn.total_changes
            try:
                with self.store.transaction():
                    if not batch and self.storage.full:
                        # Nobody is writing: try a tiny write, so the hub sees space return.
                        self.store.set_meta("storage_probe", iso(now) or "")
                    decision = self._day_change(now)
                    if decision.roll:
                        self._apply_change(self.engine.roll(now, decision.day), now, events, "hub")
                        log.info("service day %s opened", decision.day)
                    if decision.roll or (decision.held, decision.reason) != (self._held, self._held_reason):
                        self._remember_day(self.engine.service_day or decision.day, decision)
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
                        failure = {"v": 1, "ok": False, "error": _error_payload(code, command.language, {})}
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
            self._deliver(events, resync=not events)

    def _execute(
        self,
        command: _Command,
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
            reply = {"v": 1, "ok": False, "error": _error_payload(error.code, command.language, error.values)}
        else:
            result = self._apply_change(change, now, events, command.caller_id, command)
            reply = {"v": 1, "ok": True, "result": result}
        if key is not None:
            self.store.remember_request(key[0], key[1], command.method, reply, now)
            # Remembered in memory only once the batch is committed (a rolled-back answer must not
            # be replayed to a retry).
            staged[key] = reply
        return reply

    def _dispatch(self, command: _Command, now: datetime) -> Change:
        engine, p, m = self.engine, command.params, command.method
        if m == "ticket.issue" and command.placement is not None:
            assert isinstance(p, IssueParams)
            first = engine.first_walk_in(p.service_id)
            return engine.issue_booked(
                p.service_id,
                now=now,
                token=self._token(),
                queue_at=command.placement(now, first),
                priority=p.priority,
                priority_group=p.priority_group,
                issued_by=command.caller_id,
            )
        if m == "ticket.issue":
            assert isinstance(p, IssueParams)
            return engine.issue(
                p.service_id,
                now=now,
                token=self._token(),
                priority=p.priority,
                priority_group=p.priority_group,
                issued_by=command.caller_id,
                dossier_code=p.dossier_code,
            )
        if m == "rating.submit":
            assert isinstance(p, RatingParams)
            high = self.site.place.rating_scale
            return engine.rate(p.ticket_id, p.score, low=1, high=high, now=now)
        if isinstance(p, TicketParams):
            return (
                engine.cancel(p.ticket_id, now=now)
                if m == "ticket.cancel"
                else engine.reinstate(p.ticket_id, now=now)
            )
        assert isinstance(p, CounterParams)
        if isinstance(p, TransferParams):
            change = engine.transfer(p.counter_id, p.to_service_id, now=now, to_end=p.position == "end")
            ticket = change.result
            if ticket.requeued_at is not None:
                # Not a column of `tickets`: kept beside it so a restart keeps the line's order.
                self.store.set_meta(REQUEUED_PREFIX + ticket.id, iso(ticket.requeued_at) or "")
            return change
        if isinstance(p, CallNumberParams):
            return engine.call_number(p.counter_id, p.number, now=now)
        if isinstance(p, ResumeParams):
            return engine.resume(p.counter_id, p.ticket_id, now=now)
        if isinstance(p, PauseParams):
            return engine.pause(p.counter_id, p.reason.strip() or p.reason, now=now)
        if m == "counter.hold":
            return engine.hold(p.counter_id, now=now)
        actions: dict[str, Callable[..., Change]] = {
            "counter.call_next": engine.call_next,
            "counter.recall": engine.recall,
            "counter.skip": engine.skip,
            "counter.complete": engine.complete,
            "counter.start": engine.start,
        }
        if m in actions:
            return actions[m](p.counter_id, now=now)
        return engine.set_open(p.counter_id, m == "counter.open", now=now)

    def _apply_change(
        self,
        change: Change,
        now: datetime,
        events: list[dict[str, Any]],
        caller_id: str,
        command: _Command | None = None,
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
        return self._result(command, change)

    def _result(self, command: _Command | None, change: Change) -> dict[str, Any]:
        if command is None:
            return {}
        outcome = change.result
        if isinstance(outcome, Ticket):
            issuer = command.method == "ticket.issue"
            data: dict[str, Any] = {"ticket": self.engine.describe(outcome, with_token=issuer)}
            if command.method.startswith("counter."):
                data["counter_id"] = command.params.counter_id  # type: ignore[attr-defined]
            if command.method == "rating.submit":
                data["score"] = outcome.rating
            return data
        counter = outcome  # counter.open / counter.close
        return {
            "counter": {
                "id": counter.id,
                "name": counter.spec.name,
                "open": counter.open,
                "pause_reason": counter.pause_reason,
            }
        }

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

    def _deliver(self, events: list[dict[str, Any]], *, resync: bool = False) -> None:
        """Hand committed events to the hooks and listeners; `resync` (the site configuration
        changed, no event): hooks get an empty list (the state is due again), listeners a marker."""
        if resync:
            events = []
        for hook in self._hooks:
            try:
                hook(events, self.snapshot)
            except Exception:
                log.exception("commit hook %r failed", hook)
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            for event in events:
                listener.push(event)
            if resync:
                listener.push({"type": "resync"})

    def _build_snapshot(self) -> dict[str, Any]:
        body = self.engine.snapshot()
        return {
            "v": 1,
            "seq": self._seq,
            "ts": iso(self.clock()),
            "site": {"id": self.site.site, "name": self.site.place.name},
            "message": self.site.place.hall_message,
            **body,
        }

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


def _sync_check(site: HubConfig) -> SyncCheck:
    if site.hub.clock_check == "off":
        return lambda: True
    flag = Path(site.hub.clock_sync_flag) if site.hub.clock_sync_flag else None
    return lambda: clock_synchronised(flag)


def _error_payload(code: str, language: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": code,
        # The contract's message is Vietnamese; English rides along for an English-mode kiosk.
        "message": message(code, "vi", **values),
        "message_en": message(code, "en", **values),
    }
