"""Provisioning authority and fleet watch of the hub: enrolment codes, per-device broker accounts
(Mosquitto dynamic security), device commands, live configuration, health and alerts, and the
authorisation of device RPC calls. `attach_fleet(parts)` joins it to a running hub."""

from .errors import BrokerAccountError, EnrolmentRefused, FleetError, FleetRefusal
from .runtime import DeviceView, Enrolment, FleetRuntime, Outcome, SiteInfo
from .settings import FleetSettings, load_fleet_settings
from .wiring import attach_fleet, guard, guard_handlers

__all__ = [
    "BrokerAccountError",
    "DeviceView",
    "Enrolment",
    "EnrolmentRefused",
    "FleetError",
    "FleetRefusal",
    "FleetRuntime",
    "FleetSettings",
    "Outcome",
    "SiteInfo",
    "attach_fleet",
    "guard",
    "guard_handlers",
    "load_fleet_settings",
]
