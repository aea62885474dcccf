"""The hub's device commands on a counter's LED board: a real Mosquitto, the hub's FleetRuntime, the
LED daemon on a simulated board and mock GPIO pins. Identify blinks the whole board (seen in the
board's history) and beeps; a pushed configuration swaps the board live; a bad one is refused whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory
from support.fleet_hub import FleetHub
from support.mqtt import wait_until

from appliance.config import MqttSettings
from appliance.mqtt import Link
from led_board.board import Output
from led_board.config import LedConfig
from led_board.daemon import LedDaemon, build_board
from led_board.simulated import SimulatedBoard

SITE, DEVICE, BUZZER = "test-site", "counter-1-led", 18


def config_for(mqtt: MqttSettings, **board: object) -> LedConfig:
    return LedConfig.model_validate(
        {
            "device_id": DEVICE,
            "site": SITE,
            "mqtt": mqtt.model_dump(),
            "mode": "counter",
            "counter": {"counter_id": "1"},
            "board": {"driver": "simulated", "lines": 2, "columns": 16, **board},
            "feedback": {"buzzer_pin": BUZZER},
            "gpio": {"pin_factory": "mock"},
        }
    )


@pytest.fixture
def hub(mqtt_settings: MqttSettings, tmp_path: Path) -> Iterator[FleetHub]:
    with FleetHub(mqtt_settings, SITE, tmp_path) as running:
        # The queue as the hub keeps it retained: counter 1 open, nobody called yet.
        state = {
            "v": 1,
            "seq": 1,
            "ts": "2025-11-24T08:00:00+07:00",
            "site": {"id": SITE, "name": "Điểm"},
            "services": [],
            "counters": [{"id": "1", "name": "1", "services": [], "open": True, "serving": None}],
            "recent_calls": [],
        }
        running.results.publish(running.link.topics.queue_state, json.dumps(state), retain=True)
        yield running


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    pins = MockFactory()
    yield pins
    pins.reset()


@pytest.fixture
def daemon(mqtt_settings: MqttSettings, factory: MockFactory) -> Iterator[LedDaemon]:
    config = config_for(mqtt_settings)
    link = Link(config.mqtt, site=SITE, device_id=DEVICE, role="led")
    running = LedDaemon(config, link, build_board(config), pin_factory=factory)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def lit(output: Output) -> bool:
    return all(line == DEVICE for line in output.lines)


def dark(output: Output) -> bool:
    return all(line == "" for line in output.lines)


def test_identify_blinks_the_board_and_beeps(hub: FleetHub, daemon: LedDaemon, factory: MockFactory) -> None:
    board = daemon.board
    assert isinstance(board, SimulatedBoard)
    board.wait_for(lambda output: output.lines[1] == "QUẦY 1")
    mark = board.mark()
    result = hub.command(DEVICE, "identify")
    assert result["ok"] is True and result["cmd"] == "identify"
    # On, off, on again: the board blinks with the device id on every line.
    first_lit = board.wait_after(mark, lit)
    index = board.history.index(next(entry for entry in board.history[mark:] if entry[1] is first_lit))
    board.wait_after(index + 1, dark, timeout=3)
    board.wait_after(index + 2, lit, timeout=3)
    wait_until(lambda: len(factory.pin(BUZZER).states) >= 4)  # beep-beep: on, off, on…
    assert daemon.health()["identify"] is True
    # …and goes back to the counter's view afterwards.
    board.wait_after(board.mark(), lambda output: output.lines[1] == "QUẦY 1", timeout=8)

    assert hub.command(DEVICE, "restart")["ok"] is True
    assert daemon.restart_requested.is_set()


def test_pushed_board_applies_live_and_a_bad_configuration_is_refused(
    hub: FleetHub, daemon: LedDaemon
) -> None:
    first = daemon.board
    hub.push_config(
        DEVICE, "led", 1, {"board": {"driver": "simulated", "lines": 3, "columns": 10, "brightness": 40}}
    )
    wait_until(lambda: daemon.board is not first)
    board = daemon.board
    assert isinstance(board, SimulatedBoard) and len(board.lines) == 3 and board.brightness == 40
    board.wait_for(lambda output: "QUẦY 1" in output.lines)

    hub.push_config(DEVICE, "led", 2, {"board": {"driver": "simulated", "lines": 0}, "mode": "hall"})
    wait_until(lambda: daemon.config_error is not None)
    result = hub.command(DEVICE, "reload")
    assert result["ok"] is False
    text = result["error"]["message"]
    assert text.startswith("Lệnh “reload” không thực hiện được: cấu hình bị từ chối")
    assert "board.simulated.lines" in text
    assert hub.last_command(DEVICE)["error"] == text
    assert daemon.board is board and daemon.config.mode == "counter"  # nothing of revision 2 taken
    assert hub.command(DEVICE, "identify")["ok"] is True
    # Too long for 10 columns: the id scrolls, the same on every line.
    loop = f"{DEVICE}   " * 2
    board.wait_for(lambda out: len(set(out.lines)) == 1 and out.lines[0].strip() and out.lines[0] in loop)
