"""What the public (a citizen's phone, a hall screen, anyone on the LAN) may see.

A ticket's token opens its page, so no public answer ever carries another ticket's token.
"""

from __future__ import annotations

from typing import Any

# Fields of a ticket its holder sees: their own ticket, nothing about anyone else.
PUBLIC_TICKET_FIELDS = (
    "number",
    "service_id",
    "service_name",
    "service_name_en",
    "priority",
    "status",
    "issued_at",
    "called_at",
    "completed_at",
    "counter_id",
    "counter_name",
    "ahead",
    "estimated_wait_s",
    "recalls",
    "site_name",
)


def public_view(ticket: dict[str, Any]) -> dict[str, Any]:
    return {key: ticket.get(key) for key in PUBLIC_TICKET_FIELDS}


def public_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The queue snapshot with the tokens of the tickets being served removed."""
    counters = []
    for counter in snapshot.get("counters", []):
        serving = counter.get("serving")
        if serving:
            counter = {**counter, "serving": {k: v for k, v in serving.items() if k != "token"}}
        counters.append(counter)
    return {**snapshot, "counters": counters}
