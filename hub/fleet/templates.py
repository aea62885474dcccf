"""Configuration templates from the province (`province/templates`, over the bridge): the hub checks
each one against its own validation and the kinds its site accepts (`[fleet] province_templates`),
applies it live to the queue's site configuration or refuses it with a reason, and answers on
`province/results` so the province shows the outcome too. Never anything straight to a device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from hub.site import OpeningHours

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
