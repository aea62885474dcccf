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


# The relay's figures read straight from its status: (family, metric, help, status key).
_RELAY_FIGURES: tuple[tuple[type[GaugeMetricFamily | CounterMetricFamily], str, str, str], ...] = (
    (
        GaugeMetricFamily,
        "motcua_central_outbox_backlog",
        "Events waiting to be delivered to central",
        "backlog",
    ),
    (
        GaugeMetricFamily,
        "motcua_central_outbox_oldest_age_seconds",
        "Age of the oldest event not yet delivered (0: none)",
        "oldest_age_s",
    ),
    (
        GaugeMetricFamily,
        "motcua_central_outbox_dead_letters",
        "Events central refused for good (kept, not retried)",
        "dead_letters",
    ),
    (
        CounterMetricFamily,
        "motcua_central_events_delivered",
        "Events delivered to central since the hub started",
        "delivered",
    ),
    (
        CounterMetricFamily,
        "motcua_central_delivery_failures",
        "Failed delivery attempts since the hub started",
        "failures",
    ),
)


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
            for family, name, documentation, key in _RELAY_FIGURES:
                yield family(name, documentation, value=float(relay[key]))
            yield GaugeMetricFamily(
                "motcua_central_relay_breaker_open",
                "1 while the relay's circuit breaker keeps central at bay",
                value=0.0 if relay["breaker"] == "closed" else 1.0,
            )
        lookups = status["lookups"]
        calls = CounterMetricFamily(
            "motcua_central_lookups", "Dossier lookups by outcome since the hub started", labels=["outcome"]
        )
        for outcome in ("central_calls", "cache_hits", "stale_answers", "refused"):
            calls.add_metric([outcome], float(lookups[outcome]))
        yield calls
        catalogue = status["catalogue"]
        yield GaugeMetricFamily(
            "motcua_central_catalogue_procedures",
            "Procedures in the local catalogue",
            value=float(catalogue["procedures"]),
        )
        if catalogue["age_s"] is not None:
            yield GaugeMetricFamily(
                "motcua_central_catalogue_age_seconds",
                "Time since the catalogue was last synced",
                value=float(catalogue["age_s"]),
            )
