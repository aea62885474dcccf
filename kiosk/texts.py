"""What the kiosk says, built from appliance.i18n: waits, dates, opening hours, priority groups, ratings.

Pure functions; every string shown to people comes from the message catalogue (keys `kiosk_*`).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from appliance.i18n import Language, message
from appliance.timeutil import SITE_TZ, parse_iso

from .config import DAYS, OpeningHours

# The hub's priority groups (docs/contract.md), in the order the kiosk offers them.
PRIORITY_GROUPS: tuple[str, ...] = ("elderly", "disabled", "pregnant", "merit", "child")

# Rating levels, best first, as DOMAIN.md lists them for a 3- and a 5-level scale.
RATING_LEVELS: dict[int, tuple[tuple[int, str], ...]] = {
    3: ((3, "kiosk_rating_very_satisfied"), (2, "kiosk_rating_satisfied"), (1, "kiosk_rating_unsatisfied")),
    5: (
        (5, "kiosk_rating_very_satisfied"),
        (4, "kiosk_rating_satisfied"),
        (3, "kiosk_rating_neutral"),
        (2, "kiosk_rating_unsatisfied"),
        (1, "kiosk_rating_very_unsatisfied"),
    ),
}


def t(key: str, language: Language, **values: object) -> str:
    return message(key, language, **values)


def priority_label(group: str | None, language: Language) -> str:
    if group is None:
        return t("kiosk_priority_none", language)
    return t(f"kiosk_priority_{group}", language)


def format_wait(seconds: float | None, language: Language) -> str:
    """ "12 phút", "1 giờ 05 phút", "dưới 1 phút": rounded up, since a promise kept beats one broken."""
    if seconds is None or seconds < 60:
        return t("kiosk_wait_soon", language)
    minutes = int(-(-seconds // 60))
    if minutes < 60:
        return t("kiosk_wait_minutes", language, minutes=minutes)
    return t("kiosk_wait_hours", language, hours=minutes // 60, minutes=f"{minutes % 60:02d}")


def format_datetime(value: str | None, language: Language) -> str | None:
    """An ISO time from the hub as people read it: "09:00, ngày 03/11/2023"; None if absent or bad."""
    try:
        moment = parse_iso(value) if value else None
    except ValueError:
        return None
    if moment is None:
        return None
    local = moment.astimezone(SITE_TZ)
    return t("kiosk_datetime", language, time=local.strftime("%H:%M"), date=local.strftime("%d/%m/%Y"))


def format_date(value: str | None) -> str | None:
    try:
        moment = parse_iso(value) if value else None
    except ValueError:
        return None
    return moment.astimezone(SITE_TZ).strftime("%d/%m/%Y") if moment else None


def weekday(moment: datetime, language: Language) -> str:
    return t(f"kiosk_day_{DAYS[moment.weekday()]}", language)


def describe_days(days: list[str], language: Language) -> str:
    """Runs of consecutive days as ranges: mon…fri + sun → "Thứ Hai – Thứ Sáu, Chủ Nhật"."""
    indexes = sorted({DAYS.index(day) for day in days if day in DAYS})  # type: ignore[arg-type]
    runs: list[list[int]] = []
    for index in indexes:
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    parts = []
    for run in runs:
        first = t(f"kiosk_day_{DAYS[run[0]]}", language)
        if len(run) == 1:
            parts.append(first)
        elif len(run) == 2:
            parts.append(f"{first}, {t(f'kiosk_day_{DAYS[run[1]]}', language)}")
        else:
            parts.append(
                t("kiosk_days_range", language, first=first, last=t(f"kiosk_day_{DAYS[run[-1]]}", language))
            )
    return ", ".join(parts)


def describe_hours(hours: OpeningHours, language: Language) -> str:
    """ "Thứ Hai – Thứ Bảy: 07:30 – 11:30 và 13:00 – 17:00"."""
    if not hours.periods:
        return t("hours_none", language)
    periods = t("kiosk_hours_and", language).join(f"{p.start} – {p.end}" for p in hours.periods)
    if not hours.days:
        return periods
    return t("kiosk_hours_periods", language, days=describe_days(list(hours.days), language), periods=periods)


def fold(text: str) -> str:
    """Lower case without diacritics (đ → d), single spaces: "Đăng ký" → "dang ky"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", bare.lower()).split())
