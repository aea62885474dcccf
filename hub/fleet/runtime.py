"""The hub's provisioning authority and fleet watch: enrolment, broker accounts, commands, live
configuration, health, alerts and RPC authorisation.

It listens on the hub's link to every device's retained state (online/offline from the will),
health and command results; it keeps its records in the hub's SQLite file (hub.fleet.store); it
creates and deletes broker accounts through `BrokerAccounts` (dynamic security, or none for the
demo). Web pages and `motcua enroll` reach it through hub.web.
"""

from __future__ import annotations

import logging
import math
import queue
import re
import secrets
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import segno
import tomli_w
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.config import ID_PATTERN, MqttSettings
from appliance.i18n import message
from appliance.mqtt import Link, Message, PayloadError
from appliance.rpc import Refusal, RpcError
from appliance.timeutil import iso, now, parse_iso

from . import templates
from .accounts import Account, BrokerAccounts
from .codes import code_hash, new_code
from .errors import BrokerAccountError, EnrolmentRefused, FleetRefusal
from .health import Alert, HealthItem, alerts_for, heartbeat_lost, summarise
from .quotas import Quotas
from .roles import (
    COMMAND_RESULTS_LEAF,
    CONFIG_DIR,
    COUNTER_METHODS,
    ROLES,
    UNITS,
    Place,
    allowed_methods,
    check_role_config,
    default_device_id,
    device_acls,
    starter_config,
)
from .settings import FleetSettings
from .store import DeviceRecord, FleetStore, Seen

log = logging.getLogger("motcua.hub.fleet")

COMMANDS = ("identify", "test_print", "reload", "restart")
# What the province may ask for over the bridge (province/commands): nothing that stops a device
# during opening hours, and never a configuration (only the fleet page, at the site, changes that).
PROVINCE_COMMANDS = ("identify", "test_print", "reload")
PROVINCE_MAX_PAYLOAD = 4096
_ID_RE = re.compile(ID_PATTERN)


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
class _Live:
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


