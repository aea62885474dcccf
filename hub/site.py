"""The hub's TOML: the site (services, counters, opening hours, officers, kiosks) and the hub itself.

Validated at start; every mistake is reported with the file and the key (appliance.config).
"""

from __future__ import annotations

import itertools
from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from appliance import config
from appliance.config import ID_PATTERN, DeviceConfig, Strict
from appliance.i18n import message
from appliance.opening_hours import Period as Period  # hub.admin.province's templates name it
from appliance.opening_hours import WeeklyHours, parse_hhmm

from .engine import CounterSpec, Service


class ServiceSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    name_en: str = ""
    # Letter prefix ("A" → A001…A999) or an empty prefix with a numeric block (1001…1999).
    prefix: str = Field("", pattern=r"^[A-Z]{0,2}$")
    first: int = Field(1, ge=0)
    last: int = Field(999, ge=1)
    digits: int | None = Field(None, ge=1, le=6)
    default_service_minutes: float = Field(5.0, gt=0)
    # Service level: a citizen should be called within this many minutes (reports, alerts).
    target_wait_minutes: float = Field(30.0, gt=0)
    # Priority tickets: "strict" (always first) or "interleave" (one after every
    # `interleave_every` ordinary tickets, when both wait).
    priority_rule: Literal["strict", "interleave"] = "strict"
    interleave_every: int = Field(3, ge=1, le=20)

    @model_validator(mode="after")
    def _block(self) -> ServiceSpec:
        if self.last < self.first:
            raise ValueError(f"last ({self.last}) must not be below first ({self.first})")
        return self

    def to_engine(self) -> Service:
        digits = self.digits or (len(str(self.last)) if self.prefix else 1)
        return Service(
            id=self.id,
            name=self.name,
            name_en=self.name_en,
            prefix=self.prefix,
            first=self.first,
            last=self.last,
            digits=digits,
            default_service_s=round(self.default_service_minutes * 60),
            priority_rule=self.priority_rule,
            interleave_every=self.interleave_every,
        )


