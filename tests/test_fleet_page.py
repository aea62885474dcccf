"""The fleet page through Flask's test client, on a real QueueService, SQLite file and Mosquitto:
adding a device gives a one-time code (text and QR), the enrolment API honours it once, devices
show online/offline, health and alerts, commands reach the device's runtime and come back as
results, edited configuration is pushed live; plus the hub's RPC authorisation rules."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.device import DeviceRuntime, PushedConfig
from appliance.mqtt import Link
from appliance.rpc import RpcError
from appliance.timeutil import now
from hub.fleet import FleetRuntime, FleetSettings
from hub.fleet.accounts import OpenBroker
from hub.fleet.store import FleetStore
from hub.fleet.wiring import site_info
from hub.service import QueueService
from hub.site import HubConfig
from hub.web import create_app
from tests.support.hub import site_config
from tests.support.mqtt import Observer, wait_until

PASSWORD = "mat-khau-thu-nghiem"
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


@pytest.fixture
def config(tmp_path: Path, broker: PrivateBroker) -> HubConfig:
    raw = site_config(tmp_path, broker.port)
    for officer in raw["officers"]:
        officer["password_hash"] = FAST_HASH
    return HubConfig.model_validate(raw)


@pytest.fixture
def fleet(tmp_path: Path, config: HubConfig, mqtt_settings: MqttSettings) -> Iterator[FleetRuntime]:
    link = Link(mqtt_settings, site=config.site, device_id="hub", role="hub")
    runtime = FleetRuntime(
        link,
        FleetStore(tmp_path / "hub.db"),
        OpenBroker(),
        FleetSettings(watch_interval_s=60),
        site_info(config),
    )
    with link:
        assert link.wait_connected(5)
        yield runtime
        runtime.close()


@pytest.fixture
def client(tmp_path: Path, config: HubConfig, fleet: FleetRuntime) -> Iterator[FlaskClient]:
    service = QueueService(config, tmp_path / "hub.db")
    app = create_app(service, broker_connected=lambda: True, fleet=fleet)
    yield app.test_client()
    service.close()


def login(client: FlaskClient, username: str = "admin") -> str:
    """Log in through the form; the session's CSRF token for the forms that follow."""
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token[1]}
    )
    assert response.status_code == 302
    session_token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)
    assert session_token
    return session_token[1]


def device(settings: MqttSettings, device_id: str, role: str, site: str = "test") -> Link:
    return Link(settings, site=site, device_id=device_id, role=role)


def row(html: str, device_id: str) -> str:
    found = re.search(rf'<tr id="device-{re.escape(device_id)}".*?</tr>', html, re.S)
    assert found, f"no row for {device_id}"
    return found.group(0)


def test_adding_a_device_shows_a_one_time_code_that_enrols_once(client: FlaskClient) -> None:
    token = login(client)
    page = client.post(
        "/devices/add",
        data={"role": "led", "place": "counter:5", "label": "Bảng quầy 5", "csrf_token": token},
    )
    assert page.status_code == 200
    code = re.search(r'class="enrolment-code"><code>([A-Z0-9-]{14})</code>', page.text).group(1)  # type: ignore[union-attr]
    assert "Mã đăng ký cho counter-5-led" in page.text
    assert f"motcua enroll --hub http://localhost --code {code}" in page.text
    assert "<svg" in page.text and "Dùng một lần, hết hạn lúc" in page.text
    assert "Chờ đăng ký" in row(page.text, "counter-5-led")

    reply = client.post("/api/v1/enroll", json={"code": code.lower(), "hostname": "pi-quay-5"})
    assert reply.status_code == 200
    identity = reply.get_json()
    assert identity["device_id"] == "counter-5-led" and identity["role"] == "led"
    assert identity["config"]["counter"]["counter_id"] == "5"
    assert identity["unit"] == "motcua-led.service" and "password" not in identity["mqtt"]  # anonymous demo

    used = client.post("/api/v1/enroll", json={"code": code})
    assert used.status_code == 409
    error = used.get_json()["error"]
    assert error["code"] == "enrol_code_used" and "đã được dùng" in error["message"]
    listed = client.get("/devices").text
    assert "Đã đăng ký" in row(listed, "counter-5-led") and "Bảng quầy 5" in listed
    assert "Máy chủ MQTT đang cho thiết bị kết nối không cần mật khẩu" in listed

    english = client.post("/api/v1/enroll?lang=en", json={"code": "ZZZZ-ZZZZ-ZZZZ"})
    assert english.status_code == 404 and "wrong" in english.get_json()["error"]["message"]


