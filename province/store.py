"""The province's one store: PostgreSQL. Ingests what the sites' bridges carry (queue events, device
state and health, bridge state) and answers the pages (live sites, cross-site reports, the fleet).

Exactly once: an event is an `INSERT … ON CONFLICT (site, seq) DO NOTHING`, and the tables derived
from it (tickets, counters, the site's counts) change only when that insert stored a row, in the same
transaction. A redelivered event, a replay after a bridge outage, or the same event reaching two
province instances is therefore stored — and counted — once. Ticket and counter rows only move
forward in the site's event order (`last_seq`), so events handled out of order by several instances
end in the same state.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .schema import migrate

log = logging.getLogger("motcua.province.store")

RETRIES = 5
OPEN_STATUSES = ("waiting", "called", "serving")
# Sites roll their service day over at their own `[place] day_rollover` (00:00-05:00 in practice):
# before this local time the province still counts a site's previous service day as its today.
SITE_DAY_LATEST_ROLLOVER = time_of_day(6, 0)

TICKET_SQL = (
    "INSERT INTO tickets (site, ticket_id, service_day, service_id, status, issued_at, called_at,"
    " completed_at, counter_id, rating, priority, last_seq)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (site, ticket_id) DO UPDATE SET service_id = excluded.service_id,"
    " status = excluded.status, called_at = coalesce(tickets.called_at, excluded.called_at),"
    " completed_at = excluded.completed_at, counter_id = excluded.counter_id,"
    " rating = coalesce(excluded.rating, tickets.rating), last_seq = excluded.last_seq"
    " WHERE tickets.last_seq < excluded.last_seq"
)
COUNTER_SQL = (
    "INSERT INTO counters (site, counter_id, name, open, last_seq)"
    " VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (site, counter_id) DO UPDATE SET open = excluded.open,"
    " name = coalesce(excluded.name, counters.name), last_seq = excluded.last_seq"
    " WHERE counters.last_seq < excluded.last_seq"
)
SITE_SQL = (
    "INSERT INTO sites (site, last_event_at, last_received_at, first_seq, last_seq, stored,"
    " service_day) VALUES (%(site)s, %(ts)s, now(), %(first)s, %(last)s, %(n)s, %(day)s)"
    " ON CONFLICT (site) DO UPDATE SET"
    " last_event_at = greatest(sites.last_event_at, excluded.last_event_at),"
    " last_received_at = now(),"
    " first_seq = least(coalesce(sites.first_seq, excluded.first_seq), excluded.first_seq),"
    " last_seq = greatest(sites.last_seq, excluded.last_seq),"
    " stored = sites.stored + excluded.stored,"
    " service_day = greatest(sites.service_day, excluded.service_day)"
)


@dataclass(frozen=True)
class Incoming:
    """One message from a site, parsed from its topic: kind is event | state | health | bridge."""

    kind: str
    site: str
    body: Any
    device_id: str | None = None


def _ts(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _service_day(ticket_id: str) -> date | None:
    """A ticket id is `{service_day:%Y%m%d}-{number}` (docs/contract.md)."""
    head = ticket_id.split("-", 1)[0]
    try:
        return datetime.strptime(head, "%Y%m%d").date()
    except ValueError:
        return None


class ProvinceStore:
    """One connection to the province database (one per thread that uses it)."""

    def __init__(self, dsn: str, *, migrate_schema: bool = True, instance: str | None = None) -> None:
        self.dsn = dsn
        self.instance = instance
        self.conn = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)
        if migrate_schema:
            applied = migrate(self.conn)
            if applied:
                log.info("province schema migrations applied: %s", applied)

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------------ ingest

    def ingest(self, batch: Sequence[Incoming]) -> int:
        """Store one batch in one transaction; the number of events newly stored. Retries a
        transaction PostgreSQL aborted for a deadlock with another instance."""
        events = sorted((m for m in batch if m.kind == "event"), key=lambda m: (m.site, m.body["seq"]))
        others = [m for m in batch if m.kind != "event"]
        for attempt in range(RETRIES):
            try:
                with self.conn.transaction():
                    stored = self._events(events)
                    for message in others:
                        self._other(message)
                return stored
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt == RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        return 0

    def _insert_events(self, messages: list[Incoming]) -> set[tuple[str, int]]:
        """Insert the batch's events in one statement; the (site, seq) of those newly stored."""
        if not messages:
            return set()
        columns: list[list[Any]] = [[] for _ in range(8)]
        for message in messages:
            body = message.body
            ticket = body.get("ticket") if isinstance(body.get("ticket"), dict) else None
            counter = body.get("counter_id")
            row = (
                message.site,
                body["seq"],
                str(body.get("type", "")),
                _ts(body.get("ts")) or datetime.now().astimezone(),
                self.instance,
                str(ticket["id"]) if ticket and ticket.get("id") is not None else None,
                str(counter) if counter is not None else None,
                Jsonb(body),
            )
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        rows = self.conn.execute(
            "INSERT INTO events (site, seq, type, ts, received_by, ticket_id, counter_id, body)"
            " SELECT * FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::timestamptz[], %b::text[],"
            " %b::text[], %b::text[], %b::jsonb[]) ON CONFLICT (site, seq) DO NOTHING RETURNING site, seq",
            columns,
        ).fetchall()
        return {(r["site"], int(r["seq"])) for r in rows}

    def _events(self, events: Iterable[Incoming]) -> int:
        stored_per_site: dict[str, list[dict[str, Any]]] = {}
        # Once each (a message redelivered within one batch), in (site, seq) order.
        unique: dict[tuple[str, int], Incoming] = {}
        for event in events:
            unique.setdefault((event.site, event.body["seq"]), event)
        messages = list(unique.values())
        # One statement for the batch's events instead of one round trip each (a site's drained
        # backlog then holds the others up for less); what derives from them only for the new ones.
        stored = self._insert_events(messages)
        tickets: list[tuple[Any, ...]] = []
        counters: list[tuple[Any, ...]] = []
        site_rows: list[dict[str, Any]] = []
        for message in messages:
            if (message.site, message.body["seq"]) not in stored:
                continue  # stored already: nothing derived from it may change again
            body = message.body
            ticket = body.get("ticket") if isinstance(body.get("ticket"), dict) else None
            stored_per_site.setdefault(message.site, []).append(body)
            ticket_row = self._ticket(message.site, body["seq"], ticket) if ticket else None
            if ticket_row is not None:
                tickets.append(ticket_row)
            kind = body.get("type")
            if kind in ("counter.opened", "counter.closed") and body.get("counter_id"):
                counters.append(
                    (
                        message.site,
                        body["counter_id"],
                        body.get("counter_name"),
                        kind == "counter.opened",
                        body["seq"],
                    )
                )
        for site in sorted(stored_per_site):
            bodies = stored_per_site[site]
            seqs = [b["seq"] for b in bodies]
            latest = max((_ts(b.get("ts")) for b in bodies if _ts(b.get("ts"))), default=None)
            days = [_service_day(b["ticket"]["id"]) for b in bodies if isinstance(b.get("ticket"), dict)]
            day = max((d for d in days if d), default=None)
            site_rows.append(
                {
                    "site": site,
                    "ts": latest,
                    "first": min(seqs),
                    "last": max(seqs),
                    "n": len(seqs),
                    "day": day,
                }
            )
        # executemany pipelines the statements, in order (one ticket's events follow each other).
        with self.conn.cursor() as cursor:
            for sql, rows in ((TICKET_SQL, tickets), (COUNTER_SQL, counters), (SITE_SQL, site_rows)):
                if rows:
                    cursor.executemany(sql, rows)
        return sum(len(b) for b in stored_per_site.values())

    @staticmethod
    def _ticket(site: str, seq: int, ticket: dict[str, Any]) -> tuple[Any, ...] | None:
        """TICKET_SQL's parameters for an event's ticket (None: not a ticket the reports can use)."""
        ticket_id = str(ticket.get("id", ""))
        day = _service_day(ticket_id)
        issued = _ts(ticket.get("issued_at"))
        if not ticket_id or day is None or issued is None:
            return None
        rating = ticket.get("rating")
        return (
            site,
            ticket_id,
            day,
            str(ticket.get("original_service_id") or ticket.get("service_id") or ""),
            str(ticket.get("status", "")),
            issued,
            _ts(ticket.get("called_at")),
            _ts(ticket.get("completed_at")),
            ticket.get("counter_id"),
            rating if isinstance(rating, int) and not isinstance(rating, bool) else None,
            bool(ticket.get("priority")),
            seq,
        )

    def _other(self, message: Incoming) -> None:
        body = message.body
        if message.kind == "bridge":
            self.conn.execute(
                "INSERT INTO sites (site, link_online, link_changed_at) VALUES (%s, %s, now())"
                " ON CONFLICT (site) DO UPDATE SET link_online = excluded.link_online,"
                " link_changed_at = CASE WHEN sites.link_online IS DISTINCT FROM excluded.link_online"
                " THEN now() ELSE sites.link_changed_at END",
                (message.site, bool(body)),
            )
            return
        self.conn.execute("INSERT INTO sites (site) VALUES (%s) ON CONFLICT DO NOTHING", (message.site,))
        if message.kind == "state":
            online = body.get("online")
            self.conn.execute(
                "INSERT INTO devices (site, device_id, role, online, version, last_seen)"
                " VALUES (%s, %s, %s, %s, %s, now())"
                " ON CONFLICT (site, device_id) DO UPDATE SET role = coalesce(excluded.role, devices.role),"
                " version = coalesce(excluded.version, devices.version), last_seen = now(),"
                " changed_at = CASE WHEN devices.online IS DISTINCT FROM excluded.online"
                " THEN now() ELSE devices.changed_at END, online = excluded.online",
                (
                    message.site,
                    message.device_id,
                    body.get("role"),
                    online if isinstance(online, bool) else None,
                    body.get("version"),
                ),
            )
        elif message.kind == "health":
            self.conn.execute(
                "INSERT INTO devices (site, device_id, health, last_seen) VALUES (%s, %s, %s, now())"
                " ON CONFLICT (site, device_id) DO UPDATE SET health = excluded.health, last_seen = now()",
                (message.site, message.device_id, Jsonb(body)),
            )
        elif message.kind == "template_result":
            self.conn.execute(
                "INSERT INTO template_results (template_id, site, status, reason, reason_en)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (template_id, site) DO UPDATE SET"
                " status = excluded.status, reason = excluded.reason, reason_en = excluded.reason_en,"
                " at = now()",
                (
                    int(body["template_id"]),
                    message.site,
                    str(body.get("status")),
                    body.get("reason"),
                    body.get("reason_en"),
                ),
            )

    # ------------------------------------------------------------------ reading

    def event_count(self, site: str | None = None) -> int:
        if site is None:
            row = self.conn.execute("SELECT count(*) AS n FROM events").fetchone()
        else:
            row = self.conn.execute("SELECT count(*) AS n FROM events WHERE site = %s", (site,)).fetchone()
        return int(row["n"]) if row else 0

    def sites(self, at: datetime, *, only: str | None = None) -> list[dict[str, Any]]:
        """Every site live: the figures of the province page and `GET /api/v1/province/sites`.
        "Today" is the site's own service day: a site rolls its day over at its own `day_rollover`
        (03:00 in the sample), so until `SITE_DAY_LATEST_ROLLOVER` a site still in yesterday's
        service day shows that day, not an empty calendar day."""
        today = at.date()
        early = at.timetz().replace(tzinfo=None) < SITE_DAY_LATEST_ROLLOVER
        rows = self.conn.execute(
            """
            SELECT s.site, s.link_online, s.link_changed_at, s.last_event_at, s.last_received_at,
                   s.last_seq, s.stored, s.first_seq,
                   coalesce(t.issued, 0) AS issued_today, coalesce(t.waiting, 0) AS waiting,
                   t.oldest_waiting, coalesce(c.open, 0) AS open_counters,
                   coalesce(d.offline, 0) AS devices_offline, coalesce(d.total, 0) AS devices,
                   now() AS now
            FROM sites s
            LEFT JOIN (SELECT site, service_day, count(*) AS issued,
                              count(*) FILTER (WHERE status = 'waiting') AS waiting,
                              min(issued_at) FILTER (WHERE status = 'waiting') AS oldest_waiting
                       FROM tickets WHERE service_day BETWEEN %(yesterday)s AND %(today)s
                       GROUP BY site, service_day) t
                   ON t.site = s.site AND t.service_day = CASE
                       WHEN %(early)s AND s.service_day = %(yesterday)s THEN s.service_day
                       ELSE %(today)s::date END
            LEFT JOIN (SELECT site, count(*) AS open FROM counters WHERE open GROUP BY site) c
                   ON c.site = s.site
            LEFT JOIN (SELECT site, count(*) FILTER (WHERE online IS FALSE) AS offline, count(*) AS total
                       FROM devices GROUP BY site) d ON d.site = s.site
            WHERE %(only)s::text IS NULL OR s.site = %(only)s
            ORDER BY s.site
            """,
            {"today": today, "yesterday": today - timedelta(days=1), "early": early, "only": only},
        ).fetchall()
        return [live_site(row) for row in rows]

    def devices(self, *, site: str | None = None) -> list[dict[str, Any]]:
        return self.conn.execute(
            "SELECT site, device_id, role, online, version, last_seen, changed_at,"
            " health->>'paper' AS paper FROM devices"
            " WHERE %(site)s::text IS NULL OR site = %(site)s ORDER BY site, device_id",
            {"site": site},
        ).fetchall()

    def report(self, start: date, end: date, by: str, *, site: str | None = None) -> list[dict[str, Any]]:
        """Measures of the site reports, across sites, grouped by `by` (site | service | day)."""
        key = {"site": "site", "service": "service_id", "day": "service_day::text"}[by]
        return self.conn.execute(
            f"""
            SELECT {key} AS key, count(*) AS issued,
                   count(*) FILTER (WHERE status = 'completed') AS served,
                   count(*) FILTER (WHERE status = 'skipped') AS no_show,
                   count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
                   count(*) FILTER (WHERE priority) AS priority,
                   percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM called_at - issued_at))
                       AS wait_p50_s,
                   percentile_disc(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM called_at - issued_at))
                       AS wait_p90_s,
                   max(extract(epoch FROM called_at - issued_at)) AS wait_max_s,
                   percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - called_at))
                       FILTER (WHERE status = 'completed') AS service_p50_s,
                   count(rating) AS ratings, avg(rating) AS rating_avg
            FROM tickets
            WHERE service_day BETWEEN %(start)s AND %(end)s AND (%(site)s::text IS NULL OR site = %(site)s)
            GROUP BY 1 ORDER BY 1
            """,
            {"start": start, "end": end, "site": site},
        ).fetchall()

    def database_size(self) -> int:
        row = self.conn.execute("SELECT pg_database_size(current_database()) AS n").fetchone()
        return int(row["n"]) if row else 0


