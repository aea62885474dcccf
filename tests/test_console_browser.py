"""The officer console and the public ticket page in a real headless Chromium.

An officer logs in, a citizen takes a number through the API, the officer presses "Gọi số tiếp
theo": the console shows the number and the citizen's phone page (open before the call, live by
server-sent events) switches to "mời đến quầy". Screenshots go to out/ for a human to look at.
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

pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[WebServer, QueueService]]:
    with served_console(tmp_path, PASSWORD) as served:
        yield served


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with browser_support.chromium(tmp_path / "chromium-profile") as driver:
        yield driver


def issue(base: str, service_id: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base}/api/v1/tickets",
        data=json.dumps({"service_id": service_id}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201
        return json.load(response)


def text_of(driver: Any, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text).strip()


def shoot(driver: Any, name: str, width: int, height: int) -> None:
    OUT.mkdir(exist_ok=True)
    driver.set_window_size(width, height)
    driver.save_screenshot(str(OUT / name))


def test_officer_calls_next_and_the_citizens_phone_page_follows(
    server: tuple[WebServer, QueueService], browser: Any
) -> None:
    running, service = server
    base = running.url
    wait = WebDriverWait(browser, 10)
    issue(base, "dat-dai")  # someone ahead, so the phone page first shows one person ahead
    mine = issue(base, "dat-dai")
    issue(base, "xay-dung")

    # The citizen's phone: the ticket page, open before the call, waiting.
    browser.set_window_size(390, 844)
    browser.get(base + mine["url"])
    assert text_of(browser, "t-number") == mine["number"]
    assert text_of(browser, "t-ahead") == "1"
    assert not browser.find_element(By.ID, "t-called").is_displayed()
    ticket_tab = browser.current_window_handle
    shoot(browser, "ticket-waiting-390x844.png", 390, 844)

    # The officer, in another tab: login page, then the console of counter 1.
    browser.switch_to.new_window("tab")
    browser.set_window_size(1366, 900)
    browser.get(base + "/counter/1")
    assert "/login" in browser.current_url  # no session yet: sent to log in first
    browser.find_element(By.NAME, "username").send_keys("canbo1")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait.until(lambda d: d.current_url.endswith("/counter/1"))
    wait.until(lambda d: d.find_element(By.ID, "live").is_displayed())  # the event stream is open
    assert text_of(browser, "serving-number") == "—"

    call_next = browser.find_element(By.XPATH, "//button[@value='call-next']")
    assert "Gọi số tiếp theo" in call_next.text
    call_next.click()
    wait.until(lambda d: text_of(d, "serving-number") != "—")
    first = text_of(browser, "serving-number")
    assert first != mine["number"]  # the earlier ticket goes first

    # The second press completes the first citizen and calls ours.
    browser.find_element(By.TAG_NAME, "body").send_keys("n")  # keyboard shortcut N
    wait.until(lambda d: text_of(d, "serving-number") == mine["number"])
    assert "Đã gọi số " + mine["number"] in text_of(browser, "banner-text")
    assert service.snapshot()["counters"][0]["serving"]["number"] == mine["number"]
    recent = text_of(browser, "recent")
    assert first in recent and "Đã hoàn thành" in recent

    # Nobody else waits at counter 1's services but the construction ticket at counter 2's:
    # a third press at counter 1 is refused with a clear Vietnamese banner.
    service.call("counter.call_next", {"counter_id": "2"}, caller_id="test")
    browser.find_element(By.XPATH, "//button[@value='call-next']").click()
    wait.until(
        lambda d: (
            d.find_element(By.ID, "banner").is_displayed() and "Không còn ai chờ" in text_of(d, "banner-text")
        )
    )
    assert text_of(browser, "serving-number") == mine["number"]
    # The banner is a refusal, not a crash: dismiss it and show the console as an officer sees it.
    browser.find_element(By.ID, "banner-close").click()
    shoot(browser, "console-1366x900.png", 1366, 900)

    # Back on the phone: the page switched by itself to "your turn — go to counter 1".
    browser.switch_to.window(ticket_tab)
    wait.until(lambda d: d.find_element(By.ID, "t-called").is_displayed())
    assert "mời đến quầy 1" in text_of(browser, "t-called").lower()
    assert text_of(browser, "t-status") == "Đã gọi"
    shoot(browser, "ticket-called-390x844.png", 390, 844)

    # The statistics page, logged in as the officer (same browser profile, same session).
    browser.get(base + "/stats")
    assert "Thống kê trong ngày" in browser.page_source
    shoot(browser, "stats-1366x900.png", 1366, 900)
    # No page ran into a script error or a refused resource (CSP, 404 of a static file).
    problems = [
        entry
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and "409 (CONFLICT)" not in entry["message"]  # the refused press
    ]
    assert problems == []
