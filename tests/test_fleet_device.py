"""appliance.device.DeviceRuntime on a real Mosquitto: the hub's commands run once each, off the
network thread, with a result the hub can read; pushed configuration revisions arrive in order and
an old one is never applied over a newer one; bad payloads never reach the daemon."""

from __future__ import annotations

import json
import threading
from typing import Any

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.device import RESTART_EXIT_CODE, CommandError, DeviceRuntime, PushedConfig
from appliance.mqtt import Link
from tests.support.mqtt import Observer, wait_until

SITE = "test"
ROOT = f"motcua/v1/{SITE}/devices/kiosk-1"


def results(observer: Observer) -> list[dict[str, Any]]:
    return [seen.json() for seen in observer.messages if seen.topic.endswith("/command_results")]


def test_commands_run_once_with_results(broker: PrivateBroker, mqtt_settings: MqttSettings) -> None:
    calls: list[str] = []
    threads: list[str] = []
    exits: list[int] = []

    def identify() -> None:
        calls.append("identify")
        threads.append(threading.current_thread().name)

    def test_print() -> None:
        raise CommandError("hết giấy")

    link = Link(mqtt_settings, site=SITE, device_id="kiosk-1", role="kiosk")
    runtime = DeviceRuntime(link, on_identify=identify, on_test_print=test_print, exit_process=exits.append)
    with link, runtime, Observer(broker.port, f"{ROOT}/command_results") as hub:
        assert link.wait_connected(5)
        for ident, command in (
            ("a", "identify"),
            ("a", "identify"),
            ("b", "test_print"),
            ("c", "self_destruct"),
            ("d", "reload"),
            ("e", "restart"),
        ):
            hub.publish(f"{ROOT}/commands", json.dumps({"v": 1, "cmd": command, "id": ident}))
        hub.publish(f"{ROOT}/commands", b"not json")
        hub.publish(f"{ROOT}/commands", json.dumps({"v": 1, "cmd": "identify"}))  # no id: dropped
        wait_until(lambda: len(results(hub)) == 5)
        by_id = {result["id"]: result for result in results(hub)}
    assert calls == ["identify"] and threads == ["device-commands"]  # once, and not on paho's thread
    assert by_id["a"]["ok"] is True
    assert by_id["b"]["error"]["message"] == "Lệnh “test_print” không thực hiện được: hết giấy"
    assert by_id["c"]["error"]["code"] == "fleet_unknown_command"
    assert by_id["d"]["error"]["code"] == "fleet_command_unsupported"  # no reload and no config to re-apply
    assert by_id["e"]["ok"] is True and exits == [RESTART_EXIT_CODE]


def test_pushed_configuration_revisions(broker: PrivateBroker, mqtt_settings: MqttSettings) -> None:
    applied: list[PushedConfig] = []
    link = Link(mqtt_settings, site=SITE, device_id="kiosk-1", role="kiosk")
    with Observer(broker.port) as hub:
        # Retained before the device starts: it finds it on connecting.
        hub.publish(
            f"{ROOT}/config", json.dumps({"v": 1, "rev": 3, "config": {"screen": {"a": 1}}}), retain=True
        )
        with link, DeviceRuntime(link, on_config=applied.append) as runtime:
            wait_until(lambda: [c.rev for c in applied] == [3])
            hub.publish(f"{ROOT}/config", json.dumps({"v": 1, "rev": 2, "config": {"screen": {"a": 0}}}))
            hub.publish(f"{ROOT}/config", json.dumps({"v": 1, "rev": "x", "config": {}}))
            hub.publish(f"{ROOT}/config", json.dumps({"v": 1, "rev": 4, "config": {"screen": {"a": 2}}}))
            wait_until(lambda: [c.rev for c in applied] == [3, 4])
            assert runtime.config is not None and runtime.config.sections == {"screen": {"a": 2}}
            hub.publish(f"{ROOT}/commands", json.dumps({"v": 1, "cmd": "reload", "id": "r"}))
            wait_until(lambda: [c.rev for c in applied] == [3, 4, 4])  # reload re-applies the latest
    merged = PushedConfig(5, {"device_id": "evil", "mqtt": {}, "screen": {"a": 9}}).merged(
        {"device_id": "kiosk-1", "mqtt": {"password": "p"}, "screen": {"a": 1}, "language": "vi"}
    )
    assert merged == {"device_id": "kiosk-1", "mqtt": {"password": "p"}, "screen": {"a": 9}, "language": "vi"}
