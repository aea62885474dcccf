"""A counter's presses turned into hub requests, exactly once.

- A press gets a fresh `request_id`; a bounce (the same key again within `debounce` seconds) is
  dropped, and a press while the previous one is still on its way is refused: one press, one call.
- A request the hub did not answer (timeout, link lost on the way) is sent again with the *same*
  request_id until `retry_window` has passed: the hub answers a replay with its first answer, so a
  retry never calls a second citizen.
- A press while the link (or the hub) is down is refused with feedback, never queued: the officer
  must not call someone minutes later by surprise.
- Keys and rating buttons are separate lanes: a citizen rating never blocks the officer's keys.
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from appliance.i18n import Language, message
from appliance.rpc import RpcClient, RpcError, RpcTimeout

from .feedback import Signals
from .keys import RATE, Action, Debouncer

log = logging.getLogger(__name__)

TRANSIENT = frozenset({"timeout", "unavailable", "overloaded"})
RETRY_PAUSE = 0.1
RATED_MEMORY = 200


class Outcome(enum.Enum):
    ACCEPTED = "accepted"  # sent to the hub
    BOUNCED = "bounced"  # the same key again too soon: silently one press
    BUSY = "busy"  # the previous press is still on its way
    OFFLINE = "offline"  # no link to the hub: refused
    NOT_ARMED = "not_armed"  # a rating button outside the rating window
    MISCONFIGURED = "misconfigured"  # e.g. transfer without a target service
    CLOSED = "closed"


@dataclass(frozen=True)
class Press:
    action: Action
    method: str
    params: dict[str, Any]
    request_id: str
    at: float


class RatingArm:
    """When a rating is possible: for `window` seconds after this counter completed a ticket, once
    per ticket."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._ticket: str | None = None
        self._until = 0.0
        self._done: OrderedDict[str, None] = OrderedDict()

    def arm(self, ticket_id: str, now: float) -> bool:
        if ticket_id in self._done:
            return False  # an event replayed after a reconnect
        self._ticket, self._until = ticket_id, now + self.window
        return True

    def current(self, now: float) -> str | None:
        return self._ticket if self._ticket is not None and now < self._until else None

    def take(self, now: float) -> str | None:
        """The ticket to rate, disarming: a second press cannot rate it again."""
        ticket = self.current(now)
        self._ticket = None
        if ticket is not None:
            self._done[ticket] = None
            while len(self._done) > RATED_MEMORY:
                self._done.popitem(last=False)
        return ticket

    def disarm(self) -> None:
        self._ticket = None


class DeskListener(Protocol):
    def on_result(self, press: Press, result: Mapping[str, Any]) -> None: ...
    def on_notice(self, text: str) -> None: ...


@dataclass
class _Lane:
    name: str
    signals: Signals
    presses: queue.Queue[Press | None] = field(default_factory=lambda: queue.Queue(maxsize=1))
    busy: bool = False
    thread: threading.Thread | None = None


