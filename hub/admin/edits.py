"""Edits of the live site configuration, validated by exactly the rules of the site TOML.

Pure: no I/O. Each function takes the current `HubConfig` and returns the new one (or raises
`EditError` with an appliance.i18n key and a readable detail), so the web layer, the tests and
`--export-site` all share one set of rules: the pydantic models of hub.site.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ValidationError

from appliance.config import Strict
from appliance.errors import MotcuaError

from ..site import CounterConfig, HubConfig, KioskSpec, OfficerSpec, PriorityGroupSpec, ServiceSpec

Kind = Literal["services", "counters", "officers", "kiosks", "priority_groups"]
KINDS: tuple[Kind, ...] = ("services", "counters", "officers", "kiosks", "priority_groups")
MODELS: dict[str, type[Strict]] = {
    "services": ServiceSpec,
    "counters": CounterConfig,
    "officers": OfficerSpec,
    "kiosks": KioskSpec,
    "priority_groups": PriorityGroupSpec,
}
KEY_FIELD = {kind: "username" if kind == "officers" else "id" for kind in KINDS}
# Settings edited as one object (PUT replaces the given keys).
SETTINGS = ("place", "opening_hours", "result_return")
# `position` (0-based) in a create or update moves the item in the site's list: the order the kiosk
# offers priority groups (and the admin pages list everything) in.
POSITION = "position"
# The parts of the site the live configuration holds; everything else stays the TOML's.
LIVE_PARTS = (*KINDS, *SETTINGS)


# Two edits at once (two heads saving, a head and a province template) must not lose one of them:
# read, validate and apply in turn.
EDIT_LOCK = threading.Lock()


class EditError(MotcuaError):
    """A refused edit; `code` is an appliance.i18n key, `values` its placeholders."""

    def __init__(self, code: str, **values: Any) -> None:
        super().__init__(code, values)
        self.code = code
        self.values = values


def _explain(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:3]:
        where = ".".join(str(p) for p in item["loc"])
        parts.append(f"{where}: {item['msg']}" if where else str(item["msg"]))
    return "; ".join(parts)


def item_key(kind: str, item: Any) -> str:
    return str(getattr(item, KEY_FIELD[kind]))


def find(site: HubConfig, kind: str, key: str) -> Any | None:
    return next((item for item in getattr(site, kind) if item_key(kind, item) == key), None)


def dump(item: Any) -> dict[str, Any]:
    return item.model_dump(mode="json")


def rebuild(site: HubConfig, **parts: Any) -> HubConfig:
    """The site with `parts` replaced, validated as a whole (uniqueness, references, blocks)."""
    data = site.model_dump(mode="json")
    for name, value in parts.items():
        data[name] = (
            [dump(v) if not isinstance(v, dict) else v for v in value] if isinstance(value, list) else value
        )
    try:
        return HubConfig.model_validate(data)
    except ValidationError as error:
        raise EditError("admin_invalid", detail=_explain(error)) from None


def _parse(kind: str, data: Mapping[str, Any]) -> Any:
    try:
        return MODELS[kind].model_validate(dict(data))
    except ValidationError as error:
        raise EditError("admin_invalid", detail=_explain(error)) from None


def _position(data: Mapping[str, Any]) -> tuple[dict[str, Any], int | None]:
    """The item's fields without `position`, and the position asked for (None: where it is)."""
    fields = dict(data)
    position = fields.pop(POSITION, None)
    if position is not None and (isinstance(position, bool) or not isinstance(position, int) or position < 0):
        raise EditError("admin_invalid", detail=f"{POSITION}: a whole number from 0")
    return fields, position


def _placed(items: list[Any], item: Any, key: str, kind: str, position: int | None) -> list[Any]:
    """`items` with `item` (replacing the one with `key`, or appended) at `position`."""
    at = next((i for i, old in enumerate(items) if item_key(kind, old) == key), None)
    rest = [old for old in items if item_key(kind, old) != key]
    index = len(rest) if position is None and at is None else (at if position is None else position)
    assert index is not None
    rest.insert(min(index, len(rest)), item)
    return rest


def create(site: HubConfig, kind: str, data: Mapping[str, Any]) -> tuple[HubConfig, Any]:
    fields, position = _position(data)
    item = _parse(kind, fields)
    key = item_key(kind, item)
    if find(site, kind, key) is not None:
        raise EditError("admin_exists", id=key)
    return rebuild(site, **{kind: _placed(list(getattr(site, kind)), item, key, kind, position)}), item


def update(site: HubConfig, kind: str, key: str, data: Mapping[str, Any]) -> tuple[HubConfig, Any, Any]:
    """PUT: the given fields replace the item's (the others stay); the key cannot change."""
    before = find(site, kind, key)
    if before is None:
        raise EditError("admin_not_found", id=key)
    fields, position = _position(data)
    merged = {**dump(before), **fields, KEY_FIELD[kind]: key}
    if kind == "officers" and "password_hash" not in fields:
        merged["password_hash"] = before.password_hash  # never shown, never lost by an edit
    item = _parse(kind, merged)
    items = _placed(list(getattr(site, kind)), item, key, kind, position)
    return rebuild(site, **{kind: items}), before, item


def delete(site: HubConfig, kind: str, key: str) -> tuple[HubConfig, Any]:
    before = find(site, kind, key)
    if before is None:
        raise EditError("admin_not_found", id=key)
    if kind == "services":
        users = [c.id for c in site.counters if key in c.services]
        if users:
            raise EditError("admin_service_at_counters", id=key, counters=", ".join(users))
    if kind == "services":
        kiosks = [k.id for k in site.kiosks if key in k.services]
        if kiosks:
            raise EditError("admin_service_at_kiosks", id=key, kiosks=", ".join(kiosks))
    if kind == "counters":
        users = [o.username for o in site.officers if key in o.counters]
        if users:
            raise EditError("admin_counter_has_officers", id=key, officers=", ".join(users))
    items = [old for old in getattr(site, kind) if item_key(kind, old) != key]
    return rebuild(site, **{kind: items}), before


def update_settings(site: HubConfig, part: str, data: Mapping[str, Any]) -> tuple[HubConfig, Any, Any]:
    """PUT of `place` or `opening_hours`: the given keys replace the current ones."""
    before = getattr(site, part)
    merged = {**before.model_dump(mode="json"), **dict(data)}
    new = rebuild(site, **{part: merged})
    return new, before, getattr(new, part)


def live_parts(site: HubConfig) -> dict[str, Any]:
    """What the hub keeps as the live configuration (JSON-able)."""
    data = site.model_dump(mode="json")
    return {part: data[part] for part in LIVE_PARTS}


def overlay(site: HubConfig, parts: Mapping[str, Any]) -> HubConfig:
    """The TOML's site with the live configuration laid over it."""
    data = site.model_dump(mode="json")
    data.update({k: v for k, v in parts.items() if k in LIVE_PARTS})
    return HubConfig.model_validate(data)


def public_officer(officer: OfficerSpec) -> dict[str, Any]:
    data = dump(officer)
    data.pop("password_hash", None)
    return data


def export_toml(site: HubConfig) -> str:
    """The whole live site as a TOML file `motcua hub -c` starts from."""
    import tomli_w

    data = site.model_dump(mode="json", exclude_none=True)
    return tomli_w.dumps(data)
