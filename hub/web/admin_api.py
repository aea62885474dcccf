"""Administration API (contract: docs/contract.md, "Administration"): services, counters and
officers of the live site, its settings, and the audit log.

Administrators and heads of office (`head = true`) may change the site; a head may not create,
change or remove an administrator. Every change is validated by the site TOML's own rules
(hub.admin.edits), applied live by the queue's writer and written with its audit entry in one
transaction (QueueService.reconfigure).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request

from appliance.errors import MotcuaError

from ..admin import edits, province
from .api import json_body, refusal
from .auth import User
from .security import AuthRefused, require_user, web

log = logging.getLogger("motcua.hub.web")

admin_api = Blueprint("admin_api", __name__)

_EDIT_LOCK = edits.EDIT_LOCK


def is_head(user: User | None) -> bool:
    if user is None:
        return False
    spec = edits.find(web().service.site, "officers", user.username)
    return bool(spec is not None and spec.head and not spec.disabled)


def may_administer(user: User | None) -> bool:
    return user is not None and (user.admin or is_head(user))


def require_administrator() -> User:
    user = require_user()
    if not may_administer(user):
        raise AuthRefused("admin_forbidden")
    return user


def _view(kind: str, item: Any) -> dict[str, Any]:
    return edits.public_officer(item) if kind == "officers" else edits.dump(item)


def _audit_view(kind: str, item: Any) -> dict[str, Any] | None:
    return None if item is None else _view(kind, item)


def _guard_officer_edit(user: User, before: Any, after: Any) -> None:
    """A head runs the office's officers, not its administrators."""
    if user.admin:
        return
    if (before is not None and before.admin) or (after is not None and after.admin):
        raise AuthRefused("admin_only")


def _guard_province(site: Any, new_site: Any) -> None:
    """A field a province template in force locks stays as the template set it."""
    _, in_force = web().service.province_templates()
    try:
        province.guard(in_force, site, new_site)
    except province.TemplateRefused as refused:
        raise edits.EditError(refused.key, **refused.values) from None


def apply_edit(user: User, kind: str, action: str, key: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """Create, update or delete one item; returns {item?, password?}. Raises MotcuaError/AuthRefused."""
    service = web().service
    lang = "en" if request.args.get("lang") == "en" else "vi"
    with _EDIT_LOCK:
        site = service.site
        before = after = None
        if action == "create":
            new_site, after = edits.create(site, kind, data)
            key = edits.item_key(kind, after)
        elif action == "update":
            assert key is not None
            new_site, before, after = edits.update(site, kind, key, data)
        else:
            assert key is not None
            new_site, before = edits.delete(site, kind, key)
        if kind == "officers":
            _guard_officer_edit(user, before, after)
        _guard_province(site, new_site)
        entry = {
            "kind": kind,
            "object_id": key,
            "action": action,
            "before": _audit_view(kind, before),
            "after": _audit_view(kind, after),
        }
        service.reconfigure(new_site, [entry], username=user.username, language=lang)
        answer: dict[str, Any] = {}
        if after is not None:
            answer["item"] = _view(kind, after)
        if kind == "officers":
            created = web().users.ensure_officers(new_site.officers)
            if key in created:
                answer["password"] = created[key]  # shown once, to the one who created the account
    log.info("%s: %s %s %s", user.username, action, kind, key)
    return answer


def reset_officer_password(user: User, username: str) -> str:
    service = web().service
    with _EDIT_LOCK:
        spec = edits.find(service.site, "officers", username)
        if spec is None:
            raise edits.EditError("admin_not_found", id=username)
        _guard_officer_edit(user, spec, None)
        entry = {
            "kind": "officers",
            "object_id": username,
            "action": "reset_password",
            "before": None,
            "after": None,
        }
        # Nothing of the site changes; the audit entry is written by the queue's writer all the same.
        service.reconfigure(service.site, [entry], username=user.username)
        password = web().users.create_or_reset(username)
    return password


def apply_settings(user: User, part: str, data: dict[str, Any]) -> dict[str, Any]:
    service = web().service
    with _EDIT_LOCK:
        new_site, before, after = edits.update_settings(service.site, part, data)
        _guard_province(service.site, new_site)
        entry = {
            "kind": "settings",
            "object_id": part,
            "action": "update",
            "before": before.model_dump(mode="json"),
            "after": after.model_dump(mode="json"),
        }
        service.reconfigure(new_site, [entry], username=user.username)
    return after.model_dump(mode="json")


@admin_api.errorhandler(MotcuaError)
def _refused(error: MotcuaError) -> Response:
    return refusal(error)


def _kind(kind: str) -> str:
    if kind not in edits.KINDS:
        raise edits.EditError("admin_not_found", id=kind)
    return kind


@admin_api.get("/api/v1/admin/<kind>")
def list_items(kind: str) -> Response:
    require_administrator()
    if kind == "audit":
        return audit()
    _kind(kind)
    items = [_view(kind, item) for item in getattr(web().service.site, kind)]
    return jsonify({kind: items})


@admin_api.post("/api/v1/admin/<kind>")
def create_item(kind: str) -> tuple[Response, int]:
    user = require_administrator()
    return jsonify(apply_edit(user, _kind(kind), "create", None, json_body())), 201


@admin_api.get("/api/v1/admin/<kind>/<key>")
def get_item(kind: str, key: str) -> Response:
    require_administrator()
    item = edits.find(web().service.site, _kind(kind), key)
    if item is None:
        raise edits.EditError("admin_not_found", id=key)
    return jsonify(_view(kind, item))


@admin_api.put("/api/v1/admin/<kind>/<key>")
def update_item(kind: str, key: str) -> Response:
    user = require_administrator()
    return jsonify(apply_edit(user, _kind(kind), "update", key, json_body()))


@admin_api.delete("/api/v1/admin/<kind>/<key>")
def delete_item(kind: str, key: str) -> Response:
    user = require_administrator()
    return jsonify(apply_edit(user, _kind(kind), "delete", key, {}))


@admin_api.post("/api/v1/admin/officers/<username>/reset-password")
def reset_password(username: str) -> Response:
    user = require_administrator()
    return jsonify({"username": username, "password": reset_officer_password(user, username)})


@admin_api.get("/api/v1/admin/settings/<part>")
def get_settings(part: str) -> Response:
    require_administrator()
    if part not in edits.SETTINGS:
        raise edits.EditError("admin_not_found", id=part)
    return jsonify(getattr(web().service.site, part).model_dump(mode="json"))


@admin_api.put("/api/v1/admin/settings/<part>")
def put_settings(part: str) -> Response:
    user = require_administrator()
    if part not in edits.SETTINGS:
        raise edits.EditError("admin_not_found", id=part)
    return jsonify(apply_settings(user, part, json_body()))


def audit() -> Response:
    try:
        limit = min(1000, max(1, int(request.args.get("limit", "200"))))
        before = request.args.get("before")
        before_id = int(before) if before else None
    except ValueError:
        raise edits.EditError("admin_invalid", detail="limit, before: integers") from None
    return jsonify({"entries": web().service.audit_log(limit=limit, before_id=before_id)})
