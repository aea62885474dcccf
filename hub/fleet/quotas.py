"""Per-device and per-role RPC quotas: token buckets checked before any queue work (pure: no I/O).

A kiosk in a public hall holds a broker password in a file; whoever takes it can publish requests
as fast as the network carries them. Every request of an enrolled device first takes a token from
its own bucket for that method (and, where a rule says so, from the bucket its whole role shares);
an empty bucket refuses the request with `rate_limited` before it is even parsed. A flood therefore
costs the hub one dictionary look-up per message, issues no more tickets than a person at the kiosk
could, and names the device on the fleet page.

Rules come from the hub's `[[fleet.quotas]]` tables (see QuotaRule and DEFAULT_RULES).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from appliance.config import Strict

Scope = Literal["device", "role"]
# A device whose refusals exceed this many per second (averaged over FLOOD_WINDOW_S) is flooding:
# a person pressing a button too often is refused a few times, a script thousands of times.
FLOOD_REFUSALS_PER_S = 2.0
FLOOD_WINDOW_S = 10.0
# How long a device stays named as flooding after its last refusal.
FLOOD_MEMORY_S = 120.0
# At most this many refusals per device and second are answered; the rest are dropped unanswered
# (answering a flood would turn it into a flood of the hub's own messages).
ANSWERED_REFUSALS_PER_S = 2.0


class QuotaRule(Strict):
    """One `[[fleet.quotas]]` table: `burst` calls at once, refilled at `per_minute`."""

    role: str = Field(min_length=1, max_length=32)  # kiosk | led | printer | scanner | display | *
    methods: tuple[str, ...] = ("*",)  # method names, or "*" for every method
    per_minute: float = Field(gt=0, le=60_000)
    burst: int = Field(ge=1, le=100_000)
    # device: each device of the role has its own bucket; role: all of them share one.
    scope: Scope = "device"

    def matches(self, role: str, method: str) -> bool:
        return self.role in (role, "*") and ("*" in self.methods or method in self.methods)


# A person at a kiosk takes a ticket in 10–15 s at best: 6 a minute with a burst of 10 lets a queue
# of families through and keeps a stolen password from taking more than ~360 numbers an hour
# (alerted on the fleet page within seconds). A counter keypad is pressed at most about once a
# second.
DEFAULT_RULES: tuple[QuotaRule, ...] = (
    QuotaRule(role="kiosk", methods=("ticket.issue",), per_minute=6, burst=10),
    QuotaRule(role="kiosk", methods=("ticket.issue",), per_minute=120, burst=60, scope="role"),
    QuotaRule(role="kiosk", per_minute=60, burst=30),
    QuotaRule(role="led", per_minute=120, burst=30),
    QuotaRule(role="*", per_minute=60, burst=20),
)


class TokenBucket:
    """`capacity` tokens, refilled continuously at `rate` per second. Not thread-safe on its own."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def available(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= 1.0

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def retry_after(self, now: float) -> float:
        """Seconds until one token is back."""
        self._refill(now)
        return max(0.0, (1.0 - self.tokens) / self.rate)


@dataclass
class Offender:
    """What the fleet page says of a device that ran into its quota."""

    device_id: str
    role: str
    refused: int = 0  # since the hub started
    first_refused: float = 0.0
    last_refused: float = 0.0
    last_method: str = ""
    flooding: bool = False
    window_start: float = 0.0
    window_refused: int = 0
    answer_bucket: TokenBucket | None = None


@dataclass(frozen=True)
class Verdict:
    """A refusal: `answer` False means drop it silently (the device has had its answers)."""

    code: str
    retry_after_s: float
    answer: bool
    started_flooding: bool = False


class Quotas:
    """Thread-safe buckets for every (device, rule) and (role, rule); `check` is O(rules)."""

    def __init__(
        self, rules: Sequence[QuotaRule] = DEFAULT_RULES, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rules = tuple(rules)
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, int], TokenBucket] = {}
        self._offenders: dict[str, Offender] = {}
        self._match_cache: dict[tuple[str, str], tuple[int | None, int | None]] = {}

    def _rules_for(self, role: str, method: str) -> tuple[int | None, int | None]:
        """Indexes of the first device-scope and the first role-scope rule that match."""
        key = (role, method)
        cached = self._match_cache.get(key)
        if cached is None:
            device = next(
                (i for i, r in enumerate(self.rules) if r.scope == "device" and r.matches(role, method)), None
            )
            shared = next(
                (i for i, r in enumerate(self.rules) if r.scope == "role" and r.matches(role, method)), None
            )
            cached = self._match_cache[key] = (device, shared)
        return cached

    def _bucket(self, owner: str, index: int, now: float) -> TokenBucket:
        bucket = self._buckets.get((owner, index))
        if bucket is None:
            rule = self.rules[index]
            bucket = self._buckets[(owner, index)] = TokenBucket(rule.burst, rule.per_minute / 60.0, now)
        return bucket

    def check(self, device_id: str, role: str, method: str) -> Verdict | None:
        """Take a token for this call, or a Verdict refusing it (nothing taken)."""
        now = self.clock()
        device_rule, role_rule = self._rules_for(role, method)
        with self._lock:
            own = self._bucket(device_id, device_rule, now) if device_rule is not None else None
            shared = self._bucket(f"role:{role}", role_rule, now) if role_rule is not None else None
            # Both must have a token before either gives one: a refused device spends nothing shared.
            blocking = next((b for b in (own, shared) if b is not None and not b.available(now)), None)
            if blocking is None:
                for bucket in (own, shared):
                    if bucket is not None:
                        bucket.take(now)
                return None
            return self._refuse(device_id, role, method, blocking.retry_after(now), now)

    def _refuse(self, device_id: str, role: str, method: str, retry_after: float, now: float) -> Verdict:
        offender = self._offenders.get(device_id)
        if offender is None:
            offender = self._offenders[device_id] = Offender(
                device_id,
                role,
                first_refused=now,
                window_start=now,
                answer_bucket=TokenBucket(ANSWERED_REFUSALS_PER_S * 2, ANSWERED_REFUSALS_PER_S, now),
            )
        if now - offender.window_start > FLOOD_WINDOW_S:
            offender.window_start, offender.window_refused = now, 0
        offender.refused += 1
        offender.window_refused += 1
        offender.last_method = method
        if offender.flooding and now - offender.last_refused > FLOOD_MEMORY_S:
            offender.flooding = False  # it calmed down long ago: a new flood is news again
        was_flooding = offender.flooding
        if offender.window_refused > FLOOD_REFUSALS_PER_S * FLOOD_WINDOW_S:
            offender.flooding = True
        offender.last_refused = now
        assert offender.answer_bucket is not None
        answer = offender.answer_bucket.take(now)
        return Verdict("rate_limited", retry_after, answer, offender.flooding and not was_flooding)

    def flooding(self) -> list[Offender]:
        """Devices refused far beyond a person's pace within the last FLOOD_MEMORY_S seconds."""
        now = self.clock()
        with self._lock:
            return [
                Offender(**{**vars(o), "answer_bucket": None})
                for o in self._offenders.values()
                if o.flooding and now - o.last_refused <= FLOOD_MEMORY_S
            ]

    def forget(self, device_ids: Iterable[str]) -> None:
        """Drop the buckets of devices that left (revoked, replaced)."""
        gone = set(device_ids)
        with self._lock:
            for key in [k for k in self._buckets if k[0] in gone]:
                del self._buckets[key]
            for device_id in gone:
                self._offenders.pop(device_id, None)
