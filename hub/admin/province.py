"""Configuration templates from the province, as the hub takes them: what each kind may set, how
it is laid over the live site (then validated as a whole by the site TOML's own models, and by the
queue engine when applied), which fields the site may still change, and where the hub keeps them.

Pure except for the few SQLite helpers at the end (the queue writer's connection and transaction).

A template sets *fields*: (part, item, field) paths of the site, e.g. ("services", "dat-dai",
"name") or ("opening_hours", None, "holidays"). The template names the fields a site may override
(`overridable`); every other field it sets is locked: the site's administrators cannot change it
while the template is in force (guard), and the next template of the kind sets it again. An
overridable field the site changed since the previous template of its kind keeps the site's value.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from appliance.config import ID_PATTERN

from ..site import HubConfig, Period
from . import edits
from . import store as admin_store

MAX_CRITERIA = 8
Path = tuple[str, str | None, str]


class _Partial(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class CatalogueEntry(_Partial):
    """One service of the province's catalogue: the fields given are set (the others stay)."""

    id: str = Field(pattern=ID_PATTERN)
    name: str | None = Field(None, min_length=1)
    name_en: str | None = None
    default_service_minutes: float | None = Field(None, gt=0)
    target_wait_minutes: float | None = Field(None, gt=0)
    # Only for a service the site does not have yet: where its numbers go.
    prefix: str | None = Field(None, pattern=r"^[A-Z]{0,2}$")
    first: int | None = Field(None, ge=0)
    last: int | None = Field(None, ge=1)


class NumberFormat(_Partial):
    prefix: str | None = Field(None, pattern=r"^[A-Z]{0,2}$")
    first: int | None = Field(None, ge=0)
    last: int | None = Field(None, ge=1)
    digits: int | None = Field(None, ge=1, le=6)


class PriorityRule(_Partial):
    priority_rule: Literal["strict", "interleave"] | None = None
    interleave_every: int | None = Field(None, ge=1, le=20)


class HoursTemplate(_Partial):
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = None
    periods: list[Period] | None = None
    refuse_tickets_outside: bool | None = None


class Holiday(_Partial):
    date: date
    name: str = Field(min_length=1, max_length=80)


MODELS: dict[str, TypeAdapter[Any]] = {
    "service_catalogue": TypeAdapter(list[CatalogueEntry]),
    "number_formats": TypeAdapter(dict[str, NumberFormat]),
    "priority_rules": TypeAdapter(dict[str, PriorityRule]),
    "opening_hours": TypeAdapter(HoursTemplate),
    "holidays": TypeAdapter(list[Holiday]),
    "rating_criteria": TypeAdapter(list[str]),
}