class CounterConfig(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    services: list[str] = Field(min_length=1)
    open_at_start: bool = False
    # The receipt printer at this counter (Giấy tiếp nhận hồ sơ và hẹn trả kết quả).
    printer: str | None = Field(None, pattern=ID_PATTERN)

    def to_engine(self) -> CounterSpec:
        return CounterSpec(self.id, self.name, tuple(self.services))


class OfficerSpec(Strict):
    username: str = Field(pattern=r"^[a-z0-9_.-]{2,32}$")
    name: str
    counters: list[str] = []
    admin: bool = False
    # Head of office (trưởng bộ phận): sees the reports (/reports) without administering the site.
    head: bool = False
    # A disabled officer cannot log in; disabling ends their sessions (the account is kept).
    disabled: bool = False
    # A hash made by `motcua hub hash-password`; without one, first start prints a one-time password.
    password_hash: str | None = None


class KioskSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = ""
    printer: str | None = Field(None, pattern=ID_PATTERN)
    # The services this kiosk offers, in this order (empty: the kiosk's own list, else every one).
    services: list[str] = []


class PriorityGroupSpec(Strict):
    """A priority group a citizen may claim at the kiosk (the wire carries `id`); the site's list
    order is the order the kiosk offers them in. `proof`: the officer asks to see a paper (an ID
    card, a disability certificate) before serving the ticket first."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    name: str = Field(min_length=1, max_length=60)
    name_en: str = Field("", max_length=60)
    proof: bool = False


def default_priority_groups() -> list[PriorityGroupSpec]:
    """The groups the law names (appliance.i18n.PRIORITY_GROUPS), in its order."""
    from appliance.i18n import PRIORITY_GROUPS

    return [
        PriorityGroupSpec(id=key, name=vi, name_en=en, proof=key in ("disabled", "merit"))
        for key, (vi, en) in PRIORITY_GROUPS.items()
    ]


class ResultReturn(Strict):
    """Where citizens collect results: the result-return service (None: `[central] result_service`,
    else "tra-ket-qua" if the site has it) and the counters that hand results over (empty: every
    counter serving that service)."""

    service: str | None = Field(None, pattern=ID_PATTERN)
    counters: list[str] = []


class OpeningHours(WeeklyHours):
    """Weekly opening hours; `days` uses mon..sun; closed on `holidays` (e.g. the province's list of
    public holidays), and every day when `periods` is empty. Outside them kiosks lock and, if
    `refuse_tickets_outside`, the hub refuses new numbers."""

    refuse_tickets_outside: bool = False

    def describe(self, moment: datetime | None = None) -> str:
        holiday = self.holiday(moment) if moment is not None else None
        if holiday is not None:  # "closed today" says more than the week's hours
            return f"nghỉ lễ / holiday {holiday.date:%d/%m/%Y} {holiday.name}".strip()
        if not self.periods:
            return f"{message('hours_none', 'vi')} / {message('hours_none', 'en')}"
        periods = ", ".join(f"{p.start}–{p.end}" for p in self.periods)
        names = {"mon": "T2", "tue": "T3", "wed": "T4", "thu": "T5", "fri": "T6", "sat": "T7", "sun": "CN"}
        days = ", ".join(names[d] for d in self.days)
        return f"{days}: {periods}"


class Place(Strict):
    """What citizens see of the site: its name, address, ticket footer, hall message."""

    name: str = Field(min_length=1)
    address: str = ""
    day_rollover: str = "00:00"
    rating_scale: Literal[3, 5] = 3
    # The criteria a citizen rates a dossier on (/rate/{counter}), besides the overall rating.
    rating_criteria: list[str] = ["Thái độ phục vụ", "Thời gian giải quyết", "Hướng dẫn hồ sơ"]
    # Service-level alert: a counter closed this long during opening hours (hub/reports/alerts.py).
    pause_alert_minutes: float = Field(20.0, gt=0)
    ticket_footer: str = "Xin cảm ơn quý khách!"
    hall_message: str = ""

    @field_validator("day_rollover")
    @classmethod
    def _rollover(cls, value: str) -> str:
        parse_hhmm(value)  # a time of day: "24:00" is refused (it only ends opening periods)
        return value

    @property
    def rollover_time(self) -> time:
        return parse_hhmm(self.day_rollover)


class HubSettings(Strict):
    db: str = "/var/lib/motcua/hub.db"
    http_host: str = "0.0.0.0"
    # Plain HTTP. With `https` on it only redirects to the HTTPS port; with `https = false` (the
    # demo) it serves everything in clear.
    http_port: int = Field(8080, ge=1, le=65535)
    # The address citizens' phones reach, printed in ticket QR codes.
    public_url: str = "http://127.0.0.1:8080"
    rpc_workers: int = Field(16, ge=1, le=256)
    # Personal data (dossier codes linked to tickets, applicants' details) is purged after this
    # many days; the report summaries stay (hub/reports/retention.py). 0 keeps everything.
    retention_days: int = Field(90, ge=0)
    # `motcua demo` only: its data folder, whose screens and printed pages the /demo page shows.
    demo_dir: str | None = None
    # Whether the clock is synchronised (a new service day opens only on a synchronised clock):
    # "auto" asks the kernel (NTP status), "off" trusts the clock (a site without NTP but with a
    # real-time clock). `clock_sync_flag`: a file that exists exactly when the clock is synchronised
    # (e.g. /run/systemd/timesync/synchronized); it replaces the kernel's answer.
    clock_check: Literal["auto", "off"] = "auto"
    clock_sync_flag: str | None = None
    # A wall-clock step larger than this (seconds) across a rollover does not open the new day by
    # itself: an officer confirms it, or the clock passes the next rollover.
    clock_step_s: float = Field(300.0, ge=1, le=24 * 3600)

    # HTTPS for officers' passwords and sessions and for enrolment (it hands out broker passwords).
    https: bool = True
    https_port: int = Field(8443, ge=1, le=65535)
    # A certificate of your own (PEM chain and key), e.g. from the province; without one the hub
    # makes a site CA and a certificate signed by it in `tls_dir` (default: `tls/` next to `db`).
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_dir: str | None = None
    # Names and addresses the made certificate also covers (the host name, `.local` and this
    # machine's addresses are always in it).
    tls_hosts: list[str] = []
    hsts_max_age_s: int = Field(31_536_000, ge=0)

    @model_validator(mode="after")
    def _tls(self) -> HubSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        if self.https and self.https_port == self.http_port:
            raise ValueError("https_port must differ from http_port")
        return self

    def tls_folder(self) -> Path:
        return Path(self.tls_dir) if self.tls_dir else Path(self.db).parent / "tls"


class LimitSettings(Strict):
    """What one client may take of the hub's web side. The defaults suit a district one-stop shop;
    a provincial centre behind one NAT address (a public Wi-Fi) may raise the per-address ones."""

    # Numbers one address may take over HTTP (phones: `POST /api/v1/tickets`) per window. Kiosks
    # issue over MQTT and have their own quotas.
    public_tickets_per_address: int = Field(20, ge=0, le=10_000)
    public_ticket_window_s: float = Field(600.0, gt=0, le=24 * 3600)
    # Failed logins (form, HTTP Basic, the current-password check) and enrolment-code guesses per
    # address per window; each attempt is counted before the password or code is checked.
    login_attempts_per_address: int = Field(10, ge=1, le=1000)
    login_window_s: float = Field(300.0, gt=0, le=24 * 3600)
    # Live-update streams (server-sent events): in all, how many of them only officers may use,
    # and how many one address may hold without logging in (the results TV, phones).
    max_streams: int = Field(200, ge=1, le=10_000)
    officer_streams: int = Field(50, ge=0, le=10_000)
    anonymous_streams_per_address: int = Field(8, ge=1, le=10_000)
    # Open HTTP connections one address may hold, and seconds an idle connection stays open.
    connections_per_address: int = Field(64, ge=1, le=100_000)
    idle_timeout_s: float = Field(30.0, ge=1, le=3600)

    @model_validator(mode="after")
    def _streams(self) -> LimitSettings:
        if self.officer_streams >= self.max_streams:
            raise ValueError("officer_streams must be below max_streams (anonymous viewers need some)")
        return self


class PrintingSettings(Strict):
    # A kiosk's ticket prints only this long after it was issued, while the citizen can still be
    # standing at the kiosk; later it is cancelled at the printer (never printed for the next person).
    ticket_window_s: float = Field(20.0, ge=3, le=300)


class HubConfig(DeviceConfig):
    """The hub's whole TOML: its identity, the site and its own settings."""

    role: Literal["hub"] = "hub"
    hub: HubSettings = HubSettings()
    limits: LimitSettings = LimitSettings()
    place: Place
    opening_hours: OpeningHours = OpeningHours()
    services: list[ServiceSpec] = Field(min_length=1)
    counters: list[CounterConfig] = Field(min_length=1)
    officers: list[OfficerSpec] = []
    kiosks: list[KioskSpec] = []
    priority_groups: list[PriorityGroupSpec] = Field(default_factory=default_priority_groups, max_length=12)
    result_return: ResultReturn = ResultReturn()
    printing: PrintingSettings = PrintingSettings()
    # The central one-door dossier system (hub/central); absent: lookups answer "not available".
    central: dict[str, Any] | None = None
    # Provisioning and broker security (hub/fleet); validated by hub.fleet.load_fleet_settings.
    fleet: dict[str, Any] | None = None
    # Online booking (hub/bookings): slots and capacity per service; hub.bookings.config validates.
    booking: dict[str, Any] | None = None
    # Citizens' notifications (hub/citizen_notify): SMS, Zalo ZNS, Web Push; validated there.
    citizen_notify: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> HubConfig:
        _unique("services", [s.id for s in self.services])
        _unique("counters", [c.id for c in self.counters])
        _unique("officers", [o.username for o in self.officers])
        known = {s.id for s in self.services}
        for counter in self.counters:
            missing = [s for s in counter.services if s not in known]
            if missing:
                raise ValueError(f"counter {counter.id!r} serves unknown services {missing}")
        counter_ids = {c.id for c in self.counters}
        for officer in self.officers:
            missing = [c for c in officer.counters if c not in counter_ids]
            if missing:
                raise ValueError(f"officer {officer.username!r} is assigned unknown counters {missing}")
        _unique("kiosks", [k.id for k in self.kiosks])
        _unique("priority_groups", [g.id for g in self.priority_groups])
        for kiosk in self.kiosks:
            missing = [s for s in kiosk.services if s not in known]
            if missing:
                raise ValueError(f"kiosk {kiosk.id!r} offers unknown services {missing}")
            _unique(f"kiosk {kiosk.id!r} services", kiosk.services)
        _check_result_return(self.result_return, known, self.counters)
        # Two services must never be able to print the same number on one day.
        blocks = sorted((s.prefix, s.first, s.last, s.id) for s in self.services)
        for a, b in itertools.pairwise(blocks):
            if a[0] == b[0] and b[1] <= a[2]:
                raise ValueError(f"services {a[3]!r} and {b[3]!r} have overlapping numbers")
        return self

    @property
    def name(self) -> str:
        return self.place.name

    def service_specs(self) -> list[Service]:
        return [s.to_engine() for s in self.services]

    def counter_specs(self) -> list[CounterSpec]:
        return [c.to_engine() for c in self.counters]

    def device_settings(self) -> dict[str, Any]:
        """What the retained queue/state carries of the site for devices, so an edit reaches them
        within a second: the priority groups in the kiosk's order, each kiosk's services, and the
        opening hours with their holidays (a province template's too), which a kiosk's lock screen follows."""
        return {
            "priority_groups": [g.model_dump(mode="json") for g in self.priority_groups],
            "kiosks": {k.id: {"services": list(k.services)} for k in self.kiosks if k.services},
            "opening_hours": self.opening_hours.model_dump(mode="json"),
        }

    def result_counters(self, service_id: str | None) -> list[str]:
        """The counters that hand results over for `service_id` (`[result_return]`, else every
        counter serving it)."""
        if self.result_return.counters and self.result_return.service == service_id:
            return list(self.result_return.counters)
        return [c.id for c in self.counters if service_id in c.services]

    def service_name(self, service_id: str) -> str:
        return next((s.name for s in self.services if s.id == service_id), service_id)


def _check_result_return(spec: ResultReturn, services: set[str], counters: list[CounterConfig]) -> None:
    if spec.service is not None and spec.service not in services:
        raise ValueError(f"result_return.service {spec.service!r} is not one of the site's services")
    _unique("result_return.counters", spec.counters)
    if spec.counters and spec.service is None:
        raise ValueError("result_return.counters needs result_return.service")
    serving = {c.id for c in counters if spec.service in c.services}
    wrong = [c for c in spec.counters if c not in serving]
    if wrong:
        raise ValueError(f"result_return.counters {wrong} do not serve {spec.service!r}")


def _unique(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{what}: {item!r} appears twice")
        seen.add(item)


# The hub's configuration describes the whole site.
SiteConfig = HubConfig


def load_hub_config(path: str | Path) -> HubConfig:
    return config.load(path, HubConfig)
