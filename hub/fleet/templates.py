"""Configuration templates from the province (`province/templates`, over the bridge): the hub checks
each one against the kinds its site accepts (`[fleet] province_templates`) and its own validation
(hub.admin.province lays the template over the live site; the site TOML's models and the queue
engine then accept or refuse the result), applies it live through the same path as the admin pages
(QueueService.reconfigure: one transaction with its audit entry and the template's record), or
refuses it with a reason, and answers on `province/results` so the province shows the outcome too.
Never anything straight to a device."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from appliance.i18n import message
from appliance.mqtt import Message, PayloadError
from appliance.rpc import RpcError
from appliance.template_kinds import TEMPLATE_KINDS
from hub.admin import edits
from hub.admin import province as rules

from .province import PROVINCE_MAX_PAYLOAD

log = logging.getLogger("motcua.hub.fleet")

# Applying a template waits for the queue's writer: never on the MQTT network thread, and templates
# one after the other in the order they came.
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="province-template")


def in_turn(handler: Callable[[Message], None], msg: Message) -> None:
    def run() -> None:
        try:
            handler(msg)
        except Exception:
            log.exception("province template on %s failed", msg.topic)

    _WORKER.submit(run)


def _refusal(key: str, **values: Any) -> tuple[str, str]:
    return message(key, "vi", **values), message(key, "en", **values)


def _apply(service: Any, kind: str, body: Any, row: dict[str, Any]) -> tuple[str, str] | None:
    """Lay the template over the live site and apply it; None when applied, else the reason."""
    with edits.EDIT_LOCK:
        site = service.site
        _, in_force = service.province_templates()
        try:
            found = rules.fields(kind, body, site)
            new_site = rules.lay_over(site, found, row["overridable"], rules.previous_fields(in_force, kind))
        except rules.TemplateRefused as refused:
            return _refusal(refused.key, **{"kind": kind, **refused.values})
        row["fields"] = found
        data = site.model_dump(mode="json")
        audit = {
            "kind": "province_template",
            "object_id": kind,
            "action": "update",
            "before": {rules.label(p): rules.read(data, p) for p in found},
            "after": {rules.label(p): rules.read(new_site.model_dump(mode="json"), p) for p in found},
        }
        try:
            service.reconfigure(new_site, [audit], username="province", province={**row, "status": "applied"})
        except RpcError as error:  # the engine's own rules (numbers issued today, a service in use)
            row["fields"] = {}
            return error.message, error.message_en or error.message
    return None


def _answered(service: Any, template_id: int) -> dict[str, Any] | None:
    if service is None:
        return None
    answers, _ = service.province_templates()
    return next((a for a in answers if a["template_id"] == template_id), None)


def answer(msg: Message, accepted: tuple[str, ...], service: Any, ts: str) -> dict[str, Any] | None:
    """Check and apply a `province/templates` message `{v, template_id, kind, name, body,
    overridable}` to the queue's live site (`service`, a hub.service.QueueService); the answer for
    `province/results`, or None for a message to drop (unreadable, retained, without a template_id)."""
    try:
        body = msg.json(max_size=PROVINCE_MAX_PAYLOAD * 4)
    except PayloadError as error:
        log.warning("province template ignored: %s", error)
        return None
    template_id = body.get("template_id")
    if msg.retain or not isinstance(template_id, int) or isinstance(template_id, bool):
        log.warning("province template ignored: retained or without a template_id")
        return None
    kind = str(body.get("kind"))[:40]
    overridable = body.get("overridable") or []
    if not (isinstance(overridable, list) and all(isinstance(f, str) for f in overridable)):
        overridable = []
    row: dict[str, Any] = {
        "template_id": template_id,
        "kind": kind,
        "name": str(body.get("name") or kind)[:120],
        "overridable": overridable,
        "ts": ts,
        "fields": {},
    }
    reason: tuple[str, str] | None
    earlier = _answered(service, template_id)
    if earlier is not None:  # sent again (a redelivery after a restart): the same answer, nothing redone
        return {
            "v": 1,
            **{k: earlier[k] for k in ("template_id", "kind", "status", "reason", "reason_en")},
            "ts": ts,
        }
    if kind not in TEMPLATE_KINDS:
        reason = _refusal("province_template_unknown", kind=kind)
    elif kind not in accepted:
        reason = _refusal("province_template_not_accepted", kind=kind)
    elif service is None:
        reason = _refusal("province_template_unknown", kind=kind)
    else:
        reason = _apply(service, kind, body.get("body"), row)
    status = "applied" if reason is None else "refused"
    if reason is not None and service is not None:
        refused = {**row, "status": status, "reason": reason[0], "reason_en": reason[1]}
        try:  # recorded for the hub's pages too; nothing of the site changes
            with edits.EDIT_LOCK:
                service.reconfigure(service.site, [], username="province", province=refused)
        except RpcError as error:
            log.warning("province template %s: not recorded (%s)", template_id, error)
    result = {
        "v": 1,
        "template_id": template_id,
        "kind": kind,
        "status": status,
        "reason": reason[0] if reason else None,
        "reason_en": reason[1] if reason else None,
        "ts": ts,
    }
    log.info("province template %s (%s): %s %s", template_id, kind, status, result["reason_en"] or "")
    return result
