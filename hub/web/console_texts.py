"""Words of the finished officer console (transfer dialog, waiting list, hold, pause, feedback for
every action), Vietnamese first. Kept apart from texts.py: the console's JavaScript gets them as
`config.console`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from appliance.i18n import PRIORITY_GROUPS

from .texts import Language, catalogue, load_words

# Shown after a priority group whose paper the officer should see (the head sets which).
PROOF_ASKED = ("xem giấy tờ", "see the paper")

CONSOLE_TEXTS = load_words("console")
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
