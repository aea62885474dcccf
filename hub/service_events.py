"""Where the queue's committed events go: commit hooks (the MQTT publishers, in order) and
listeners (live pages), each listener with its own bounded queue."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("motcua.hub.service")

# hook(events, snapshot): `snapshot()` is the queue state after the commit, built on first use and
# shared by every caller until the next change (so a hook that does not need it costs nothing).
CommitHook = Callable[[list[dict[str, Any]], Callable[[], dict[str, Any]]], None]


class Listener:
    """Receives every committed event in order; falls back to a `resync` marker if it lags."""

    def __init__(self, owner: EventFanout, size: int = 1000) -> None:
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
        self._owner.remove(self)

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventFanout:
    """The commit hooks and the listeners of one queue service."""

    def __init__(self) -> None:
        self._hooks: list[CommitHook] = []
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()

    def add_hook(self, hook: CommitHook) -> None:
        self._hooks.append(hook)

    def listen(self) -> Listener:
        listener = Listener(self)
        with self._listeners_lock:
            self._listeners.append(listener)
        return listener

    def remove(self, listener: Listener) -> None:
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def deliver(
        self, events: list[dict[str, Any]], snapshot: Callable[[], dict[str, Any]], *, resync: bool = False
    ) -> None:
        """Hand committed events to the hooks and listeners; `resync` (the site configuration
        changed, no event): hooks get an empty list (the state is due again), listeners a marker."""
        if resync:
            events = []
        for hook in self._hooks:
            try:
                hook(events, snapshot)
            except Exception:
                log.exception("commit hook %r failed", hook)
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            for event in events:
                listener.push(event)
            if resync:
                listener.push({"type": "resync"})
