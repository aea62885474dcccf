"""The shipped bridge template between two real Mosquitto processes: the site broker (shipped
configuration, dynamic security) bridges events out under the central prefix, QoS 1 events published
while the central broker is down all arrive, in order, once it is back; from the province only
`province/commands` comes in, which the hub checks and carries out itself: a retained configuration
or a command published under the site's prefix centrally never reaches a device."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link, Message
from hub.fleet.accounts import Account, DynsecAccounts
from hub.fleet.broker_setup import SecureBroker, render_bridge
from hub.fleet.roles import Place, device_acls
from hub.fleet.runtime import FleetRuntime, SiteInfo
from hub.fleet.settings import FleetSettings
from hub.fleet.store import FleetStore
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
    events = Inbox()
    watcher.subscribe(f"{PREFIX}motcua/v1/{SITE}/queue/events", events)
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


def test_the_province_cannot_configure_or_command_a_device_only_ask_the_hub(
    brokers: tuple[PrivateBroker, SecureBroker], tmp_path: Path
) -> None:
    central, site = brokers
    root = f"motcua/v1/{SITE}"
    hub_settings = MqttSettings(port=site.port, username="hub", password=site.hub_password, **FAST)
    hub_link = Link(hub_settings, site=SITE, device_id="hub", role="hub")
    accounts = DynsecAccounts(hub_link)
    fleet = FleetRuntime(
        hub_link,
        FleetStore(tmp_path / "fleet.db"),
        accounts,
        FleetSettings(watch_interval_s=60),
        SiteInfo(site=SITE, hub_id="hub", hub_mqtt=hub_settings),
    )
    with hub_link:
        assert hub_link.wait_connected(5)
        # printer-1 and kiosk-2 with their own broker accounts, as `motcua enroll` makes them.
        passwords = {}
        for device_id, role, place in (
            ("printer-1", "printer", "kiosk:kiosk-1"),
            ("kiosk-2", "kiosk", "kiosk:kiosk-2"),
        ):
            passwords[device_id] = secrets.token_urlsafe(12)
            accounts.provision(
                Account(
                    device_id,
                    passwords[device_id],
                    f"{SITE}-{device_id}",
                    tuple(device_acls(hub_link.topics, device_id, role, Place.parse(place))),
                )
            )

        def device(device_id: str, role: str) -> Link:
            return Link(
                MqttSettings(port=site.port, username=device_id, password=passwords[device_id], **FAST),
                site=SITE,
                device_id=device_id,
                role=role,
            )

        printer_got = Inbox()
        printer, neighbour = device("printer-1", "printer"), device("kiosk-2", "kiosk")
        printer.subscribe(f"{root}/devices/printer-1/config", printer_got)
        printer.subscribe(f"{root}/devices/printer-1/commands", printer_got)
        out = Inbox()
        watcher = Link(
            MqttSettings(port=central.port, **FAST), site="central", device_id="watcher", role="hub"
        )
        watcher.subscribe(f"{PREFIX}{root}/devices/+/state", out)
        with printer, neighbour, watcher:
            assert printer.wait_connected(5) and neighbour.wait_connected(5) and watcher.wait_connected(5)
            wait_until(
                lambda: any(v.device_id == "printer-1" and v.online for v in fleet.devices()), timeout=10
            )
            # The bridge is up both ways once a device's state has gone out (it subscribed first).
            wait_until(lambda: any(m.topic.endswith("/printer-1/state") for m in out.messages), timeout=15)

            # Another device of the site may not configure or command the printer either.
            neighbour.publish_json(f"{root}/devices/printer-1/config", _evil_config(), retain=True)
            neighbour.publish_json(
                f"{root}/devices/printer-1/commands", {"v": 1, "cmd": "restart", "id": "n"}
            )

            with Link(
                MqttSettings(port=central.port, **FAST), site="central", device_id="operator", role="hub"
            ) as province:
                assert province.wait_connected(5)
                remote = f"{PREFIX}{root}"
                province.publish_json(f"{remote}/devices/printer-1/config", _evil_config(), retain=True)
                province.publish_json(
                    f"{remote}/devices/printer-1/commands", {"v": 1, "cmd": "restart", "id": "x"}
                )
                # Through the hub: a restart is not the province's to ask.
                province.publish_json(
                    f"{remote}/province/commands", {"v": 1, "device_id": "printer-1", "cmd": "restart"}
                )
                province.publish_json(
                    f"{remote}/province/commands", {"v": 1, "device_id": "printer-1", "cmd": "identify"}
                )
                # The allowed request reaches the printer, from the hub (its own command id).
                wait_until(lambda: "identify" in [p.get("cmd") for p in printer_got.payloads()], timeout=10)
            time_for_stragglers = 0.5
            time.sleep(time_for_stragglers)
            assert [p.get("cmd") for p in printer_got.payloads()] == ["identify"]
            assert all(not m.topic.endswith("/config") for m in printer_got.messages)

        # Nothing retained was left for the printer's next start either.
        again = Inbox()
        with device("printer-1", "printer") as restarted:
            restarted.subscribe(f"{root}/devices/printer-1/config", again)
            assert restarted.wait_connected(5)
            time.sleep(0.3)
        assert again.messages == []
    fleet.close()


def _evil_config() -> dict[str, object]:
    """A printer pointed at a file of the attacker's choice, at a revision no real push would beat."""
    return {
        "v": 1,
        "rev": 10**12,
        "device_id": "printer-1",
        "site": SITE,
        "role": "printer",
        "config": {"printer": {"backend": {"type": "file", "path": "/etc/motcua/printer.toml"}}},
    }
