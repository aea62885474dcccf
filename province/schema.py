"""The province database's schema, as numbered migrations applied in order, each once.

`migrate` takes an advisory lock first: several province services starting together against one
PostgreSQL apply each migration exactly once.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import tuple_row

MIGRATION_LOCK = 0x6D6F7463  # "motc": any constant shared by every province service

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "events, sites, tickets, counters, devices",
        """
        CREATE TABLE sites (
            site text PRIMARY KEY,
            first_seen timestamptz NOT NULL DEFAULT now(),
            last_event_at timestamptz,
            last_received_at timestamptz,
            first_seq bigint,
            last_seq bigint NOT NULL DEFAULT 0,
            stored bigint NOT NULL DEFAULT 0,
            service_day date,
            link_online boolean,
            link_changed_at timestamptz
        );
        -- One row per (site, seq): the hub's event counter never repeats, so a replayed or
        -- duplicated event (bridge redelivery, a second province instance) is stored once.
        CREATE TABLE events (
            site text NOT NULL,
            seq bigint NOT NULL,
            type text NOT NULL,
            ts timestamptz NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            -- Which province instance stored it (client id): for operations and the sharing test.
            received_by text,
            ticket_id text,
            counter_id text,
            body jsonb NOT NULL,
            PRIMARY KEY (site, seq)
        );
        CREATE INDEX events_site_ts ON events (site, ts);
        CREATE TABLE tickets (
            site text NOT NULL,
            ticket_id text NOT NULL,
            service_day date NOT NULL,
            service_id text NOT NULL,
            status text NOT NULL,
            issued_at timestamptz NOT NULL,
            called_at timestamptz,
            completed_at timestamptz,
            counter_id text,
            rating smallint,
            priority boolean NOT NULL DEFAULT false,
            last_seq bigint NOT NULL,
            PRIMARY KEY (site, ticket_id)
        );
        CREATE INDEX tickets_day ON tickets (service_day, site);
        CREATE INDEX tickets_waiting ON tickets (site) WHERE status = 'waiting';
        CREATE TABLE counters (
            site text NOT NULL,
            counter_id text NOT NULL,
            name text,
            open boolean NOT NULL,
            last_seq bigint NOT NULL,
            PRIMARY KEY (site, counter_id)
        );
        CREATE TABLE devices (
            site text NOT NULL,
            device_id text NOT NULL,
            role text,
            online boolean,
            version text,
            last_seen timestamptz,
            changed_at timestamptz NOT NULL DEFAULT now(),
            health jsonb,
            PRIMARY KEY (site, device_id)
        );
        """,
    ),
    (
        2,
        "configuration templates and each site's answer",
        """
        CREATE TABLE templates (
            id bigserial PRIMARY KEY,
            name text NOT NULL,
            kind text NOT NULL,
            body jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE template_results (
            template_id bigint NOT NULL,
            site text NOT NULL,
            status text NOT NULL,
            reason text,
            reason_en text,
            at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (template_id, site)
        );
        """,
    ),
    (
        3,
        "which fields of a template a site may override",
        """
        ALTER TABLE templates ADD COLUMN overridable jsonb NOT NULL DEFAULT '[]'::jsonb;
        """,
    ),
)


def migrate(conn: psycopg.Connection) -> list[int]:
    """Apply the migrations `conn`'s database has not had; the versions applied now."""
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor = conn.cursor(row_factory=tuple_row)
        done = {row[0] for row in cursor.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
            applied_now.append(version)
    return applied_now
