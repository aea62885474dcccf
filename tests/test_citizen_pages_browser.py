"""The citizen's phone pages in a real headless Chromium at 390×844: booking at /book (service,
day, slot, ID card number, confirmation with QR), the booking page /b/{code} (cancel), and the
ticket page after a no-show (what to do) with the messages box. Screenshots go to out/."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from appliance.timeutil import SITE_TZ
from hub.bookings.config import BookingSettings
from hub.bookings.runtime import BookingService
from hub.citizen_notify.config import NotifySettings
from hub.citizen_notify.runtime import CitizenNotify
from hub.notify_sim import running as notify_sim
from hub.service import QueueService
from hub.site import HubConfig
from hub.web import create_app, serve
from hub.web.booking import install_booking
from hub.web.citizen_notify import install_citizen_notify
from tests.support.browser import chromium, require
from tests.support.hub import ROOT, site_config

pytestmark = pytest.mark.slow
require()
pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

OUT = ROOT / "out"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, QueueService]]:
    config = site_config(tmp_path, 1883)
    config["hub"]["clock_check"] = "off"
    moment = datetime(2026, 12, 7, 8, 0, tzinfo=SITE_TZ)  # a Monday morning
    service = QueueService(HubConfig.model_validate(config), tmp_path / "hub.db", clock=lambda: moment)
    with notify_sim() as gateway:
        notify = CitizenNotify(
            NotifySettings(sms={"url": f"{gateway.url}/sms"}, webpush={"subject": "mailto:a@b.vn"}), service
        )
        slots = {"start": "07:30", "end": "11:30", "every_minutes": 30, "capacity": 3}
        settings = BookingSettings(phone_otp=True, services={"dat-dai": slots, "ho-tich": slots})
        bookings = BookingService(settings, service, otp_sender=notify.send_otp)
        app = create_app(service, broker_connected=lambda: True)
        install_booking(app, bookings)
        install_citizen_notify(app, notify)
        server = serve(app, "127.0.0.1", 0)
        try:
            yield server.url, service
        finally:
            server.shutdown()
            notify.close()
            bookings.close()
            service.close()


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")  # fmt: skip
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def phone(driver: Any, height: int = 844) -> None:
    """A 390×844 phone viewport (Chromium's windows do not go below 500 px wide)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": height, "deviceScaleFactor": 1, "mobile": True},
    )


def shoot(driver: Any, name: str) -> None:
    """The whole page as a phone shows it (taller than 844 when it scrolls)."""
    OUT.mkdir(exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    phone(driver, max(844, int(height)))
    driver.save_screenshot(str(OUT / name))
    phone(driver)


def test_book_confirm_cancel_and_no_show_pages_on_a_phone(
    site: tuple[str, QueueService], tmp_path: Path
) -> None:
    base, service = site
    with chromium(tmp_path / "profile", 390, 844) as driver:
        # The pages redraw their status lines as answers arrive: a read may meet a replaced node.
        wait = WebDriverWait(driver, 10, ignored_exceptions=(StaleElementReferenceException,))
        phone(driver)
        driver.get(f"{base}/book")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#b-slots .slot"))
        wide = driver.execute_script(
            "return [window.innerWidth, ...[...document.querySelectorAll('body *')]"
            ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
            ".map(e => e.tagName + '#' + e.id + '.' + e.className + ':' + e.getBoundingClientRect().right)]"
        )
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390, wide
        slots = driver.find_elements(By.CSS_SELECTOR, "#b-slots .slot")
        assert [s.text.split("\n")[0] for s in slots][:2] == ["08:00", "08:30"]  # 07:30 is past its grace
        shoot(driver, "book-390x844.png")
        slots[1].click()
        driver.find_element(By.CSS_SELECTOR, "input[name=who][value=id_no]").click()
        driver.find_element(By.ID, "b-id-no").send_keys("001099012345")
        driver.find_element(By.CSS_SELECTOR, "#book-form button[type=submit]").click()
        wait.until(lambda d: d.find_element(By.ID, "b-done").is_displayed())
        code = driver.find_element(By.ID, "b-code").text
        assert len(code) == 9 and code[4] == "-"
        wait.until(lambda d: d.execute_script("return document.getElementById('b-qr').naturalWidth > 0"))
        shoot(driver, "book-done-390x844.png")

        driver.find_element(By.ID, "b-link").click()
        wait.until(lambda d: d.find_elements(By.ID, "b-cancel"))
        shoot(driver, "booking-390x844.png")
        driver.find_element(By.ID, "b-cancel").click()
        wait.until(lambda d: "Đã huỷ" in d.find_element(By.ID, "b-status").text)

        mine = post(f"{base}/api/v1/tickets", {"service_id": "dat-dai", "phone": "0912345678"})
        service.call("counter.open", {"counter_id": "1"}, caller_id="test")
        service.call("counter.call_next", {"counter_id": "1"}, caller_id="test")
        driver.get(f"{base}/t/{mine['token']}")
        wait.until(lambda d: d.find_element(By.ID, "c-state").text)  # "Bạn sẽ nhận tin khi sắp đến lượt."
        service.call("counter.skip", {"counter_id": "1"}, caller_id="test")
        wait.until(lambda d: d.find_element(By.ID, "c-noshow").is_displayed())
        advice = driver.find_element(By.ID, "c-noshow").text
        assert advice == (
            "Bạn đã vắng mặt khi được gọi. Hãy đến quầy 1 trong 15 phút để được phục vụ lại, hoặc lấy số mới."
        )
        time.sleep(0.3)
        shoot(driver, "ticket-no-show-390x844.png")
