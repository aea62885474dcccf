"""What a technician must know about a device, from its retained state and health (pure).

`summarise` picks the few health facts worth a glance (paper, scanner attached, board connected,
sound); `alerts_for` turns them, and the time a device has been offline, into alerts. Both take
plain dicts as the devices publish them, so they are tested without MQTT.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from appliance.i18n import message
from appliance.timeutil import parse_iso

Level = Literal["ok", "warning", "error", "unknown"]


@dataclass(frozen=True)
class HealthItem:
    """One fact: an i18n key for its name, one for its value, and how worrying it is."""

    name_key: str
    value_key: str
    level: Level

    def name(self, language: str = "vi") -> str:
        return message(self.name_key, _lang(language))

    def value(self, language: str = "vi") -> str:
        return message(self.value_key, _lang(language))


@dataclass(frozen=True)
class Alert:
    device_id: str
    level: Literal["warning", "error"]
    key: str  # appliance.i18n key
    values: tuple[tuple[str, str], ...] = ()

    def text(self, language: str = "vi") -> str:
        return message(self.key, _lang(language), device=self.device_id, **dict(self.values))

    @property
    def ident(self) -> tuple[str, str]:
        return self.device_id, self.key


def _lang(language: str) -> Literal["vi", "en"]:
    return "en" if language == "en" else "vi"


_PAPER: dict[str, tuple[str, Level]] = {
    "ok": ("fleet_paper_ok", "ok"),
    "near_end": ("fleet_paper_near_end", "warning"),
    "out": ("fleet_paper_out", "error"),
    "unknown": ("fleet_value_unknown", "unknown"),
}


def _either(what: str, good: bool, good_key: str, bad_key: str, bad_level: Level = "error") -> HealthItem:
    """A fact that is fine or not: `fleet_health_<what>` is its name."""
    return HealthItem(f"fleet_health_{what}", good_key if good else bad_key, "ok" if good else bad_level)


def summarise(role: str | None, health: Mapping[str, Any] | None) -> list[HealthItem]:
    """The health facts of one device that the fleet page shows."""
    if not health:
        return []
    items: list[HealthItem] = []
    paper = health.get("paper")
    if isinstance(paper, str):
        key, level = _PAPER.get(paper, ("fleet_value_unknown", "unknown"))
        items.append(HealthItem("fleet_health_paper", key, level))
    if role == "printer" and "online" in health:
        online = health.get("online")
        if online is None:
            items.append(HealthItem("fleet_health_printer", "fleet_value_unknown", "unknown"))
        else:
            answering = bool(online)
            items.append(_either("printer", answering, "fleet_printer_ready", "fleet_printer_not_answering"))
    scanner = health.get("scanner")
    if isinstance(scanner, str):
        attached = scanner == "attached"
        keys = ("fleet_scanner_attached", "fleet_scanner_detached")
        items.append(_either("scanner", attached, *keys, bad_level="warning"))
    board = health.get("board")
    if isinstance(board, Mapping) and "ok" in board:
        items.append(_either("board", bool(board.get("ok")), "fleet_board_connected", "fleet_board_error"))
    audio = health.get("audio")
    if isinstance(audio, str):
        voiced = audio != "no voice pack"
        items.append(_either("audio", voiced, "fleet_audio_ok", "fleet_audio_missing", "warning"))
    return items


def offline_minutes(offline_since: str | None, moment: datetime) -> float | None:
    since = _parse(offline_since)
    if since is None:
        return None
    return max(0.0, (moment - since).total_seconds() / 60)


def heartbeat_lost(silent_for_s: float, heartbeat_s: object, limit_s: float) -> bool:
    """Whether a device that said it reports every `heartbeat_s` (its health) and has been silent
    for `silent_for_s` is gone: silent longer than `limit_s` and than two heartbeats. A device of
    an older version announces no heartbeat and is never judged by its silence."""
    if isinstance(heartbeat_s, bool) or not isinstance(heartbeat_s, int | float) or heartbeat_s <= 0:
        return False
    return silent_for_s > max(limit_s, 2 * float(heartbeat_s))


def alerts_for(
    device_id: str,
    role: str | None,
    *,
    online: bool | None,
    offline_since: str | None,
    health: Mapping[str, Any] | None,
    moment: datetime,
    offline_after_s: float,
    silent_since: str | None = None,
) -> list[Alert]:
    """Alerts of one device: silent past its heartbeat (`silent_since`), offline for longer than
    `offline_after_s`, paper near its end or out, a printer that does not answer, a scanner
    unplugged, a board not connected."""
    alerts: list[Alert] = []
    if silent_since is not None:
        # Its retained state may still say "online" (it died while the broker was down): its
        # silence says otherwise, and that is an alert at once (the limit has passed already).
        since = _parse(silent_since)
        minutes = offline_minutes(silent_since, moment) or 0.0
        values = (("minutes", str(int(minutes))), ("since", since.strftime("%H:%M %d/%m") if since else "?"))
        return [Alert(device_id, "error", "fleet_alert_heartbeat", values)]
    if online is False:
        minutes = offline_minutes(offline_since, moment)
        if minutes is not None and minutes * 60 >= offline_after_s:
            since = _parse(offline_since)
            alerts.append(
                Alert(
                    device_id,
                    "error",
                    "fleet_alert_offline",
                    (
                        ("minutes", str(int(minutes))),
                        ("since", since.strftime("%H:%M %d/%m") if since else "?"),
                    ),
                )
            )
        # What an offline device last said about itself may be stale: say only that it is offline.
        return alerts
    for item in summarise(role, health):
        if item.level in ("ok", "unknown"):
            continue
        key = {
            "fleet_paper_near_end": "fleet_alert_paper_near_end",
            "fleet_paper_out": "fleet_alert_paper_out",
            "fleet_printer_not_answering": "fleet_alert_printer_not_answering",
            "fleet_scanner_detached": "fleet_alert_scanner_detached",
            "fleet_board_error": "fleet_alert_board_error",
            "fleet_audio_missing": "fleet_alert_audio_missing",
        }.get(item.value_key)
        if key is not None:
            alerts.append(Alert(device_id, "error" if item.level == "error" else "warning", key))
    return alerts


def _parse(text: str | None) -> datetime | None:
    try:
        return parse_iso(text)
    except ValueError:
        return None
