"""A real hub process killed with SIGKILL keeps what the officers set at their counters: a counter
paused "for a meeting" is still paused with that reason on the retained `queue/state`, and a service
with the 1-priority-after-N rule goes on counting the ordinary calls made before the crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.security import generate_password_hash

from tests.support.hub import HubProcess, site_config, write_config
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
