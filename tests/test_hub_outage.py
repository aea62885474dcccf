"""The broker goes away: the hub keeps issuing over HTTP, says it is degraded on /healthz, and when
the broker returns every device sees the tickets issued meanwhile in the retained queue/state."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from appliance.broker import PrivateBroker
from tests.support.hub import running_hub, site_config, write_config
from tests.support.mqtt import Observer

pytestmark = pytest.mark.slow
SITE = "outage"


def health(base: str) -> int:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_health(base: str, status: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while health(base) != status:
        assert time.monotonic() < deadline, f"/healthz never answered {status}"
        time.sleep(0.1)


def test_http_keeps_issuing_through_a_broker_outage(tmp_path: Path) -> None:
    broker = PrivateBroker(persistence=True, data_dir=tmp_path / "broker").start()
    try:
        config = site_config(tmp_path, broker.port, site=SITE)
        base = f"http://127.0.0.1:{config['hub']['http_port']}"
        with running_hub(write_config(tmp_path, config), web=True):
            wait_health(base, 200)
            broker.stop()
            wait_health(base, 503)
            request = urllib.request.Request(
                f"{base}/api/v1/tickets",
                data=json.dumps({"service_id": "chung-thuc"}).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 201
                ticket = json.load(response)
            assert ticket["number"] == "3001"

            broker.start()
            wait_health(base, 200)
            with Observer(broker.port, f"motcua/v1/{SITE}/queue/state") as display:
                state = display.wait_for(
                    lambda m: (
                        next(s for s in m.json()["services"] if s["id"] == "chung-thuc")["waiting"] == 1
                    ),
                    timeout=10,
                ).json()
            assert next(s for s in state["services"] if s["id"] == "chung-thuc")["last_number"] == "3001"
    finally:
        broker.stop()
