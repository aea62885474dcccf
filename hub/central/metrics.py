"""Prometheus figures of the central link, read from `CentralRuntime.status()` at scrape time.

Register on the hub's registry: `registry.register(CentralCollector(runtime))`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from .wiring import CentralRuntime

log = logging.getLogger(__name__)


class CentralCollector(Collector):
    def __init__(self, runtime: CentralRuntime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        try:
            status = self.runtime.status()
        except Exception:  # a metric must never break the scrape
            log.exception("central status failed")
            return
        relay = status.get("relay")
        if relay is not None:
            backlog = GaugeMetricFamily(
                "motcua_central_outbox_backlog", "Events waiting to be delivered to central"
            )
            backlog.add_metric([], float(relay["backlog"]))
            yield backlog
            oldest = GaugeMetricFamily(
                "motcua_central_outbox_oldest_age_seconds",
                "Age of the oldest event not yet delivered (0: none)",
            )
            oldest.add_metric([], float(relay["oldest_age_s"]))
            yield oldest
            dead = GaugeMetricFamily(
                "motcua_central_outbox_dead_letters", "Events central refused for good (kept, not retried)"
            )
            dead.add_metric([], float(relay["dead_letters"]))
            yield dead
            delivered = CounterMetricFamily(
                "motcua_central_events_delivered", "Events delivered to central since the hub started"
            )
            delivered.add_metric([], float(relay["delivered"]))
            yield delivered
            failures = CounterMetricFamily(
                "motcua_central_delivery_failures", "Failed delivery attempts since the hub started"
            )
            failures.add_metric([], float(relay["failures"]))
            yield failures
            breaker = GaugeMetricFamily(
                "motcua_central_relay_breaker_open",
                "1 while the relay's circuit breaker keeps central at bay",
            )
            breaker.add_metric([], 0.0 if relay["breaker"] == "closed" else 1.0)
            yield breaker
        lookups = status["lookups"]
        calls = CounterMetricFamily(
            "motcua_central_lookups", "Dossier lookups by outcome since the hub started", labels=["outcome"]
        )
        for outcome in ("central_calls", "cache_hits", "stale_answers", "refused"):
            calls.add_metric([outcome], float(lookups[outcome]))
        yield calls
        catalogue = status["catalogue"]
        size = GaugeMetricFamily("motcua_central_catalogue_procedures", "Procedures in the local catalogue")
        size.add_metric([], float(catalogue["procedures"]))
        yield size
        if catalogue["age_s"] is not None:
            age = GaugeMetricFamily(
                "motcua_central_catalogue_age_seconds", "Time since the catalogue was last synced"
            )
            age.add_metric([], float(catalogue["age_s"]))
            yield age
