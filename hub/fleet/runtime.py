"""The hub's provisioning authority and fleet watch: enrolment, broker accounts, commands, live
configuration, health, alerts and RPC authorisation.

It listens on the hub's link to every device's retained state (online/offline from the will),
health and command results; it keeps its records in the hub's SQLite file (hub.fleet.store); it
creates and deletes broker accounts through `BrokerAccounts` (dynamic security, or none for the
demo). Web pages and `motcua enroll` reach it through hub.web.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import tomli_w
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.mqtt import Link, Message
from appliance.rpc import Refusal
from appliance.timeutil import iso, now

from . import templates
from .accounts import Account, BrokerAccounts
from .authorization import RpcGate
from .codes import code_hash, new_code
from .enrolment import check_device_id, device_identity, enrolment_reply, parse_place
from .errors import BrokerAccountError, EnrolmentRefused, FleetRefusal
from .health import Alert
from .model import DeviceView, Enrolment, LiveState, Outcome, SiteInfo, TicketBook
from .presence import Presence
from .province import province_request
from .quotas import Quotas
from .roles import (
    COMMAND_RESULTS_LEAF,
    ROLES,
    check_role_config,
    default_device_id,
    device_acls,
    starter_config,
)
from .settings import FleetSettings
from .store import DeviceRecord, FleetStore
from .suspension import Suspender
from .views import device_view, printers_for

log = logging.getLogger("motcua.hub.fleet")

COMMANDS = ("identify", "test_print", "reload", "restart")


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
        self._records: dict[str, DeviceRecord] = {r.device_id: r for r in store.all(include_revoked=True)}
        self._alerting: dict[tuple[str, str], Alert] = {}
        self.quotas = Quotas(settings.quota_rules)
        # The queue's tickets, for the rating and reinstating rules (hub.service.QueueService; set
        # by hub.fleet.wiring.attach_fleet). Without it those rules are not checked.
        self.tickets: TicketBook | None = None
        self._stop = threading.Event()
        self.presence = Presence(store, clock=clock, monotonic=monotonic, stop=self._stop)
        self._suspender = Suspender(
            accounts,
            settings.flood_suspend_s,
            lambda: [r.device_id for r in self._records.values() if r.status == "active"],
            self._stop,
        )
        self._resumed_at_start = False
        self.gate = RpcGate(
            self._records,
            self.quotas,
            site.hub_id,
            secured=lambda: self.secured,
            on_flood=self._on_flood,
        )
        self._thread: threading.Thread | None = None
        for leaf, handler in self._subscriptions():
            link.subscribe(self.topics.all_devices(leaf), handler)
        link.subscribe(self.topics.province_commands, self._on_province_command)
        link.subscribe(self.topics.province_templates, self._on_province_template)
        # The province's templates and what became of them, newest last (the /devices page).
        self.province_templates: list[dict[str, Any]] = []
        link.on_connection_change(self._on_connection)

    def _subscriptions(self) -> list[tuple[str, Callable[[Message], None]]]:
        return [
            ("state", self.presence.on_state),
            ("health", self.presence.on_health),
            (COMMAND_RESULTS_LEAF, self.presence.on_command_result),
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
                self.presence.start()
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
        self.presence.close()
        self._suspender.close()
        self.store.close()

    def _on_flood(self, device_id: str) -> None:
        if self.secured and self.settings.flood_suspend_s > 0 and not self._stop.is_set():
            self._suspender.suspend(device_id)

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
        where = parse_place(self.site, place)
        label = " ".join(label.split())[:100]
        if device_id:
            device_id = device_id.strip()
            check_device_id(self.site, device_id)
            chosen = device_id
        else:
            chosen = self._free_id(default_device_id(role, where, kiosk_printers=self.site.kiosk_printers))
        config = starter_config(role, where, hub_id=self.site.hub_id)
        problem = check_role_config(role, device_identity(self.site, chosen, role), config)
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
        return enrolment_reply(
            record, password, hub_host, site=self.site, settings=self.settings, secured=self.secured
        )

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
        live = self.presence.live(device_id)
        role = record.role if record is not None else (live.role if live else None)
        if (record is None or record.status == "revoked") and live is None:
            raise FleetRefusal("fleet_unknown_device", device=device_id)
        if command == "test_print":
            printers = printers_for(device_id, role, record, self._records.values(), self.site.kiosk_printers)
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
        sent = {"id": ident, "cmd": command, "sent_at": iso(self.clock()), "status": "sent"}
        online = self.presence.command_sent(device_id, role, sent)
        log.info("command %s (%s) sent to %s", command, ident, device_id)
        if online:
            return Outcome("fleet_command_sent", {"command": command, "device": device_id}, ident)
        return Outcome(
            "fleet_command_sent_offline",
            {"command": command, "device": device_id, "seconds": self.settings.command_expiry_s},
            ident,
        )

    def _on_province_command(self, msg: Message) -> None:
        """`province/commands` from the central broker (over the bridge): see province_request."""
        request = province_request(msg, self.clock(), self.settings.command_expiry_s)
        if request is None:
            return
        device_id, command = request
        try:
            self.send_command(device_id, command)
        except FleetRefusal as refusal:
            log.warning("province command %s for %s refused: %s", command, device_id, refusal)
        else:
            log.info("province asked for %s on %s", command, device_id)

    def _on_province_template(self, msg: Message) -> None:
        """`province/templates`: validated and applied by hub.fleet.templates (off the MQTT thread,
        one at a time); the outcome goes back on `province/results` and into the log, in both languages."""
        templates.in_turn(self._answer_template, msg)

    def _answer_template(self, msg: Message) -> None:
        answer = templates.answer(
            msg, tuple(self.settings.province_templates), self.tickets, iso(self.clock())
        )
        if answer is None:
            return
        with self._lock:
            self.province_templates = [*self.province_templates[-19:], answer]
        self.link.publish_json(self.topics.province_results, answer, qos=1)

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
        problem = check_role_config(record.role, device_identity(self.site, device_id, record.role), sections)
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
        live, seen = self.presence.snapshot()
        records = dict(self._records)
        extra = self._quota_and_publish_alerts()
        ids = {i for i, r in records.items() if r.status != "revoked"}
        ids |= {i for i in live if i not in records or records[i].status != "revoked"}
        views = []
        for device_id in ids:
            record = records.get(device_id)
            entry = live.get(device_id) or LiveState()
            views.append(
                device_view(
                    device_id,
                    record,
                    entry,
                    seen.get(device_id),
                    moment=moment,
                    heard_age=None if entry.heard is None else max(0.0, self._monotonic() - entry.heard),
                    watch_heartbeat=device_id != self.site.hub_id,
                    settings=self.settings,
                    extra_alerts=extra.get(device_id, []),
                    code_expires_at=self.store.pending_code_expiry(device_id) if record else None,
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
        """The quota check of `appliance.rpc.RpcServer` (network thread): see RpcGate.admit."""
        return self.gate.admit(caller_id, method)

    def authorize(
        self, caller_id: str, method: str, params: Mapping[str, Any], *, language: str = "vi"
    ) -> None:
        """Raise RpcError("forbidden") unless `caller_id` may call `method`: see RpcGate.authorize."""
        self.gate.authorize(caller_id, method, params, language=language, tickets=self.tickets)

    # ------------------------------------------------------------------ MQTT (network thread)

    def _on_connection(self, connected: bool) -> None:
        if not connected:
            return
        if self.secured and hasattr(self.accounts, "update_acls"):
            # The broker answers on this (network) thread: wait for it elsewhere.
            threading.Thread(target=self.refresh_acls, name="fleet-acls", daemon=True).start()
        if not self._resumed_at_start and self.secured:
            self._resumed_at_start = True
            self._suspender.resume_all()
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
