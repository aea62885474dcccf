"""What a device is checked against and given when it is added and enrolled: its place and id at
this site, the identity its configuration is validated with, and the reply to `motcua enroll`
(identity, broker address and credentials, starting configuration). Pure: the fleet's runtime
(hub.fleet.runtime) keeps the records and the broker accounts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from appliance.config import ID_PATTERN
from appliance.i18n import message

from .errors import FleetRefusal
from .model import SiteInfo
from .roles import CONFIG_DIR, UNITS, Place
from .settings import FleetSettings
from .store import DeviceRecord

_ID_RE = re.compile(ID_PATTERN)


def device_identity(site: SiteInfo, device_id: str, role: str) -> dict[str, Any]:
    """The identity part of a device's TOML, for validating its role's configuration."""
    return {
        "device_id": device_id,
        "site": site.site,
        "role": role,
        "language": site.language,
        "mqtt": {},
    }


def parse_place(site: SiteInfo, text: str) -> Place:
    """Where a device stands ("kiosk:kiosk-1", "counter:5", "hall"); FleetRefusal for a counter the
    site does not have."""
    try:
        where = Place.parse(text)
    except ValueError as error:
        raise FleetRefusal("fleet_bad_place", detail=str(error)) from None
    if where.kind == "counter" and site.counters and where.id not in site.counters:
        detail = message("unknown_counter", "en" if site.language == "en" else "vi", counter_id=where.id)
        raise FleetRefusal("fleet_bad_place", detail=detail)
    return where


def check_device_id(site: SiteInfo, device_id: str) -> None:
    if not _ID_RE.match(device_id) or device_id == site.hub_id:
        raise FleetRefusal("fleet_bad_device_id", device=device_id)


def enrolment_reply(
    record: DeviceRecord,
    password: str,
    hub_host: str,
    *,
    site: SiteInfo,
    settings: FleetSettings,
    secured: bool,
) -> dict[str, Any]:
    """What `motcua enroll` receives for the device just enrolled."""
    hub_mqtt = site.hub_mqtt
    tls = settings.broker_tls if settings.broker_tls is not None else hub_mqtt.tls
    mqtt: dict[str, Any] = {
        "host": settings.broker_host or _host_only(hub_host) or hub_mqtt.host,
        "port": settings.broker_port or hub_mqtt.port,
        "tls": tls,
    }
    if secured:
        mqtt["username"] = record.device_id
        mqtt["password"] = password
    reply: dict[str, Any] = {
        "v": 1,
        "device_id": record.device_id,
        "site": site.site,
        "role": record.role,
        "place": str(record.place),
        "label": record.label,
        "language": site.language,
        "mqtt": mqtt,
        "config": record.config,
        "config_rev": record.config_rev,
        "unit": UNITS[record.role],
        "config_path": f"{CONFIG_DIR}/{record.role}.toml",
    }
    ca_file = settings.broker_ca_file or hub_mqtt.ca_file
    if tls and ca_file:
        reply["ca_pem"] = Path(ca_file).read_text(encoding="ascii")
    return reply


def _host_only(host: str) -> str:
    """'hub.local' of 'hub.local:8080', '::1' of '[::1]:8080'."""
    host = host.strip()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
