"""The kiosk's lock screen follows the site's opening hours as the hub has them — its holidays too,
which the head sets or a province template brings — not only the kiosk's own `[opening_hours]`:
the kiosk's controller against a real Mosquitto and a real hub (`python -m hub`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.security import generate_password_hash

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.timeutil import SITE_TZ
from kiosk.config import KioskConfig
from kiosk.controller import KioskController
from kiosk.views import ViewState
from tests.support.hub import HubProcess, site_config, write_config

SITE = "test"
PASSWORD = "mat-khau-thu-nghiem"
HUB_ADMIN = ("admin", PASSWORD)
# The kiosk's own clock says noon today: the site is open then (its hours below), whatever the hour.
NOON = datetime.combine(datetime.now(SITE_TZ).date(), time(12, 0), tzinfo=SITE_TZ)
ALL_WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.fixture
def hub(tmp_path: Path, broker: PrivateBroker) -> Iterator[str]:
    config = site_config(tmp_path, broker.port, site=SITE)
    fast = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    for officer in config["officers"]:
        officer["password_hash"] = fast
    config["opening_hours"] = {"days": ALL_WEEK, "periods": [{"start": "07:30", "end": "17:00"}]}
    process = HubProcess(write_config(tmp_path, config), web=True).start()
    yield str(config["hub"]["public_url"])
    process.stop()


@pytest.fixture
def kiosk(hub: str, mqtt_settings: MqttSettings) -> Iterator[KioskController]:
    config = KioskConfig(
        device_id="kiosk-1",
        site=SITE,
        mqtt=mqtt_settings,
        public_url=hub,
        # Its own hours would lock it at noon (open one minute on Sundays): the hub's say open.
        opening_hours={"days": ["sun"], "periods": [{"start": "00:00", "end": "00:01"}]},
    )
    controller = KioskController(config, wall=lambda: NOON)
    controller.start()
    yield controller
    controller.stop()


def _hours(hub: str, body: dict[str, Any]) -> None:
    url = f"{hub}/api/v1/admin/settings/opening_hours"
    changed = requests.put(url, json=body, auth=HUB_ADMIN, timeout=10)
    assert changed.status_code == 200, changed.text


def _locked(view: ViewState) -> bool:
    return view.overlay is not None and view.overlay.kind == "locked"


def test_the_lock_screen_follows_the_hubs_hours_and_holidays(hub: str, kiosk: KioskController) -> None:
    # The hub's hours (open at noon every day) win over the kiosk's own (closed now).
    kiosk.wait_for(lambda view: kiosk.online and view.overlay is None and bool(view.header.site), 15)
    kiosk.tap("open", "services")
    kiosk.wait_for(lambda view: view.overlay is None and view.screen == "services")

    # The head (or a province template) makes today a holiday: the kiosk locks and says why.
    _hours(hub, {"holidays": [{"date": NOON.date().isoformat(), "name": "Ngày hội tỉnh"}]})
    locked = kiosk.wait_for(_locked, 10)
    assert locked.overlay is not None
    assert locked.overlay.title == "Ngoài giờ làm việc"
    assert locked.overlay.lines[0] == f"Hôm nay nghỉ lễ: {NOON:%d/%m/%Y} Ngày hội tỉnh"
    assert "07:30 – 17:00" in locked.overlay.lines[2]
    # The holiday taken back: open again, without a restart.
    _hours(hub, {"holidays": []})
    kiosk.wait_for(lambda view: view.overlay is None, 10)

    # The hub's hours changed to afternoons only: at noon the kiosk is closed, showing those hours.
    _hours(hub, {"periods": [{"start": "13:00", "end": "17:00"}]})
    closed = kiosk.wait_for(_locked, 10)
    assert closed.overlay is not None and "13:00 – 17:00" in " ".join(closed.overlay.lines)

    # No periods at all (a site being set up): closed every day, and the kiosk says so.
    _hours(hub, {"periods": []})
    shut = kiosk.wait_for(lambda view: _locked(view) and "Không làm việc ngày nào" in view.overlay.lines, 10)
    assert shut.overlay is not None and "13:00 – 17:00" not in " ".join(shut.overlay.lines)
