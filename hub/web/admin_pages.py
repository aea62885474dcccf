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
from .texts import WordTable, words

admin_pages = Blueprint("admin_pages", __name__)

SECTIONS = ("services", "counters", "officers", "priority_groups", "kiosks", "settings", "province", "audit")
TEXTS: WordTable = {
    "services": ("Lĩnh vực", "Services"),
    "counters": ("Quầy", "Counters"),
    "officers": ("Cán bộ", "Officers"),
    "settings": ("Thông báo & giờ làm việc", "Messages & hours"),
    "priority_groups": ("Nhóm ưu tiên", "Priority groups"),
    "kiosks": ("Ki-ốt", "Kiosks"),
    "proof": ("Cần xem giấy tờ", "Proof asked"),
    "proof_note": (
        "Thứ tự trong bảng là thứ tự ki-ốt hiển thị. Cán bộ thấy nhóm ưu tiên và việc cần xem giấy tờ.",
        "The table's order is the kiosk's order. Officers see the group and whether to ask for proof.",
    ),
    "order": ("Thứ tự", "Order"),
    "move_up": ("Lên", "Up"),
    "move_down": ("Xuống", "Down"),
    "offered_services": ("Lĩnh vực trên ki-ốt (theo thứ tự)", "Services offered (in order)"),
    "all_services": ("Tất cả lĩnh vực", "Every service"),
    "rank_note": (
        "Ghi số thứ tự (1, 2, 3…) cho lĩnh vực ki-ốt hiển thị; để trống: không hiển thị. "
        "Không chọn lĩnh vực nào: ki-ốt hiển thị tất cả.",
        "Number the services the kiosk offers (1, 2, 3…); blank: not offered. None: every service.",
    ),
    "result_return": ("Quầy trả kết quả", "Result-return counter"),
    "result_service": ("Lĩnh vực trả kết quả", "Result-return service"),
    "result_counters": ("Quầy trả kết quả", "Counters handing results over"),
    "result_note": (
        "Không chọn quầy nào: mọi quầy phục vụ lĩnh vực trả kết quả.",
        "No counter ticked: every counter serving the result-return service.",
    ),
    "none": ("— Không —", "— None —"),
    "audit": ("Nhật ký thay đổi", "Change log"),
    "province": ("Mẫu của tỉnh", "Province templates"),
    "province_in_force": ("Mẫu cấu hình của tỉnh đang áp dụng", "Province templates in force"),
    "province_received": ("Mẫu đã nhận", "Templates received"),
    "province_none": ("Chưa nhận mẫu nào.", "None received yet."),
    "province_none_in_force": ("Không có mẫu nào đang áp dụng.", "No template in force."),
    "province_note": (
        "Trường bị khoá chỉ tỉnh thay đổi được; trường “điểm được sửa” thì điểm sửa được và giữ "
        "giá trị của mình khi tỉnh gửi mẫu mới.",
        "Locked fields only the province changes; overridable ones the site may change, and its own "
        "value is kept when the province sends a new template.",
    ),
    "template": ("Mẫu", "Template"),
    "kind": ("Loại", "Kind"),
    "locked": ("Khoá (tỉnh quy định)", "Locked (set by the province)"),
    "overridable": ("Điểm được sửa", "Overridable by the site"),
    "outcome": ("Kết quả", "Outcome"),
    "reason": ("Lý do", "Reason"),
    "applied": ("Đã áp dụng", "Applied"),
    "refused": ("Từ chối", "Refused"),
    "title": ("Quản trị", "Administration"),
    "id": ("Mã", "ID"),
    "name": ("Tên", "Name"),
    "name_en": ("Tên tiếng Anh", "English name"),
    "prefix": ("Tiền tố (chữ)", "Prefix (letters)"),
    "first": ("Số đầu", "First number"),
    "last": ("Số cuối", "Last number"),
    "digits": ("Số chữ số", "Digits"),
    "block": ("Dải số", "Number block"),
    "service_minutes": ("Thời gian phục vụ (phút)", "Service time (minutes)"),
    "target_wait": ("Chờ tối đa (phút)", "Target wait (minutes)"),
    "served_services": ("Lĩnh vực phục vụ", "Services served"),
    "priority_rule": ("Thứ tự ưu tiên", "Priority rule"),
    "strict": ("Ưu tiên luôn trước", "Priority always first"),
    "interleave": ("Xen kẽ", "Interleave"),
    "interleave_every": ("1 ưu tiên sau mỗi … số thường", "1 priority after every … ordinary"),
    "open_at_start": ("Mở khi khởi động", "Open at start"),
    "printer": ("Máy in biên nhận", "Receipt printer"),
    "username": ("Tên đăng nhập", "User name"),
    "assigned_counters": ("Quầy được giao", "Counters"),
    "head": ("Trưởng bộ phận", "Head of office"),
    "admin": ("Quản trị viên", "Administrator"),
    "disabled": ("Đã khoá", "Disabled"),
    "active": ("Đang hoạt động", "Active"),
    "role": ("Vai trò", "Role"),
    "officer": ("Cán bộ", "Officer"),
    "state": ("Trạng thái", "State"),
    "new": ("Thêm mới", "Add"),
    "edit": ("Sửa", "Edit"),
    "save": ("Lưu", "Save"),
    "cancel": ("Huỷ", "Cancel"),
    "delete": ("Xoá", "Delete"),
    "confirm_delete": ("Xoá “{id}”?", "Delete “{id}”?"),
    "reset_password": ("Cấp lại mật khẩu", "Reset password"),
    "disable": ("Khoá", "Disable"),
    "enable": ("Mở khoá", "Enable"),
    "hall_message": ("Thông báo trên màn hình sảnh", "Hall display message"),
    "ticket_footer": ("Dòng cuối phiếu số", "Ticket footer"),
    "days": ("Ngày làm việc", "Working days"),
    "refuse_outside": ("Không cấp số ngoài giờ", "Refuse numbers outside hours"),
    "when": ("Thời điểm", "When"),
    "who": ("Người thay đổi", "Who"),
    "what": ("Đối tượng", "What"),
    "action": ("Thao tác", "Action"),
    "change": ("Trước → sau", "Before → after"),
    "no_entries": ("Chưa có thay đổi nào.", "No changes yet."),
    "saved": ("Đã lưu.", "Saved."),
    "live_note": (
        "Mọi thay đổi có hiệu lực ngay (ki-ốt, màn hình, bảng LED) và được ghi vào nhật ký.",
        "Every change applies at once (kiosks, displays, LED boards) and is logged.",
    ),
    "block_note": (
        "Khi lĩnh vực đã cấp số trong ngày, chỉ được tăng số cuối (mở rộng dải số).",
        "Once a service issued numbers today, only its last number may grow (widen the block).",
    ),
}
ACTIONS: WordTable = {
    "create": ("Thêm", "Created"),
    "update": ("Sửa", "Changed"),
    "delete": ("Xoá", "Deleted"),
    "reset_password": ("Cấp lại mật khẩu", "Password reset"),
}
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
