"""A thread of its own fed through a queue: what the MQTT network thread must not wait for (the
database, the broker's answer to a change of accounts) is handed over here."""

from __future__ import annotations

import queue
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class QueueWorker(Generic[T]):
    """`_run` takes the items of `_requests` on the thread `start` makes; `close` hands it None,
    its sign to stop, and waits a little for it."""

    def __init__(self, thread_name: str) -> None:
        self._thread_name = thread_name
        self._requests: queue.Queue[T | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._requests.put(None)
            self._thread.join(timeout=5)

    def _run(self) -> None:
        raise NotImplementedError
