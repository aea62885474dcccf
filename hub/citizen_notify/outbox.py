"""Contacts and the notification outbox, in the hub's SQLite file.

The queue's writer calls `QueueHook` inside the transaction of every change: a phone given with
`ticket.issue` is stored with the ticket, and every message the change makes due is inserted with
`INSERT OR IGNORE` under its key (ticket, kind, channel). So a message is decided once, durably,
with the change that caused it: a hub killed before the commit decides it again, one killed after
finds it in the outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from datetime import date, datetime
from typing import Any

from . import rules

SCHEMA = """
CREATE TABLE IF NOT EXISTS citizen_contacts (
    ticket_id TEXT PRIMARY KEY,
    service_day TEXT NOT NULL,
    phone TEXT,
    push TEXT,
    language TEXT NOT NULL DEFAULT 'vi',
    opted_out INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS citizen_contacts_by_day ON citizen_contacts (service_day, opted_out);
CREATE TABLE IF NOT EXISTS citizen_outbox (
    key TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    text TEXT NOT NULL,
    vals TEXT NOT NULL,
    created_at TEXT NOT NULL,
    next_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at TEXT,
    outcome TEXT,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS citizen_outbox_pending ON citizen_outbox (sent_at, next_at);
CREATE TABLE IF NOT EXISTS citizen_opt_outs (phone_hash TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
SECRET_KEY = "citizen_identity_secret"


def ensure_schema(conn: sqlite3.Connection) -> bytes:
    """Make the tables; returns the site's secret for keyed hashes of phone numbers."""
    conn.executescript(SCHEMA)
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (SECRET_KEY, secrets.token_hex(32)))
    return bytes.fromhex(conn.execute("SELECT value FROM meta WHERE key=?", (SECRET_KEY,)).fetchone()[0])


def phone_hash(secret: bytes, phone: str) -> str:
    return hmac.new(secret, f"opt-out:{phone}".encode(), hashlib.sha256).hexdigest()[:32]


def opted_out(conn: sqlite3.Connection, secret: bytes, phone: str) -> bool:
    row = conn.execute("SELECT 1 FROM citizen_opt_outs WHERE phone_hash=?", (phone_hash(secret, phone),))
    return row.fetchone() is not None


class QueueHook:
    """The transaction hook (hub.service.TransactionHook) that stores contacts and decides messages."""

    def __init__(self, settings: Any, secret: bytes, *, channels: set[str]) -> None:
        self.settings = settings
        self.secret = secret
        self.channels = channels  # the channels configured: sms, zalo, webpush

    def phone_channel(self) -> str | None:
        preferred = self.settings.channel
        if preferred in self.channels:
            return preferred
        return next((c for c in ("sms", "zalo") if c in self.channels), None)

    def __call__(
        self, conn: sqlite3.Connection, engine: Any, events: list[dict[str, Any]], method: str, params: Any
    ) -> None:
        day = engine.service_day
        if day is None or not events:
            return
        now = events[-1]["ts"]
        if method == "ticket.issue" and getattr(params, "phone", None):
            issued = next((e for e in events if e["type"] == "ticket.issued" and e.get("ticket")), None)
            if issued is not None and not opted_out(conn, self.secret, params.phone):
                conn.execute(
                    """INSERT OR IGNORE INTO citizen_contacts (ticket_id, service_day, phone, created_at)
                       VALUES (?, ?, ?, ?)""",
                    (issued["ticket"]["id"], day.isoformat(), params.phone, now),
                )
        contacts = {
            row[0]: (row[1], row[2], row[3])
            for row in conn.execute(
                """SELECT ticket_id, phone, push, language FROM citizen_contacts
                   WHERE service_day=? AND opted_out=0""",
                (day.isoformat(),),
            )
        }
        if not contacts:
            return
        waiting: dict[str, tuple[int, str]] = {}
        for ticket_id in contacts:
            ticket = engine.tickets.get(ticket_id)
            if ticket is not None and ticket.status == "waiting":
                waiting[ticket_id] = (engine.ahead(ticket), ticket.number)
        for item in rules.due(events, waiting, set(contacts), near_ahead=self.settings.near_ahead):
            phone, push, language = contacts[item.ticket_id]
            values = dict(item.values)
            if item.kind == "no_show":
                values["minutes"] = self.settings.reinstate_minutes
            text = rules.render(item.kind, values, language)
            targets = []
            channel = self.phone_channel()
            if phone and channel:
                targets.append((channel, phone))
            if push and "webpush" in self.channels:
                targets.append(("webpush", push))
            for channel, address in targets:
                conn.execute(
                    """INSERT OR IGNORE INTO citizen_outbox
                       (key, ticket_id, kind, channel, address, text, vals, created_at, next_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (
                        f"{item.ticket_id}:{item.kind}:{channel}",
                        item.ticket_id,
                        item.kind,
                        channel,
                        address,
                        text,
                        json.dumps(values, ensure_ascii=False),
                        now,
                        now,
                    ),
                )


def purge(conn: sqlite3.Connection, before: date) -> int:
    """Retention: contacts (phones, push subscriptions) and sent messages of days before `before`."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    gone = 0
    if "citizen_contacts" in tables:
        gone += conn.execute(
            "DELETE FROM citizen_contacts WHERE service_day < ?", (before.isoformat(),)
        ).rowcount
    if "citizen_outbox" in tables:
        moment = datetime.combine(before, datetime.min.time()).isoformat()
        gone += conn.execute("DELETE FROM citizen_outbox WHERE created_at < ?", (moment,)).rowcount
    return gone
