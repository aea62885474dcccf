"""The shipped bridge template between two real Mosquitto processes: the site broker (shipped
configuration, dynamic security) bridges events out under the central prefix and commands in, and
QoS 1 events published while the central broker is down all arrive, in order, once it is back."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link, Message
from hub.fleet.broker_setup import SecureBroker, render_bridge
from tests.support.mqtt import wait_until

SITE = "dn-lt"
PREFIX = "dongnai/"
FAST = {"keepalive": 10, "reconnect_min": 0.05, "reconnect_max": 0.3}


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    def __call__(self, message: Message) -> None:
        with self._lock:
            self.messages.append(message)

    def payloads(self) -> list[dict[str, object]]:
        with self._lock:
            return [json.loads(m.payload) for m in self.messages]


@pytest.fixture
def brokers(tmp_path: Path) -> Iterator[tuple[PrivateBroker, SecureBroker]]:
    central = PrivateBroker(data_dir=tmp_path / "central", persistence=True).start()
    bridge = render_bridge(site=SITE, central_address=f"127.0.0.1:{central.port}", remote_prefix=PREFIX)
    bridge = bridge.replace("restart_timeout 2 60", "restart_timeout 1 2")  # a test cannot wait a minute
    site = SecureBroker(site=SITE, data_dir=tmp_path / "site", conf_d={"motcua-bridge.conf": bridge}).start()
    try:
        yield central, site
    finally:
        site.stop()
        central.stop()


def test_events_go_out_with_the_prefix_and_survive_a_central_outage(
    brokers: tuple[PrivateBroker, SecureBroker],
) -> None:
    central, site = brokers
    hub = Link(
        MqttSettings(port=site.port, username="hub", password=site.hub_password, **FAST),
        site=SITE,
        device_id="hub",
        role="hub",
    )
    # The central side keeps its session (and what arrives for it) across its own restart.
    watcher = Link(
        MqttSettings(port=central.port, **FAST),
        site="central",
        device_id="watcher",
        role="hub",
        clean_start=False,
        session_expiry=600,
    )
    events, commands = Inbox(), Inbox()
    watcher.subscribe(f"{PREFIX}motcua/v1/{SITE}/queue/events", events)
    hub.subscribe(hub.topics.device_commands("kiosk-1"), commands)
    with hub, watcher:
        assert hub.wait_connected(5) and watcher.wait_connected(5)

        # The bridge may still be connecting: repeat the first event until it arrives.
        def first_arrived() -> bool:
            hub.publish_json(hub.topics.queue_events, {"v": 1, "seq": 0})
            return bool(events.payloads())

        wait_until(first_arrived, timeout=10, interval=0.3)

        central.stop()
        wait_until(lambda: not watcher.connected)
        for seq in range(1, 21):
            hub.publish_json(hub.topics.queue_events, {"v": 1, "seq": seq}, qos=1)
        central.restart()  # same port, same persistence file

        wait_until(
            lambda: [p["seq"] for p in events.payloads() if p["seq"]] == list(range(1, 21)), timeout=30
        )

        # Commands come in from the central broker under the same prefix.
        with Link(
            MqttSettings(port=central.port, **FAST), site="central", device_id="operator", role="hub"
        ) as operator:
            assert operator.wait_connected(5)
            operator.publish_json(
                f"{PREFIX}motcua/v1/{SITE}/devices/kiosk-1/commands", {"v": 1, "cmd": "identify", "id": "c-1"}
            )
            wait_until(lambda: [p.get("id") for p in commands.payloads()] == ["c-1"], timeout=10)
