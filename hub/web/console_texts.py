"""Words of the finished officer console (transfer dialog, waiting list, hold, pause, feedback for
every action), Vietnamese first. Kept apart from texts.py: the console's JavaScript gets them as
`config.console`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from appliance.i18n import PRIORITY_GROUPS

from .texts import Language, WordTable, catalogue

# Shown after a priority group whose paper the officer should see (the head sets which).
PROOF_ASKED = ("xem giấy tờ", "see the paper")

CONSOLE_TEXTS: WordTable = {
    "done_recall": ("Đã gọi lại số {number}", "Called {number} again"),
    "done_skip": ("Số {number}: vắng mặt", "{number}: did not show up"),
    "done_complete": ("Đã hoàn thành số {number}", "Completed {number}"),
    "done_start": ("Đang phục vụ số {number}", "Serving {number}"),
    "done_transfer": ("Đã chuyển số {number} sang {service}", "Transferred {number} to {service}"),
    "done_hold": ("Đã tạm giữ số {number}", "{number} is on hold"),
    "done_resume": ("Tiếp tục phục vụ số {number}", "Serving {number} again"),
    "done_reinstate": ("Số {number} đã trở lại hàng chờ", "{number} is back in the line"),
    "done_open": ("Quầy đã mở", "The counter is open"),
    "done_close": ("Quầy đã đóng", "The counter is closed"),
    "done_pause": ("Quầy tạm dừng: {reason}", "Counter paused: {reason}"),
    "transfer": ("Chuyển…", "Transfer…"),
    "transfer_title": ("Chuyển số {number} sang lĩnh vực", "Transfer {number} to service"),
    "position_front": ("Giữ thứ tự cũ (lên đầu hàng)", "Keep their place (queue front)"),
    "position_end": ("Xếp cuối hàng chờ", "End of the queue"),
    "cancel": ("Huỷ", "Cancel"),
    "hold": ("Tạm giữ", "Hold"),
    "resume": ("Tiếp tục", "Resume"),
    "held_tickets": ("Đang tạm giữ", "On hold"),
    "pause": ("Tạm dừng…", "Pause…"),
    "pause_title": ("Tạm dừng quầy — lý do", "Pause the counter — reason"),
    "pause_other": ("Lý do khác", "Other reason"),
    "pause_confirm": ("Tạm dừng", "Pause"),
    "paused": ("Tạm dừng: {reason}", "Paused: {reason}"),
    "waiting_list": ("Danh sách chờ", "Waiting list"),
    "number": ("Số", "Number"),
    "group": ("Đối tượng", "Group"),
    "waited": ("Đã chờ", "Waited"),
    "from": ("Chuyển từ", "From"),
    "call": ("Gọi", "Call"),
    "call_number": ("Gọi số", "Call number"),
    "call_number_placeholder": ("vd. 1005", "e.g. 1005"),
    "ordinary": ("Thường", "Ordinary"),
    "priority": ("Ưu tiên", "Priority"),
    "reason_priority": ("gọi trước vì ưu tiên: {group}", "called first, priority: {group}"),
    # An ordinary ticket called while a priority one waits, by the service's interleave rule.
    "reason_interleave": (
        "lượt thường: 1 ưu tiên sau {every} lượt thường",
        "ordinary turn: 1 priority after {every} ordinary",
    ),
    "reason_number": ("gọi theo số", "called by number"),
    "shortcuts_title": ("Phím tắt", "Keyboard shortcuts"),
}
PAUSE_REASONS: tuple[tuple[str, str], ...] = (
    ("Nghỉ giải lao", "Break"),
    ("Họp", "Meeting"),
    ("Hỗ trợ nghiệp vụ", "Helping a colleague"),
)
SHORTCUTS: tuple[tuple[str, str, str], ...] = (
    ("N", "Gọi số tiếp theo", "Call next"),
    ("L", "Gọi lại", "Recall"),
    ("V", "Vắng mặt", "No-show"),
    ("H", "Hoàn thành", "Complete"),
    ("C", "Chuyển… (luôn hỏi lĩnh vực)", "Transfer… (always asks)"),
    ("G", "Tạm giữ", "Hold"),
    ("S", "Gọi số cụ thể (ô nhập)", "Call a given number (field)"),
    ("Esc", "Đóng hộp thoại / xoá thông báo", "Close dialog / clear message"),
)


def group_labels(language: Language, groups: Sequence[Any] = ()) -> dict[str, str]:
    """Priority group id → its name as the officer reads it, from the site's list (hub.site
    PriorityGroupSpec; the law's five when none is given): "Người khuyết tật (xem giấy tờ)"."""
    en = language == "en"
    if not groups:
        return catalogue(PRIORITY_GROUPS, language)
    labels = {}
    for group in groups:
        name = (group.name_en or group.name) if en else group.name
        labels[group.id] = f"{name} ({PROOF_ASKED[en]})" if group.proof else name
    return labels


def console_texts(language: Language, groups: Sequence[Any] = ()) -> dict[str, object]:
    en = language == "en"
    return {
        "texts": catalogue(CONSOLE_TEXTS, language),
        "groups": group_labels(language, groups),
        "pause_reasons": [pair[en] for pair in PAUSE_REASONS],
        "shortcuts": [(key, en_words if en else vi_words) for key, vi_words, en_words in SHORTCUTS],
    }
