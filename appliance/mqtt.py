"""The one MQTT link every motcua process uses (paho-mqtt 2.x, MQTT v5, Mosquitto).

What it guarantees, so that role code never has to think about the network:
- a last will (retained `devices/{id}/state` with `online: false`) is registered before connecting, and
  a birth (`online: true`, retained) plus every remembered subscription is re-sent on *every* connect;
- it reconnects forever with exponential backoff (MqttSettings.reconnect_min … reconnect_max);
- TCP_NODELAY is set on the socket: without it Nagle + delayed ACK turn a 0.5 ms RPC into 44–88 ms
  (HARDWARE.md);
- a handler that raises is logged in one line naming the topic and never reaches paho's loop, which
  would otherwise die with it.

Payload helpers (appliance/payload.py, re-exported here): `decode_json` and `check_version` turn
untrusted bytes into a dict or a `PayloadError` whose code is also the i18n message key sent back to
the caller. The publishing health it reports (`Link.publishing()`) is kept by appliance/publishing.py.
"""

from __future__ import annotations

import logging
import socket
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic
from paho.mqtt.client import Client, MQTTMessage, MQTTMessageInfo, topic_matches_sub
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from . import __version__
from .config import MqttSettings
from .errors import MotcuaError
from .payload import (
    DEFAULT_MAX_PAYLOAD,
    PROTOCOL_VERSION,
    PayloadError,
    check_version,
    decode_json,
    encode_json,
)
from .publishing import MAX_QUEUED_MESSAGES, PublishBook, PublishStatus
from .timeutil import iso, now
from .topics import Topics

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "Link",
    "Message",
    "PayloadError",
    "PublishStatus",
    "check_version",
    "decode_json",
    "encode_json",
]

log = logging.getLogger(__name__)

# How long stop() waits for the broker to acknowledge the retained `online: false`.
STOP_PUBLISH_TIMEOUT = 2.0
SESSION_TAKEN_OVER = 142


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class Message:
    """One received message, detached from paho's mutable MQTTMessage."""

    topic: str
    payload: bytes
    retain: bool = False
    properties: Properties | None = None
    qos: int = 0

    def json(self, *, max_size: int = DEFAULT_MAX_PAYLOAD) -> dict[str, Any]:
        """The payload as a validated v1 JSON object, or PayloadError."""
        return dict(check_version(decode_json(self.payload, max_size=max_size)))

    @property
    def response_topic(self) -> str | None:
        return getattr(self.properties, "ResponseTopic", None) or None

    @property
    def correlation_data(self) -> bytes | None:
        return getattr(self.properties, "CorrelationData", None)


Handler = Callable[[Message], None]
ConnectionListener = Callable[[bool], None]


@dataclass
class _Subscription:
    """One topic filter: one broker subscription (one v5 Subscription Identifier), many handlers."""

    ident: int
    qos: int
    handlers: list[Handler] = field(default_factory=list)


def subscription_identifier(topic_filter: str) -> int:
    """A v5 Subscription Identifier (1 … 2**28-1) derived from the filter itself.

    Stable across processes and versions: a persistent session's queued messages carry the
    identifier of the subscription made by the *previous* process, so it must not depend on the
    order in which this one happens to subscribe.
    """
    return (zlib.crc32(topic_filter.encode("utf-8")) % 0x0FFFFFFF) + 1


def _describe(callback: Callable[..., object]) -> str:
    return getattr(callback, "__qualname__", None) or repr(callback)


