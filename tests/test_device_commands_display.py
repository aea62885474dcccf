"""The hub's device commands on the hall display: a real Mosquitto, the hub's FleetRuntime, the
display service with a recording audio sink. Identify puts "Thiết bị {id}" over the board and plays
the chime; a pushed configuration changes the scrolling message live; a bad one is refused whole."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fleet_hub import FleetHub
from support.mqtt import wait_until

from appliance.config import MqttSettings
from queue_display.audio import WavFileSink
from queue_display.config import DisplayConfig
from queue_display.device import DisplayCommands
from queue_display.service import DisplayService

SITE, DEVICE = "test-site", "hall-display"


@pytest.fixture
def hub(mqtt_settings: MqttSettings, tmp_path: Path) -> Iterator[FleetHub]:
    with FleetHub(mqtt_settings, SITE, tmp_path) as running:
        yield running


@pytest.fixture
def sink() -> WavFileSink:
    return WavFileSink()


@pytest.fixture
def display(
    mqtt_settings: MqttSettings, sink: WavFileSink
) -> Iterator[tuple[DisplayService, DisplayCommands]]:
    config = DisplayConfig.model_validate(
        {
            "device_id": DEVICE,
            "site": SITE,
            "mqtt": mqtt_settings.model_dump(),
            "announce": {"enabled": False},  # no voice pack to build: the chime needs none
            "audio": {"sink": "none"},
        }
    )
    service = DisplayService(config, sink=sink)
    restarts = threading.Event()
    commands = DisplayCommands(service, on_restart=restarts.set, identify_s=3.0)
    with service:
        yield service, commands
    commands.close()


def test_identify_shows_a_banner_and_plays_the_chime(
    hub: FleetHub, display: tuple[DisplayService, DisplayCommands], sink: WavFileSink
) -> None:
    service, commands = display
    assert service.store.snapshot(service.clock()).banner is None
    result = hub.command(DEVICE, "identify")
    assert result["ok"] is True and result["cmd"] == "identify"
    assert service.store.snapshot(service.clock()).banner == "Thiết bị hall-display"
    assert sink.wait_for(1)
    assert 0.5 < sink.played[0].audio.duration_s < 5  # the gong, not an announcement
    wait_until(lambda: service.store.snapshot(service.clock()).banner is None, timeout=6)  # then the board

    assert hub.command(DEVICE, "restart")["ok"] is True
    assert commands.restart_requested.is_set()


def test_pushed_message_applies_live_and_a_bad_configuration_is_refused(
    hub: FleetHub, display: tuple[DisplayService, DisplayCommands]
) -> None:
    service, commands = display
    hub.push_config(DEVICE, "display", 1, {"screen": {"message": "Chiều nay nghỉ từ 16 giờ"}})
    wait_until(lambda: service.store.snapshot(service.clock()).message == "Chiều nay nghỉ từ 16 giờ")

    hub.push_config(DEVICE, "display", 2, {"screen": {"message": "Sai", "page_s": 1}})
    wait_until(lambda: commands.config_error is not None)
    assert service.health()["config_error"] == commands.config_error
    result = hub.command(DEVICE, "reload")
    assert result["ok"] is False
    text = result["error"]["message"]
    assert text.startswith("Lệnh “reload” không thực hiện được: cấu hình bị từ chối")
    assert "screen.page_s" in text
    assert service.store.snapshot(service.clock()).message == "Chiều nay nghỉ từ 16 giờ"  # nothing of rev 2
