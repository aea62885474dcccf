"""Backoff, circuit breaker and per-device rate limit: small, pure, clock injected for tests."""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal

Clock = Callable[[], float]
BreakerState = Literal["closed", "open", "half_open"]


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: uniform in [d/2, d], d = min(cap, base·2^(attempt-1)).

    Half the delay is kept so a retry never comes back at once; the random half spreads the hubs of
    a province that all lost central at the same moment.
    """
    ceiling = min(cap, base * 2 ** max(0, min(attempt - 1, 32)))
    return ceiling * (0.5 + 0.5 * (rng or random).random())


class CircuitBreaker:
    """Closed → (N failures in a row) → open for `open_s`, doubling up to `max_open_s` while probes
    keep failing → half-open lets one probe through → closed on success."""

    def __init__(
        self, failures: int, open_s: float, *, max_open_s: float | None = None, clock: Clock = time.monotonic
    ) -> None:
        self.threshold = failures
        self.base_open_s = open_s
        self.max_open_s = max_open_s or open_s * 8
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._open_s = open_s
        self._probing = False
        self.trips = 0

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at >= self._open_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a call go out now? In half-open, only one caller gets True until it reports back."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half_open" and not self._probing:
                self._probing = True
                return True
            return False

    def retry_in(self) -> float:
        """Seconds until the breaker lets a probe through (0 when closed or half-open)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._opened_at + self._open_s - self.clock())

    def release(self) -> None:
        """The caller allowed through made no call after all: let another probe go."""
        with self._lock:
            self._probing = False

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._open_s = self.base_open_s
            self._probing = False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing:  # the probe failed: stay open, longer
                self._probing = False
                self._open_s = min(self.max_open_s, self._open_s * 2)
                self._opened_at = self.clock()
            elif self._opened_at is None and self._failures >= self.threshold:
                self._opened_at = self.clock()
                self.trips += 1


class RateLimiter:
    """A token bucket per key (device): `burst` at once, refilled at `per_minute`."""

    def __init__(self, per_minute: float, burst: int, *, keys: int = 10_000, clock: Clock = time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._keys = keys
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """0 if allowed (and a token is spent), else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, stamp = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - stamp) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self._keys:  # forget the least recently seen devices
                self._buckets.popitem(last=False)
            return wait
