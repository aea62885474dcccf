"""The whole path as an officer lives it: a real hub process (MQTT + web) on a real Mosquitto, the
officer console in headless Chromium. Pressing "Gọi số tiếp theo" shows the number on the page and
in the retained queue/state every display and LED board reads."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from appliance.broker import PrivateBroker
from tests.support import browser
from tests.support.hub import running_hub, site_config, write_config
from tests.support.mqtt import Observer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not browser.available(), reason="Debian chromium and chromium-driver are missing"),
]
PASSWORD = "mat-khau-cua-can-bo"


def test_officer_presses_call_next_and_the_page_and_queue_state_show_the_number(
    broker: PrivateBroker, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    config = site_config(tmp_path, broker.port, site="site1")
    for officer in config["officers"]:
        officer["password_hash"] = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    base = f"http://127.0.0.1:{config['hub']['http_port']}"
    with (
        running_hub(write_config(tmp_path, config), web=True),
        Observer(broker.port, "motcua/v1/site1/queue/state") as observer,
    ):
        request = urllib.request.Request(
            f"{base}/api/v1/tickets",
            data=json.dumps({"service_id": "ho-tich"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            ticket = json.load(response)
        assert ticket["number"] == "2001"

        with browser.chromium(tmp_path / "profile") as driver:
            wait = WebDriverWait(driver, 15)
            driver.get(f"{base}/login?next=/counter/3")
            driver.find_element(By.NAME, "username").send_keys("canbo3")
            driver.find_element(By.NAME, "password").send_keys(PASSWORD)
            driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
            wait.until(lambda d: d.current_url.endswith("/counter/3"))
            button = driver.find_element(By.XPATH, "//button[@value='call-next']")
            assert "Gọi số tiếp theo" in button.text
            button.click()
            wait.until(lambda d: d.find_element(By.ID, "serving-number").text.strip() == "2001")

        state = observer.wait_for(
            lambda m: any((c["serving"] or {}).get("number") == "2001" for c in m.json()["counters"]),
            timeout=10,
        ).json()
        counter = next(c for c in state["counters"] if c["id"] == "3")
        assert counter["serving"]["status"] == "called"
        assert "token" not in counter["serving"]  # the citizen's page stays theirs
        assert state["recent_calls"][0]["ticket"]["number"] == "2001"
