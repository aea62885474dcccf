"""What an officer sets at a counter, on a real hub: a counter paused "for a meeting" is still paused
with that reason after the hub process is killed with SIGKILL, and a service with the
1-priority-after-N rule goes on counting the ordinary calls made before the crash; the hall display's
tile and the LED boards say why a counter is paused, drawn from the hub's own `queue/state`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.security import generate_password_hash

from led_board.board import Frame, LineSpec
from led_board.model import QueueModel
from led_board.views import CounterView, HallView, Situation
from tests.support.hub import ROOT, HubProcess, site_config, write_config
from tests.support.mqtt import Observer

PASSWORD = "mat-khau-thu-nghiem"
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


class Hub:
    def __init__(self, tmp: Path, broker_port: int) -> None:
        config = site_config(tmp, broker_port)
        for officer in config["officers"]:
            officer["password_hash"] = FAST_HASH
        for service in config["services"]:
            if service["id"] == "dat-dai":
                service.update(priority_rule="interleave", interleave_every=2)
        self.config_path = write_config(tmp, config)
        self.base = f"http://127.0.0.1:{config['hub']['http_port']}"
        self.process: HubProcess | None = None

    def start(self) -> None:
        self.process = HubProcess(self.config_path, web=True).start()

    def crash_and_start(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: nothing is flushed on the way out
        self.start()

    def act(self, counter: str, action: str, **body: Any) -> dict[str, Any]:
        response = requests.post(
            f"{self.base}/api/v1/counters/{counter}/{action}", json=body, auth=("admin", PASSWORD), timeout=15
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def issue(self, **body: Any) -> str:
        response = requests.post(
            f"{self.base}/api/v1/tickets", json={"service_id": "dat-dai", **body}, timeout=15
        )
        assert response.status_code == 201, response.text
        return str(response.json()["number"])

    def counter(self, counter_id: str) -> dict[str, Any]:
        queue = requests.get(f"{self.base}/api/v1/queue", timeout=15).json()
        return next(c for c in queue["counters"] if c["id"] == counter_id)


@pytest.fixture
def hub(tmp_path: Path, broker: Any) -> Iterator[Hub]:
    running = Hub(tmp_path, broker.port)
    running.start()
    try:
        yield running
    finally:
        if running.process is not None:
            running.process.stop()


def test_pause_reason_and_interleave_streak_survive_kill_9(hub: Hub, broker: Any) -> None:
    ordinary = [hub.issue() for _ in range(4)]
    elderly = hub.issue(priority_group="elderly")
    hub.act("1", "open")
    # 1 priority after every 2 ordinary: the first two calls go to ordinary tickets, by the rule.
    first = hub.act("1", "call-next")["ticket"]
    assert first["number"] == ordinary[0] and first["call_reason"] == "interleave"
    assert hub.act("1", "call-next")["ticket"]["number"] == ordinary[1]
    hub.act("1", "complete")
    hub.act("2", "open")
    hub.act("2", "pause", reason="Họp giao ban")

    hub.crash_and_start()

    # The paused counter is still paused, with its reason, for the hall and the LED boards.
    with Observer(broker.port, "motcua/v1/test/queue/state") as observer:
        state = observer.wait_for(lambda m: m.retain).json()
    two = next(c for c in state["counters"] if c["id"] == "2")
    assert two["open"] is False and two["pause_reason"] == "Họp giao ban"
    assert hub.counter("2")["pause_reason"] == "Họp giao ban"
    # The rhythm goes on: two ordinary calls were made, so now the elderly citizen's turn.
    called = hub.act("1", "call-next")["ticket"]
    assert called["number"] == elderly and called["priority_group"] == "elderly"
    assert hub.act("1", "call-next")["ticket"]["number"] == ordinary[2]

    # Opening the counter again ends the pause, and that too survives a crash.
    hub.act("2", "open")
    hub.crash_and_start()
    assert hub.counter("2")["open"] is True and hub.counter("2")["pause_reason"] is None


TILE = """
import json, sys
from queue_display.board import BoardModel
from queue_display.config import DisplayConfig
from appliance.kivy_setup import register_fonts
from queue_display.screen import CounterView
config = DisplayConfig(device_id="display-1", site="test")
register_fonts(config.screen.font, config.screen.font_bold)
model = BoardModel()
model.apply_state(json.load(sys.stdin), 0.0)
views = [CounterView(tile) for tile in model.snapshot(0.0).counters]
# A long reason breaks in two lines on the tile; read back as one.
print(json.dumps({v.title.text.split()[-1]: [v.title.text, " ".join(v.number.text.split())] for v in views}))
"""


def display_tiles(state: dict[str, Any], tmp: Path) -> dict[str, list[str]]:
    """The hall display's kivy tiles (title, big text) for `state`, drawn offscreen in a subprocess."""
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_HOME": str(tmp / "kivy")}
    done = subprocess.run(
        [sys.executable, "-c", TILE],
        input=json.dumps(state),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def led_text(frame: Frame) -> list[str]:
    return [line.text for line in frame.lines]


def test_the_hall_display_and_the_led_boards_show_why_a_counter_is_paused(
    hub: Hub, broker: Any, tmp_path: Path
) -> None:
    hub.act("2", "open")
    hub.act("2", "pause", reason="họp")
    hub.act("3", "close")
    with Observer(broker.port, "motcua/v1/test/queue/state", "motcua/v1/test/queue/events") as observer:
        state = observer.wait_for(lambda m: m.topic.endswith("/state") and m.retain).json()
        # The display, as it draws the retained state: counter 2's tile says why it is closed.
        tiles = display_tiles(state, tmp_path)
        assert tiles["2"] == ["QUẦY 2", "Tạm nghỉ: họp"]
        assert tiles["3"] == ["QUẦY 3", "Tạm nghỉ"]  # closed, no reason given
        assert tiles["1"] == ["QUẦY 1", "—"]

        # A counter board of counter 2 (two text lines) and the hall board, from the same state.
        leds = QueueModel()
        leds.apply_state(state)
        two = CounterView("2", [LineSpec(16), LineSpec(16)])
        assert led_text(two.frame(leds, Situation(now=0.0))) == ["Tạm nghỉ: họp", "QUẦY 2"]
        hall = HallView([LineSpec(16)] * 4, message_text="Kính chào quý khách")
        assert (
            led_text(hall.frame(leds, Situation(now=0.0)))[-1] == "Kính chào quý khách · Quầy 2 tạm nghỉ: họp"
        )
        # A numbers-only board has nothing to spell the reason with: it stays dark.
        assert led_text(CounterView("2", [LineSpec(4, text=False)]).frame(leds, Situation(now=0.0))) == [""]

        # Counter 1 pauses for a break: the board learns it from the event, before the next state.
        seen = len(observer.messages)
        hub.act("1", "pause", reason="Nghỉ giải lao")
        event = observer.wait_for(
            lambda m: m.topic.endswith("/events") and m.json()["type"] == "counter.paused", after=seen
        ).json()
        assert leds.apply_event(event, now=1.0)
        one = CounterView("1", [LineSpec(16), LineSpec(16)])
        assert led_text(one.frame(leds, Situation(now=1.0))) == ["Tạm nghỉ: Nghỉ giải lao", "QUẦY 1"]

    # Opened again: the number line is back and the reason is gone, on the board and the display.
    hub.act("2", "open")
    with Observer(broker.port, "motcua/v1/test/queue/state") as observer:
        state = observer.wait_for(lambda m: m.retain).json()
    leds.apply_state(state)
    assert led_text(two.frame(leds, Situation(now=2.0))) == ["", "QUẦY 2"]
    assert display_tiles(state, tmp_path)["2"] == ["QUẦY 2", "—"]
