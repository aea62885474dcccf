"""From the province broker into PostgreSQL.

Every site's bridge carries `motcua/v1/{site}/queue/events`, `devices/+/state`, `devices/+/health`
and `bridge/state` to the province broker. This client keeps a persistent session (clean start off,
long session expiry). In "leader" mode (province.leader) only the elected instance runs it, under
the group's one session; in "shared" mode every instance runs it and takes the events through an
MQTT v5 shared subscription (`$share/{group}/…`), each message to one of them.

A message is acknowledged (PUBACK) only after the transaction storing it committed, so a province
service killed at any moment loses nothing: the broker sends the unacknowledged messages again when
it comes back, and the store's unique (site, seq) keeps what was committed already from counting twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable

from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from .config import ProvinceConfig
from .inbox import FairInbox
from .store import Incoming, ProvinceStore
from .templates import unanswered

log = logging.getLogger("motcua.province.ingest")

MAX_PAYLOAD = 256 * 1024
ROOT = "motcua/v1/"


def parse_topic(topic: str, prefix: str) -> tuple[str, str, str | None] | None:
    """(kind, site, device_id) of a topic the bridges carry, or None for anything else."""
    if not topic.startswith(prefix + ROOT):
        return None
    parts = topic[len(prefix) + len(ROOT) :].split("/")
    if len(parts) == 3 and parts[1:] == ["queue", "events"]:
        return "event", parts[0], None
    if len(parts) == 3 and parts[1:] == ["bridge", "state"]:
        return "bridge", parts[0], None
    if len(parts) == 3 and parts[1:] == ["province", "results"]:
        return "template_result", parts[0], None
    if len(parts) == 4 and parts[1] == "devices" and parts[3] in ("state", "health"):
        return parts[3], parts[0], parts[2]
    return None


def parse_message(topic: str, payload: bytes, prefix: str) -> Incoming | None:
    """The message as the store takes it, or None (logged) when it is not one the province reads."""
    where = parse_topic(topic, prefix)
    if where is None or len(payload) > MAX_PAYLOAD:
        return None
    kind, site, device_id = where
    if kind == "bridge":  # Mosquitto's bridge notification: "1" connected, "0" not
        return Incoming("bridge", site, payload.strip() == b"1")
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        log.warning("%s: not JSON, ignored", topic)
        return None
    if not isinstance(body, dict):
        return None
    if kind == "event" and not (isinstance(body.get("seq"), int) and body["seq"] > 0):
        log.warning("%s: event without a positive seq, ignored", topic)
        return None
    if kind == "template_result" and not isinstance(body.get("template_id"), int):
        return None
    return Incoming(kind, site, body, device_id)


def hubs_online(batch: list[Incoming]) -> list[str]:
    """The sites whose hub announced itself online in `batch` (its birth, or the retained copy)."""
    births = (m for m in batch if m.kind == "state" and m.body.get("role") == "hub")
    return sorted({m.site for m in births if m.body.get("online") is True})


class Ingestor:
    """The MQTT client and the writer thread that batches messages into the store."""

    def __init__(self, config: ProvinceConfig, *, on_stored: Callable[[int], None] | None = None) -> None:
        self.config = config
        self.settings = config.mqtt
        self.on_stored = on_stored
        # One lane per site: a site draining a long backlog does not hold up the others (province.inbox).
        self._inbox: FairInbox[MQTTMessage] = FairInbox()
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.stored = 0
        self.client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.settings.session_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if self.settings.username:
            self.client.username_pw_set(self.settings.username, self.settings.password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        # Back quickly after a broker restart (see BrokerSettings.mode).
        self.client.reconnect_delay_set(0.1, 1)
        self._writer = threading.Thread(target=self._write_loop, name="province-writer", daemon=True)

    # ------------------------------------------------------------------ MQTT

    def filters(self) -> list[tuple[str, SubscribeOptions]]:
        p = self.settings.remote_prefix
        share = f"$share/{self.settings.group}/" if self.settings.active_mode == "shared" else ""
        shared = SubscribeOptions(qos=1)
        return [
            # The high-volume streams are shared: one instance of the group gets each message.
            (f"{share}{p}{ROOT}+/queue/events", shared),
            (f"{share}{p}{ROOT}+/devices/+/health", shared),
            (f"{share}{p}{ROOT}+/province/results", shared),
            # Retained, low-volume, idempotent: every instance reads them, including the retained
            # copy at subscription (a shared subscription gets no retained messages).
            (f"{p}{ROOT}+/bridge/state", SubscribeOptions(qos=1)),
            (f"{p}{ROOT}+/devices/+/state", SubscribeOptions(qos=1)),
        ]

    def start(self) -> Ingestor:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.settings.session_expiry_s
        self._writer.start()
        self.client.connect_async(
            self.settings.host, self.settings.port, keepalive=30, clean_start=False, properties=properties
        )
        self.client.loop_start()
        return self

    def _on_connect(
        self, client: Client, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("the province broker refused the connection: %s", reason)
            return
        # Subscribing again on a resumed session is harmless and covers a session the broker lost.
        client.subscribe(self.filters())
        self.connected.set()
        log.info(
            "connected to the province broker %s:%d as %s",
            self.settings.host,
            self.settings.port,
            self.settings.session_id,
        )

    def _on_disconnect(self, *args: object) -> None:
        self.connected.clear()
        log.warning("disconnected from the province broker; reconnecting")

    def _on_message(self, client: Client, userdata: object, message: MQTTMessage) -> None:
        where = parse_topic(message.topic, self.settings.remote_prefix)
        self._inbox.put(where[1] if where else "", message)

    def _next_batch(self) -> list[MQTTMessage] | None:
        return self._inbox.take(self.config.batch_max, self.config.batch_wait_s)

    def _write_loop(self) -> None:
        store: ProvinceStore | None = None
        while True:
            batch = self._next_batch()
            if batch is None:
                break
            parsed = [
                m
                for m in (
                    parse_message(msg.topic, bytes(msg.payload), self.settings.remote_prefix) for msg in batch
                )
                if m is not None
            ]
            delay = 0.2
            while not self._stop.is_set():
                try:
                    if store is None:
                        store = ProvinceStore(self.config.dsn, instance=self.settings.client_id)
                    stored = store.ingest(parsed) if parsed else 0
                    break
                except Exception as error:  # PostgreSQL away: keep the batch unacknowledged, retry
                    log.error("storing %d messages failed (%r); retrying", len(parsed), error)
                    if store is not None:
                        with contextlib.suppress(Exception):
                            store.close()
                        store = None
                    self._stop.wait(delay)
                    delay = min(delay * 2, 5.0)
            else:
                break  # stopping: the batch stays unacknowledged, the broker sends it again
            # After the commit. Not quite in the order received (the lanes interleave sites): Mosquitto
            # matches each PUBACK by its packet id, and the store does not depend on the order.
            for msg in batch:
                if msg.qos > 0:
                    self.client.ack(msg.mid, msg.qos)
            self.stored += stored
            if stored and self.on_stored:
                self.on_stored(stored)
            for site in hubs_online(parsed):
                self._send_unanswered(store, site)
        if store is not None:
            store.close()

    def _send_unanswered(self, store: ProvinceStore | None, site: str) -> None:
        """A site's hub is (back) online: the templates it has not answered go to it again (see
        province.templates); they wait in the province broker if the bridge drops meanwhile."""
        if store is None:
            return
        try:
            messages = unanswered(store, site, self.settings.remote_prefix)
        except Exception as error:  # the next birth tries again; ingest goes on
            log.warning("templates for %s not sent again: %r", site, error)
            return
        for topic, payload in messages:
            self.client.publish(topic, payload, qos=1)
        if messages:
            log.info("%d unanswered template(s) sent again to %s (its hub is online)", len(messages), site)

    def stop(self) -> None:
        self._stop.set()
        self._inbox.close()
        self._writer.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()