class TemplateRefused(ValueError):
    """A template the hub does not take: `key` is an appliance.i18n key, `values` its placeholders."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def _detail(error: ValidationError) -> str:
    first = error.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}".strip(": ")


def fields(kind: str, body: Any, site: HubConfig) -> dict[Path, Any]:
    """The fields template `body` of `kind` sets on `site` (TemplateRefused if it is not valid)."""
    try:
        value = MODELS[kind].validate_python(body)
    except ValidationError as error:
        raise TemplateRefused("province_template_invalid", kind=kind, detail=_detail(error)) from None
    found: dict[Path, Any] = {}
    have = {s.id for s in site.services}
    if kind == "service_catalogue":
        for entry in value:
            for name, item in entry.model_dump(exclude_none=True, exclude={"id"}).items():
                if name in ("prefix", "first", "last") and entry.id in have:
                    continue  # a service's numbers are the number formats' business
                found[("services", entry.id, name)] = item
    elif kind in ("number_formats", "priority_rules"):
        unknown = [s for s in value if s != "*" and s not in have]
        if kind == "number_formats" and "*" in value:
            raise TemplateRefused("province_template_invalid", kind=kind, detail="*: one service at a time")
        if unknown and len(unknown) == len(value):
            raise TemplateRefused("province_template_no_service", kind=kind, services=", ".join(unknown))
        for service in site.services:
            rule = value.get(service.id) or value.get("*")
            for name, item in (rule.model_dump(exclude_none=True) if rule else {}).items():
                found[("services", service.id, name)] = item
    elif kind == "opening_hours":
        for name, item in value.model_dump(mode="json", exclude_none=True).items():
            found[("opening_hours", None, name)] = item
    elif kind == "holidays":
        found[("opening_hours", None, "holidays")] = [h.model_dump(mode="json") for h in value]
    elif kind == "rating_criteria":
        if not (1 <= len(value) <= MAX_CRITERIA and all(c.strip() for c in value)):
            detail = f"1–{MAX_CRITERIA} non-empty criteria"
            raise TemplateRefused("province_template_invalid", kind=kind, detail=detail)
        found[("place", None, "rating_criteria")] = value
    return found


def _key(part: str) -> str:
    return edits.KEY_FIELD.get(part, "id")


def label(path: Path) -> str:
    """services/dat-dai/name, opening_hours/holidays: a field as the pages show it."""
    return "/".join(p for p in path if p)


def read(data: dict[str, Any], path: Path) -> Any:
    """The value at `path` of a site dumped as JSON (None if absent)."""
    part, item, name = path
    if item is None:
        return (data.get(part) or {}).get(name)
    for entry in data.get(part) or []:
        if entry.get(_key(part)) == item:
            return entry.get(name)
    return None


def _write(data: dict[str, Any], path: Path, value: Any) -> None:
    part, item, name = path
    if item is None:
        data.setdefault(part, {})[name] = value
        return
    for entry in data[part]:
        if entry.get(_key(part)) == item:
            entry[name] = value
            return
    data[part].append({_key(part): item, name: value})  # a new service of the catalogue


def lay_over(
    site: HubConfig, found: dict[Path, Any], overridable: list[str], previous: dict[Path, Any] | None
) -> HubConfig:
    """`site` with the template's fields set, validated as a whole (TemplateRefused if not valid).
    An overridable field the site changed since the `previous` template of the kind stays the site's."""
    data = site.model_dump(mode="json")
    for path, value in found.items():
        overridden = previous is not None and path in previous and read(data, path) != previous[path]
        if path[2] in overridable and overridden:
            continue  # the site's own choice, which the template allows
        _write(data, path, value)
    try:
        return HubConfig.model_validate(data)
    except ValidationError as error:
        detail = edits._explain(error).replace("Value error, ", "")  # pydantic's prefix says nothing
        raise TemplateRefused("province_template_conflict", detail=detail) from None


def guard(in_force: list[dict[str, Any]], before: HubConfig, after: HubConfig) -> None:
    """Refuse (TemplateRefused) a site edit that changes a field a template in force locks."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    for template in in_force:
        for raw, _ in template["fields"]:
            path: Path = (raw[0], raw[1], raw[2])
            if path[2] in template["overridable"]:
                continue
            if read(old, path) != read(new, path):
                raise TemplateRefused(
                    "province_template_locked", field=label(path), template=template["name"]
                )


# ---------------------------------------------------------------------- the hub's SQLite file
def ensure_schema(conn: sqlite3.Connection) -> None:
    admin_store.ensure_schema(conn)  # the table is created with the live configuration's


def write_answer(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    """One template and what became of it (in the queue writer's transaction)."""
    conn.execute(
        "INSERT INTO province_templates (template_id, kind, name, status, reason, reason_en, fields,"
        " overridable, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            row["template_id"],
            row["kind"],
            row["name"],
            row["status"],
            row.get("reason"),
            row.get("reason_en"),
            json.dumps([[list(p), v] for p, v in row.get("fields", {}).items()], ensure_ascii=False),
            json.dumps(row.get("overridable") or [], ensure_ascii=False),
            row["ts"],
        ),
    )


def _row(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "template_id": row["template_id"],
        "kind": row["kind"],
        "name": row["name"],
        "status": row["status"],
        "reason": row["reason"],
        "reason_en": row["reason_en"],
        "fields": json.loads(row["fields"] or "[]"),
        "overridable": json.loads(row["overridable"] or "[]"),
        "ts": row["ts"],
    }


def read_answers(conn: sqlite3.Connection, limit: int = 50) -> list[dict[str, Any]]:
    """The latest templates received, newest first."""
    ensure_schema(conn)
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row  # this cursor only: the connection is shared
    return [
        _row(r) for r in cursor.execute("SELECT * FROM province_templates ORDER BY id DESC LIMIT ?", (limit,))
    ]


def read_in_force(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The template of each kind last applied (the one whose locks hold)."""
    ensure_schema(conn)
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    rows = cursor.execute(
        "SELECT * FROM province_templates WHERE id IN"
        " (SELECT max(id) FROM province_templates WHERE status = 'applied' GROUP BY kind) ORDER BY kind"
    )
    return [_row(r) for r in rows]


def previous_fields(in_force: list[dict[str, Any]], kind: str) -> dict[Path, Any] | None:
    for template in in_force:
        if template["kind"] == kind:
            return {(p[0], p[1], p[2]): v for p, v in template["fields"]}
    return None