class FleetRuntime:
    def __init__(
        self,
        link: Link,
        store: FleetStore,
        accounts: BrokerAccounts,
        settings: FleetSettings,
        site: SiteInfo,
        *,
        clock: Callable[[], datetime] = now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self._monotonic = monotonic
        self.topics = link.topics
        self.store = store
        self.accounts = accounts
        self.settings = settings
        self.site = site
        self.clock = clock
        self._lock = threading.Lock()
        self._live: dict[str, _Live] = {}
        self._seen: dict[str, Seen] = store.seen()
        self._records: dict[str, DeviceRecord] = {r.device_id: r for r in store.all(include_revoked=True)}
        self._alerting: dict[tuple[str, str], Alert] = {}
        self.quotas = Quotas(settings.quota_rules)
        # The queue's tickets, for the rating and reinstating rules (hub.service.QueueService; set
        # by hub.fleet.wiring.attach_fleet). Without it those rules are not checked.
        self.tickets: TicketBook | None = None
        # Suspensions of flooding devices' broker accounts run here, off the network thread (the
        # broker's answer arrives on it). Item: (device id, suspend?) ; None stops the thread.
        self._suspensions: queue.Queue[tuple[str, bool] | None] = queue.Queue()
        self._suspended: dict[str, float] = {}
        self._suspension_count: dict[str, int] = {}
        self._resumed_at_start = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Online/offline changes are written by a thread of their own: the MQTT network thread must
        # never wait for the database (under a storm of tickets it would wait behind the queue's
        # writer, and every RPC request behind it).
        self._seen_writes: queue.Queue[tuple[str, Seen] | None] = queue.Queue()
        self._seen_writer: threading.Thread | None = None
        for leaf, handler in self._subscriptions():
            link.subscribe(self.topics.all_devices(leaf), handler)
        link.subscribe(self.topics.province_commands, self._on_province_command)
        link.subscribe(self.topics.province_templates, self._on_province_template)
        # The province's templates and what became of them, newest last (the /devices page).
        self.province_templates: list[dict[str, Any]] = []
        link.on_connection_change(self._on_connection)

    def _subscriptions(self) -> list[tuple[str, Callable[[Message], None]]]:
        return [
            ("state", self._on_state),
            ("health", self._on_health),
            (COMMAND_RESULTS_LEAF, self._on_command_result),
        ]

    @property
    def secured(self) -> bool:
        return bool(self.accounts.secured)

    # ------------------------------------------------------------------ life cycle

    def start(self) -> FleetRuntime:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._watch, name="fleet-watch", daemon=True)
                self._thread.start()
                self._seen_writer = threading.Thread(target=self._write_seen, name="fleet-seen", daemon=True)
                self._seen_writer.start()
                self._suspender = threading.Thread(
                    target=self._suspend_loop, name="fleet-suspend", daemon=True
                )
                self._suspender.start()
        if not self.secured:
            log.warning(
                "broker security is off: devices connect anonymously (acceptable for `motcua demo` only)"
            )
        return self

    def close(self) -> None:
        """Stop watching and close the database connection. Idempotent."""
        if self._stop.is_set():
            return
        self._stop.set()
        for leaf, handler in self._subscriptions():
            self.link.unsubscribe(self.topics.all_devices(leaf), handler)
        self.link.unsubscribe(self.topics.province_commands, self._on_province_command)
        self.link.unsubscribe(self.topics.province_templates, self._on_province_template)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._seen_writer is not None:
            self._seen_writes.put(None)
            self._seen_writer.join(timeout=5)
            self._suspensions.put(None)
            self._suspender.join(timeout=5)
        self.store.close()

    def _suspension_s(self, device_id: str) -> float:
        """Twice as long each time the same device floods again (at most a day): a script that
        waits out its suspension gets a burst of numbers fewer and fewer times a day."""
        count = self._suspension_count[device_id] = self._suspension_count.get(device_id, 0) + 1
        return min(self.settings.flood_suspend_s * 2 ** min(count - 1, 20), 24 * 3600.0)

    def _suspend_loop(self) -> None:
        """Suspend flooding devices at once; resume them when their time is up (and, after a
        restart of the hub, every enrolled device: a suspension must not outlive its hub)."""
        while True:
            due = min(self._suspended.values(), default=None)
            timeout = None if due is None else max(0.0, due - time.monotonic())
            try:
                item = self._suspensions.get(timeout=timeout)
            except queue.Empty:
                item = ("", False)
            if item is None:
                return
            device_id, suspend = item
            try:
                if suspend:
                    self.accounts.suspend(device_id)
                    self._suspended[device_id] = time.monotonic() + self._suspension_s(device_id)
                elif device_id == "*":
                    active = [r.device_id for r in self._records.values() if r.status == "active"]
                    self.accounts.resume(active)
                else:
                    moment = time.monotonic()
                    ready = [d for d, until in self._suspended.items() if until <= moment]
                    if ready:
                        self.accounts.resume(ready)
                        for done in ready:
                            self._suspended.pop(done, None)
                            log.info("broker account of %s resumed after its suspension", done)
            except Exception as error:  # the broker did not answer: try again shortly
                log.warning("suspension change for %s failed: %r", device_id or "due devices", error)
                if suspend:
                    self._suspended.setdefault(device_id, time.monotonic() + self.settings.flood_suspend_s)
                self._stop.wait(1.0)

    def _write_seen(self) -> None:
        while (item := self._seen_writes.get()) is not None:
            try:
                self.store.record_seen(*item)
            except Exception as error:
                log.warning("presence of %s not recorded: %r", item[0], error)

    # ------------------------------------------------------------------ enrolment

    def add_device(
        self,
        role: str,
        place: str,
        *,
        device_id: str | None = None,
        label: str = "",
        created_by: str = "",
    ) -> Enrolment:
        """Register a device to come and make its one-time enrolment code."""
        if role not in ROLES:
            raise FleetRefusal("fleet_bad_role", role=role)
        where = self._place(place)
        label = " ".join(label.split())[:100]
        if device_id:
            device_id = device_id.strip()
            self._check_id(device_id)
            chosen = device_id
        else:
            chosen = self._free_id(default_device_id(role, where, kiosk_printers=self.site.kiosk_printers))
        config = starter_config(role, where, hub_id=self.site.hub_id)
        problem = check_role_config(role, self._identity(chosen, role), config)
        if problem:  # our own starter should always validate; say so loudly if it does not
            log.warning("starter configuration of %s does not validate: %s", chosen, problem)
        code = new_code()
        record, expires = self.store.add_code(
            device_id=chosen,
            role=role,
            place=where,
            label=label,
            config=config,
            code_hash=code_hash(code),
            ttl=timedelta(hours=self.settings.code_ttl_hours),
            created_by=created_by,
            replace=False,
        )
        self._remember(record)
        log.info(
            "enrolment code made for %s (%s at %s) by %s, valid until %s",
            chosen,
            role,
            where,
            created_by or "?",
            expires,
        )
        return Enrolment(code, record, expires)

    def replace_device(self, device_id: str, *, created_by: str = "") -> Enrolment:
        """A new code for an existing device id: the unit that uses it takes over the identity and the
        one before it is disconnected (its credentials are replaced)."""
        record = self._record(device_id)
        code = new_code()
        record, expires = self.store.add_code(
            device_id=record.device_id,
            role=record.role,
            place=record.place,
            label=record.label,
            config=record.config,
            code_hash=code_hash(code),
            ttl=timedelta(hours=self.settings.code_ttl_hours),
            created_by=created_by,
            replace=True,
        )
        self._remember(record)
        log.info("replacement code made for %s by %s, valid until %s", device_id, created_by or "?", expires)
        return Enrolment(code, record, expires)

    def enrol(self, code: str, *, hub_host: str, remote: str = "", hostname: str = "") -> dict[str, Any]:
        """Redeem a code (the server side of `motcua enroll`): the device's identity, broker
        credentials and starting configuration. EnrolmentRefused when the code is not good."""
        try:
            hashed = code_hash(code)
        except ValueError:
            raise EnrolmentRefused("enrol_code_malformed") from None
        claim = self.store.claim(hashed)
        device = claim.device
        password = secrets.token_urlsafe(24) if self.secured else ""
        account = Account(
            username=device.device_id,
            password=password,
            client_id=self.client_id(device.device_id),
            acls=tuple(device_acls(self.topics, device.device_id, device.role, device.place)),
            text_name=f"{device.role} @ {device.place}",
        )
        try:
            self.accounts.provision(account)
        except BrokerAccountError as error:
            self.store.release(claim)
            log.error("enrolment of %s failed, code released: %s", device.device_id, error)
            raise EnrolmentRefused("enrol_unavailable", detail=str(error)) from None
        source = " ".join(part for part in (hostname[:100], f"({remote})" if remote else "") if part)
        record = self.store.activate(device.device_id, source)
        self._remember(record)
        self._publish_config(record)
        log.info(
            "device %s enrolled from %s as %s at %s",
            record.device_id,
            source or "?",
            record.role,
            record.place,
        )
        return self._enrolment_reply(record, password, hub_host)

    def _enrolment_reply(self, record: DeviceRecord, password: str, hub_host: str) -> dict[str, Any]:
        hub_mqtt = self.site.hub_mqtt
        tls = self.settings.broker_tls if self.settings.broker_tls is not None else hub_mqtt.tls
        mqtt: dict[str, Any] = {
            "host": self.settings.broker_host or _host_only(hub_host) or hub_mqtt.host,
            "port": self.settings.broker_port or hub_mqtt.port,
            "tls": tls,
        }
        if self.secured:
            mqtt["username"] = record.device_id
            mqtt["password"] = password
        reply: dict[str, Any] = {
            "v": 1,
            "device_id": record.device_id,
            "site": self.site.site,
            "role": record.role,
            "place": str(record.place),
            "label": record.label,
            "language": self.site.language,
            "mqtt": mqtt,
            "config": record.config,
            "config_rev": record.config_rev,
            "unit": UNITS[record.role],
            "config_path": f"{CONFIG_DIR}/{record.role}.toml",
        }
        ca_file = self.settings.broker_ca_file or hub_mqtt.ca_file
        if tls and ca_file:
            reply["ca_pem"] = Path(ca_file).read_text(encoding="ascii")
        return reply

    def revoke(self, device_id: str) -> Outcome:
        """Delete the device's broker account (it is disconnected at once) and forget its config."""
        record = self._record(device_id)
        self.accounts.revoke(record.device_id)
        record = self.store.revoke(record.device_id)
        self._remember(record)
        self.quotas.forget([record.device_id])
        # A retained config would otherwise outlive the device on the broker.
        self.link.publish(self.topics.device_config(device_id), b"", qos=1, retain=True)
        log.warning("device %s revoked", device_id)
        return Outcome("fleet_revoked", {"device": device_id})

    def client_id(self, device_id: str) -> str:
        """The MQTT client id a device must use (appliance.mqtt.Link's default)."""
        return f"{self.site.site}-{device_id}"

    # ------------------------------------------------------------------ commands and configuration

    def send_command(self, device_id: str, command: str) -> Outcome:
        if command not in COMMANDS:
            raise FleetRefusal("fleet_unknown_command", command=command)
        record = self._records.get(device_id)
        with self._lock:
            live = self._live.get(device_id)
            role = record.role if record is not None else (live.role if live else None)
        if (record is None or record.status == "revoked") and live is None:
            raise FleetRefusal("fleet_unknown_device", device=device_id)
        if command == "test_print":
            printers = self._printers_for(device_id, role, record)
            if printers:
                for printer in printers:
                    job = {
                        "v": 1,
                        "job_id": f"test-{uuid.uuid4().hex[:16]}",
                        "kind": "test",
                        "text": f"Trang in thử từ hub — {device_id}",
                    }
                    self.link.publish_json(self.topics.print_jobs(printer), job, qos=1)
                log.info("test page sent to %s", ", ".join(printers))
                return Outcome("fleet_test_print_sent", {"device": ", ".join(printers)})
        ident = uuid.uuid4().hex
        properties = Properties(PacketTypes.PUBLISH)
        properties.MessageExpiryInterval = self.settings.command_expiry_s
        self.link.publish_json(
            self.topics.device_commands(device_id),
            {"v": 1, "cmd": command, "id": ident, "ts": iso(self.clock())},
            qos=1,
            properties=properties,
        )
        with self._lock:
            entry = self._live.setdefault(device_id, _Live(role=role))
            entry.last_command = {"id": ident, "cmd": command, "sent_at": iso(self.clock()), "status": "sent"}
            online = entry.online
        log.info("command %s (%s) sent to %s", command, ident, device_id)
        if online:
            return Outcome("fleet_command_sent", {"command": command, "device": device_id}, ident)
        return Outcome(
            "fleet_command_sent_offline",
            {"command": command, "device": device_id, "seconds": self.settings.command_expiry_s},
            ident,
        )

    def _on_province_command(self, msg: Message) -> None:
        """`province/commands` `{v, device_id, cmd, ts?}` from the central broker (over the bridge).

        The bridge bypasses the site broker's ACLs, so this is the one gate: a retained or stale
        request, an unknown device or a command outside PROVINCE_COMMANDS is logged and dropped.
        """
        if msg.retain:  # a retained request would run again at every hub reconnect
            log.warning("province command ignored: retained on %s", msg.topic)
            return
        try:
            body = msg.json(max_size=PROVINCE_MAX_PAYLOAD)
        except PayloadError as error:
            log.warning("province command ignored: %s", error)
            return
        device_id, command = body.get("device_id"), body.get("cmd")
        if command not in PROVINCE_COMMANDS or not isinstance(device_id, str) or not _ID_RE.match(device_id):
            log.warning("province command ignored: %r for %r is not allowed", command, device_id)
            return
        try:
            sent = parse_iso(body["ts"]) if isinstance(body.get("ts"), str) else None
        except ValueError:
            sent = None
        if sent is not None and abs((self.clock() - sent).total_seconds()) > self.settings.command_expiry_s:
            log.warning("province command %s for %s ignored: sent at %s", command, device_id, body.get("ts"))
            return
        try:
            self.send_command(device_id, command)
        except FleetRefusal as refusal:
            log.warning("province command %s for %s refused: %s", command, device_id, refusal)
        else:
            log.info("province asked for %s on %s", command, device_id)

    def _on_province_template(self, msg: Message) -> None:
        """`province/templates` `{v, template_id, kind, body}`: validated by the hub (hub.fleet.templates)
        and applied live to the queue's site configuration, or refused; the outcome goes back on
        `province/results` and into the log, in both languages."""
        try:
            body = msg.json(max_size=PROVINCE_MAX_PAYLOAD * 4)
        except PayloadError as error:
            log.warning("province template ignored: %s", error)
            return
        template_id = body.get("template_id")
        if msg.retain or not isinstance(template_id, int) or isinstance(template_id, bool):
            log.warning("province template ignored: retained or without a template_id")
            return
        kind = body.get("kind")
        value, refusal = templates.check(kind, body.get("body"), tuple(self.settings.province_templates))
        if refusal is None and self.tickets is None:
            refusal = templates.Outcome("refused", "province_template_unknown", {"kind": str(kind)})
        if refusal is None:
            templates.apply(self.tickets, str(kind), value)
            outcome = templates.Outcome("applied", "province_template_applied", {"kind": kind})
        else:
            outcome = refusal
        applied = outcome.status == "applied"
        answer = {
            "v": 1,
            "template_id": template_id,
            "kind": str(kind)[:40],
            "status": outcome.status,
            "reason": None if applied else message(outcome.key, "vi", **outcome.values),
            "reason_en": None if applied else message(outcome.key, "en", **outcome.values),
            "ts": iso(self.clock()),
        }
        with self._lock:
            self.province_templates = [*self.province_templates[-19:], answer]
        log.info("province template %s (%s): %s %s", template_id, kind, outcome.status, answer["reason_en"])
        self.link.publish_json(self.topics.province_results, answer, qos=1)

    def _printers_for(self, device_id: str, role: str | None, record: DeviceRecord | None) -> list[str]:
        """Who prints a test page for `device_id`: itself if a printer, else the printers at its kiosk."""
        if role == "printer":
            return [device_id]
        if record is None or record.place.kind != "kiosk":
            return []
        found = [
            r.device_id
            for r in self._records.values()
            if r.role == "printer" and r.place == record.place and r.status == "active"
        ]
        configured = self.site.kiosk_printers.get(record.place.id)
        if configured and configured not in found:
            found.append(configured)
        return found

    def config_toml(self, device_id: str) -> str:
        """The role sections of a device as TOML, for editing."""
        return tomli_w.dumps(self._record(device_id).config)

    def push_config_toml(self, device_id: str, text: str) -> Outcome:
        try:
            sections = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise FleetRefusal("fleet_config_invalid", detail=str(error)) from None
        record = self.push_config(device_id, sections)
        return Outcome("fleet_config_saved", {"device": device_id, "rev": record.config_rev})

    def push_config(self, device_id: str, sections: Mapping[str, Any]) -> DeviceRecord:
        """Validate, store and publish (retained) a device's role configuration; it applies it live."""
        record = self._record(device_id)
        problem = check_role_config(record.role, self._identity(device_id, record.role), sections)
        if problem:
            raise FleetRefusal("fleet_config_invalid", detail=problem)
        record = self.store.set_config(device_id, dict(sections))
        self._remember(record)
        self._publish_config(record)
        log.info("configuration of %s updated to revision %d", device_id, record.config_rev)
        return record

    def config_payload(self, record: DeviceRecord) -> dict[str, Any]:
        """`devices/{id}/config`: the device's whole role configuration except its broker secret."""
        return {
            "v": 1,
            "rev": record.config_rev,
            "ts": iso(self.clock()),
            "device_id": record.device_id,
            "site": self.site.site,
            "role": record.role,
            "config": record.config,
        }

    def _publish_config(self, record: DeviceRecord) -> None:
        if record.status != "active":
            return
        self.link.publish_json(
            self.topics.device_config(record.device_id), self.config_payload(record), qos=1, retain=True
        )

    # ------------------------------------------------------------------ views

    def get(self, device_id: str) -> DeviceRecord | None:
        return self._records.get(device_id)

    def devices(self) -> list[DeviceView]:
        moment = self.clock()
        with self._lock:
            live = {key: replace(value) for key, value in self._live.items()}
            seen = dict(self._seen)
        records = dict(self._records)
        extra = self._quota_and_publish_alerts()
        ids = {i for i, r in records.items() if r.status != "revoked"}
        ids |= {i for i in live if i not in records or records[i].status != "revoked"}
        views = []
        for device_id in ids:
            record = records.get(device_id)
            entry = live.get(device_id) or _Live()
            remembered = seen.get(device_id)
            role = record.role if record else entry.role
            offline_since = entry.offline_since or (remembered.offline_since if remembered else None)
            online = entry.online
            health = dict(entry.health or {})
            silent_since = None
            heard_age = None if entry.heard is None else max(0.0, self._monotonic() - entry.heard)
            if online and heard_age is not None and device_id != self.site.hub_id:
                silent_for = heard_age
                if heartbeat_lost(silent_for, entry.heartbeat_s, self.settings.silent_after_s):
                    online = False
                    silent_since = offline_since = iso(moment - timedelta(seconds=silent_for))
            alerts: list[Alert] = []
            if record is None or record.status == "active" or online is not None:
                alerts = alerts_for(
                    device_id,
                    role,
                    online=online,
                    offline_since=offline_since,
                    health=health,
                    moment=moment,
                    offline_after_s=self.settings.offline_alert_s,
                    silent_since=silent_since,
                )
            alerts += extra.get(device_id, [])
            views.append(
                DeviceView(
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
                    code_expires_at=self.store.pending_code_expiry(device_id) if record else None,
                    heard_age_s=heard_age,
                )
            )
        return sorted(views, key=lambda v: (v.place or "~", v.role or "", v.device_id))

    def _quota_and_publish_alerts(self) -> dict[str, list[Alert]]:
        """A device flooding the hub (named, with what it sent), and the hub unable to publish."""
        found: dict[str, list[Alert]] = {}
        for offender in self.quotas.flooding():
            values = (("count", str(offender.refused)), ("method", offender.last_method))
            found.setdefault(offender.device_id, []).append(
                Alert(offender.device_id, "error", "fleet_alert_flooding", values)
            )
        status = self.link.publishing()
        if status.connected and status.stalled:
            values = (("backlog", str(status.backlog)), ("seconds", str(int(status.oldest_unacked_s))))
            found.setdefault(self.site.hub_id, []).append(
                Alert(self.site.hub_id, "error", "fleet_alert_hub_cannot_publish", values)
            )
        return found

    def alerts(self) -> list[Alert]:
        return [alert for view in self.devices() for alert in view.alerts]

    # ------------------------------------------------------------------ RPC authorisation

    def admit(self, caller_id: str, method: str) -> Refusal | None:
        """The quota check of `appliance.rpc.RpcServer` (network thread, before parsing): a
        Refusal when an enrolled device is over its quota for `method`. Devices the hub did not
        enrol pass here; `authorize` refuses them on a secured site."""
        record = self._records.get(caller_id)
        if record is None or record.status != "active":
            return None
        verdict = self.quotas.check(caller_id, record.role, method)
        if verdict is None:
            return None
        if verdict.started_flooding:
            log.warning(
                "device %s (%s at %s) floods %s: refused beyond its quota; see the fleet page",
                caller_id,
                record.role,
                record.place,
                method,
            )
            if self.secured and self.settings.flood_suspend_s > 0 and not self._stop.is_set():
                self._suspensions.put((caller_id, True))
        return Refusal(verdict.code, verdict.answer, {"seconds": max(1, math.ceil(verdict.retry_after_s))})

    def authorize(
        self, caller_id: str, method: str, params: Mapping[str, Any], *, language: str = "vi"
    ) -> None:
        """Raise RpcError("forbidden") unless `caller_id` may call `method` with `params`.

        The broker already guarantees the caller id is the device's own (ACL); this adds what the
        broker cannot see: each role calls only its role's methods, and a counter unit acts only for
        its own counter. Without broker security (demo) devices the hub never enrolled act freely.
        """
        lang = "en" if language == "en" else "vi"
        if caller_id == self.site.hub_id:
            return
        record = self._records.get(caller_id)
        if record is None or record.status != "active":
            if not self.secured:
                return
            raise _forbidden("fleet_not_enrolled", lang, device=caller_id)
        if method not in allowed_methods(record.role, record.place):
            raise RpcError.from_key("forbidden", lang)  # type: ignore[arg-type]
        if method in COUNTER_METHODS:
            own = record.place.counter_id
            asked = params.get("counter_id")
            if own is None or str(asked) != own:
                raise _forbidden(
                    "fleet_not_your_counter", lang, device=caller_id, own=own or "—", counter=str(asked)
                )
        if method in ("rating.submit", "ticket.reinstate"):
            self._authorize_ticket(caller_id, record, method, params, lang)

    def _authorize_ticket(
        self, caller_id: str, record: DeviceRecord, method: str, params: Mapping[str, Any], lang: str
    ) -> None:
        """A rating belongs to the ticket's holder (its token: a kiosk) or to the counter that served
        it (a counter unit); a counter unit reinstates only a no-show of its own counter's services,
        as an officer does on the web."""
        ref = params.get("ticket_id")
        facts = self.tickets.ticket_facts(ref) if self.tickets is not None and isinstance(ref, str) else None
        if facts is None:
            return  # the queue itself answers unknown_ticket / bad_request
        own = record.place.counter_id
        if method == "rating.submit" and record.role == "kiosk":
            token = params.get("token")
            if not isinstance(token, str) or not secrets.compare_digest(token, facts.token):
                raise _forbidden("fleet_rating_needs_token", lang, device=caller_id)
        elif method == "rating.submit":
            if own is None or facts.counter_id != own:
                raise _forbidden("fleet_not_your_ticket", lang, device=caller_id, own=own or "—")
        elif own is None or facts.service_id not in self.tickets.counter_services(own):  # type: ignore[union-attr]
            raise _forbidden("fleet_not_your_ticket", lang, device=caller_id, own=own or "—")

    # ------------------------------------------------------------------ MQTT (network thread)

    def _on_state(self, msg: Message) -> None:
        device_id = msg.topic.split("/")[-2]
        if not msg.payload:
            with self._lock:
                self._live.pop(device_id, None)
            return
        data = msg.json()
        online = data.get("online") is True
        stamp = iso(self.clock())
        # Heard at receipt, retained copies too: device clocks can be wrong (issue 14), so a dead
        # device is found `silent_after_s` after the hub (re)connects, whatever its `ts` says.
        heard = self._monotonic()
        with self._lock:
            entry = self._live.setdefault(device_id, _Live())
            entry.heard = heard
            entry.role = str(data.get("role") or entry.role or "") or None
            entry.version = str(data["version"]) if data.get("version") is not None else entry.version
            before = self._seen.get(device_id)
            if online:
                entry.online, entry.last_seen, entry.offline_since = True, stamp, None
                seen = Seen(True, stamp, None)
            else:
                # A retained "offline" met at subscription time happened before we listened: keep the
                # moment we recorded then (if any); a live one happens now.
                since = stamp
                if msg.retain and before is not None:
                    since = before.offline_since or before.last_seen or stamp
                entry.online, entry.offline_since = False, since
                entry.last_seen = entry.last_seen or (before.last_seen if before else None) or since
                seen = Seen(False, entry.last_seen, since)
            changed = (
                before is None or before.online != seen.online or before.offline_since != seen.offline_since
            )
            self._seen[device_id] = seen
        if changed and not self._stop.is_set():
            if self._seen_writer is None:  # not started (a test driving the runtime by hand)
                self.store.record_seen(device_id, seen)
            else:
                self._seen_writes.put((device_id, seen))

    def _on_health(self, msg: Message) -> None:
        device_id = msg.topic.split("/")[-2]
        if not msg.payload:
            with self._lock:
                if device_id in self._live:
                    self._live[device_id].health = None
            return
        data = msg.json()
        heard = self._monotonic()
        with self._lock:
            entry = self._live.setdefault(device_id, _Live())
            entry.heard = heard
            entry.heartbeat_s = data.get("heartbeat_s")  # checked by heartbeat_lost
            entry.health = {k: v for k, v in data.items() if k not in ("v",)}
            if entry.online:
                entry.last_seen = iso(self.clock())

    def _on_command_result(self, msg: Message) -> None:
        device_id = msg.topic.split("/")[-2]
        data = msg.json()
        with self._lock:
            entry = self._live.get(device_id)
            if entry is None or not entry.last_command or entry.last_command.get("id") != data.get("id"):
                return
            entry.last_command = {
                **entry.last_command,
                "status": "ok" if data.get("ok") else "failed",
                "error": (data.get("error") or {}).get("message")
                if isinstance(data.get("error"), dict)
                else None,
                "done_at": iso(self.clock()),
            }

    def _on_connection(self, connected: bool) -> None:
        if not connected:
            return
        if self.secured and hasattr(self.accounts, "update_acls"):
            # The broker answers on this (network) thread: wait for it elsewhere.
            threading.Thread(target=self.refresh_acls, name="fleet-acls", daemon=True).start()
        if not self._resumed_at_start and self.secured:
            self._resumed_at_start = True
            self._suspensions.put(("*", False))
        # A broker that lost its persistence learns every configuration again.
        for record in list(self._records.values()):
            try:
                self._publish_config(record)
            except Exception as error:  # never into the network thread
                log.warning("configuration of %s not re-published: %r", record.device_id, error)

    def refresh_acls(self) -> int:
        """Give every enrolled device exactly the ACLs its role has in this version (devices
        enrolled by an older hub keep their password); the number of accounts changed."""
        changed = 0
        for record in list(self._records.values()):
            if record.status != "active" or record.enrolled_at is None or self._stop.is_set():
                continue
            acls = device_acls(self.topics, record.device_id, record.role, record.place)
            try:
                changed += bool(self.accounts.update_acls(record.device_id, acls))  # type: ignore[attr-defined]
            except BrokerAccountError as error:
                log.warning("broker ACLs of %s not refreshed: %s", record.device_id, error)
        return changed

    # ------------------------------------------------------------------ watch

    def _watch(self) -> None:
        while not self._stop.wait(self.settings.watch_interval_s):
            try:
                self.check_alerts()
            except Exception:
                log.exception("fleet watch failed")

    def check_alerts(self) -> list[Alert]:
        """Log alerts as they start and end (one line each); return the current ones."""
        current = {alert.ident: alert for alert in self.alerts()}
        for ident, alert in current.items():
            if ident not in self._alerting:
                log.warning("alert: %s", alert.text("en"))
        for ident, alert in self._alerting.items():
            if ident not in current:
                log.info("alert over: %s", alert.text("en"))
        self._alerting = current
        return list(current.values())

    # ------------------------------------------------------------------ helpers

    def _identity(self, device_id: str, role: str) -> dict[str, Any]:
        return {
            "device_id": device_id,
            "site": self.site.site,
            "role": role,
            "language": self.site.language,
            "mqtt": {},
        }

    def _place(self, text: str) -> Place:
        try:
            where = Place.parse(text)
        except ValueError as error:
            raise FleetRefusal("fleet_bad_place", detail=str(error)) from None
        if where.kind == "counter" and self.site.counters and where.id not in self.site.counters:
            detail = message(
                "unknown_counter", "en" if self.site.language == "en" else "vi", counter_id=where.id
            )
            raise FleetRefusal("fleet_bad_place", detail=detail)
        return where

    def _check_id(self, device_id: str) -> None:
        if not _ID_RE.match(device_id) or device_id == self.site.hub_id:
            raise FleetRefusal("fleet_bad_device_id", device=device_id)

    def _free_id(self, stem: str) -> str:
        taken = {i for i, r in self._records.items() if r.status != "revoked"} | {self.site.hub_id}
        candidate, number = stem, 2
        while candidate in taken:
            candidate, number = f"{stem}-{number}", number + 1
        return candidate

    def _record(self, device_id: str) -> DeviceRecord:
        record = self._records.get(device_id)
        if record is None or record.status == "revoked":
            raise FleetRefusal("fleet_unknown_device", device=device_id)
        return record

    def _remember(self, record: DeviceRecord) -> None:
        self._records[record.device_id] = record


def _forbidden(key: str, language: str, **values: object) -> RpcError:
    return RpcError(
        "forbidden",
        message(key, "en" if language == "en" else "vi", **values),
        message(key, "en", **values),
        {k: v for k, v in values.items() if isinstance(v, str)},
    )


def _host_only(host: str) -> str:
    """'hub.local' of 'hub.local:8080', '::1' of '[::1]:8080'."""
    host = host.strip()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
