"""The administration pages (`/admin/services`, `/admin/counters`, `/admin/officers`,
`/admin/settings`, `/admin/audit`): tables of the live site and forms that call the administration
API (hub/web/admin_api.py) from static/admin.js, with the session's CSRF token.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, render_template

from ..admin import edits
from .admin_api import is_head, may_administer, require_administrator
from .app import language
from .security import known_user, web
from .texts import load_words, words

admin_pages = Blueprint("admin_pages", __name__)

SECTIONS = ("services", "counters", "officers", "priority_groups", "kiosks", "settings", "province", "audit")
TEXTS = load_words("admin")
ACTIONS = load_words("admin_actions")
DAY_NAMES = {"mon": "T2", "tue": "T3", "wed": "T4", "thu": "T5", "fri": "T6", "sat": "T7", "sun": "CN"}


def _t(key: str, **values: object) -> str:
    return words(TEXTS, key, language(), **values)


@admin_pages.app_context_processor
def _admin_link() -> dict[str, Any]:
    user = known_user()
    return {"can_administer": may_administer(user)}


def changes(entry: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The fields an audit entry changed: (field, before, after)."""
    before, after = entry.get("before") or {}, entry.get("after") or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [(key, before.get(key), after.get(key)) for key in keys if before.get(key) != after.get(key)]


def shown(value: Any) -> str:
    """A configuration value as the audit page shows it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, dict):  # e.g. a holiday: its date and name
        return " ".join(shown(v) for v in value.values())
    if isinstance(value, bool):
        return ("có" if value else "không") if language() == "vi" else ("yes" if value else "no")
    return str(value)


def template_fields(template: dict[str, Any], overridable: bool) -> list[tuple[str, str]]:
    """A template's locked (or overridable) fields as (where, value) lines, the same field with the
    same value on several services on one line (a "*" priority rule sets every service)."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for path, value in template["fields"]:
        part, item, name = path
        if (name in template["overridable"]) != overridable:
            continue
        grouped.setdefault((part, name, shown(value)), []).append(item or "")
    lines = []
    for (part, name, value), items in grouped.items():
        where = "/".join(x for x in (part, ", ".join(i for i in items if i), name) if x)
        lines.append((where, value))
    return lines


def _render(section: str, **values: Any) -> str:
    user = require_administrator()
    site = web().service.site
    return render_template(
        "admin_site.html",
        section=section,
        sections=SECTIONS,
        at=_t,
        site=site,
        is_admin=user.admin,
        is_head=is_head(user),
        as_json=lambda value: json.dumps(value, ensure_ascii=False),
        public_officer=edits.public_officer,
        dump=edits.dump,
        day_names=DAY_NAMES,
        action_label=lambda action: words(ACTIONS, action, language()),
        changes=changes,
        shown=shown,
        template_fields=template_fields,
        **values,
    )


def _section_page(section: str) -> Callable[[], str]:
    def page() -> str:
        return _render(section)

    return page


# The configuration pages differ only in their section of admin_site.html (audit reads its log;
# province, the templates in force).
for _section in (name for name in SECTIONS if name not in ("audit", "province")):
    admin_pages.add_url_rule(f"/admin/{_section}", _section, _section_page(_section), methods=["GET"])


@admin_pages.get("/admin/province")
def province() -> str:
    require_administrator()
    answers, in_force = web().service.province_templates()
    return _render("province", answers=answers, in_force=in_force)


@admin_pages.get("/admin/audit")
def audit() -> str:
    require_administrator()
    return _render("audit", entries=web().service.audit_log(limit=300))
