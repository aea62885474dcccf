"""The hub's device commands on the scanner daemon: a real Mosquitto, the hub's FleetRuntime, the
daemon reading a simulated scanner (a FIFO); identify shows in the retained health, a pushed
configuration moves the daemon to another scanner, a bad one is refused whole."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fleet_hub import FleetHub
from support.mqtt import Observer, Seen

from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.topics import Topics
from barcode_reader.config import ScannerConfig
from barcode_reader.daemon import ScannerDaemon

SITE, DEVICE = "test-site", "counter-2-scanner"
TOPICS = Topics(SITE)
DOSSIER = "000.00.06.H56-231027-0361"


def scan_into(fifo: Path, text: str) -> None:
    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, f"{text}\n".encode())
    finally:
        os.close(fd)


def health_where(predicate) -> object:
    return lambda seen: seen.topic == TOPICS.device_health(DEVICE) and predicate(seen.json())


def attached_to(path: Path) -> object:
    return health_where(lambda body: body["scanner"] == "attached" and body["device"] == str(path))


def scanned(code: str) -> object:
    return lambda seen: seen.topic == TOPICS.scans(DEVICE) and seen.json()["code"] == code


@pytest.fixture
def hub(mqtt_settings: MqttSettings, tmp_path: Path) -> Iterator[FleetHub]:
    with FleetHub(mqtt_settings, SITE, tmp_path) as running:
        yield running


@pytest.fixture
def watch(mqtt_settings: MqttSettings) -> Iterator[Observer]:
    with Observer(mqtt_settings.port, TOPICS.device_health(DEVICE), TOPICS.scans(DEVICE)) as seen:
        yield seen


@pytest.fixture
def daemon(mqtt_settings: MqttSettings, tmp_path: Path) -> Iterator[ScannerDaemon]:
    config = ScannerConfig.model_validate(
        {
            "device_id": DEVICE,
            "site": SITE,
            "mqtt": mqtt_settings.model_dump(),
            "source": {"type": "simulated", "path": str(tmp_path / "first.fifo"), "retry_interval": 0.1},
        }
    )
    link = Link(config.mqtt, site=SITE, device_id=DEVICE, role="scanner")
    with ScannerDaemon(config, link) as running:
        yield running


def test_identify_flags_the_scanner_in_its_health(
    hub: FleetHub, daemon: ScannerDaemon, watch: Observer
) -> None:
    watch.wait_for(health_where(lambda body: body["scanner"] == "attached"))
    result = hub.command(DEVICE, "identify")
    assert result["ok"] is True and result["cmd"] == "identify"
    watch.wait_for(health_where(lambda body: body["identify"] is True))
    assert hub.last_command(DEVICE)["status"] == "ok"

    assert hub.command(DEVICE, "restart")["ok"] is True
    assert daemon.restart_requested.is_set()  # the command line stops cleanly and exits with 75


def test_pushed_source_is_applied_and_a_bad_configuration_refused(
    hub: FleetHub, daemon: ScannerDaemon, watch: Observer, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.fifo", tmp_path / "second.fifo"
    watch.wait_for(attached_to(first))
    scan_into(first, DOSSIER)
    watch.wait_for(scanned(DOSSIER))

    source = {"type": "simulated", "path": str(second), "retry_interval": 0.1}
    hub.push_config(DEVICE, "scanner", 1, {"source": source, "scan": {"dedupe_window": 0}})
    watch.wait_for(attached_to(second), timeout=10)
    scan_into(second, DOSSIER)
    scan_into(second, DOSSIER)  # no repeat suppression any more
    watch.wait_for(lambda seen: sum(scanned(DOSSIER)(s) for s in watch.messages) >= 3)

    mark = len(watch.messages)
    hub.push_config(DEVICE, "scanner", 2, {"source": {"type": "laser"}, "scan": {"max_length": 3}})
    refused: Seen = watch.wait_for(health_where(lambda body: body["config_error"] is not None), after=mark)
    assert "source" in refused.json()["config_error"]
    result = hub.command(DEVICE, "reload")
    assert result["ok"] is False
    text = result["error"]["message"]
    assert text.startswith("Lệnh “reload” không thực hiện được: cấu hình bị từ chối, thiết bị giữ")
    assert "scan.max_length" in text and "source" in text
    # Nothing of revision 2 was taken: the daemon still reads the second scanner, without dedupe.
    assert daemon.config.scan.max_length == 512 and daemon.service.source.device == str(second)
    scan_into(second, "HS-2")
    watch.wait_for(scanned("HS-2"), after=mark)