class Desk:
    def __init__(
        self,
        counter_id: str,
        caller: RpcClient,  # or anything with its `call` (tests script a hub)
        listener: DeskListener,
        *,
        link_up: Callable[[], bool],
        wait_link: Callable[[float], bool],
        feedback: Signals,
        rating: RatingArm | None = None,
        rating_signals: Signals | None = None,
        transfer_to: str | None = None,
        language: Language = "vi",
        clock: Callable[[], float] = time.monotonic,
        debounce: float = 0.3,
        rpc_timeout: float = 2.0,
        retry_window: float = 5.0,
    ) -> None:
        self.counter_id = counter_id
        self.caller = caller
        self.listener = listener
        self.link_up = link_up
        self.wait_link = wait_link
        self.rating = rating
        self.transfer_to = transfer_to
        self.language = language
        self.clock = clock
        self.rpc_timeout = rpc_timeout
        self.retry_window = retry_window
        self.debouncer = Debouncer(debounce)
        self.lanes = {"keys": _Lane("keys", feedback), "rating": _Lane("rating", rating_signals or feedback)}
        self.sent: list[Press] = []  # every press sent, for health and tests (bounded)
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def start(self) -> None:
        for lane in self.lanes.values():
            if lane.thread is None:
                lane.thread = threading.Thread(
                    target=self._work, args=(lane,), name=f"desk {lane.name}", daemon=True
                )
                lane.thread.start()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for lane in self.lanes.values():
            with self._lock:
                while True:  # make room for the stop marker
                    try:
                        lane.presses.get_nowait()
                    except queue.Empty:
                        break
            lane.presses.put(None)
        for lane in self.lanes.values():
            if lane.thread is not None and lane.thread is not threading.current_thread():
                lane.thread.join(self.rpc_timeout + 1)

    # ------------------------------------------------------------------ presses (any thread)
    def press(self, action: Action) -> Outcome:
        now = self.clock()
        lane = self.lanes["rating" if action.name == RATE else "keys"]
        with self._lock:
            if self._closed.is_set():
                return Outcome.CLOSED
            if not self.debouncer.accept(str(action), now):
                return Outcome.BOUNCED
            if lane.busy:
                lane.signals.refused()
                if lane.name == "keys":
                    self.listener.on_notice(message("led_busy", self.language))
                return Outcome.BUSY
            params = self._params(action, now)
            if params is None:
                lane.signals.refused()
                return Outcome.NOT_ARMED if action.name == RATE else Outcome.MISCONFIGURED
            if not self.link_up():
                lane.signals.refused()
                self.listener.on_notice(message("led_offline", self.language))
                return Outcome.OFFLINE  # a rating stays armed: the citizen may try again
            if action.name == RATE and self.rating is not None:
                self.rating.take(now)
            press = Press(action, action.method, params, uuid.uuid4().hex, now)
            lane.busy = True
            self.sent.append(press)
            del self.sent[:-100]
            lane.presses.put_nowait(press)
        lane.signals.working()
        return Outcome.ACCEPTED

    def _params(self, action: Action, now: float) -> dict[str, Any] | None:
        if action.name == RATE:
            ticket = self.rating.current(now) if self.rating is not None else None
            return None if ticket is None else {"ticket_id": ticket, "score": action.score}
        params: dict[str, Any] = {"counter_id": self.counter_id}
        if action.name == "transfer":
            target = action.argument or self.transfer_to
            if target is None:
                self.listener.on_notice(message("led_no_transfer_service", self.language))
                return None
            params["to_service_id"] = target
        return params

    # ------------------------------------------------------------------ worker (one per lane)
    def _work(self, lane: _Lane) -> None:
        while True:
            press = lane.presses.get()
            if press is None:
                return
            try:
                self._perform(lane, press)
            except Exception:  # never lose the worker: the next press must still work
                log.exception("press %s failed unexpectedly", press.action)
                lane.signals.failed()
            finally:
                with self._lock:
                    lane.busy = False

    def _perform(self, lane: _Lane, press: Press) -> None:
        deadline = press.at + self.retry_window
        attempt = 0
        while True:
            attempt += 1
            try:
                result = self.caller.call(
                    press.method,
                    {**press.params, "lang": self.language},
                    timeout=self.rpc_timeout,
                    request_id=press.request_id,
                )
            except RpcError as error:
                now = self.clock()
                if error.code in TRANSIENT and now < deadline and not self._closed.is_set():
                    log.info("%s (request %s): %s; retrying", press.method, press.request_id, error.code)
                    # Same request_id: if the first attempt did reach the hub, this returns its answer.
                    self.wait_link(max(0.0, deadline - now))
                    self._closed.wait(RETRY_PAUSE)
                    continue
                self._refused(lane, press, error, attempt)
                return
            log.info("%s at counter %s: ok (%d attempt(s))", press.method, self.counter_id, attempt)
            self.listener.on_result(press, result)
            lane.signals.done()
            if press.action.name == RATE:
                self.listener.on_notice(message("led_rating_thanks", self.language))
            return

    def _refused(self, lane: _Lane, press: Press, error: RpcError, attempts: int) -> None:
        text = (
            (error.message_en or error.message)
            if self.language == "en"
            else (error.message or error.message_en)
        )
        kind = "did not answer" if isinstance(error, RpcTimeout) else "refused"
        log.info(
            "%s at counter %s: hub %s (%s) after %d attempt(s)",
            press.method,
            self.counter_id,
            kind,
            error.code,
            attempts,
        )
        lane.signals.failed()
        self.listener.on_notice(text.rstrip("."))
