"""Configuration templates the province publishes: stored in PostgreSQL, sent to each site's hub on
`motcua/v1/{site}/province/templates` (QoS 1, not retained; a site whose link is down gets it when
the link is back, from its bridge's persistent session). Each hub validates and answers on
`province/results`; the ingest stores the answers (template_results).

A template that reaches a site's broker while its hub is away (restarting, `kill -9`, not yet
installed) has nobody to take it there: the site broker keeps no session for the hub's subscription.
So the province sends every template a site has not answered again each time that site's hub comes
online (its retained `devices/{hub}/state`, `online: true`, published after it subscribed; see
province.ingest). The hub answers a template it already took with its first answer and applies
nothing twice (template_id), so sending again is always safe. (A persistent session at the hub would
not do: the hub acknowledges a message before its writer applied it, and a `kill -9` in between would
lose it.)"""

from __future__ import annotations

import json
from typing import Any

from paho.mqtt import publish
from paho.mqtt.enums import MQTTProtocolVersion
from psycopg.types.json import Jsonb

from appliance.template_kinds import TEMPLATE_KINDS
from appliance.timeutil import iso, now

from .config import BrokerSettings
from .store import ProvinceStore

# At most this many unanswered templates are sent again at once (the oldest first).
RESEND_MAX = 100


class TemplateError(ValueError):
    pass


def publish_template(
    store: ProvinceStore,
    broker: BrokerSettings,
    *,
    kind: str,
    body: Any,
    name: str,
    sites: list[str] | None,
    overridable: list[str] | None = None,
) -> dict[str, Any]:
    """Store the template and send it to `sites` (None: every known site). `overridable`: the fields
    a site may change afterwards; every other field the template sets is locked at the sites."""
    if kind not in TEMPLATE_KINDS:  # each hub validates the body itself
        raise TemplateError(f"kind: one of {', '.join(TEMPLATE_KINDS)}")
    overridable = list(overridable or [])
    known = [row["site"] for row in store.conn.execute("SELECT site FROM sites ORDER BY site").fetchall()]
    targets = known if sites is None else [s for s in sites if s in known]
    if not targets:
        raise TemplateError("no known site to send it to")
    row = store.conn.execute(
        "INSERT INTO templates (name, kind, body, overridable) VALUES (%s, %s, %s, %s) RETURNING id",
        (name, kind, Jsonb(body), Jsonb(overridable)),
    ).fetchone()
    template_id = int(row["id"])
    for site in targets:
        store.conn.execute(
            "INSERT INTO template_results (template_id, site, status) VALUES (%s, %s, 'sent')",
            (template_id, site),
        )
    message = _message(template_id, kind, name, body, overridable)
    auth = {"username": broker.username, "password": broker.password} if broker.username else None
    publish.multiple(
        [
            {
                "topic": f"{broker.remote_prefix}motcua/v1/{site}/province/templates",
                "payload": json.dumps(message, ensure_ascii=False),
                "qos": 1,
            }
            for site in targets
        ],
        hostname=broker.host,
        port=broker.port,
        auth=auth,
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    return {"template_id": template_id, "sites": targets}


def _message(template_id: int, kind: str, name: str, body: Any, overridable: list[str]) -> dict[str, Any]:
    return {
        "v": 1,
        "template_id": template_id,
        "kind": kind,
        "name": name,
        "body": body,
        "overridable": overridable,
        "ts": iso(now()),
    }


def unanswered(store: ProvinceStore, site: str, prefix: str = "") -> list[tuple[str, str]]:
    """(topic, payload) of each template `site` has not answered yet, oldest first (the order the
    province published them in), to send again now that the site's hub is online."""
    rows = store.conn.execute(
        "SELECT t.id, t.name, t.kind, t.body, t.overridable FROM templates t"
        " JOIN template_results r ON r.template_id = t.id"
        " WHERE r.site = %s AND r.status = 'sent' ORDER BY t.id LIMIT %s",
        (site, RESEND_MAX),
    ).fetchall()
    topic = f"{prefix}motcua/v1/{site}/province/templates"
    return [
        (
            topic,
            json.dumps(
                _message(int(r["id"]), r["kind"], r["name"], r["body"], list(r["overridable"] or [])),
                ensure_ascii=False,
            ),
        )
        for r in rows
    ]


def template_results(store: ProvinceStore, *, site: str | None = None) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT t.id, t.name, t.kind, t.overridable, t.created_at,"
        " r.site, r.status, r.reason, r.reason_en, r.at"
        " FROM templates t JOIN template_results r ON r.template_id = t.id"
        " WHERE %(site)s::text IS NULL OR r.site = %(site)s ORDER BY t.id DESC, r.site",
        {"site": site},
    ).fetchall()
    return [
        {
            "template_id": r["id"],
            "name": r["name"],
            "kind": r["kind"],
            "overridable": r["overridable"],
            "site": r["site"],
            "status": r["status"],
            "reason": r["reason"],
            "reason_en": r["reason_en"],
            "at": r["at"].isoformat(),
        }
        for r in rows
    ]
