"""A report: rows of one grouping over a period, their total and the priority groups."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from appliance.i18n import PRIORITY_GROUPS
from appliance.timeutil import SITE_TZ, iso

from . import dossier_ratings, history
from .facts import DIMENSIONS, Cell
from .period import Period

DIMENSION_NAMES: dict[str, tuple[str, str]] = {
    "service": ("Lĩnh vực", "Service"),
    "counter": ("Quầy", "Counter"),
    "officer": ("Cán bộ", "Officer"),
    "hour": ("Giờ trong ngày", "Hour of day"),
    "day": ("Ngày", "Day"),
}
WEEKDAYS = ("T2", "T3", "T4", "T5", "T6", "T7", "CN")
NOT_CALLED = ("Chưa gọi / không rõ", "Not called / unknown")


@dataclass
class Report:
    period: Period
    by: str
    rows: list[dict[str, Any]]
    total: dict[str, Any]
    priority_groups: list[dict[str, Any]] = field(default_factory=list)
    rating_scale: int = 3
    site_name: str = ""
    # Ratings keyed to dossiers (QĐ 766) given in the period, per criterion; None: none kept here.
    dossier_ratings: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "v": 1,
            "site": self.site_name,
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "by": self.by,
            "rating_scale": self.rating_scale,
            "rows": self.rows,
            "total": self.total,
            "priority_groups": self.priority_groups,
            "dossier_ratings": self.dossier_ratings,
        }


class Names:
    """Display names and order of keys, from the site configuration."""

    def __init__(self, site: Any, language: str = "vi") -> None:
        en = language == "en"
        self.language = language
        self.services = {s.id: (s.name_en or s.name) if en else s.name for s in site.services}
        self.counters = {c.id: c.name for c in site.counters}
        self.officers = {o.username: o.name for o in site.officers}
        # The site's priority groups, in the head's order and by the names she gave (a group added
        # in the admin pages has no name in the law's list); the law's five name the rest.
        groups = getattr(site, "priority_groups", ())
        self.groups = {g.id: (g.name_en or g.name) if en else g.name for g in groups}
        self.group_order = list(dict.fromkeys([*self.groups, *PRIORITY_GROUPS]))

    def name(self, dim: str, key: str) -> str:
        en = self.language == "en"
        if dim == "service":
            return self.services.get(key, key)
        if dim == "counter":
            return self.counters.get(key, key) if key else NOT_CALLED[en]
        if dim == "officer":
            return self.officers.get(key, key) if key else NOT_CALLED[en]
        if dim == "hour":
            return f"{key}:00–{int(key) + 1:02d}:00"
        if dim == "day":
            day = date.fromisoformat(key)
            return f"{WEEKDAYS[day.weekday()]} {day:%d/%m/%Y}"
        if dim == "priority":
            if key in self.groups:
                return self.groups[key]
            names = PRIORITY_GROUPS.get(key)
            if names:
                return names[en]
            # A group removed since keeps its id; "" is a priority ticket without a group.
            return key or ("Ưu tiên khác" if not en else "Other priority")
        return key

    def order(self, dim: str, keys: list[str]) -> list[str]:
        configured = {"service": list(self.services), "counter": list(self.counters),
                      "officer": list(self.officers), "priority": self.group_order}.get(dim)  # fmt: skip
        if configured is None:
            return sorted(keys)
        rank = {key: i for i, key in enumerate(configured)}
        return sorted(keys, key=lambda k: (k == "", rank.get(k, len(rank)), k))


def build(
    conn: sqlite3.Connection, site: Any, period: Period, by: str, *, today: date, language: str = "vi"
) -> Report:
    if by not in DIMENSIONS:
        raise ValueError(f"by: {'|'.join(DIMENSIONS)}")
    facts_site = history.SiteFacts.of(site)
    live = history.refresh(conn, period, today, facts_site)
    return assemble(conn, site, period, by, live, language=language)


def build_all(
    conn: sqlite3.Connection, site: Any, period: Period, *, today: date, language: str = "vi"
) -> dict[str, Report]:
    """Every grouping of one period (the xlsx workbook, the PDF), summarising once."""
    live = history.refresh(conn, period, today, history.SiteFacts.of(site))
    return {by: assemble(conn, site, period, by, live, language=language) for by in DIMENSIONS}


def assemble(
    conn: sqlite3.Connection,
    site: Any,
    period: Period,
    by: str,
    live: dict[str, dict[tuple[str, str], Cell]],
    *,
    language: str = "vi",
) -> Report:
    names = Names(site, language)
    cells = history.cells_by_key(conn, by, period, live)
    total = Cell()
    rows = []
    for key in names.order(by, list(cells)):
        cell = cells[key]
        total.merge(cell)
        rows.append({"key": key, "name": names.name(by, key), **_measures(cell, by)})
    groups = history.cells_by_key(conn, "priority", period, live)
    priority = [
        {"group": key, "name": names.name("priority", key), **_measures(groups[key], "priority")}
        for key in names.order("priority", list(groups))
    ]
    return Report(
        period=period,
        by=by,
        rows=rows,
        total={"key": None, "name": "Tổng cộng" if language != "en" else "Total", **_measures(total, by)},
        priority_groups=priority,
        rating_scale=site.place.rating_scale,
        site_name=site.place.name,
        dossier_ratings=_dossier_ratings(conn, period),
    )


def _dossier_ratings(conn: sqlite3.Connection, period: Period) -> dict[str, Any] | None:
    start = datetime.combine(period.start, time(0), SITE_TZ)
    end = datetime.combine(period.end + timedelta(days=1), time(0), SITE_TZ)
    return dossier_ratings.summary(conn, iso(start), iso(end))


COUNTER_TIME = ("open_s", "paused_s", "idle_s")


def _measures(cell: Cell, by: str) -> dict[str, Any]:
    """A cell's measures; a counter's open/paused/idle time only where rows are counters."""
    measures = cell.measures()
    if by != "counter":
        for name in COUNTER_TIME:
            del measures[name]
    return measures
