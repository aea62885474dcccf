"""What the fleet runtime keeps and shows: the site it serves, a device's live state, a row of
the fleet page, an enrolment code and the outcome of an action."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import segno

from appliance.config import MqttSettings
from appliance.i18n import message

from .health import Alert, HealthItem
from .store import DeviceRecord


class TicketBook(Protocol):
    """What the fleet asks of the queue (hub.service.QueueService)."""

    def ticket_facts(self, ref: str) -> Any: ...

    def counter_services(self, counter_id: str) -> frozenset[str]: ...


@dataclass(frozen=True)
class SiteInfo:
    """What the fleet needs to know of the hub's site configuration."""

    site: str
    hub_id: str
    hub_mqtt: MqttSettings
    counters: tuple[str, ...] = ()
    kiosk_printers: Mapping[str, str | None] = field(default_factory=dict)
    language: str = "vi"


@dataclass(frozen=True)
class Enrolment:
    """A one-time code just made for a device; shown once, never stored in clear."""

    code: str
    device: DeviceRecord
    expires_at: str

    def command(self, hub_url: str) -> str:
        """What the technician types (or scans from the QR code) on the device."""
        return f"motcua enroll --hub {hub_url.rstrip('/')} --code {self.code}"

    def qr_svg(self, hub_url: str) -> str:
        """The command as an inline SVG QR code (a keyboard-wedge scanner can type it)."""
        qr = segno.make(self.command(hub_url), error="m")
        return str(qr.svg_inline(scale=4, border=2, title=self.code))


@dataclass
class LiveState:
    """What the hub heard from a device over MQTT."""

    role: str | None = None
    online: bool | None = None
    version: str | None = None
    last_seen: str | None = None
    offline_since: str | None = None
    health: dict[str, Any] | None = None
    last_command: dict[str, Any] | None = None
    # Monotonic moment the device was last heard (state or health), and how often it said it
    # reports (its health's heartbeat_s): its silence beyond that means it is gone.
    heard: float | None = None
    heartbeat_s: object = None


@dataclass(frozen=True)
class DeviceView:
    """One row of the fleet page."""

    device_id: str
    role: str | None
    place: str
    label: str
    status: str  # pending | active | unknown (seen on the broker, not enrolled)
    online: bool | None
    version: str | None
    last_seen: str | None
    offline_since: str | None
    health: dict[str, Any]
    health_items: tuple[HealthItem, ...]
    alerts: tuple[Alert, ...]
    last_command: dict[str, Any] | None
    config_rev: int
    code_expires_at: str | None
    # Seconds since the device was last heard (state or health, its heartbeat), if ever.
    heard_age_s: float | None = None

    def as_json(self, language: str = "vi") -> dict[str, Any]:
        return {
            "id": self.device_id,
            "role": self.role,
            "place": self.place,
            "label": self.label,
            "status": self.status,
            "online": self.online,
            "version": self.version,
            "last_seen": self.last_seen,
            "offline_since": self.offline_since,
            "health": self.health,
            "alerts": [{"level": a.level, "code": a.key, "message": a.text(language)} for a in self.alerts],
            "last_command": self.last_command,
            "config_rev": self.config_rev,
            "code_expires_at": self.code_expires_at,
            "heard_age_s": None if self.heard_age_s is None else round(self.heard_age_s, 1),
        }


@dataclass(frozen=True)
class Outcome:
    """What a fleet action did, as an i18n message for the person who asked."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)
    ident: str | None = None

    def text(self, language: str = "vi") -> str:
        return message(self.key, "en" if language == "en" else "vi", **self.values)
