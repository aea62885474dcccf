"""The hub's device commands on the kiosk: a real Mosquitto, the hub's FleetRuntime, the kiosk's
controller. Identify covers the screen with "Thiết bị {id}" for a few seconds (the ViewState the kivy
screen draws); a pushed configuration changes the kiosk's timings live; a bad one is refused whole."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fleet_hub import FleetHub

from appliance.config import MqttSettings
from kiosk.config import KioskConfig
from kiosk.controller import KioskController
from kiosk.views import ViewState

SITE, DEVICE = "test-site", "kiosk-1"


@pytest.fixture
def hub(mqtt_settings: MqttSettings, tmp_path: Path) -> Iterator[FleetHub]:
    with FleetHub(mqtt_settings, SITE, tmp_path) as running:
        yield running


@pytest.fixture
def restarts() -> threading.Event:
    return threading.Event()


@pytest.fixture
def kiosk(hub: FleetHub, mqtt_settings: MqttSettings, restarts: threading.Event) -> Iterator[KioskController]:
    config = KioskConfig(
        device_id=DEVICE, site=SITE, mqtt=mqtt_settings, opening_hours={"lock_outside": False}
    )
    controller = KioskController(config, on_restart=restarts.set)
    controller.start()
    controller.wait_for(lambda view: controller.online and view.overlay is None, 10)
    yield controller
    controller.stop()


def identifying(view: ViewState) -> bool:
    return view.overlay is not None and view.overlay.kind == "identify"


def test_identify_covers_the_screen_with_the_device_name(
    hub: FleetHub, kiosk: KioskController, restarts: threading.Event
) -> None:
    result = hub.command(DEVICE, "identify")
    assert result["ok"] is True and result["cmd"] == "identify"
    view = kiosk.wait_for(identifying, 2)
    assert view.texts()[0] == "Thiết bị kiosk-1"
    assert "Kỹ thuật viên đang nhận diện thiết bị" in view.texts()[1]
    kiosk.tap("open", "services")  # a citizen's tap under the overlay does nothing
    assert kiosk.view().screen == "home"
    kiosk.wait_for(lambda view: view.overlay is None, 10)  # gone by itself
    assert hub.last_command(DEVICE)["status"] == "ok"

    assert hub.command(DEVICE, "restart")["ok"] is True
    assert restarts.is_set() and kiosk.restart_requested.is_set()


def test_pushed_settings_apply_live_and_a_bad_configuration_is_refused(
    hub: FleetHub, kiosk: KioskController
) -> None:
    hub.push_config(DEVICE, "kiosk", 1, {"kiosk": {"idle_timeout_s": 30, "rating_scale": 5}})
    kiosk.wait_for(lambda view: kiosk.model.settings.idle_timeout_s == 30, 5)
    assert kiosk.config.kiosk.rating_scale == 5

    hub.push_config(DEVICE, "kiosk", 2, {"kiosk": {"idle_timeout_s": 1, "rating_scale": 4}})
    kiosk.wait_for(lambda view: kiosk.config_error is not None, 5)
    result = hub.command(DEVICE, "reload")
    assert result["ok"] is False
    text = result["error"]["message"]
    assert text.startswith("Lệnh “reload” không thực hiện được: cấu hình bị từ chối")
    assert "kiosk.rating_scale" in text and "kiosk.idle_timeout_s" in text
    assert kiosk.model.settings.idle_timeout_s == 30 and kiosk.config.kiosk.rating_scale == 5  # untouched
