"""The head of office in a real headless Chromium sets what the kiosks offer: a kiosk's services in
her order, the priority groups (moved, renamed, one added that asks for a paper) and the
result-return counter; the queue takes each at once, the audit page lists them and the console names
the new group and that its paper is to be seen.
Screenshots at 390×844 (and 768×1024) go to out/ for a human to look at.
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
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[WebServer, QueueService]]:
    head = {"username": "truongbp", "name": "Phạm Thu Hà", "head": True, "counters": ["1"]}
    with served_console(tmp_path, PASSWORD, extra_officers=(head,)) as served:
        yield served


def shoot(driver: Any, name: str, width: int, height: int) -> None:
    OUT.mkdir(exist_ok=True)
    driver.set_window_size(width, height)
    driver.save_screenshot(str(OUT / name))


def feedback(driver: Any) -> str:
    return browser_support.text_while_reloading(driver, "admin-feedback")


def saved(driver: Any) -> bool:
    return "Đã lưu" in feedback(driver)


def no_page_wider_than_the_screen(driver: Any) -> None:
    width = driver.execute_script("return document.documentElement.clientWidth")
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width


def test_the_head_sets_kiosk_services_priority_groups_and_the_return_counter(
    server: tuple[WebServer, QueueService], tmp_path: Path
) -> None:
    running, service = server
    base = running.url
    with browser_support.chromium(tmp_path / "profile", 390, 844) as driver:
        wait = WebDriverWait(driver, 10)
        driver.get(base + "/admin/kiosks")
        driver.find_element(By.NAME, "username").send_keys("truongbp")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
        wait.until(lambda d: d.current_url.endswith("/admin/kiosks"))
        assert "Tất cả lĩnh vực" in driver.find_element(By.ID, "items").text

        # The main kiosk offers Hộ tịch first, then Đất đai, and nothing else.
        row = driver.find_element(By.CSS_SELECTOR, "#items tr[data-key='kiosk-1']")
        row.find_element(By.CSS_SELECTOR, "button[data-edit]").click()
        driver.find_element(By.CSS_SELECTOR, "#edit-form input[data-rank='ho-tich']").send_keys("1")
        driver.find_element(By.CSS_SELECTOR, "#edit-form input[data-rank='dat-dai']").send_keys("2")
        shoot(driver, "admin-kiosks-form-390x844.png", 390, 844)
        driver.find_element(By.CSS_SELECTOR, "#edit-form button[type=submit]").click()
        wait.until(saved)
        assert service.site.kiosks[0].services == ["ho-tich", "dat-dai"]
        assert service.snapshot()["kiosks"] == {"kiosk-1": {"services": ["ho-tich", "dat-dai"]}}
        listed = driver.find_element(By.CSS_SELECTOR, "#items tr[data-key='kiosk-1']").text
        assert listed.index("Hộ tịch") < listed.index("Đất đai")
        shoot(driver, "admin-kiosks-390x844.png", 390, 844)
        no_page_wider_than_the_screen(driver)

        # Priority groups: move "Người khuyết tật" up to first, add a group that asks for a paper.
        driver.get(base + "/admin/priority_groups")
        row = driver.find_element(By.CSS_SELECTOR, "#items tr[data-key='disabled']")
        row.find_element(By.CSS_SELECTOR, "button[data-move='-1']").click()
        wait.until(saved)
        assert [g.id for g in service.site.priority_groups][:2] == ["disabled", "elderly"]
        form = driver.find_element(By.ID, "edit-form")
        form.find_element(By.NAME, "id").send_keys("veteran")
        form.find_element(By.NAME, "name").send_keys("Cựu chiến binh")
        form.find_element(By.NAME, "proof").click()
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(saved)
        groups = service.snapshot()["priority_groups"]
        assert groups[-1] == {"id": "veteran", "name": "Cựu chiến binh", "name_en": "", "proof": True}
        rows = driver.find_elements(By.CSS_SELECTOR, "#items tbody tr")
        assert rows[0].get_attribute("data-key") == "disabled" and "Cựu chiến binh" in rows[-1].text
        shoot(driver, "admin-priority-groups-390x844.png", 390, 844)
        shoot(driver, "admin-priority-groups-768x1024.png", 768, 1024)
        driver.set_window_size(390, 844)

        # A wrong id is refused in the hub's words, in the fixed place.
        form = driver.find_element(By.ID, "edit-form")
        form.find_element(By.NAME, "id").send_keys("Sai mã")
        form.find_element(By.NAME, "name").send_keys("Sai")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: "Cấu hình không hợp lệ" in feedback(d))

        # The result-return counter: counter 6 hands results over.
        driver.get(base + "/admin/settings")
        form = driver.find_element(By.ID, "settings-result")
        Select(form.find_element(By.NAME, "service")).select_by_value("tra-ket-qua")
        form.find_element(By.CSS_SELECTOR, "input[name=counters][value='6']").click()
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(saved)
        assert service.site.result_return.service == "tra-ket-qua"
        assert service.site.result_return.counters == ["6"]
        shoot(driver, "admin-settings-390x844.png", 390, 844)

        driver.get(base + "/admin/audit")
        audit = driver.find_element(By.ID, "audit").text
        for words in ("Ki-ốt: kiosk-1", "Nhóm ưu tiên: veteran", "result_return", "ho-tich, dat-dai"):
            assert words in audit, (words, audit)

        # At the console, the officer sees the new group by name, and that a paper is to be seen.
        request = urllib.request.Request(
            base + "/api/v1/tickets",
            data=json.dumps({"service_id": "dat-dai", "priority_group": "veteran"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            number = json.load(response)["number"]
        driver.get(base + "/counter/1")
        wait.until(lambda d: d.find_element(By.ID, "live").is_displayed())
        if driver.find_elements(By.XPATH, "//button[@value='open']"):
            driver.find_element(By.XPATH, "//button[@value='open']").click()
        wait.until(lambda d: d.find_element(By.XPATH, "//button[@value='call-next']").is_enabled())
        driver.find_element(By.XPATH, "//button[@value='call-next']").click()
        wait.until(lambda d: d.find_element(By.ID, "serving-number").text.strip() == number)
        assert "Cựu chiến binh (xem giấy tờ)" in driver.find_element(By.ID, "serving-detail").text
        shoot(driver, "console-priority-group-390x844.png", 390, 844)
        problems = [
            e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "400" not in e["message"]
        ]
        assert problems == []
