"""Prometheus metrics of the hub (text format at /metrics), in a registry of their own.

Queue figures are read from the queue service at scrape time, so they are never stale and need no
bookkeeping in the request path; HTTP requests are counted as they happen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from hub.service import QueueService

log = logging.getLogger(__name__)


@dataclass(eq=False)  # the registry keeps collectors in a set: hashed by identity
class QueueCollector(Collector):
    service: QueueService
    broker_connected: Callable[[], bool]
    open_streams: Callable[[], int]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        broker = GaugeMetricFamily("motcua_broker_connected", "1 when the hub is connected to the broker")
        try:
            broker.add_metric([], 1.0 if self.broker_connected() else 0.0)
        except Exception:  # a metric must never break the scrape
            log.exception("broker_connected() failed")
            broker.add_metric([], 0.0)
        yield broker

        storage = getattr(self.service, "storage", None)
        if storage is not None:
            yield GaugeMetricFamily(
                "motcua_storage_full",
                "1 while the hub's database cannot be written",
                value=1.0 if storage.full else 0.0,
            )
            yield GaugeMetricFamily(
                "motcua_storage_failed_writes",
                "Writes refused for lack of space since the hub started",
                value=float(storage.failures),
            )
        clock_status = getattr(self.service, "clock_status", None)
        if clock_status is not None:
            clock = clock_status()
            synced = GaugeMetricFamily(
                "motcua_clock_synchronised", "1 when the kernel says the clock is NTP-synchronised, 0 if not"
            )
            if clock["synchronised"] is not None:
                synced.add_metric([], 1.0 if clock["synchronised"] else 0.0)
            yield synced
            yield GaugeMetricFamily(
                "motcua_service_day_held",
                "1 while a new service day waits (clock jump or unsynchronised)",
                value=1.0 if clock["held_day"] else 0.0,
            )

        yield GaugeMetricFamily(
            "motcua_web_event_streams", "Open server-sent event streams", value=float(self.open_streams())
        )

        stats: dict[str, Any] = self.service.stats()
        snapshot: dict[str, Any] = self.service.snapshot()
        per_service = {
            "issued": ("motcua_tickets_issued_today", "Tickets issued today"),
            "called": ("motcua_tickets_called_today", "Tickets called to a counter today"),
            "served": ("motcua_tickets_completed_today", "Tickets completed today"),
            "skipped": ("motcua_tickets_skipped_today", "Tickets marked no-show today"),
            "waiting": ("motcua_tickets_waiting", "Tickets waiting now"),
        }
        families = {
            key: GaugeMetricFamily(name, doc, labels=["service"]) for key, (name, doc) in per_service.items()
        }
        wait = GaugeMetricFamily(
            "motcua_estimated_wait_seconds", "Estimated wait of a new ticket", labels=["service"]
        )
        estimates = {s["id"]: s.get("estimated_wait_s", 0) for s in snapshot.get("services", [])}
        for service in stats.get("services", []):
            sid = str(service["id"])
            for key, family in families.items():
                if key == "called":
                    # Called today = everything that reached a counter: served, no-show or still there.
                    value = service["issued"] - service["waiting"] - service.get("cancelled", 0)
                else:
                    value = service.get(key) or 0
                family.add_metric([sid], float(value))
            wait.add_metric([sid], float(estimates.get(sid, 0) or 0))
        yield from families.values()
        yield wait

        counters = snapshot.get("counters", [])
        yield GaugeMetricFamily(
            "motcua_counters_open",
            "Counters open now",
            value=float(sum(1 for c in counters if c.get("open"))),
        )
        yield GaugeMetricFamily("motcua_counters", "Counters configured", value=float(len(counters)))


class WebMetrics:
    """The hub's metrics registry: queue gauges plus HTTP request counts and durations."""

    def __init__(
        self,
        service: QueueService,
        broker_connected: Callable[[], bool],
        open_streams: Callable[[], int],
    ) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(QueueCollector(service, broker_connected, open_streams))
        self.requests = Counter(
            "motcua_http_requests",
            "HTTP requests answered by the hub",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "motcua_http_request_duration_seconds",
            "Time to answer an HTTP request (event streams excluded)",
            ["endpoint"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )

    def observe(self, method: str, endpoint: str, status: int, seconds: float | None) -> None:
        self.requests.labels(method, endpoint, str(status)).inc()
        if seconds is not None:
            self.duration.labels(endpoint).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
