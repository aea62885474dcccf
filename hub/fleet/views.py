"""One row of the fleet page from what the fleet knows of a device (pure: no I/O, no clock)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from appliance.timeutil import iso

from .health import Alert, alerts_for, heartbeat_lost, summarise
from .model import DeviceView, LiveState
from .settings import FleetSettings
from .store import DeviceRecord, Seen


def device_view(
    device_id: str,
    record: DeviceRecord | None,
    entry: LiveState,
    remembered: Seen | None,
    *,
    moment: datetime,
    heard_age: float | None,
    watch_heartbeat: bool,
    settings: FleetSettings,
    extra_alerts: list[Alert],
    code_expires_at: str | None,
) -> DeviceView:
    """The view of `device_id`: its record (None: seen on the broker, never enrolled), what was
    heard of it (`heard_age` seconds ago) and what the store remembers of its presence. A device
    silent beyond its heartbeat (`watch_heartbeat`: not the hub itself) is shown offline."""
    role = record.role if record else entry.role
    offline_since = entry.offline_since or (remembered.offline_since if remembered else None)
    online = entry.online
    health = dict(entry.health or {})
    silent_since = None
    lost = heard_age is not None and heartbeat_lost(heard_age, entry.heartbeat_s, settings.silent_after_s)
    if online and watch_heartbeat and lost and heard_age is not None:
        online = False
        silent_since = offline_since = iso(moment - timedelta(seconds=heard_age))
    alerts: list[Alert] = []
    if record is None or record.status == "active" or online is not None:
        alerts = alerts_for(
            device_id,
            role,
            online=online,
            offline_since=offline_since,
            health=health,
            moment=moment,
            offline_after_s=settings.offline_alert_s,
            silent_since=silent_since,
        )
    alerts += extra_alerts
    return DeviceView(
        device_id=device_id,
        role=role,
        place=str(record.place) if record else "",
        label=record.label if record else "",
        status=record.status if record else "unknown",
        online=online,
        version=entry.version,
        last_seen=entry.last_seen or (remembered.last_seen if remembered else None),
        offline_since=offline_since if online is False else None,
        health=health,
        health_items=tuple(summarise(role, health)),
        alerts=tuple(alerts),
        last_command=dict(entry.last_command) if entry.last_command else None,
        config_rev=record.config_rev if record else 0,
        code_expires_at=code_expires_at,
        heard_age_s=heard_age,
    )


def printers_for(
    device_id: str,
    role: str | None,
    record: DeviceRecord | None,
    records: Iterable[DeviceRecord],
    kiosk_printers: Mapping[str, str],
) -> list[str]:
    """Who prints a test page for `device_id`: itself if a printer, else the printers at its kiosk."""
    if role == "printer":
        return [device_id]
    if record is None or record.place.kind != "kiosk":
        return []
    found = [
        r.device_id
        for r in records
        if r.role == "printer" and r.place == record.place and r.status == "active"
    ]
    configured = kiosk_printers.get(record.place.id)
    if configured and configured not in found:
        found.append(configured)
    return found
