"""Disk full (issue 14.6): a real hub whose database lives on a real, small file system (tmpfs) that
fills up while citizens take numbers. Writes are refused with `storage_full` in Vietnamese and
English, /healthz answers 503 with the reason, /metrics and the fleet say so, the log says it once
(no traceback per request), and the hub carries on by itself when space returns.
"""

from __future__ import annotations

import base64
import errno
import json
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient, RpcError
from tests.support.hub import HubProcess, site_config, write_config

SITE = "test"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs: a real file system that really runs out of space."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the file system says ENOSPC."""
    filler = disk / "filler.bin"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        while True:
            try:
                out.write(chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC
                break
        small = b"\0" * 512
        while True:
            try:
                out.write(small)
            except OSError:
                break
    return filler


class Hub:
    def __init__(self, tmp: Path, disk: Path, broker: PrivateBroker, mqtt: MqttSettings) -> None:
        config = site_config(tmp, broker.port, site=SITE)
        config["hub"]["db"] = str(disk / "hub.db")
        self.http = config["hub"]["public_url"]
        self.process = HubProcess(write_config(tmp, config), web=True).start()
        self.admin = self.process.passwords()["admin"]
        self.link = Link(mqtt, site=SITE, device_id="kiosk-9", role="kiosk")
        self.link.start()
        assert self.link.wait_connected(5)
        self.rpc = RpcClient(self.link, default_timeout=10)

    def close(self) -> None:
        self.link.stop()
        self.process.stop()

    def issue(self) -> dict[str, Any]:
        return self.rpc.call("ticket.issue", {"service_id": "dat-dai"}, timeout=15)["ticket"]

    def http_json(self, path: str, data: bytes | None = None, *, admin: bool = False) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if admin:
            headers["Authorization"] = "Basic " + base64.b64encode(f"admin:{self.admin}".encode()).decode()
        request = urllib.request.Request(self.http + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                body = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as error:
            body, status = error.read().decode(), error.code
        return status, json.loads(body) if body.startswith(("{", "[")) else body

    def log(self) -> str:
        return "".join(self.process.output)


@pytest.fixture
def hub(
    tmp_path: Path, small_disk: Path, broker: PrivateBroker, mqtt_settings: MqttSettings
) -> Iterator[Hub]:
    running = Hub(tmp_path, small_disk, broker, mqtt_settings)
    yield running
    running.close()


def test_a_full_disk_refuses_clearly_says_so_once_and_recovers(hub: Hub, small_disk: Path) -> None:
    acknowledged = [hub.issue()["id"] for _ in range(3)]
    filler = fill(small_disk)

    # The first writes may still fit in the database's own files; soon none does.
    refusal: RpcError | None = None
    for _ in range(200):
        try:
            acknowledged.append(hub.issue()["id"])
        except RpcError as error:
            refusal = error
            break
    assert refusal is not None, "the disk never filled up"
    assert refusal.code == "storage_full"
    assert "đầy" in refusal.message and "full" in refusal.message_en

    # Every way in says the same, again and again, and the log says it once.
    lines_before = len(hub.process.output)
    for _ in range(20):
        with pytest.raises(RpcError) as again:
            hub.issue()
        assert again.value.code == "storage_full"
    status, body = hub.http_json("/api/v1/tickets", b'{"service_id": "ho-tich"}')
    assert status == 507 and body["error"]["code"] == "storage_full"
    status, health = hub.http_json("/healthz")
    assert status == 503 and health["ok"] is False
    assert "hub_storage_full" in [p["code"] for p in health["problems"]]
    status, metrics = hub.http_json("/metrics")
    assert "motcua_storage_full 1.0" in metrics
    status, fleet = hub.http_json("/api/v1/devices", admin=True)
    assert status == 200 and "hub_storage_full" in [p["code"] for p in fleet["hub"]]
    log = hub.log()
    assert log.count("storage full:") == 1, log
    assert len(hub.process.output) - lines_before <= 2, log  # not a line (or a traceback) per request
    assert "Traceback" not in log, log

    # Space returns: the next number is issued, nothing acknowledged was lost or reused.
    filler.unlink()
    fresh = hub.issue()
    acknowledged.append(fresh["id"])
    assert fresh["number"] == str(1000 + len(acknowledged))
    status, health = hub.http_json("/healthz")
    assert status == 200 and "hub_storage_full" not in [p["code"] for p in health["problems"]]
    assert "motcua_storage_full 0.0" in hub.http_json("/metrics")[1]
    assert hub.log().count("storage writable again") == 1
    with sqlite3.connect(small_disk / "hub.db") as db:
        stored = [row[0] for row in db.execute("SELECT id FROM tickets ORDER BY id")]
    assert stored == sorted(acknowledged) and len(set(acknowledged)) == len(acknowledged)


def test_space_coming_back_is_noticed_without_any_request(
    small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody takes a number while the disk is full: /healthz still turns healthy once space is
    freed (the writer tries a tiny write on its idle tick)."""
    import hub.service
    from hub.service import QueueService
    from hub.site import HubConfig

    monkeypatch.setattr(hub.service, "IDLE_TICK_S", 0.2)
    service = QueueService(HubConfig.model_validate(site_config(tmp_path, 1883)), small_disk / "hub.db")
    try:
        service.call("ticket.issue", {"service_id": "dat-dai"}, caller_id="kiosk-1")
        filler = fill(small_disk)
        with pytest.raises(RpcError) as refused:
            for _ in range(200):
                service.call("ticket.issue", {"service_id": "dat-dai"}, caller_id="kiosk-1")
        assert refused.value.code == "storage_full"
        assert [p["code"] for p in service.problems() if p["level"] == "error"] == ["hub_storage_full"]
        filler.unlink()
        deadline = time.monotonic() + 5
        while service.storage.full:
            assert time.monotonic() < deadline, "the hub never noticed the space"
            time.sleep(0.05)
        assert not [p for p in service.problems() if p["level"] == "error"]
    finally:
        service.close()
