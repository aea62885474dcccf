"""The playback queue: one announcement at a time, in the order the calls came, none dropped.

Calls arrive in bursts (an opening rush, 40 counters pressing "next" together). A single worker
thread plays them one after the other on the `AudioSink`, so two announcements never overlap. A
recall of a ticket that is still waiting in the queue does not add a second announcement; it updates
the waiting one (the counter may have changed). The audio is assembled just before it is played, with
the backlog known, so a long queue can be announced more briefly (see `DisplayService`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .audio import Audio, AudioSink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlayRequest:
    """A call to announce. `key` identifies the ticket (two requests with one key are one call)."""

    key: str
    number: str
    counter: str
    kind: str = "called"  # "called" | "recalled"
    received: float = field(default_factory=time.monotonic)


# render(request, backlog) → the audio to play, or None to skip it (it could not be built).
Renderer = Callable[[PlayRequest, int], Audio | None]


@dataclass
class PlaybackStats:
    submitted: int = 0
    merged: int = 0
    played: int = 0
    failed: int = 0
    last_error: str | None = None
    # seconds from `received` to the start of playback, last 1000 plays (for health and benches)
    start_delays: deque[float] = field(default_factory=lambda: deque(maxlen=1000))


class PlaybackQueue:
    """Plays requests in order on one worker thread. Context manager; `stop()` is idempotent."""

    def __init__(
        self,
        sink: AudioSink,
        render: Renderer,
        *,
        max_pending: int = 1000,
        on_started: Callable[[PlayRequest], None] | None = None,
    ) -> None:
        self.sink = sink
        self.render = render
        self.max_pending = max_pending
        self.on_started = on_started
        self.stats = PlaybackStats()
        self._pending: deque[PlayRequest] = deque()
        self._condition = threading.Condition()
        self._playing: PlayRequest | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> PlaybackQueue:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="playback", daemon=True)
            self._thread.start()
        return self

    def submit(self, request: PlayRequest) -> bool:
        """Queue a call; False when it was merged into the same ticket's call still waiting."""
        with self._condition:
            self.stats.submitted += 1
            for index, queued in enumerate(self._pending):
                if queued.key == request.key:
                    # Keep its place in the line (and its arrival time), take the newest counter.
                    self._pending[index] = replace(request, received=queued.received)
                    self.stats.merged += 1
                    return False
            if len(self._pending) >= self.max_pending:
                dropped = self._pending.popleft()
                log.error(
                    "playback queue full (%d): dropped the oldest call %s", self.max_pending, dropped.number
                )
            self._pending.append(request)
            self._condition.notify_all()
            return True

    @property
    def pending(self) -> int:
        with self._condition:
            return len(self._pending)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def busy(self) -> bool:
        with self._condition:
            return bool(self._pending) or self._playing is not None

    def join(self, timeout: float | None = None) -> bool:
        """Wait until everything queued has been played; False on timeout."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._pending and self._playing is None, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the sound being played; what is still queued is not played."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> PlaybackQueue:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._pending or self._stopping)
                if self._stopping:
                    self._playing = None
                    self._condition.notify_all()
                    return
                request = self._pending.popleft()
                self._playing = request
                backlog = len(self._pending)
            try:
                self._play(request, backlog)
            finally:
                with self._condition:
                    self._playing = None
                    self._condition.notify_all()

    def _play(self, request: PlayRequest, backlog: int) -> None:
        label = f"{request.number}-{request.counter}"
        try:
            audio = self.render(request, backlog)
            if audio is None:
                return
            self.stats.start_delays.append(time.monotonic() - request.received)
            if self.on_started is not None:
                self.on_started(request)
            self.sink.play(audio, label=label)
            self.stats.played += 1
        except Exception as error:  # a broken sound card or clip must not stop later calls
            self.stats.failed += 1
            self.stats.last_error = str(error)
            log.error("announcement of %s failed: %s", label, error)
