"""Service-level alerts: a service whose oldest waiting citizen has waited past its target, a counter
closed (paused) too long during opening hours. Shown to heads and administrators on every page and
exposed at /metrics; `evaluate` is pure, `current` reads the running hub."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from appliance.timeutil import iso, parse_iso

log = logging.getLogger("motcua.hub.reports")


@dataclass(frozen=True)
class Alert:
    kind: str  # "wait_over_target" | "counter_paused"
    subject: str  # service id or counter id
    name: str
    seconds: int  # how long waited / paused
    limit_s: int

    def message(self, language: str = "vi") -> str:
        minutes, limit = round(self.seconds / 60), round(self.limit_s / 60)
        if self.kind == "wait_over_target":
            if language == "en":
                return f"{self.name}: a citizen has waited {minutes} min (target {limit} min)"
            return f"{self.name}: có người đã chờ {minutes} phút (mục tiêu {limit} phút)"
        if language == "en":
            return f"{self.name} has been paused for {minutes} min (limit {limit} min)"
        return f"{self.name} tạm dừng đã {minutes} phút (giới hạn {limit} phút)"


@dataclass(frozen=True)
class LiveState:
    """What the alerts read of the running hub at one moment."""

    now: datetime
    in_opening_hours: bool
    period_start: datetime | None  # start of the opening period `now` is in
    oldest_waiting: Mapping[str, datetime]  # service id → issue time of its oldest waiting ticket
    closed_since: Mapping[str, datetime | None]  # closed counter id → when it closed (None: unknown)


def evaluate(
    state: LiveState,
    *,
    targets_s: Mapping[str, int],
    service_names: Mapping[str, str],
    counter_names: Mapping[str, str],
    pause_limit_s: int,
) -> list[Alert]:
    alerts = []
    for service_id, issued_at in state.oldest_waiting.items():
        waited = round((state.now - issued_at).total_seconds())
        target = targets_s.get(service_id)
        if target is not None and waited > target:
            alerts.append(Alert("wait_over_target", service_id, service_names.get(service_id, service_id),
                                waited, target))  # fmt: skip
    if state.in_opening_hours and state.period_start is not None:
        for counter_id, since in state.closed_since.items():
            # Closed before the period began (lunch, the evening): paused since the period began.
            start = max(since, state.period_start) if since else state.period_start
            paused = round((state.now - start).total_seconds())
            if paused > pause_limit_s:
                alerts.append(Alert("counter_paused", counter_id, counter_names.get(counter_id, counter_id),
                                    paused, pause_limit_s))  # fmt: skip
    return alerts


def _period_start(site: Any, now: datetime) -> datetime | None:
    hours = site.opening_hours
    if not hours.is_open(now):
        return None
    for period in hours.periods:
        if period.contains(now.time()):
            return datetime.combine(now.date(), period.times()[0], now.tzinfo)
    return None


def live_state(service: Any, conn: sqlite3.Connection) -> LiveState:
    """The running hub's queue (under its lock) and when each closed counter closed (events)."""
    now = service.clock()
    with service._lock:  # the engine is the writer's; read it the way its own views do
        engine = service.engine
        oldest: dict[str, datetime] = {}
        for service_id, line in engine.lines.items():
            firsts = [queue[0][0] for queue in (line.priority, line.ordinary) if queue]
            if firsts:
                oldest[service_id] = min(firsts)
        closed = [c.id for c in engine.counters.values() if not c.open]
    closed_since: dict[str, datetime | None] = {}
    for counter_id in closed:
        row = conn.execute(
            "SELECT ts FROM events WHERE counter_id = ? AND type IN ('counter.opened', 'counter.closed')"
            " AND ts <= ? ORDER BY ts DESC LIMIT 1",
            (counter_id, iso(now + timedelta(seconds=1))),
        ).fetchone()
        closed_since[counter_id] = parse_iso(row[0]) if row else None
    start = _period_start(service.site, now)
    return LiveState(now, start is not None, start, oldest, closed_since)


def current(service: Any, conn: sqlite3.Connection) -> list[Alert]:
    site = service.site
    return evaluate(
        live_state(service, conn),
        targets_s={s.id: round(s.target_wait_minutes * 60) for s in site.services},
        service_names={s.id: s.name for s in site.services},
        counter_names={c.id: c.name for c in site.counters},
        pause_limit_s=round(site.place.pause_alert_minutes * 60),
    )


class AlertCollector(Collector):
    """`motcua_service_level_alert{kind, subject}` = 1 per alert; the oldest wait per service."""

    def __init__(self, service: Any, connect: Any) -> None:
        self.service = service
        self.connect = connect

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            conn = self.connect(self.service.db_path)
            try:
                state = live_state(self.service, conn)
                alerts = current(self.service, conn)
            finally:
                conn.close()
        except Exception:  # a metric must never break the scrape
            log.exception("service-level alerts failed")
            return
        gauge = GaugeMetricFamily(
            "motcua_service_level_alert",
            "1 while a service-level alert holds (kind: wait_over_target, counter_paused)",
            labels=["kind", "subject"],
        )
        for alert in alerts:
            gauge.add_metric([alert.kind, alert.subject], 1.0)
        yield gauge
        oldest = GaugeMetricFamily(
            "motcua_service_oldest_wait_seconds",
            "How long the oldest waiting ticket has waited",
            labels=["service"],
        )
        target = GaugeMetricFamily(
            "motcua_service_wait_target_seconds", "The service's target wait", labels=["service"]
        )
        for spec in self.service.site.services:
            issued = state.oldest_waiting.get(spec.id)
            oldest.add_metric([spec.id], (state.now - issued).total_seconds() if issued else 0.0)
            target.add_metric([spec.id], spec.target_wait_minutes * 60)
        yield oldest
        yield target
