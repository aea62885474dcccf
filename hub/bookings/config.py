"""The `[booking]` table of the hub's site TOML (validated here, kept as a plain table in HubConfig
so the admin pages can edit it without touching the rest of the site's schema).

```toml
[booking]
days_ahead = 6            # today + 6
per_person_per_day = 2
grace_minutes = 15        # later than this after the slot start: treated as a walk-in
placement = "slot_time"   # or "front": an on-time booking goes ahead of every waiting walk-in
phone_check_in = true     # check in from the phone (POST /api/v1/bookings/{code}/check-in)
phone_check_in_networks = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8"]

[booking.services.dat-dai]
slots = ["07:30", "08:00", "08:30"]   # or start/end/every_minutes
capacity = 4
```
"""

from __future__ import annotations

import ipaddress
from datetime import time
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from appliance.config import Strict

from .model import parse_hhmm

PRIVATE_NETWORKS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "::1/128", "fc00::/7"]


class ServiceBooking(Strict):
    """Slots and capacity of one service: explicit `slots`, or `start`..`end` every `every_minutes`."""

    slots: list[str] = []
    start: str = "07:30"
    end: str = "11:00"
    every_minutes: int = Field(30, ge=5, le=240)
    capacity: int = Field(2, ge=0, le=1000)

    @field_validator("slots", mode="after")
    @classmethod
    def _slots(cls, values: list[str]) -> list[str]:
        for value in values:
            parse_hhmm(value)
        return sorted(set(values))

    @field_validator("start", "end")
    @classmethod
    def _time(cls, value: str) -> str:
        parse_hhmm(value)
        return value

    def slot_times(self) -> list[time]:
        if self.slots:
            return [parse_hhmm(s) for s in self.slots]
        start, end = parse_hhmm(self.start), parse_hhmm(self.end)
        minutes = start.hour * 60 + start.minute
        last = end.hour * 60 + end.minute
        found = []
        while minutes < last:
            found.append(time(minutes // 60, minutes % 60))
            minutes += self.every_minutes
        return found


class BookingSettings(Strict):
    enabled: bool = True
    days_ahead: int = Field(6, ge=0, le=60)
    per_person_per_day: int = Field(2, ge=1, le=20)
    grace_minutes: int = Field(15, ge=0, le=240)
    # Check-in opens this long before the slot (earlier: "too early").
    early_minutes: int = Field(60, ge=0, le=600)
    placement: Literal["slot_time", "front"] = "slot_time"
    # A phone number identifies the citizen only after a one-time code sent to it.
    phone_otp: bool = True
    otp_ttl_s: int = Field(300, ge=30, le=3600)
    otp_attempts: int = Field(5, ge=1, le=20)
    phone_check_in: bool = True
    phone_check_in_networks: list[str] = PRIVATE_NETWORKS
    # Elderly priority from the ID card's date of birth (years; 60 by law, 75 where a city chooses).
    elderly_age: int = Field(60, ge=50, le=100)
    services: dict[str, ServiceBooking] = {}

    @field_validator("phone_check_in_networks")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            ipaddress.ip_network(value, strict=False)
        return values

    @model_validator(mode="after")
    def _any(self) -> BookingSettings:
        return self

    def inside(self, address: str) -> bool:
        """Whether `address` is in the site's own networks (its Wi-Fi)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(n, strict=False) for n in self.phone_check_in_networks)


def load_booking_settings(table: dict[str, Any] | None, service_ids: list[str]) -> BookingSettings | None:
    """The settings of `[booking]`, or None when the site has no such table or turned it off.
    Raises ValueError naming an unknown service."""
    if table is None:
        return None
    settings = BookingSettings.model_validate(table)
    unknown = [s for s in settings.services if s not in service_ids]
    if unknown:
        raise ValueError(f"[booking.services]: unknown services {unknown}")
    return settings if settings.enabled else None
