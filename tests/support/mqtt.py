"""An independent MQTT observer for tests: plain paho, so the code under test never checks itself."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


@dataclass(frozen=True)
class Seen:
    topic: str
    payload: bytes
    retain: bool
    correlation: bytes | None

    def json(self) -> Any:
        return json.loads(self.payload)


class Observer:
    """A raw v5 client that records every message it receives and can publish anything."""

    def __init__(self, port: int, *filters: str, host: str = "127.0.0.1") -> None:
        self.messages: list[Seen] = []
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self._filters = filters
        self.client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"observer-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.connect(host, port)
        self.client.loop_start()
        if filters:
            self.client.subscribe([(topic_filter, 1) for topic_filter in filters])
            assert self._subscribed.wait(5), f"no SUBACK for {filters}"

    def _on_message(self, client: Client, userdata: object, message: MQTTMessage) -> None:
        seen = Seen(
            message.topic,
            bytes(message.payload),
            bool(message.retain),
            getattr(message.properties, "CorrelationData", None),
        )
        with self._changed:
            self.messages.append(seen)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[Seen], bool], timeout: float = 5.0, *, after: int = 0) -> Seen:
        """The first message (from index `after`) matching `predicate`, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for seen in self.messages[after:]:
                    if predicate(seen):
                        return seen
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching message within {timeout} s; saw {self.messages!r}")
                self._changed.wait(remaining)

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        response_topic: str | None = None,
        correlation: bytes | None = None,
        retain: bool = False,
    ) -> None:
        properties = Properties(PacketTypes.PUBLISH)
        if response_topic is not None:
            properties.ResponseTopic = response_topic
        if correlation is not None:
            properties.CorrelationData = correlation
        self.client.publish(topic, payload, qos=1, retain=retain, properties=properties).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Observer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def state_is(online: bool) -> Callable[[Seen], bool]:
    return lambda seen: seen.json().get("online") is online


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> None:
    """Poll `condition` until true; for state without an event to wait on (a process's exit, a log)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
