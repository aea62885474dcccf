"""The officer's console in a real headless Chromium follows the head's edits of the priority groups
while it stays open (no reload): a renamed group, one that now asks for a paper and one just added
are named on the called ticket and in the waiting list, woken by the console's own event stream.
It also says why each citizen was called out of turn ("gọi trước vì ưu tiên", "gọi theo số", "1 ưu
tiên sau 2 lượt thường" once the head sets that rule).
Screenshot at 390×844 goes to out/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.service import QueueService
from hub.web import WebServer
from tests.support import browser as browser_support
from tests.support.hub import ROOT, issued_number, served_console

pytestmark = pytest.mark.slow
PASSWORD = "mat-khau-thu-nghiem"
OUT = ROOT / "out"

browser_support.require()

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[WebServer, QueueService]]:
    with served_console(tmp_path, PASSWORD) as served:
        yield served


def detail(driver: Any) -> str:
    return str(driver.find_element(By.ID, "serving-detail").text)


def rows(driver: Any) -> list[str]:
    return list(
        driver.execute_script("return [...document.querySelectorAll('#queue tr')].map(r => r.innerText)")
    )


def test_the_console_follows_priority_group_edits_without_a_reload(
    server: tuple[WebServer, QueueService], tmp_path: Path
) -> None:
    running, service = server
    base = running.url

    def admin(method: str, path: str, body: dict[str, Any]) -> None:
        response = requests.request(method, base + path, json=body, auth=("admin", PASSWORD), timeout=10)
        assert response.status_code in (200, 201), response.text

    ordinary = issued_number(service, "dat-dai")
    elderly = issued_number(service, "dat-dai", priority_group="elderly")
    second_elderly = issued_number(service, "dat-dai", priority_group="elderly")
    with browser_support.chromium(tmp_path / "profile", 390, 844) as driver:
        wait = WebDriverWait(driver, 10)
        driver.get(base + "/counter/1")
        driver.find_element(By.NAME, "username").send_keys("canbo1")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
        wait.until(lambda d: d.current_url.endswith("/counter/1"))
        wait.until(lambda d: d.find_element(By.ID, "live").is_displayed())
        if driver.find_elements(By.XPATH, "//button[@value='open']"):
            driver.find_element(By.XPATH, "//button[@value='open']").click()
        wait.until(lambda d: d.find_element(By.XPATH, "//button[@value='call-next']").is_enabled())
        driver.execute_script("window.motcuaSamePage = true")  # gone if the page were reloaded

        driver.find_element(By.XPATH, "//button[@value='call-next']").click()
        wait.until(lambda d: d.find_element(By.ID, "serving-number").text.strip() == elderly)
        wait.until(lambda d: "gọi trước vì ưu tiên: Người cao tuổi" in detail(d))

        # The head renames the group and asks for a paper: the open console names it so at once,
        # on the called ticket and in the waiting list (a site change wakes it; nothing was called).
        admin("PUT", "/api/v1/admin/priority_groups/elderly", {"name": "Người từ đủ 60 tuổi", "proof": True})
        wait.until(lambda d: "Người từ đủ 60 tuổi (xem giấy tờ)" in detail(d))
        wait.until(lambda d: any(second_elderly in r and "Người từ đủ 60 tuổi" in r for r in rows(d)))

        # A group she adds is named too, never shown as a bare "Ưu tiên".
        admin("POST", "/api/v1/admin/priority_groups", {"id": "veteran", "name": "Cựu chiến binh"})
        veteran = issued_number(service, "dat-dai", priority_group="veteran")
        wait.until(lambda d: any(veteran in r and "Cựu chiến binh" in r for r in rows(d)))

        # The citizen who stepped out is called by number: the console says so.
        field = driver.find_element(By.ID, "call-number")
        field.send_keys(ordinary, Keys.ENTER)
        wait.until(lambda d: d.find_element(By.ID, "serving-number").text.strip() == ordinary)
        wait.until(lambda d: "gọi theo số" in detail(d))
        # The head sets "1 priority after every 2 ordinary" for the service: the next call goes to a
        # citizen without priority although two priority tickets wait, and the console says why.
        admin("PUT", "/api/v1/admin/services/dat-dai", {"priority_rule": "interleave", "interleave_every": 2})
        later = issued_number(service, "dat-dai")
        wait.until(lambda d: any(later in r for r in rows(d)))
        driver.find_element(By.XPATH, "//button[@value='call-next']").click()
        wait.until(lambda d: d.find_element(By.ID, "serving-number").text.strip() == later)
        wait.until(lambda d: "1 ưu tiên sau 2 lượt thường" in detail(d))

        OUT.mkdir(exist_ok=True)
        driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
        driver.save_screenshot(str(OUT / "console-live-groups-390x844.png"))
        driver.execute_script("document.getElementById('queue').scrollIntoView()")
        driver.save_screenshot(str(OUT / "console-live-groups-list-390x844.png"))

        assert driver.execute_script("return window.motcuaSamePage === true"), "the console was reloaded"
        problems = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert problems == []
