"""The hub's `[fleet]` table: how devices are enrolled, secured and watched."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from appliance.config import MqttSettings, Strict, validate
from appliance.template_kinds import TEMPLATE_KINDS, TemplateKind

from .quotas import DEFAULT_RULES, QuotaRule


class FleetSettings(Strict):
    # dynsec: every device gets its own broker account through Mosquitto's dynamic-security plugin.
    # none: an anonymous broker (`motcua demo` only). auto: dynsec when the hub itself logs in to
    # the broker with a user name, else none.
    security: Literal["auto", "dynsec", "none"] = "auto"
    # The broker address given to devices at enrolment; default: the host name the device used to
    # reach the hub's web server (the broker runs on the hub machine).
    broker_host: str | None = None
    broker_port: int | None = Field(None, ge=1, le=65535)  # default: the hub's [mqtt] port
    broker_tls: bool | None = None  # default: the hub's [mqtt] tls
    # CA certificate (PEM file) handed to devices when TLS is on; default: the hub's [mqtt] ca_file.
    broker_ca_file: str | None = None
    code_ttl_hours: float = Field(24.0, gt=0, le=24 * 7)
    offline_alert_s: float = Field(120.0, ge=10, le=24 * 3600)
    # A device that announced a heartbeat (its health's `heartbeat_s`) and has said nothing for this
    # long (and at least two heartbeats) counts as offline, whatever its retained state says.
    silent_after_s: float = Field(90.0, ge=1, le=24 * 3600)
    # A command an offline device did not receive by then is dropped by the broker (an "identify"
    # an hour late helps no one).
    command_expiry_s: int = Field(60, ge=5, le=24 * 3600)
    broker_timeout_s: float = Field(5.0, gt=0, le=60)
    # Seconds between checks that log alerts as they start and end.
    watch_interval_s: float = Field(15.0, ge=0.1, le=600)
    # `[[fleet.quotas]]`: RPC quotas of enrolled devices (hub.fleet.quotas). The site's rules are
    # tried first, then the defaults; for each request the first matching rule of each scope
    # (device, role) applies. Devices the hub never enrolled (the anonymous demo broker) have none.
    quotas: tuple[QuotaRule, ...] = ()
    # A device found flooding (far beyond its quota) has its broker account suspended this long:
    # the broker disconnects it, so its flood stops reaching the hub at all (0: never suspend).
    flood_suspend_s: float = Field(60.0, ge=0, le=24 * 3600)
    # Which configuration templates from the province this site takes (hub.admin.province); a kind
    # left out is the site's own and templates of it are refused.
    province_templates: tuple[TemplateKind, ...] = TEMPLATE_KINDS

    @property
    def quota_rules(self) -> tuple[QuotaRule, ...]:
        return (*self.quotas, *DEFAULT_RULES)

    def secured(self, hub_mqtt: MqttSettings) -> bool:
        if self.security == "auto":
            return hub_mqtt.username is not None
        return self.security == "dynsec"


def load_fleet_settings(raw: dict[str, Any] | None, source: str = "[fleet]") -> FleetSettings:
    """Validate the raw `[fleet]` table (absent: all defaults); ConfigError naming the key otherwise."""
    return validate(raw or {}, FleetSettings, source)
