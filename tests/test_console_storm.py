"""Two officers at their consoles, over the consoles' own HTTP API, on one service of a real hub:
whatever they press at once — call next, call a given number, hold, resume — no ticket is ever
called twice, parked twice or resumed twice, and an officer cannot act at the other's counter.

(The same storm over MQTT, from counter keypads, is tests/test_hub_rpc.py
`test_call_number_hold_and_resume_under_concurrency_never_call_or_resume_a_ticket_twice`.)
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.security import generate_password_hash

from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient
from tests.support.hub import HubProcess, site_config, write_config

pytestmark = pytest.mark.slow
PASSWORD = "mat-khau-thu-nghiem"
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
TICKETS = 60


@pytest.fixture
def hub(tmp_path: Path, broker: Any) -> Iterator[tuple[str, RpcClient]]:
    config = site_config(tmp_path, broker.port)
    for officer in config["officers"]:
        officer["password_hash"] = FAST_HASH
        if officer["username"] == "canbo1":
            officer["counters"] = ["1"]
    # Counter 2 serves "Đất đai" too: two officers on one service.
    config["officers"].append(
        {"username": "canbo2", "name": "Lê Văn Hùng", "counters": ["2"], "password_hash": FAST_HASH}
    )
    process = HubProcess(write_config(tmp_path, config), web=True).start()
    settings = MqttSettings(port=broker.port, reconnect_min=0.05)
    try:
        with Link(settings, site="test", device_id="kiosk-1", role="kiosk") as link:
            assert link.wait_connected(5)
            yield f"http://127.0.0.1:{config['hub']['http_port']}", RpcClient(link, default_timeout=15)
    finally:
        process.stop()


def press(base: str, officer: str, counter: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """One button press at a console: {ok, ticket?, code?, status}."""
    response = requests.post(
        f"{base}/api/v1/counters/{counter}/{action}", json=body, auth=(officer, PASSWORD), timeout=30
    )
    reply = response.json()
    if response.status_code == 200:
        return {"ok": True, "ticket": reply.get("ticket"), "status": 200, "counter": counter}
    return {"ok": False, "code": reply["error"]["code"], "status": response.status_code, "counter": counter}


def test_two_officers_pressing_at_once_never_call_hold_or_resume_a_ticket_twice(
    hub: tuple[str, RpcClient],
) -> None:
    base, kiosk = hub
    numbers = [
        kiosk.call("ticket.issue", {"service_id": "dat-dai"})["ticket"]["number"] for _ in range(TICKETS)
    ]
    press(base, "canbo1", "1", "open", {})
    press(base, "canbo2", "2", "open", {})

    # Officer 1 calls next and parks; officer 2 calls every number out of turn (each one contested
    # by officer 1's calls) and calls next too. All fired together, in a shuffled order.
    presses = (
        [("canbo1", "1", "call-next", {})] * 30
        + [("canbo1", "1", "hold", {})] * 30
        + [("canbo2", "2", "call-number", {"number": n}) for n in numbers]
        + [("canbo2", "2", "call-next", {})] * 20
    )
    random.Random(15).shuffle(presses)
    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(pool.map(lambda p: press(base, *p), presses))

    called = [r["ticket"]["id"] for r in replies if r["ok"] and r["ticket"]["status"] == "called"]
    assert len(called) == len(set(called)), "a ticket was called twice"
    # Officer 2 asked for every number, so every citizen was called by one of them: exactly once.
    assert len(called) == TICKETS
    held = [r["ticket"]["id"] for r in replies if r["ok"] and r["ticket"]["status"] == "held"]
    assert len(held) == len(set(held)), "a ticket was parked twice"
    refused = {r["code"] for r in replies if not r["ok"]}
    assert refused <= {"no_waiting", "invalid_state", "counter_idle"}, refused

    # Park a few more one after the other, so the resume storm surely has work.
    for _ in range(3):
        kiosk.call("ticket.issue", {"service_id": "dat-dai"})
        press(base, "canbo1", "1", "call-next", {})
        parked = press(base, "canbo1", "1", "hold", {})
        assert parked["ok"]
        held.append(parked["ticket"]["id"])

    # Both officers press "Tiếp tục" on every parked ticket at once: only the counter that parked it
    # resumes it, once; the other officer's console is refused at her own counter, and cannot act at
    # counter 1 at all.
    resumes = [("canbo1", "1", "resume", {"ticket_id": t}) for t in held]
    resumes += [("canbo2", "2", "resume", {"ticket_id": t}) for t in held]
    resumes += [("canbo2", "1", "resume", {"ticket_id": t}) for t in held[:5]]
    random.Random(16).shuffle(resumes)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda p: press(base, *p), resumes))
    resumed = [r["ticket"]["id"] for r in results if r["ok"]]
    assert sorted(resumed) == sorted(held), "a parked ticket was resumed twice, or not at all"
    assert {r["counter"] for r in results if r["ok"]} == {"1"}
    assert {(r["counter"], r["code"]) for r in results if not r["ok"]} == {
        ("2", "invalid_state"),
        ("1", "not_your_counter"),
    }
