"""The results page of the hall display, as plain data (no kivy, no MQTT).

The hub publishes the retained `results/ready` {v, ts, fetched_at, stale, new_since, items: [{code,
procedure, applicant_masked, ready_since, uncollected_days, overdue_collection}]}; `ResultsModel`
keeps the last one, cuts it into pages and says which page is due. `ScreenPlan` decides, per
`[screen] results` mode, whether the screen shows the queue board or the results page right now.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from appliance.timeutil import parse_iso_or_none

log = logging.getLogger(__name__)

ResultsMode = Literal["off", "alternate", "only"]


@dataclass(frozen=True)
class ResultRow:
    code: str
    procedure: str
    applicant: str
    ready_since: datetime | None
    uncollected_days: int
    overdue: bool
    new: bool


@dataclass(frozen=True)
class ResultsSnapshot:
    version: int
    received: bool  # a list arrived at least once
    stale: bool
    fetched_at: datetime | None
    count: int
    page: int  # 0-based
    pages: int
    rows: tuple[ResultRow, ...]


class ResultsModel:
    """The last `results/ready` payload; `now` arguments are monotonic seconds."""

    def __init__(self, *, rows_per_page: int = 8, page_s: float = 10.0) -> None:
        if rows_per_page < 1:
            raise ValueError("rows_per_page must be at least 1")
        self.rows_per_page = rows_per_page
        self.page_s = page_s
        self.version = 0
        self._rows: tuple[ResultRow, ...] = ()
        self._received = False
        self._stale = False
        self._fetched_at: datetime | None = None
        self._shown_since = 0.0

    def apply(self, payload: Mapping[str, Any], now: float) -> bool:
        """Take a new list; a payload that is not one is ignored (False) and logged once."""
        items = payload.get("items")
        if not isinstance(items, list):
            log.warning("ignored a results/ready message without items")
            return False
        new_since = parse_iso_or_none(payload.get("new_since"))
        rows = []
        for raw in items:
            if not isinstance(raw, Mapping) or not raw.get("code"):
                continue
            since = parse_iso_or_none(raw.get("ready_since"))
            days = raw.get("uncollected_days")
            rows.append(
                ResultRow(
                    code=str(raw["code"]),
                    procedure=str(raw.get("procedure") or ""),
                    applicant=str(raw.get("applicant_masked") or ""),
                    ready_since=since,
                    uncollected_days=days if isinstance(days, int) and not isinstance(days, bool) else 0,
                    overdue=raw.get("overdue_collection") is True,
                    new=new_since is not None and since is not None and since >= new_since,
                )
            )
        self._rows = tuple(rows)
        self._received = True
        self._stale = payload.get("stale") is True
        self._fetched_at = parse_iso_or_none(payload.get("fetched_at"))
        self.version += 1
        return True

    def start_showing(self, now: float) -> None:
        """The page is coming on screen: begin with its first page."""
        self._shown_since = now

    def snapshot(self, now: float) -> ResultsSnapshot:
        pages = max(1, math.ceil(len(self._rows) / self.rows_per_page))
        page = int(max(0.0, now - self._shown_since) // self.page_s) % pages
        start = page * self.rows_per_page
        return ResultsSnapshot(
            version=self.version,
            received=self._received,
            stale=self._stale,
            fetched_at=self._fetched_at,
            count=len(self._rows),
            page=page,
            pages=pages,
            rows=self._rows[start : start + self.rows_per_page],
        )

    @property
    def count(self) -> int:
        return len(self._rows)


class ResultsStore:
    """A ResultsModel behind a lock: the MQTT thread writes, the screen reads."""

    def __init__(self, model: ResultsModel) -> None:
        self.model = model
        self._lock = threading.Lock()

    def apply(self, payload: Mapping[str, Any], now: float) -> bool:
        with self._lock:
            return self.model.apply(payload, now)

    def start_showing(self, now: float) -> None:
        with self._lock:
            self.model.start_showing(now)

    def snapshot(self, now: float) -> ResultsSnapshot:
        with self._lock:
            return self.model.snapshot(now)

    @property
    def count(self) -> int:
        with self._lock:
            return self.model.count


class ScreenPlan:
    """Which page is on screen: "queue" or "results".

    `alternate`: the queue board for `queue_s`, then the results for long enough to show each page
    once (at least `results_s`), and back. A call being highlighted always brings the queue board
    back (people must see where to go), and an empty list is not worth a page.
    """

    def __init__(self, mode: ResultsMode, *, queue_s: float, results_s: float, page_s: float) -> None:
        self.mode = mode
        self.queue_s = queue_s
        self.results_s = results_s
        self.page_s = page_s
        self.showing: Literal["queue", "results"] = "results" if mode == "only" else "queue"
        self._since: float | None = None

    def choose(self, now: float, *, calling: bool, results: int, pages: int) -> Literal["queue", "results"]:
        if self.mode == "off":
            return "queue"
        if self.mode == "only":
            return "results"
        if self._since is None:
            self._since = now
        if calling or results == 0:
            self._switch("queue", now)
            return self.showing
        elapsed = now - self._since
        if self.showing == "queue" and elapsed >= self.queue_s:
            self._switch("results", now)
        elif self.showing == "results" and elapsed >= max(self.results_s, pages * self.page_s):
            self._switch("queue", now)
        return self.showing

    def _switch(self, page: Literal["queue", "results"], now: float) -> None:
        if page != self.showing:
            self.showing = page
            self._since = now

    @property
    def since(self) -> float:
        return self._since or 0.0


def format_ready(moment: datetime | None) -> str:
    """ "08:42 24/11" for the board (the year is this year's)."""
    return "—" if moment is None else f"{moment:%H:%M %d/%m}"
