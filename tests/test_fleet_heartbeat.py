"""A device that dies while the broker is down (issue 14.3): its will never fires and the broker
restores its retained `online: true`. Real Mosquitto with persistence, a real hub and a real printer
daemon killed with SIGKILL during the outage: the hub shows it offline, with an alert, once its
heartbeat is older than the configured limit; a live device that merely has nothing new to say
stays online."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from appliance.broker import PrivateBroker
from tests.support.hub import ROOT, HubProcess, site_config, write_config

pytestmark = pytest.mark.slow
SITE = "beat"
SILENT_AFTER_S = 4.0
DEVICE = "counter-1-scanner"


@pytest.fixture
def persistent_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    broker = PrivateBroker(data_dir=tmp_path / "broker", persistence=True).start()
    yield broker
    broker.stop()


def start_scanner(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    """A real scanner daemon (a clean MQTT session, like kiosks, displays and LED boards) fed from a
    FIFO; it reports every second."""
    config = {
        "device_id": DEVICE,
        "site": SITE,
        "role": "scanner",
        "mqtt": {
            "host": "127.0.0.1",
            "port": port,
            "reconnect_min": 0.05,
            "reconnect_max": 0.5,
            "heartbeat_s": 1,
        },
        "source": {"type": "simulated", "path": str(tmp_path / "scanner.fifo")},
    }
    path = tmp_path / "scanner.toml"
    path.write_text(tomli_w.dumps(config), encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "barcode_reader", "-c", str(path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def fleet(hub: HubProcess, url: str) -> dict[str, Any]:
    secret = base64.b64encode(f"admin:{hub.passwords()['admin']}".encode()).decode()
    request = urllib.request.Request(url + "/api/v1/devices", headers={"Authorization": f"Basic {secret}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        devices = json.loads(response.read())["devices"]
    return next((d for d in devices if d["id"] == DEVICE), {})


def wait_for(hub: HubProcess, url: str, predicate: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        device = fleet(hub, url)
        if predicate(device):
            return device
        assert time.monotonic() < deadline, f"fleet never showed it: {device}"
        time.sleep(0.2)


def test_a_device_killed_while_the_broker_is_down_is_shown_offline_after_its_heartbeat_limit(
    tmp_path: Path, persistent_broker: PrivateBroker
) -> None:
    config = site_config(tmp_path, persistent_broker.port, site=SITE)
    config["fleet"] = {"silent_after_s": SILENT_AFTER_S, "watch_interval_s": 0.5}
    url = config["hub"]["public_url"]
    hub = HubProcess(write_config(tmp_path, config), web=True).start()
    device = start_scanner(tmp_path, persistent_broker.port)
    try:
        wait_for(hub, url, lambda d: d.get("online") is True and d.get("health"), 20)
        # Alive and with nothing new to report: its heartbeat keeps it online past the limit.
        time.sleep(SILENT_AFTER_S + 1.5)
        alive = fleet(hub, url)
        assert alive["online"] is True and alive["alerts"] == []
        assert alive["health"]["heartbeat_s"] == 1 and alive["heard_age_s"] < SILENT_AFTER_S

        # The broker dies (a crash: no wills sent) and its last save says "online"...
        persistent_broker.save()
        persistent_broker.kill()
        device.send_signal(signal.SIGKILL)  # ...and the scanner's PC loses power meanwhile
        device.wait()
        persistent_broker.start()  # back, restoring the scanner's retained "online: true"

        gone = wait_for(hub, url, lambda d: d.get("online") is False, SILENT_AFTER_S + 15)
        assert [a["code"] for a in gone["alerts"]] == ["fleet_alert_heartbeat"]
        assert DEVICE in gone["alerts"][0]["message"] and "không báo" in gone["alerts"][0]["message"]
        assert gone["offline_since"] is not None
        deadline = time.monotonic() + 5
        while f"alert: Device {DEVICE} has not reported" not in "".join(hub.output):
            assert time.monotonic() < deadline, "".join(hub.output)
            time.sleep(0.2)
    finally:
        if device.poll() is None:
            device.kill()
            device.wait()
        hub.stop()