class _PahoLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """paho's own log, all at DEBUG. Its ERROR lines are routine ("Client is not connected" after
    every clean stop); what matters (lost connection, refusals) this module logs itself."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if level >= logging.ERROR and str(msg).startswith("Caught exception"):
            self.logger.error(msg, *args, **kwargs)  # a callback of ours escaped its guard: a bug
        else:
            self.logger.debug(msg, *args, **kwargs)


# --------------------------------------------------------------------------- link


class Link:
    """A device's connection to the site broker; see the module docstring for its guarantees.

    `clean_start=False` with `session_expiry>0` keeps the broker session (subscriptions and queued
    QoS 1 messages) while the device is away — a printer must not lose print jobs during a reboot.
    Such a device needs a stable `client_id` (the default `{site}-{device_id}` is stable).
    """

    def __init__(
        self,
        settings: MqttSettings,
        *,
        site: str,
        device_id: str,
        role: str,
        version: str = __version__,
        clean_start: bool = True,
        session_expiry: int = 0,
        client_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.topics = Topics(site)
        self.site = site
        self.device_id = device_id
        self.role = role
        self.version = version
        self.client_id = client_id or f"{site}-{device_id}"
        self.clean_start = clean_start
        self.session_expiry = session_expiry
        self._lock = threading.RLock()
        self._subscriptions: dict[str, _Subscription] = {}
        self._listeners: list[ConnectionListener] = []
        self._connected = threading.Event()
        self._last_health: dict[str, Any] | None = None
        self._heartbeat: threading.Thread | None = None
        self._heartbeat_stop = threading.Event()
        self._awaiting_suback: set[int] = set()
        self._loop_thread: int | None = None
        self._started = False
        self._stopped = False
        self._outbox = PublishBook()
        self._client = self._make_client()

    # ------------------------------------------------------------------ set-up

    def _make_client(self) -> Client:
        client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            reconnect_on_failure=True,
        )
        # Defence in depth: our callbacks catch everything, but a paho-internal surprise must not
        # kill the network thread of a daemon that runs for months.
        client.suppress_exceptions = True
        client.enable_logger(_PahoLog(logging.getLogger(f"{__name__}.paho")))  # type: ignore[arg-type]
        client.max_queued_messages_set(MAX_QUEUED_MESSAGES)
        client.reconnect_delay_set(self.settings.reconnect_min, self.settings.reconnect_max)  # type: ignore[arg-type]
        if self.settings.username is not None:
            client.username_pw_set(self.settings.username, self.settings.password)
        if self.settings.tls:
            client.tls_set(ca_certs=self.settings.ca_file)
        client.on_socket_open = self._on_socket_open
        client.on_pre_connect = self._on_pre_connect
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        self._set_will(client)
        return client

    def _state_payload(self, online: bool) -> bytes:
        return encode_json(
            {
                "v": PROTOCOL_VERSION,
                "online": online,
                "role": self.role,
                "version": self.version,
                "ts": iso(now()),
            }
        )

    def _set_will(self, client: Client) -> None:
        client.will_set(
            self.topics.device_state(self.device_id), self._state_payload(False), qos=1, retain=True
        )

    # ------------------------------------------------------------------ public API

    @property
    def connected(self) -> bool:
        """True once the broker accepted the connection and acknowledged every remembered
        subscription (then the birth is published), until the next disconnect."""
        return self._connected.is_set()

    def on_connection_change(self, callback: ConnectionListener) -> None:
        """Call `callback(True)` after every (re)connect and `callback(False)` after every loss or
        stop(). It runs on the network thread: keep it quick."""
        with self._lock:
            self._listeners.append(callback)

    def subscribe(self, topic_filter: str, handler: Handler, qos: int = 1) -> None:
        """Remember `handler` for `topic_filter` and subscribe now if connected, else on connect.

        A second handler on an existing filter re-subscribes with "send retained" so that it, too,
        sees the current retained state (earlier handlers get that retained message again).
        """
        if qos not in (0, 1, 2):
            raise ValueError(f"invalid QoS {qos} for {topic_filter!r}")
        with self._lock:
            entry = self._subscriptions.get(topic_filter)
            if entry is None:
                entry = _Subscription(ident=subscription_identifier(topic_filter), qos=qos)
                self._subscriptions[topic_filter] = entry
            entry.qos = max(entry.qos, qos)
            entry.handlers.append(handler)
            if self._client.is_connected():
                self._send_subscribe(topic_filter, entry, SubscribeOptions.RETAIN_SEND_ON_SUBSCRIBE)

    def unsubscribe(self, topic_filter: str, handler: Handler | None = None) -> None:
        """Forget `handler` (or every handler) of `topic_filter`; unsubscribe when none is left."""
        with self._lock:
            entry = self._subscriptions.get(topic_filter)
            if entry is None:
                return
            if handler is not None:
                entry.handlers = [h for h in entry.handlers if h != handler]
            if handler is None or not entry.handlers:
                del self._subscriptions[topic_filter]
                if self._client.is_connected():
                    self._client.unsubscribe(topic_filter)

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        qos: int = 1,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> MQTTMessageInfo:
        """Publish raw bytes. QoS>0 messages published while offline are sent after reconnecting."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        self._outbox.sent(info, qos)
        return info

    def publishing(self) -> PublishStatus:
        """How the link's outgoing messages fare: backlog, age of the oldest unacknowledged one,
        messages paho refused (its queue full), time since the broker last acknowledged one."""
        return self._outbox.status(connected=self.connected)

    def publish_json(
        self,
        topic: str,
        payload: Mapping[str, Any] | pydantic.BaseModel,
        *,
        qos: int = 1,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> MQTTMessageInfo:
        """Publish `payload` as compact UTF-8 JSON. The caller includes "v": 1 (configs may not)."""
        return self.publish(topic, encode_json(payload), qos=qos, retain=retain, properties=properties)

    def publish_health(self, health: Mapping[str, Any]) -> None:
        """Retained `devices/{id}/health` = {v, ts, **health}; re-published after every reconnect so
        a broker restarted without persistence still knows it."""
        body: dict[str, Any] = {"v": PROTOCOL_VERSION, "ts": iso(now()), **health}
        if self.settings.heartbeat_s > 0:
            body["heartbeat_s"] = self.settings.heartbeat_s  # the hub's clue for how long silence may last
        encode_json(body)  # misuse (unserialisable values) raises here, in the caller's thread
        with self._lock:
            self._last_health = body
            start_heartbeat = self.settings.heartbeat_s > 0 and self._heartbeat is None and not self._stopped
            if start_heartbeat:
                self._heartbeat = threading.Thread(target=self._beat, name="mqtt-heartbeat", daemon=True)
        self.publish_json(self.topics.device_health(self.device_id), body, qos=1, retain=True)
        if start_heartbeat and self._heartbeat is not None:
            self._heartbeat.start()

    def _beat(self) -> None:
        """The last health again, with a fresh `ts`, every `heartbeat_s` while connected."""
        while not self._heartbeat_stop.wait(self.settings.heartbeat_s):
            if not self.connected:
                continue  # the birth after the reconnect re-publishes it anyway
            with self._lock:
                if self._last_health is None:
                    continue
                body = {**self._last_health, "ts": iso(now())}
                self._last_health = body
            try:
                self.publish_json(self.topics.device_health(self.device_id), body, qos=1, retain=True)
            except Exception as error:  # a heartbeat must never take the daemon down
                log.debug("MQTT %s: heartbeat not sent: %r", self.client_id, error)

    def start(self) -> None:
        """Connect in the background; keeps reconnecting with backoff until stop()."""
        with self._lock:
            if self._started:
                return
            if self._stopped:
                raise MotcuaError(f"MQTT link {self.client_id!r} was stopped; create a new Link")
            self._started = True
        properties = Properties(PacketTypes.CONNECT)
        if self.session_expiry > 0:
            properties.SessionExpiryInterval = self.session_expiry
        self._client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=self.settings.keepalive,
            clean_start=self.clean_start,
            properties=properties,
        )
        self._client.loop_start()
        log.info("MQTT %s: connecting to %s:%d", self.client_id, self.settings.host, self.settings.port)

    def wait_connected(self, timeout: float = 10.0) -> bool:
        """Block until `connected` (True) or `timeout` seconds pass (False)."""
        return self._connected.wait(timeout)

    def stop(self) -> None:
        """Publish retained `online: false`, disconnect cleanly (no will), stop the thread. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            started = self._started
        self._heartbeat_stop.set()
        if started:
            on_loop_thread = threading.get_ident() == self._loop_thread
            if self._client.is_connected():
                info = self.publish(
                    self.topics.device_state(self.device_id), self._state_payload(False), qos=1, retain=True
                )
                if not on_loop_thread:  # waiting on our own network thread would deadlock
                    try:
                        info.wait_for_publish(STOP_PUBLISH_TIMEOUT)
                    except (RuntimeError, ValueError) as error:
                        log.warning("MQTT %s: offline state not sent: %s", self.client_id, error)
            self._client.disconnect()
            self._client.loop_stop()
        was_connected = self._connected.is_set()
        self._connected.clear()
        if was_connected:
            self._notify_listeners(False)
        log.info("MQTT %s: stopped", self.client_id)

    def __enter__(self) -> Link:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ paho callbacks (network thread)

    def _on_socket_open(self, client: Client, userdata: object, sock: Any) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError) as error:  # e.g. a proxy socket without setsockopt
            log.warning("MQTT %s: cannot set TCP_NODELAY: %s", self.client_id, error)

    def _on_pre_connect(self, client: Client, userdata: object) -> None:
        # Refresh the will's timestamp: it then tells when the connection it guards was made.
        self._set_will(client)

    def _on_connect(
        self, client: Client, userdata: object, flags: Any, reason: ReasonCode, properties: Properties | None
    ) -> None:
        self._loop_thread = threading.get_ident()
        if reason.is_failure:
            log.warning("MQTT %s: broker refused the connection: %s", self.client_id, reason)
            return
        session = "resumed" if getattr(flags, "session_present", False) else "new"
        log.info(
            "MQTT %s: connected to %s:%d (%s session)",
            self.client_id,
            self.settings.host,
            self.settings.port,
            session,
        )
        try:
            with self._lock:
                self._awaiting_suback = set()
                for topic_filter, entry in self._subscriptions.items():
                    # Only when new: a persistent session already holds the subscription and its
                    # queued messages; re-sending retained state there would duplicate it.
                    mid = self._send_subscribe(topic_filter, entry, SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
                    if mid is not None:
                        self._awaiting_suback.add(mid)
                ready = not self._awaiting_suback
        except Exception as error:  # never into paho's loop
            log.error("MQTT %s: resubscribing failed: %r", self.client_id, error)
            ready = True
        if ready:
            self._become_ready()

    def _on_subscribe(
        self,
        client: Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        for reason in reasons:
            if reason.is_failure:
                log.error("MQTT %s: broker refused a subscription: %s", self.client_id, reason)
        with self._lock:
            if mid not in self._awaiting_suback:
                return
            self._awaiting_suback.discard(mid)
            ready = not self._awaiting_suback
        if ready:
            self._become_ready()

    def _become_ready(self) -> None:
        """Every subscription is active: only now announce ourselves, so whoever reacts to our birth
        (e.g. the hub sending a command) cannot race a subscription that is not in place yet."""
        if self._stopped:  # a reconnect raced stop(): a birth now would outlive us as retained state
            return
        self._outbox.reconnected()  # paho re-sends what was unacknowledged: its clock starts again
        try:
            self.publish(
                self.topics.device_state(self.device_id), self._state_payload(True), qos=1, retain=True
            )
            with self._lock:
                health = self._last_health
                if health is not None:  # said again now: its `ts` is the moment we were last alive
                    health = self._last_health = {**health, "ts": iso(now())}
            if health is not None:
                self.publish_json(self.topics.device_health(self.device_id), health, qos=1, retain=True)
        except Exception as error:  # never into paho's loop
            log.error("MQTT %s: publishing birth failed: %r", self.client_id, error)
        self._connected.set()
        self._notify_listeners(True)

    def _on_publish(
        self, client: Client, userdata: object, mid: int, reason: ReasonCode, properties: Properties | None
    ) -> None:
        self._outbox.acknowledged(mid)

    def _on_connect_fail(self, client: Client, userdata: object) -> None:
        log.debug(
            "MQTT %s: cannot reach %s:%d, retrying", self.client_id, self.settings.host, self.settings.port
        )

    def _on_disconnect(
        self, client: Client, userdata: object, flags: Any, reason: ReasonCode, properties: Properties | None
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if self._stopped:
            return
        if reason.value == SESSION_TAKEN_OVER:
            log.error(
                "MQTT %s: another process connected with the same client id; is device %r configured twice?",
                self.client_id,
                self.device_id,
            )
        else:
            log.warning("MQTT %s: connection lost (%s); reconnecting", self.client_id, reason)
        if was_connected:
            self._notify_listeners(False)

    def _on_message(self, client: Client, userdata: object, raw: MQTTMessage) -> None:
        try:
            message = Message(
                topic=raw.topic,
                payload=bytes(raw.payload),
                retain=bool(raw.retain),
                properties=raw.properties,
                qos=raw.qos,
            )
        except Exception as error:  # e.g. a topic that is not UTF-8
            log.warning("MQTT %s: unreadable message dropped: %r", self.client_id, error)
            return
        for handler in self._handlers_for(message):
            try:
                handler(message)
            except Exception as error:
                log.error("MQTT handler %s failed on %s: %r", _describe(handler), message.topic, error)
                log.debug("traceback of the failed handler on %s", message.topic, exc_info=True)

    # ------------------------------------------------------------------ helpers

    def _handlers_for(self, message: Message) -> list[Handler]:
        """Handlers of the subscriptions that delivered `message`.

        Mosquitto sends one copy per matching subscription, each tagged with its Subscription
        Identifier: routing by identifier calls every handler exactly once even when filters overlap.
        A copy whose identifier is not ours any more (a filter dropped from a persistent session) is
        ignored. Without identifiers (a broker that sends none) fall back to matching the topic.
        """
        idents = getattr(message.properties, "SubscriptionIdentifier", None) or []
        with self._lock:
            entries = [
                (topic_filter, entry.ident, list(entry.handlers))
                for topic_filter, entry in self._subscriptions.items()
            ]
        matching = [
            (ident, handlers)
            for topic_filter, ident, handlers in entries
            if topic_matches_sub(topic_filter, message.topic)
        ]
        if idents:
            matching = [(ident, handlers) for ident, handlers in matching if ident in idents]
            if not matching:
                log.debug(
                    "MQTT %s: %s arrived for a subscription we no longer hold", self.client_id, message.topic
                )
        return [handler for _, handlers in matching for handler in handlers]

    def _send_subscribe(self, topic_filter: str, entry: _Subscription, retain_handling: int) -> int | None:
        """Send one SUBSCRIBE; its message id, or None if the connection is gone (on_connect retries)."""
        properties = Properties(PacketTypes.SUBSCRIBE)
        properties.SubscriptionIdentifier = entry.ident
        options = SubscribeOptions(qos=entry.qos, retainHandling=retain_handling)
        result, mid = self._client.subscribe(topic_filter, options=options, properties=properties)
        if result != MQTTErrorCode.MQTT_ERR_SUCCESS:
            log.debug("MQTT %s: subscribe %s deferred (%s)", self.client_id, topic_filter, result)
            return None
        return mid

    def _notify_listeners(self, connected: bool) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(connected)
            except Exception as error:
                log.error("MQTT connection listener %s failed: %r", _describe(listener), error)
