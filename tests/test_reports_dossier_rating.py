"""A citizen rates their dossier at the counter's tablet, once; the rating reaches central exactly
once although central is down when it is given (a real QueueService with its outbox, the real relay,
the central simulator over HTTP, the hub's web app over HTTP)."""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.security import generate_password_hash

from hub.central import CentralRuntime, load_central_config
from hub.central_sim import SimServer, SimState
from hub.service import QueueService
from hub.site import HubConfig
from hub.web import create_app, serve
from tests.support.hub import site_config

PASSWORD = "mat-khau-thu-nghiem"
QUICK = {"retry_base_s": 0.05, "retry_max_s": 0.4, "breaker_failures": 3, "breaker_open_s": 0.2,
         "poll_interval_s": 0.2}  # fmt: skip


@pytest.fixture
def site(tmp_path: Path) -> Iterator[dict[str, Any]]:
    sim = SimServer(SimState()).start()
    raw = site_config(tmp_path, 1883)
    fast = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    for officer in raw["officers"]:
        officer["password_hash"] = fast
    service = QueueService(HubConfig.model_validate(raw), tmp_path / "hub.db", outbox=True)
    config = load_central_config({"adapter": "opencps", "base_url": sim.url, **QUICK})
    runtime = CentralRuntime(config, db_path=service.db_path, site="test", rating_scale=3)
    service.add_commit_hook(runtime.on_commit)
    runtime.start()
    server = serve(create_app(service, broker_connected=lambda: True, central=runtime), "127.0.0.1", 0)
    try:
        yield {"base": f"http://127.0.0.1:{server.port}", "sim": sim, "runtime": runtime, "service": service}
    finally:
        server.shutdown()
        runtime.stop()
        service.close()
        sim.stop()


def call(
    url: str, *, data: bytes | None = None, json_body: bool = False, user: str | None = None
) -> tuple[int, str]:
    headers = {"Content-Type": "application/json" if json_body else "application/x-www-form-urlencoded"}
    if user:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        url, data=data, headers=headers, method="POST" if data is not None else "GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def ratings_at_central(sim: SimServer) -> list[dict[str, Any]]:
    return requests.get(f"{sim.url}/admin/ratings", timeout=5).json()


def test_a_dossier_is_rated_once_and_relayed_once_through_an_outage(site: dict[str, Any]) -> None:
    base, sim, runtime, service = site["base"], site["sim"], site["runtime"], site["service"]
    code = sim.state.dossiers[0]["dossierNo"]
    service.call("ticket.issue", {"service_id": "ho-tich"}, caller_id="kiosk-1")
    assert call(f"{base}/api/v1/counters/3/call-next", data=b"{}", json_body=True, user="canbo3")[0] == 200
    status, page = call(f"{base}/rate/3")
    assert status == 200 and 'id="rate-waiting"' in page  # nothing linked yet: the tablet waits

    status, body = call(f"{base}/api/v1/counters/3/dossier", data=f'{{"code": "{code}"}}'.encode(),
                        json_body=True, user="canbo3")  # fmt: skip
    assert status == 200, body
    later_link = re.search(r'"rate_url": "([^"]+)"', body).group(1)
    status, page = call(f"{base}/rate/3")
    assert status == 200 and code in page and "Thái độ phục vụ" in page
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)

    sim.state.faults.down = True  # central is out when the citizen presses "Hài lòng"
    form = urllib.parse.urlencode({"token": token, "overall": "3", "c0": "3", "c1": "2"}).encode()
    status, page = call(f"{base}/rate/3", data=form)
    assert status == 200 and "Xin cảm ơn quý khách đã đánh giá." in page
    status, page = call(f"{base}/rate/3", data=form)  # pressed again
    assert status == 409 and f"Hồ sơ {code} đã được đánh giá" in page
    path = urllib.parse.urlparse(later_link).path
    assert call(base + path)[0] == 409  # the receipt's QR link: already rated
    assert call(f"{base}/rate/d/forged-token")[0] == 404
    time.sleep(0.8)
    assert ratings_at_central(sim) == []

    sim.state.faults.down = False
    assert runtime.relay is not None and runtime.relay.drained(10)
    received = ratings_at_central(sim)
    assert len(received) == 1
    assert received[0]["classPK"] == code and str(received[0]["selected"]) == "3"
    assert "Thái độ phục vụ" in received[0]["criteria"]
    assert received[0]["key"] == f"test:dossier-rating-{code}"

    # The head's report of the day has it, per criterion.
    day = service.clock().date().isoformat()
    status, body = call(f"{base}/api/v1/reports?from={day}&to={day}", user="admin")
    summary = json.loads(body)["dossier_ratings"]
    assert (summary["count"], summary["overall_avg"], summary["satisfied_share"]) == (1, 3.0, 1.0)
    assert [(c["name"], c["avg"]) for c in summary["criteria"]] == [
        ("Thái độ phục vụ", 3.0),
        ("Thời gian giải quyết", 2.0),
    ]


def test_an_officer_links_only_at_their_own_counter_and_only_a_dossier_code(site: dict[str, Any]) -> None:
    base, sim, service = site["base"], site["sim"], site["service"]
    code = sim.state.dossiers[0]["dossierNo"]
    service.call("ticket.issue", {"service_id": "ho-tich"}, caller_id="kiosk-1")
    service.call("counter.call_next", {"counter_id": "3"}, caller_id="web:canbo3")
    body = f'{{"code": "{code}"}}'.encode()
    assert call(f"{base}/api/v1/counters/3/dossier", data=body, json_body=True, user="canbo1")[0] == 403
    status, _ = call(f"{base}/api/v1/counters/3/dossier", data=b'{"code": "hello"}', json_body=True,
                        user="canbo3")  # fmt: skip
    assert status == 400


def test_the_counter_tablet_in_chromium(site: dict[str, Any], tmp_path: Path) -> None:
    from tests.support import browser as browser_support

    if not browser_support.available():
        pytest.skip("chromium and chromium-driver not installed")
    from selenium.webdriver.common.by import By

    from tests.support.hub import ROOT

    base, sim, service = site["base"], site["sim"], site["service"]
    code = sim.state.dossiers[1]["dossierNo"]
    service.call("ticket.issue", {"service_id": "ho-tich"}, caller_id="kiosk-1")
    service.call("counter.call_next", {"counter_id": "3"}, caller_id="web:canbo3")
    body = f'{{"code": "{code}"}}'.encode()
    assert call(f"{base}/api/v1/counters/3/dossier", data=body, json_body=True, user="canbo3")[0] == 200
    with browser_support.chromium(tmp_path / "profile", width=1024, height=768) as driver:
        driver.get(f"{base}/rate/3")
        assert driver.find_element(By.ID, "rate-code").text == code
        driver.find_element(By.CSS_SELECTOR, "input[name=c0][value='3']").click()
        (ROOT / "out").mkdir(exist_ok=True)
        driver.save_screenshot(str(ROOT / "out" / "rate-tablet.png"))
        driver.find_element(By.CSS_SELECTOR, "button.rate-3").click()
        assert driver.find_element(By.ID, "rate-done").text == "Xin cảm ơn quý khách đã đánh giá."
