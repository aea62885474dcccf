"""Read-only views of the queue for pages and the counter console: a citizen's ticket, a counter,
its waiting line and the day's figures. Pure: they read the engine; hub.service holds its lock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from appliance.rpc import RpcError
from appliance.timeutil import iso

from .engine import QueueEngine, QueueError, Ticket
from .site import HubConfig

Clock = Callable[[], datetime]


def live_ticket(engine: QueueEngine, ticket: Ticket, site_name: str) -> dict[str, Any]:
    """A citizen's page for a ticket of today, with its live figures."""
    data = engine.describe(ticket)
    data["site_name"] = site_name
    return data


def stored_ticket(ticket: Ticket, site: HubConfig) -> dict[str, Any]:
    """A citizen's page for a ticket of an earlier day (read back from the database)."""
    data = ticket.to_dict()
    data.update(
        service_name=site.service_name(ticket.service_id),
        ahead=0,
        estimated_wait_s=0,
        counter_name=None,
        site_name=site.place.name,
    )
    return data


def counter_view(
    engine: QueueEngine, counter_id: str, *, clock: Clock, seq: int, language: str = "vi"
) -> dict[str, Any]:
    """The counter console's page: the counter, its line, held, serving, skipped and recent tickets."""
    try:
        counter = engine.counter(counter_id)
    except QueueError as error:
        raise RpcError.from_key(error.code, language, **error.values) from None
    current = engine.current_ticket(counter)
    now = clock()
    services = [engine.services[s] for s in counter.spec.services]
    mine = set(counter.spec.services)
    skipped = [
        engine.describe(t) for t in engine.tickets.values() if t.status == "skipped" and t.service_id in mine
    ]
    recent = sorted(
        (
            t
            for t in engine.tickets.values()
            if t.counter_id == counter_id and t.status in ("completed", "skipped")
        ),
        key=lambda t: t.completed_at or t.called_at or t.issued_at,
        reverse=True,
    )[:10]
    return {
        "counter": {
            **counter.to_dict(),
            "services": [{"id": s.id, "name": s.name, "name_en": s.name_en} for s in services],
        },
        "queue": [waiting_row(t, now) for t in engine.waiting_list(counter_id)],
        "held": [engine.describe(t) for t in engine.held(counter_id)],
        "serving": engine.describe(current) if current else None,
        "waiting": [
            {
                "service_id": s.id,
                "name": s.name,
                "waiting": engine.waiting(s.id),
                "estimated_wait_s": engine.estimated_wait_s(s.id),
            }
            for s in services
        ],
        "skipped": sorted(skipped, key=lambda t: t["issued_at"]),
        "recent": [engine.describe(t) for t in recent],
        "all_services": [
            {"id": s.id, "name": s.name, "name_en": s.name_en, "interleave_every": s.interleave_every}
            for s in engine.services.values()
        ],
        "seq": seq,
    }


def waiting_list(
    engine: QueueEngine, counter_id: str, *, clock: Clock, language: str = "vi"
) -> list[dict[str, Any]]:
    """`GET /api/v1/counters/{id}/waiting`: the counter's waiting citizens in calling order."""
    try:
        tickets = engine.waiting_list(counter_id)
    except QueueError as error:
        raise RpcError.from_key(error.code, language, **error.values) from None
    now = clock()
    return [waiting_row(t, now) for t in tickets]


def waiting_row(ticket: Ticket, now: datetime) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "service_id": ticket.service_id,
        "priority": ticket.priority,
        "priority_group": ticket.priority_group,
        "issued_at": iso(ticket.issued_at),
        "waited_s": max(0, round((now - ticket.issued_at).total_seconds())),
        "transferred_from": ticket.original_service_id,
    }


def stats(engine: QueueEngine, rating_scale: int) -> dict[str, Any]:
    """The day's figures per service and counter, and the ratings."""
    day = engine.service_day
    tickets = list(engine.tickets.values())
    per_service = []
    for service in engine.services.values():
        mine = [t for t in tickets if t.service_id == service.id]
        waits = [(t.called_at - t.issued_at).total_seconds() for t in mine if t.called_at is not None]
        per_service.append(
            {
                "id": service.id,
                "name": service.name,
                "issued": len(mine),
                "waiting": engine.waiting(service.id),
                "served": sum(1 for t in mine if t.status == "completed"),
                "skipped": sum(1 for t in mine if t.status == "skipped"),
                "cancelled": sum(1 for t in mine if t.status == "cancelled"),
                "average_wait_s": round(sum(waits) / len(waits)) if waits else None,
                # Measured only: the configured default is an estimate, not a figure.
                "average_service_s": (
                    round(sum(samples) / len(samples))
                    if (samples := engine.service_times[service.id])
                    else None
                ),
            }
        )
    per_counter = [
        {
            "id": c.id,
            "name": c.spec.name,
            "open": c.open,
            "served": sum(1 for t in tickets if t.counter_id == c.id and t.status == "completed"),
        }
        for c in engine.counters.values()
    ]
    rated = [t.rating for t in tickets if t.rating is not None]
    return {
        "service_day": day.isoformat() if day else None,
        "issued": len(tickets),
        "services": per_service,
        "counters": per_counter,
        "ratings": {
            "count": len(rated),
            "average": round(sum(rated) / len(rated), 2) if rated else None,
            "scale": rating_scale,
        },
    }
