"""The admin page's view of the central one-door system: `CentralRuntime.status()` as labelled rows.

Plain functions over the status dict: every key may be missing or None (an older runtime, a relay
switched off, a site without a results board) and the page still shows what it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from appliance.timeutil import SITE_TZ, parse_iso
from appliance.timeutil import now as site_now

from .texts import Language, text

Tone = Literal["", "ok", "warn", "error"]
DASH = "—"
JUST_NOW_S = 5.0


@dataclass(frozen=True)
class StatusRow:
    label: str
    value: str
    tone: Tone = ""


@dataclass(frozen=True)
class StatusGroup:
    title: str
    rows: list[StatusRow]


def human_age(seconds: float | None, language: Language = "vi") -> str:
    """'45 giây', '3 phút', '2 giờ 5 phút', '3 ngày 4 giờ' — how long something has waited."""
    if seconds is None:
        return DASH
    whole = max(0, round(seconds))
    if whole < 60:
        return text("age_seconds", language, count=whole)
    if whole < 3600:
        return text("age_minutes", language, count=whole // 60)
    if whole < 86400:
        return text("age_hours", language, hours=whole // 3600, minutes=whole % 3600 // 60)
    return text("age_days", language, days=whole // 86400, hours=whole % 86400 // 3600)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _count(value: object) -> str:
    number = _number(value)
    return DASH if number is None else str(int(number))


def _when(iso_time: object, age_s: object, now: datetime, language: Language) -> str:
    """'07:31 06/01 (3 phút trước)' of an ISO time; the age from `age_s` or computed against now."""
    if not isinstance(iso_time, str) or not iso_time:
        return DASH
    try:
        moment = parse_iso(iso_time)
    except ValueError:
        return iso_time[:19]
    if moment is None:
        return DASH
    age = _number(age_s)
    if age is None:
        age = (now - moment).total_seconds()
    stamp = moment.astimezone(SITE_TZ).strftime("%H:%M %d/%m/%Y")
    if age < JUST_NOW_S:
        ago = text("just_now", language)
    else:
        ago = text("ago", language, age=human_age(age, language))
    return f"{stamp} ({ago})"


BREAKER_TONES: dict[str, Tone] = {"closed": "ok", "open": "error", "half_open": "warn"}


def _breaker(label: str, state: object, language: Language) -> StatusRow | None:
    """A circuit breaker's state in words; None when the status does not say."""
    if not isinstance(state, str):
        return None
    key = f"central_breaker_{state}"
    words = text(key, language)
    return StatusRow(label, words if words != key else state, BREAKER_TONES.get(state, ""))


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def central_groups(
    status: Mapping[str, Any], language: Language = "vi", *, now: datetime | None = None
) -> list[StatusGroup]:
    """The rows the admin page shows, grouped: connection, relay, catalogue, results."""
    moment = now or site_now()

    def t(key: str, **values: object) -> str:
        return text(key, language, **values)

    adapter = status.get("adapter")
    adapter_key = f"central_adapter_{adapter}"
    adapter_text = (
        t(adapter_key)
        if isinstance(adapter, str) and t(adapter_key) != adapter_key
        else (str(adapter) if adapter else DASH)
    )
    connection = [
        StatusRow(t("central_adapter"), adapter_text),
        StatusRow(t("central_base_url"), str(status.get("base_url") or DASH)),
    ]
    lookups = _mapping(status.get("lookups"))
    lookup_breaker = _breaker(t("central_lookup_breaker"), lookups.get("breaker"), language)
    if lookup_breaker is not None:
        connection.append(lookup_breaker)
    groups = [StatusGroup(t("central_title"), connection)]

    relay_status = status.get("relay")
    if isinstance(relay_status, Mapping):
        backlog = _number(relay_status.get("backlog"))
        oldest = _number(relay_status.get("oldest_age_s"))
        dead = _number(relay_status.get("dead_letters"))
        relay = [
            StatusRow(t("central_backlog"), _count(backlog), "warn" if backlog else ""),
            StatusRow(
                t("central_oldest"),
                human_age(oldest, language) if backlog and oldest is not None else DASH,
                "warn" if backlog and oldest is not None and oldest >= 300 else "",
            ),
            StatusRow(t("central_dead_letters"), _count(dead), "error" if dead else ""),
        ]
        if "delivered" in relay_status:
            relay.append(StatusRow(t("central_delivered"), _count(relay_status.get("delivered"))))
        breaker = _breaker(t("central_breaker"), relay_status.get("breaker"), language)
        if breaker is not None:
            relay.append(breaker)
        if relay_status.get("last_error"):
            relay.append(StatusRow(t("central_last_error"), str(relay_status["last_error"]), "error"))
    else:
        relay = [StatusRow(t("central_backlog"), t("central_relay_off"))]
    groups.append(StatusGroup(t("central_relay"), relay))

    catalogue = _mapping(status.get("catalogue"))
    if catalogue:
        procedures = _number(catalogue.get("procedures"))
        rows = [StatusRow(t("central_procedures"), _count(procedures))]
        synced = _when(catalogue.get("synced_at"), catalogue.get("age_s"), moment, language)
        rows.append(
            StatusRow(
                t("central_synced"),
                t("central_never_synced") if synced == DASH else synced,
                "warn" if synced == DASH else "",
            )
        )
        if catalogue.get("error"):
            rows.append(
                StatusRow(t("central_last_error"), t("central_sync_error", error=catalogue["error"]), "error")
            )
        groups.append(StatusGroup(t("central_catalogue"), rows))

    results = _mapping(status.get("results"))
    if results:
        ready = _number(results.get("ready"))
        rows = [StatusRow(t("central_results_ready"), _count(ready))]
        fetched = _when(results.get("fetched_at"), None, moment, language)
        if results.get("stale"):
            fetched = f"{fetched} — {t('central_results_stale')}"
        rows.append(StatusRow(t("central_refreshed"), fetched, "warn" if results.get("stale") else ""))
        if results.get("error"):
            rows.append(StatusRow(t("central_last_error"), str(results["error"]), "error"))
        groups.append(StatusGroup(t("central_results"), rows))
    return groups
