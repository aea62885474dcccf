"""Server-sent event streams: the counter console's wake-up calls and a ticket's own live view.

Each stream holds one server thread (hub.wsgi_keepalive's threaded server; a stream ends its
connection) and one QueueService listener.
It checks every second whether the server is stopping and sends a comment line every
`keepalive_s` so proxies keep the connection and a vanished client is noticed on the next write.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from .public import public_view
from .security import WebContext

log = logging.getLogger(__name__)

POLL_S = 1.0
RETRY_MS = 3000


def sse(data: object, *, event: str | None = None, event_id: int | None = None) -> str:
    lines = []
    if event:
        lines.append(f"event: {event}")
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def _events(context: WebContext, alive: Callable[[], bool] | None = None) -> Iterator[dict[str, Any] | None]:
    """Queue events as they are committed; None when a keep-alive is due. Ends when stopping, or
    (officers' streams) within a second of `alive()` turning false: the session ended."""
    with context.service.listen() as listener:
        last_sent = time.monotonic()
        while not context.stopping.is_set():
            if alive is not None and not alive():
                return
            event = listener.get(timeout=POLL_S)
            if event is not None:
                last_sent = time.monotonic()
                yield event
            elif time.monotonic() - last_sent >= context.keepalive_s:
                last_sent = time.monotonic()
                yield None


def counter_stream(
    context: WebContext, counter_id: str, alive: Callable[[], bool] | None = None
) -> Iterator[str]:
    """Tell the console that something changed; the page fetches its view JSON then.

    The event names only its type and sequence number: the view has the rest. The stream ends
    when `alive()` says the officer's session is over (logout, password change, removal).
    """
    yield f"retry: {RETRY_MS}\n\n"
    yield sse({"type": "hello", "counter_id": counter_id}, event="hello")
    for event in _events(context, alive):
        if event is None:
            yield ": keep-alive\n\n"
            continue
        payload = {"type": event.get("type"), "seq": event.get("seq"), "counter_id": event.get("counter_id")}
        yield sse(payload, event="queue", event_id=event.get("seq"))


def ticket_stream(
    context: WebContext, token: str, lookup: Callable[[str], dict[str, Any] | None]
) -> Iterator[str]:
    """The ticket's public view each time it changes (people ahead, called to counter N, …)."""
    yield f"retry: {RETRY_MS}\n\n"
    ticket = lookup(token)
    if ticket is None:
        return
    last = public_view(ticket)
    yield sse(last, event="ticket")
    ticket_id, service_id = ticket.get("id"), ticket.get("service_id")
    refreshes_due = 0
    for event in _events(context):
        if event is None:
            # Estimates drift as counters open and close; refresh now and then, quietly.
            refreshes_due += 1
            if refreshes_due < 4:
                yield ": keep-alive\n\n"
                continue
            refreshes_due = 0
        else:
            other = event.get("ticket") or {}
            relevant = (
                event.get("type") in ("resync", "counter.opened", "counter.closed")
                or other.get("id") == ticket_id
                or other.get("service_id") == service_id
                or other.get("original_service_id") == service_id
            )
            if not relevant:
                continue
        ticket = lookup(token)
        if ticket is None:  # the service day rolled over and the ticket is gone
            return
        service_id = ticket.get("service_id")
        view = public_view(ticket)
        if view != last:
            last = view
            yield sse(view, event="ticket")
        elif event is None:
            yield ": keep-alive\n\n"