ONLINE_FALLBACK_S = 120


def live_site(row: dict[str, Any]) -> dict[str, Any]:
    """One site's live figures from its row (pure)."""
    now: datetime = row["now"]
    online = row["link_online"]
    if online is None:  # no bridge state heard yet: fresh events say the site is there
        received = row["last_received_at"]
        online = received is not None and (now - received).total_seconds() < ONLINE_FALLBACK_S
    changed = row["link_changed_at"]
    oldest = row["oldest_waiting"]
    holes = 0
    if row["first_seq"] is not None:
        holes = max(0, int(row["last_seq"]) - int(row["first_seq"]) + 1 - int(row["stored"]))
    last_event = row["last_event_at"]
    received = row["last_received_at"]
    return {
        "site": row["site"],
        "online": bool(online),
        "link_since": changed.isoformat() if changed else None,
        "link_for_s": round((now - changed).total_seconds()) if changed else None,
        "issued_today": int(row["issued_today"]),
        "waiting": int(row["waiting"]),
        "longest_wait_s": round((now - oldest).total_seconds()) if oldest else 0,
        "open_counters": int(row["open_counters"]),
        "devices": int(row["devices"]),
        "devices_offline": int(row["devices_offline"]),
        "last_event_at": last_event.isoformat() if last_event else None,
        "last_received_at": received.isoformat() if received else None,
        # Events below the newest one not stored yet (being drained after an outage, or lost).
        "backlog": holes,
        "events_stored": int(row["stored"]),
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