def test_wrong_input_and_officers_are_refused(client: FlaskClient) -> None:
    token = login(client)
    bad = client.post("/devices/add", data={"role": "toaster", "place": "hall", "csrf_token": token})
    assert bad.status_code == 400 and "Không có loại thiết bị “toaster”" in bad.text
    nowhere = client.post("/devices/add", data={"role": "led", "place": "counter:99", "csrf_token": token})
    assert nowhere.status_code == 400 and "Vị trí không hợp lệ" in nowhere.text
    taken = client.post(
        "/devices/add", data={"role": "display", "place": "hall", "device_id": "hub", "csrf_token": token}
    )
    assert taken.status_code == 400 and "không hợp lệ" in taken.text
    assert (
        client.post("/devices/add", data={"role": "display", "place": "hall"}).status_code == 403
    )  # no CSRF
    client.post("/logout")
    officer_token = login(client, "canbo1")
    assert client.get("/devices").status_code == 403
    refused = client.post(
        "/devices/add", data={"role": "display", "place": "hall", "csrf_token": officer_token}
    )
    assert refused.status_code == 403


def test_online_offline_health_and_alerts(
    client: FlaskClient, fleet: FleetRuntime, mqtt_settings: MqttSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(client)
    printer = device(mqtt_settings, "printer-1", "printer")
    with printer:
        assert printer.wait_connected(5)
        printer.publish_health({"paper": "near_end", "online": True})
        wait_until(lambda: any(v.health.get("paper") == "near_end" for v in fleet.devices()))
        page = client.get("/devices").text
        assert "Trực tuyến" in row(page, "printer-1") and "Sắp hết giấy" in row(page, "printer-1")
        assert "Máy in printer-1 sắp hết giấy" in page
        printer.publish_health({"paper": "out", "online": True})
        wait_until(lambda: any(v.health.get("paper") == "out" for v in fleet.devices()))
        assert "Máy in printer-1 đã hết giấy" in client.get("/devices").text
    wait_until(lambda: any(v.device_id == "printer-1" and v.online is False for v in fleet.devices()))
    page = client.get("/devices").text
    assert "Mất kết nối từ" in row(page, "printer-1")
    assert "mất kết nối từ" not in page  # not yet an alert: offline for less than 2 minutes
    monkeypatch.setattr(fleet, "clock", lambda: now() + timedelta(minutes=3))
    page = client.get("/devices?lang=en").text
    assert re.search(r"Device printer-1 has been offline since \d\d:\d\d \d\d/\d\d \(3 min\)", page)
    assert "out of paper" not in page  # an offline device's old health is not alerted on
    assert [alert.key for alert in fleet.check_alerts()] == ["fleet_alert_offline"]


def test_commands_reach_the_device_and_results_come_back(
    client: FlaskClient, fleet: FleetRuntime, mqtt_settings: MqttSettings
) -> None:
    token = login(client)
    identified = threading.Event()
    exits: list[int] = []
    link = device(mqtt_settings, "hall-display", "display")
    runtime = DeviceRuntime(link, on_identify=identified.set, exit_process=exits.append)
    with link, runtime, Observer(mqtt_settings.port, "motcua/v1/test/print/+/jobs") as jobs:
        assert link.wait_connected(5)
        wait_until(lambda: any(v.device_id == "hall-display" and v.online for v in fleet.devices()))
        response = client.post(
            "/devices/hall-display/command",
            data={"cmd": "identify", "csrf_token": token},
            follow_redirects=True,
        )
        assert "Đã gửi lệnh “identify” tới hall-display" in response.text
        assert identified.wait(5)
        wait_until(lambda: "Nhận diện: đã xong" in row(client.get("/devices").text, "hall-display"))

        client.post("/devices/hall-display/command", data={"cmd": "test_print", "csrf_token": token})
        wait_until(
            lambda: (
                "In thử: lỗi — Thiết bị không hỗ trợ lệnh “test_print”."
                in row(client.get("/devices").text, "hall-display")
            )
        )

        client.post("/devices/hall-display/command", data={"cmd": "restart", "csrf_token": token})
        wait_until(lambda: exits == [75])

        # A printer's test page goes to it as a print job, which its daemon already knows.
        with device(mqtt_settings, "printer-1", "printer") as printer:
            assert printer.wait_connected(5)
            wait_until(lambda: any(v.device_id == "printer-1" for v in fleet.devices()))
            done = client.post(
                "/devices/printer-1/command",
                data={"cmd": "test_print", "csrf_token": token},
                follow_redirects=True,
            )
            assert "Đã gửi trang in thử tới máy in printer-1" in done.text
            job = jobs.wait_for(lambda seen: seen.topic.endswith("/print/printer-1/jobs")).json()
            assert job["kind"] == "test" and job["job_id"].startswith("test-")


def test_edited_configuration_is_validated_and_pushed_live(
    client: FlaskClient, fleet: FleetRuntime, mqtt_settings: MqttSettings
) -> None:
    token = login(client)
    code = fleet.add_device("led", "counter:2").code
    fleet.enrol(code, hub_host="hub.local:8080")
    pushed: list[PushedConfig] = []
    link = device(mqtt_settings, "counter-2-led", "led")
    with link, DeviceRuntime(link, on_config=pushed.append):
        wait_until(lambda: [p.rev for p in pushed] == [1])
        form = html.unescape(client.get("/devices/counter-2-led/config").text)
        assert 'counter_id = "2"' in form and "Phiên bản 1" in form

        bad = client.post(
            "/devices/counter-2-led/config", data={"config": "mode = 'bogus'", "csrf_token": token}
        )
        assert bad.status_code == 400 and "Cấu hình không hợp lệ" in bad.text

        edited = fleet.config_toml("counter-2-led").replace(
            'model = "digits-4"', 'model = "digits-4"\nbrightness = 40'
        )
        saved = client.post(
            "/devices/counter-2-led/config",
            data={"config": edited, "csrf_token": token},
            follow_redirects=True,
        )
        assert "Đã lưu cấu hình của counter-2-led (phiên bản 2)" in saved.text
        wait_until(lambda: [p.rev for p in pushed] == [1, 2])
    merged = pushed[-1].merged(
        {
            "device_id": "counter-2-led",
            "site": "test",
            "role": "led",
            "mqtt": {"host": "x", "password": "local"},
        }
    )
    assert merged["board"]["brightness"] == 40 and merged["mqtt"]["password"] == "local"


def test_rpc_authorisation_by_role_and_counter(fleet: FleetRuntime) -> None:
    kiosk = fleet.add_device("kiosk", "kiosk:kiosk-1").code
    counter = fleet.add_device("led", "counter:5").code
    fleet.enrol(kiosk, hub_host="h")
    fleet.enrol(counter, hub_host="h")
    fleet.authorize("kiosk-1", "ticket.issue", {"service_id": "dat-dai"})
    fleet.authorize("counter-5-led", "counter.call_next", {"counter_id": "5"})
    fleet.authorize("counter-5-led", "rating.submit", {"ticket_id": "x", "score": 3})
    refusals: list[tuple[str, str, dict[str, Any]]] = [
        ("kiosk-1", "counter.call_next", {"counter_id": "1"}),
        ("counter-5-led", "counter.call_next", {"counter_id": "4"}),
        ("counter-5-led", "counter.transfer", {"counter_id": "1", "to_service_id": "ho-tich"}),
        ("counter-5-led", "ticket.issue", {"service_id": "dat-dai"}),
    ]
    for caller, method, params in refusals:
        with pytest.raises(RpcError) as refused:
            fleet.authorize(caller, method, params)
        assert refused.value.code == "forbidden", (caller, method)
    with pytest.raises(RpcError) as other_counter:
        fleet.authorize("counter-5-led", "counter.skip", {"counter_id": "4"}, language="en")
    assert (
        other_counter.value.message == "Device counter-5-led may act only for counter 5, not for counter 4."
    )
    fleet.authorize("some-demo-device", "counter.call_next", {"counter_id": "1"})  # anonymous demo: allowed
    fleet.accounts.secured = True  # type: ignore[misc]
    with pytest.raises(RpcError):
        fleet.authorize("some-demo-device", "counter.call_next", {"counter_id": "1"})
    fleet.authorize("hub", "counter.call_next", {"counter_id": "1"})
