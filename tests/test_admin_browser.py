"""The administration pages in a real headless Chromium: the head logs in, creates a service,
assigns it to counter 1, a citizen takes a number for it, the officer calls it at the console.
Screenshots at 390×844 and 768×1024 go to out/ for a human to look at.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.service import QueueService
from hub.web import WebServer
from tests.support import browser as browser_support
from tests.support.hub import ROOT, served_console

pytestmark = pytest.mark.slow
PASSWORD = "mat-khau-thu-nghiem"
OUT = ROOT / "out"

browser_support.require()

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[WebServer, QueueService]]:
    head = {
        "username": "truongbp",
        "name": "Phạm Thu Hà",
        "head": True,
        "counters": ["1"],
    }
    with served_console(tmp_path, PASSWORD, extra_officers=(head,)) as served:
        yield served


def shoot(driver: Any, name: str, width: int, height: int) -> None:
    OUT.mkdir(exist_ok=True)
    driver.set_window_size(width, height)
    driver.save_screenshot(str(OUT / name))


def feedback(driver: Any) -> str:
    return browser_support.text_while_reloading(driver, "admin-feedback")


def test_the_head_sets_up_a_service_and_it_is_called_at_the_console(
    server: tuple[WebServer, QueueService], tmp_path: Path
) -> None:
    running, service = server
    base = running.url
    with browser_support.chromium(tmp_path / "profile", 390, 844) as driver:
        wait = WebDriverWait(driver, 10)
        driver.get(base + "/admin/services")
        assert "/login" in driver.current_url
        driver.find_element(By.NAME, "username").send_keys("truongbp")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
        wait.until(lambda d: d.current_url.endswith("/admin/services"))

        # A mistake first: an overlapping block is refused in Vietnamese, in the fixed place.
        form = driver.find_element(By.ID, "edit-form")
        form.find_element(By.NAME, "id").send_keys("thue")
        form.find_element(By.NAME, "name").send_keys("Thuế")
        first = form.find_element(By.NAME, "first")
        first.clear()
        first.send_keys("1500")
        last = form.find_element(By.NAME, "last")
        last.clear()
        last.send_keys("1600")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: "Cấu hình không hợp lệ" in feedback(d))
        shoot(driver, "admin-services-refused-390x844.png", 390, 844)
        first.clear()
        first.send_keys("8001")
        last.clear()
        last.send_keys("8999")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: "Đã lưu" in feedback(d))
        assert "Thuế" in driver.find_element(By.ID, "items").text
        assert "thue" in service.engine.services
        shoot(driver, "admin-services-390x844.png", 390, 844)
        shoot(driver, "admin-services-768x1024.png", 768, 1024)

        # Assign it to counter 1.
        driver.get(base + "/admin/counters")
        row = driver.find_element(By.CSS_SELECTOR, "#items tr[data-key='1']")
        row.find_element(By.CSS_SELECTOR, "button[data-edit]").click()
        driver.find_element(By.CSS_SELECTOR, "#edit-form input[name=services][value=thue]").click()
        driver.find_element(By.CSS_SELECTOR, "#edit-form button[type=submit]").click()
        wait.until(lambda d: "Đã lưu" in feedback(d))
        assert service.site.counters[0].services == ["dat-dai", "thue"]
        shoot(driver, "admin-counters-390x844.png", 390, 844)

        # A citizen takes a number for it; the officer calls it at counter 1.
        request = urllib.request.Request(
            base + "/api/v1/tickets",
            data=json.dumps({"service_id": "thue"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            number = json.load(response)["number"]
        assert number == "8001"
        driver.set_window_size(768, 1024)
        driver.get(base + "/counter/1")
        wait.until(lambda d: d.find_element(By.ID, "live").is_displayed())
        open_button = driver.find_elements(By.XPATH, "//button[@value='open']")
        if open_button:
            open_button[0].click()
        wait.until(lambda d: d.find_element(By.XPATH, "//button[@value='call-next']").is_enabled())
        driver.find_element(By.XPATH, "//button[@value='call-next']").click()
        wait.until(lambda d: d.find_element(By.ID, "serving-number").text.strip() == "8001")

        # The audit log shows both changes with their before → after.
        driver.get(base + "/admin/audit")
        audit = driver.find_element(By.ID, "audit").text
        assert "truongbp" in audit and "thue" in audit and "dat-dai" in audit
        shoot(driver, "admin-audit-390x844.png", 390, 844)
        shoot(driver, "admin-audit-768x1024.png", 768, 1024)

        # Officers: the head creates one; the one-time password is shown once.
        driver.get(base + "/admin/officers")
        form = driver.find_element(By.ID, "edit-form")
        form.find_element(By.NAME, "username").send_keys("canbo9")
        form.find_element(By.NAME, "name").send_keys("Võ Văn Chín")
        form.find_element(By.CSS_SELECTOR, "input[name=counters][value='3']").click()
        assert not form.find_elements(By.NAME, "admin")  # a head does not make administrators
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: "Mật khẩu dùng một lần của canbo9" in feedback(d))
        shoot(driver, "admin-officers-390x844.png", 390, 844)
        problems = [
            e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "400" not in e["message"]
        ]
        assert problems == []
