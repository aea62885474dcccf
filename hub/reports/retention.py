"""Retention: personal data older than the configured period is purged; the aggregates stay.

Before anything is purged, every finished day up to the cut-off is summarised (hub.reports.history),
so a report over last year still has its figures. Purged: the dossier code linked to a ticket (in
the ticket and in its events' payloads), the ticket↔dossier links and returns of the results
counter, the receipts' short rating links, cached dossiers from the central system (names, ID
numbers, phones, addresses), outbox entries already delivered, and citizens' phone numbers, push
subscriptions, messages and bookings.
Undelivered outbox entries stay: they still have to reach central once.

    python -m hub.reports.retention -c /etc/motcua/hub.toml [--days 90]
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from appliance.timeutil import SITE_TZ, iso

from ..store import immediate
from . import history
from .period import Period

log = logging.getLogger("motcua.hub.reports")

FIRST_RUN_DELAY_S = 600.0  # not while the hub is starting up
EVERY_S = 24 * 3600.0
# JSON paths of personal data inside event payloads (the ticket's description, results events).
EVENT_PATHS = ("$.ticket.dossier_code", "$.dossier_code", "$.code", "$.applicant", "$.applicant_masked")


@dataclass(frozen=True)
class Purged:
    before: date
    tickets: int = 0
    events: int = 0
    other_rows: int = 0


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def purge(conn: sqlite3.Connection, site: Any, *, days: int, today: date) -> Purged:
    """Purge personal data of service days before `today - days` (after summarising them)."""
    cutoff = today - timedelta(days=days)
    history.ensure_schema(conn)
    first = conn.execute("SELECT MIN(service_day) FROM tickets").fetchone()[0]
    if first is None or date.fromisoformat(first) >= cutoff:
        return Purged(cutoff)
    history.refresh(conn, Period(date.fromisoformat(first), cutoff - timedelta(days=1)), today,
                    history.SiteFacts.of(site))  # fmt: skip
    moment = iso(datetime.combine(cutoff, time(0), SITE_TZ))
    tables = _tables(conn)
    with immediate(conn):
        events = conn.execute(
            f"""UPDATE events SET payload = json_remove(payload, {", ".join("?" * len(EVENT_PATHS))})
                 WHERE ticket_id IN
                       (SELECT id FROM tickets WHERE service_day < ? AND dossier_code IS NOT NULL)""",
            (*EVENT_PATHS, cutoff.isoformat()),
        ).rowcount
        tickets = conn.execute(
            "UPDATE tickets SET dossier_code = NULL WHERE service_day < ? AND dossier_code IS NOT NULL",
            (cutoff.isoformat(),),
        ).rowcount
        other = 0
        for table, column, extra in (
            ("result_links", "linked_at", ""),
            ("dossier_links", "linked_at", ""),  # the counter's ticket → dossier link for its rating
            ("result_returns", "returned_at", ""),
            ("central_dossier_cache", "fetched_at", ""),
            ("rating_links", "created_at", ""),
            ("outbox", "created_at", " AND delivered_at IS NOT NULL"),
        ):
            if table in tables:
                other += conn.execute(f"DELETE FROM {table} WHERE {column} < ?{extra}", (moment,)).rowcount
        # Citizens' phones, push subscriptions, their messages and bookings (issue 17).
        from hub.bookings.store import purge_bookings
        from hub.citizen_notify.outbox import purge as purge_citizen_contacts

        other += purge_citizen_contacts(conn, cutoff) + purge_bookings(conn, cutoff)
    return Purged(cutoff, tickets, events, other)


def run_daily(service: Any, stopping: threading.Event) -> threading.Thread | None:
    """A background thread purging once a day (first run 10 minutes after start); None when the
    site keeps everything (`[hub] retention_days = 0`)."""
    days = service.site.hub.retention_days
    if days <= 0:
        return None

    def loop() -> None:
        delay = FIRST_RUN_DELAY_S
        while not stopping.wait(delay):
            delay = EVERY_S
            try:
                from ..store import connect

                conn = connect(service.db_path)
                try:
                    done = purge(conn, service.site, days=days, today=service.engine.day_of(service.clock()))
                finally:
                    conn.close()
                if done.tickets or done.other_rows:
                    log.info("retention: personal data before %s purged (%d tickets, %d events, %d rows)",
                             done.before, done.tickets, done.events, done.other_rows)  # fmt: skip
            except Exception:
                log.exception("retention purge failed; trying again tomorrow")

    thread = threading.Thread(target=loop, name="retention", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    from ..engine import QueueEngine
    from ..site import load_hub_config
    from ..store import connect

    parser = argparse.ArgumentParser(description="Purge personal data older than the retention period.")
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("--days", type=int, help="override [hub] retention_days")
    args = parser.parse_args(argv)
    site = load_hub_config(args.config)
    days = args.days if args.days is not None else site.hub.retention_days
    if days <= 0:
        print("retention_days = 0: nothing is purged")
        return 0
    engine = QueueEngine(site.service_specs(), site.counter_specs(), rollover=site.place.rollover_time)
    conn = connect(site.hub.db)
    try:
        done = purge(conn, site, days=days, today=engine.day_of(datetime.now(SITE_TZ)))
    finally:
        conn.close()
    print(
        f"before {done.before}: {done.tickets} tickets, {done.events} events, {done.other_rows} rows purged"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
