"""The relay: delivers the hub's outbox (queue events and ratings) to central, exactly once.

The queue service writes each event into `outbox` in the same transaction as the event itself, so
nothing committed can be missed. This worker reads the table with its own connection and:

* delivers in order (a row waiting for its retry holds back the rows behind it, so central never
  sees a call before the issue), a few requests in flight at a time;
* retries transient failures with exponential backoff and jitter, behind a circuit breaker so a
  dead central costs one probe per interval instead of a request per event;
* sends each row's idempotency key (`{site}:event-{seq}`), so a row delivered just before a crash
  and delivered again after it is recognised by central: together with "mark delivered only after
  central acknowledged", that is exactly-once as central sees it;
* parks rows central refuses for good (4xx) as dead letters, counted in the status, instead of
  blocking the line forever.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.timeutil import iso
from appliance.timeutil import now as local_now
from hub.store import connect

from .base import DOSSIER_EVENTS, CentralSystem, OutboxItem
from .config import CentralConfig
from .errors import CentralError, CentralRejected, NotSupported
from .resilience import CircuitBreaker, backoff_delay

log = logging.getLogger("motcua.hub.central.outbox")

NOT_FORWARDED = "not forwarded"
DEAD_PREFIX = "rejected: "
# Parts of an event central has no use for: the ticket token opens the citizen's ticket page.
PRIVATE_TICKET_KEYS = ("token",)
CLEANUP_INTERVAL_S = 3600.0
MARK_EVERY = 50
WAKE_SETTLE_S = 0.2  # after a wake, how long commits may gather before the relay looks
# A window of events goes to the pool's threads only when sending them one after the other would
# take longer than this: a central answering in a millisecond is not worth a thread hand-off each.
SERIAL_BUDGET_S = 0.02


class OutboxWorker:
    def __init__(
        self,
        adapter: CentralSystem,
        config: CentralConfig,
        db_path: str | Path,
        *,
        site: str,
        clock: Callable[[], datetime] = local_now,
        rng: random.Random | None = None,
    ) -> None:
        self.adapter = adapter
        self.config = config
        self.site = site
        self.clock = clock
        self.rng = rng or random.Random()
        # `events` chooses queue events; a result handed over always goes to central.
        self.events = frozenset(config.events) | DOSSIER_EVENTS
        self.breaker = CircuitBreaker(config.breaker_failures, config.breaker_open_s)
        self._db: sqlite3.Connection = connect(Path(db_path))
        # Marking "delivered" may be lost to a power cut: the row is then sent again and central
        # de-duplicates it by key. So these commits need not wait for the disk.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=config.delivery_concurrency, thread_name_prefix="relay")
        self._send_s = 0.0  # how long one delivery takes (a decaying maximum)
        self._thread = threading.Thread(target=self._run, name="central-relay", daemon=True)
        self.delivered = 0
        self.failures = 0
        self.last_error: str | None = None
        self.last_delivered_at: datetime | None = None

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._pool.shutdown(wait=True)
        with self._db_lock:
            self._db.close()

    def wake(self, *_: object) -> None:
        """New rows were committed (a QueueService commit hook): look now rather than at the next poll."""
        self._wake.set()

    # ------------------------------------------------------------------ the loop
    def _run(self) -> None:
        next_cleanup = 0.0
        failing: str | None = None  # a database error already logged (a full disk: once, not per poll)
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_cleanup:
                    self._forget_delivered()
                    next_cleanup = time.monotonic() + CLEANUP_INTERVAL_S
                pause = self._step()
                if failing is not None:
                    log.info("outbox: the database answers again")
                    failing = None
            except sqlite3.Error as error:
                if str(error) != failing:
                    log.error("outbox: database error: %s", error)
                failing = str(error)
                self.breaker.release()
                pause = self.config.poll_interval_s
            except Exception:
                log.exception("outbox: unexpected failure; carrying on")
                self.breaker.release()
                pause = self.config.poll_interval_s
            if pause > 0:
                if self._wake.wait(pause) and pause >= WAKE_SETTLE_S:
                    # A busy hub commits every few ms, a counter calls every few seconds: gather
                    # what comes in the window and deliver it in one pass (one query, one commit)
                    # instead of waking, querying and posting per commit.
                    self._stop.wait(WAKE_SETTLE_S)
                self._wake.clear()

    def _step(self) -> float:
        """Deliver what is due; return how long to wait before the next look (0: at once)."""
        probing = self.breaker.state != "closed"
        if not self.breaker.allow():
            return max(0.05, min(self.breaker.retry_in(), self.config.poll_interval_s))
        rows = self._due_rows()
        now = self.clock()
        if not rows or datetime.fromisoformat(rows[0][4]) > now:
            self.breaker.release()  # nothing was tried: no verdict on central
            if not rows:
                return self.config.poll_interval_s
            head_due = datetime.fromisoformat(rows[0][4])
            return max(0.01, min(self.config.poll_interval_s, (head_due - now).total_seconds()))
        skipped = [row[0] for row in rows if row[2] not in self.events]
        if skipped:
            self._finish(skipped, NOT_FORWARDED)
        items = [self._item(row) for row in rows if row[2] in self.events]
        if probing:
            items = items[:1]  # probe a recovering central with one event, not the whole backlog
        if not items:
            self.breaker.release()
            return 0.0
        delivered = self._deliver(items, {row[0]: row[3] for row in rows})
        if delivered and not probing and len(rows) < self.config.delivery_batch:
            # All there was is delivered: no second query to find nothing. A commit since the
            # query has woken the relay (wake() is set after the rows are in), so none is missed.
            return self.config.poll_interval_s
        # After a failure the head row waits for its retry time or the breaker for its probe; the
        # next step works out which. A full batch: more may be waiting.
        return 0.0

    def _due_rows(self) -> list[tuple[Any, ...]]:
        with self._db_lock:
            return self._db.execute(
                "SELECT id, idempotency_key, kind, attempts, next_attempt_at, payload FROM outbox"
                " WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL ORDER BY id LIMIT ?",
                (self.config.delivery_batch,),
            ).fetchall()

    def _item(self, row: tuple[Any, ...]) -> OutboxItem:
        payload = json.loads(row[5])
        ticket = payload.get("ticket")
        if isinstance(ticket, dict):
            payload["ticket"] = {k: v for k, v in ticket.items() if k not in PRIVATE_TICKET_KEYS}
        return OutboxItem(id=row[0], key=f"{self.site}:{row[1]}", kind=row[2], payload=payload)

    def _deliver(self, items: list[OutboxItem], attempts: dict[int, int]) -> bool:
        """Send `items` in windows of `delivery_concurrency`; False at the first transient failure.

        Rows central acknowledged are marked in groups (one commit per MARK_EVERY rows, and always
        before returning): a crash in between only means central sees a few keys again.
        """
        acknowledged: list[int] = []
        try:
            for window in self._windows(items):
                if self._stop.is_set():
                    return True
                outcomes = self._send_window(window)
                retry: list[tuple[int, str]] = []
                for item, outcome in zip(window, outcomes, strict=True):
                    if outcome is None:
                        acknowledged.append(item.id)
                    elif outcome[0] == "dead":
                        self._park(item.id, outcome[1])
                    else:
                        retry.append((item.id, outcome[1]))
                if len(acknowledged) >= MARK_EVERY:
                    self._acknowledge(acknowledged)
                    acknowledged = []
                if retry:
                    self._retry_later(retry, attempts)
                    return False
                self.breaker.success()
            return True
        finally:
            if acknowledged:
                self._acknowledge(acknowledged)

    def _acknowledge(self, ids: list[int]) -> None:
        self._finish(ids)
        self.delivered += len(ids)
        self.last_delivered_at = self.clock()

    def _retry_later(self, retry: list[tuple[int, str]], attempts: dict[int, int]) -> None:
        self.last_error = retry[0][1]  # before the count: a reader seeing failures sees why
        self.failures += len(retry)
        for index, (item_id, error) in enumerate(retry):
            attempt = attempts.get(item_id, 0) + 1
            delay = self._reschedule(item_id, attempt, error)
            self.breaker.failure()
            if index == 0 and (attempt == 1 or attempt % 10 == 0):  # one line, not one per event
                level = logging.ERROR if "credentials" in error else logging.WARNING
                log.log(level, "outbox: %s; attempt %d, next in %.1f s", error, attempt, delay)

    def _windows(self, items: list[OutboxItem]) -> list[list[OutboxItem]]:
        """Consecutive groups sent in parallel; a ticket appears at most once per group, so the
        events of one ticket reach central in the order they happened."""
        windows: list[list[OutboxItem]] = []
        current: list[OutboxItem] = []
        tickets: set[str] = set()
        for item in items:
            ticket = (item.payload.get("ticket") or {}).get("id") or f"#{item.id}"
            if len(current) >= self.config.delivery_concurrency or ticket in tickets:
                windows.append(current)
                current, tickets = [], set()
            current.append(item)
            tickets.add(ticket)
        if current:
            windows.append(current)
        return windows

    def _send_window(self, window: list[OutboxItem]) -> list[tuple[str, str] | None]:
        """Every item of `window` sent (same outcomes either way): on this thread, one after the
        other, while central answers fast; in parallel on the pool's threads when it is slow."""
        if len(window) > 1 and len(window) * self._send_s > SERIAL_BUDGET_S:
            return list(self._pool.map(self._send, window))
        return [self._send(item) for item in window]

    def _send(self, item: OutboxItem) -> tuple[str, str] | None:
        """None when central has it; ("retry", why) or ("dead", why) otherwise."""
        started = time.monotonic()
        try:
            return self._try_send(item)
        finally:
            # A slow answer (a timeout) weighs at once; fast ones bring the estimate down again.
            self._send_s = max(time.monotonic() - started, 0.8 * self._send_s)

    def _try_send(self, item: OutboxItem) -> tuple[str, str] | None:
        try:
            self.adapter.deliver(item)
        except CentralRejected as error:
            log.error("central refused %s (%s) for good: %s", item.key, item.kind, error)
            return ("dead", str(error))
        except NotSupported as error:
            return ("dead", str(error))
        except CentralError as error:
            return ("retry", str(error))
        except Exception as error:  # a bug in an adapter must not lose the row
            log.exception("delivering %s failed", item.key)
            return ("retry", repr(error))
        return None

    # ------------------------------------------------------------------ bookkeeping
    def _finish(self, ids: list[int], note: str | None = None) -> None:
        stamp = iso(self.clock())
        with self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "UPDATE outbox SET delivered_at=?, last_error=?, attempts=attempts+1 WHERE id=?",
                [(stamp, note, item_id) for item_id in ids],
            )
            self._db.execute("COMMIT")

    def _reschedule(self, item_id: int, attempt: int, error: str) -> float:
        delay = backoff_delay(attempt, self.config.retry_base_s, self.config.retry_max_s, self.rng)
        due = self.clock() + timedelta(seconds=delay)
        self.last_error = error
        with self._db_lock:
            self._db.execute(
                "UPDATE outbox SET attempts=?, next_attempt_at=?, last_error=? WHERE id=?",
                (attempt, iso(due), error[:500], item_id),
            )
        return delay

    def _forget_delivered(self) -> None:
        cutoff = self.clock() - timedelta(days=self.config.outbox_keep_days)
        with self._db_lock:
            gone = self._db.execute(
                "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?", (iso(cutoff),)
            ).rowcount
        if gone:
            log.info("outbox: forgot %d rows delivered before %s", gone, iso(cutoff))

    def _park(self, item_id: int, error: str) -> None:
        self.last_error = error
        with self._db_lock:
            self._db.execute(
                "UPDATE outbox SET attempts=attempts+1, next_attempt_at=NULL, last_error=? WHERE id=?",
                ((DEAD_PREFIX + error)[:500], item_id),
            )

    # ------------------------------------------------------------------ what the admin page shows
    def status(self) -> dict[str, Any]:
        with self._db_lock:
            backlog, oldest = self._db.execute(
                "SELECT COUNT(*), MIN(created_at) FROM outbox"
                " WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL"
            ).fetchone()
            dead = self._db.execute(
                "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND next_attempt_at IS NULL"
            ).fetchone()[0]
        age = (self.clock() - datetime.fromisoformat(oldest)).total_seconds() if oldest else 0.0
        return {
            "backlog": int(backlog),
            "oldest_age_s": round(max(0.0, age), 1),
            "dead_letters": int(dead),
            "delivered": self.delivered,
            "failures": self.failures,
            "breaker": self.breaker.state,
            "last_error": self.last_error,
            "last_delivered_at": iso(self.last_delivered_at),
        }

    def drained(self, timeout: float, interval: float = 0.05) -> bool:
        """Wait until nothing is pending (tests, benchmarks, a clean shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status()["backlog"] == 0:
                return True
            self._wake.set()
            time.sleep(interval)
        return False
