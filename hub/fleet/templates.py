"""Configuration templates from the province (`province/templates`, over the bridge): the hub checks
each one against its own validation and the kinds its site accepts (`[fleet] province_templates`),
applies it live to the queue's site configuration or refuses it with a reason, and answers on
`province/results` so the province shows the outcome too. Never anything straight to a device."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from appliance.i18n import message
from appliance.mqtt import Message, PayloadError
from hub.site import OpeningHours

from .province import PROVINCE_MAX_PAYLOAD

log = logging.getLogger("motcua.hub.fleet")

# kind → how the template's `body` is validated (the same models as the site TOML).
KINDS: dict[str, TypeAdapter[Any]] = {
    "opening_hours": TypeAdapter(OpeningHours),
    "rating_criteria": TypeAdapter(list[str]),
}
MAX_CRITERIA = 8


@dataclass(frozen=True)
class Outcome:
    status: str  # applied | refused
    key: str  # appliance.i18n message key
    values: dict[str, Any]


def check(kind: Any, body: Any, accepted: tuple[str, ...]) -> tuple[Any, Outcome | None]:
    """The validated value, or a refusal (pure)."""
    if kind not in KINDS:
        return None, Outcome("refused", "province_template_unknown", {"kind": str(kind)[:40]})
    if kind not in accepted:
        return None, Outcome("refused", "province_template_not_accepted", {"kind": kind})
    try:
        value = KINDS[kind].validate_python(body)
    except ValidationError as error:
        first = error.errors()[0]
        detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}".strip(": ")
        return None, Outcome("refused", "province_template_invalid", {"kind": kind, "detail": detail})
    if kind == "rating_criteria" and not (1 <= len(value) <= MAX_CRITERIA and all(c.strip() for c in value)):
        detail = f"1–{MAX_CRITERIA} non-empty criteria"
        return None, Outcome("refused", "province_template_invalid", {"kind": kind, "detail": detail})
    return value, None


def apply(service: Any, kind: str, value: Any) -> None:
    """Replace the part of the queue's (frozen) site configuration; readers see the new one."""
    site = service.site
    if kind == "opening_hours":
        service.site = site.model_copy(update={"opening_hours": value})
    elif kind == "rating_criteria":
        service.site = site.model_copy(
            update={"place": site.place.model_copy(update={"rating_criteria": value})}
        )


def answer(msg: Message, accepted: tuple[str, ...], tickets: Any, ts: str) -> dict[str, Any] | None:
    """Check and apply a `province/templates` message `{v, template_id, kind, body}` to the queue's
    site configuration (`tickets`); the answer for `province/results`, or None for a message to drop
    (unreadable, retained, without a template_id)."""
    try:
        body = msg.json(max_size=PROVINCE_MAX_PAYLOAD * 4)
    except PayloadError as error:
        log.warning("province template ignored: %s", error)
        return None
    template_id = body.get("template_id")
    if msg.retain or not isinstance(template_id, int) or isinstance(template_id, bool):
        log.warning("province template ignored: retained or without a template_id")
        return None
    kind = body.get("kind")
    value, refusal = check(kind, body.get("body"), accepted)
    if refusal is None and tickets is None:
        refusal = Outcome("refused", "province_template_unknown", {"kind": str(kind)})
    if refusal is None:
        apply(tickets, str(kind), value)
        outcome = Outcome("applied", "province_template_applied", {"kind": kind})
    else:
        outcome = refusal
    applied = outcome.status == "applied"
    result = {
        "v": 1,
        "template_id": template_id,
        "kind": str(kind)[:40],
        "status": outcome.status,
        "reason": None if applied else message(outcome.key, "vi", **outcome.values),
        "reason_en": None if applied else message(outcome.key, "en", **outcome.values),
        "ts": ts,
    }
    log.info("province template %s (%s): %s %s", template_id, kind, outcome.status, result["reason_en"])
    return result
