"""Site-shaped event streams for the harness and tests: what a hub publishes on `queue/events`
(docs/contract.md: `{v, type, seq, ts, ticket, counter_id}`), for sites without a real hub.

A day at a site: counters open, tickets are issued, called and completed (some skipped), each event
with the site's next seq. Pure: the caller publishes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from appliance.timeutil import SITE_TZ, iso

SERVICES = ("dat-dai", "ho-tich", "kinh-doanh", "tu-phap", "xay-dung")


@dataclass
class SiteStream:
    site: str
    counters: int = 4
    seed: int = 0
    seq: int = 0
    day: datetime = field(default_factory=lambda: datetime.now(SITE_TZ).replace(hour=8, minute=0, second=0))
    _issued: int = 0
    _waiting: list[dict[str, Any]] = field(default_factory=list)
    _opened: bool = False

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.site}-{self.seed}")

    def _event(
        self, kind: str, ts: datetime, ticket: dict[str, Any] | None, counter: str | None
    ) -> dict[str, Any]:
        self.seq += 1
        return {"v": 1, "type": kind, "seq": self.seq, "ts": iso(ts), "ticket": ticket, "counter_id": counter}

    def events(self, count: int, *, now: datetime | None = None) -> Iterator[dict[str, Any]]:
        """The next `count` events; timestamps at `now` (real time) or along the simulated day."""
        for _ in range(count):
            ts = now or (self.day + timedelta(seconds=self.seq * 20))
            if not self._opened:
                counter = f"{self.seq + 1}"
                if int(counter) >= self.counters:
                    self._opened = True
                yield self._event("counter.opened", ts, None, counter)
                continue
            if self._waiting and (len(self._waiting) > 6 or self.rng.random() < 0.45):
                ticket = self._waiting.pop(0)
                counter = str(self.rng.randint(1, self.counters))
                if ticket["status"] == "waiting":
                    ticket = {**ticket, "status": "called", "called_at": iso(ts), "counter_id": counter}
                    self._waiting.insert(0, ticket)
                    yield self._event("ticket.called", ts, ticket, counter)
                else:
                    done = "skipped" if self.rng.random() < 0.08 else "completed"
                    finished = {
                        **ticket,
                        "status": done,
                        "completed_at": iso(ts) if done == "completed" else None,
                    }
                    yield self._event(f"ticket.{done}", ts, finished, ticket["counter_id"])
                continue
            self._issued += 1
            service = self.rng.choice(SERVICES)
            ticket = {
                "id": f"{ts:%Y%m%d}-{self._issued:04d}",
                "number": f"{self._issued:04d}",
                "service_id": service,
                "original_service_id": None,
                "priority": self.rng.random() < 0.1,
                "status": "waiting",
                "issued_at": iso(ts),
                "called_at": None,
                "served_at": None,
                "completed_at": None,
                "counter_id": None,
                "rating": None,
            }
            self._waiting.append(ticket)
            yield self._event("ticket.issued", ts, ticket, None)
