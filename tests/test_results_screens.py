"""The results board as people see it: the hall display's results page (kivy offscreen, read back by
OCR), the `/results` TV page and the return counter's console (headless Chromium). Screenshots go to
out/ for a human look; the rules of the display's page are checked without kivy."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from werkzeug.security import generate_password_hash

from hub.central import CentralRuntime, load_central_config
from hub.central_sim import SimServer, SimState
from hub.service import QueueService
from hub.site import HubConfig
from hub.web import WebServer, create_app, serve
from queue_display.results import ResultsModel, ScreenPlan
from queue_display.view import demo_results
from tests.support import browser as chromium_support
from tests.support.hub import ROOT, site_config
from tests.support.mqtt import wait_until
from tests.test_queue_display_view import amber_share, kivy_env, ocr

OUT = ROOT / "out"
PASSWORD = "mat-khau-thu-nghiem"

RENDER = """
import json, sys
from pathlib import Path
from queue_display.config import DisplayConfig
from queue_display.view import demo_results, run_demo
orientation, stale, path = sys.argv[1], sys.argv[2] == "1", Path(sys.argv[3])
config = DisplayConfig(
    device_id="display-1", site="demo", screen={"orientation": orientation, "results": "only"}
)
sys.exit(run_demo(config, counters=4, screenshot=path, results=demo_results(12, stale=stale)))
"""


# ---------------------------------------------------------------------- the display's rules
def test_results_pages_turn_and_new_results_are_marked() -> None:
    model = ResultsModel(rows_per_page=5, page_s=10)
    assert model.apply(demo_results(12), 0.0)
    first = model.snapshot(1.0)
    assert (first.page, first.pages, first.count) == (0, 3, 12)
    assert [row.new for row in first.rows[:3]] == [True, True, False]  # ready in the last 15 min
    assert model.snapshot(21.0).page == 2 and len(model.snapshot(21.0).rows) == 2
    assert any(row.overdue for row in model.snapshot(11.0).rows + model.snapshot(21.0).rows)
    assert not model.apply({"v": 1}, 0.0)  # not a list: ignored, the last one stays
    assert model.snapshot(1.0).count == 12


def test_alternating_plan_gives_way_to_calls_and_skips_an_empty_list() -> None:
    plan = ScreenPlan("alternate", queue_s=30, results_s=10, page_s=8)
    assert plan.choose(0, calling=False, results=9, pages=2) == "queue"
    assert plan.choose(31, calling=False, results=9, pages=2) == "results"
    assert plan.choose(40, calling=False, results=9, pages=2) == "results"  # two pages: 16 s
    assert plan.choose(48, calling=False, results=9, pages=2) == "queue"
    assert plan.choose(79, calling=False, results=9, pages=2) == "results"
    assert plan.choose(80, calling=True, results=9, pages=2) == "queue"  # a call: the board at once
    assert plan.choose(500, calling=False, results=0, pages=1) == "queue"  # nothing to show
    assert (
        ScreenPlan("only", queue_s=30, results_s=10, page_s=8).choose(0, calling=True, results=0, pages=1)
        == "results"
    )


# ---------------------------------------------------------------------- kivy, offscreen
@pytest.fixture(scope="module")
def display_shots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("kivy-results")
    OUT.mkdir(exist_ok=True)
    shots = {
        "display-results-landscape": ("landscape", "0"),
        "display-results-stale-portrait": ("portrait", "1"),
    }
    processes = {}
    for name, (orientation, stale) in shots.items():
        path = OUT / f"{name}.png"
        path.unlink(missing_ok=True)
        processes[name] = subprocess.Popen(
            [sys.executable, "-c", RENDER, orientation, stale, str(path)],
            env=kivy_env(tmp / name),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    for name, process in processes.items():
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, f"{name}: {output.decode(errors='replace')[-2000:]}"
    return {name: OUT / f"{name}.png" for name in shots}


def test_display_results_page_reads_right(display_shots: dict[str, Path]) -> None:
    path = display_shots["display-results-landscape"]
    image = Image.open(path)
    assert image.size == (1920, 1080)
    # The two newest rows (top) are amber; the last rows are not.
    assert amber_share(image, (20, 230, 1900, 420)) > 0.5
    assert amber_share(image, (20, 700, 1900, 1000)) < 0.01
    text = ocr(path)
    # (tesseract reads the title's "QUẢ" as "QUÁ" at this size; the rest comes back exact)
    for words in (
        "HỒ SƠ ĐÃ CÓ KẾT QU",
        "16.H19-261120-0101",
        "Nguyễn V** A**",
        "Trang 1/2",
        "MỚI",
        "Quá 8 ngày chưa nhận",
        "Đăng ký khai sinh",
    ):
        assert words in text, (words, text)
    assert "Chưa cập nhật" not in text


def test_display_results_page_says_when_the_list_is_old(display_shots: dict[str, Path]) -> None:
    path = display_shots["display-results-stale-portrait"]
    assert Image.open(path).size == (1080, 1920)
    text = ocr(path)
    assert "Chưa cập nhật được" in text and "000.00.16.H19-261120-0101" in text, text


# ---------------------------------------------------------------------- Chromium
@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[WebServer, QueueService, CentralRuntime, SimServer]]:
    if not chromium_support.available():
        pytest.skip("Debian chromium and chromium-driver are not installed")
    sim = SimServer(SimState(seed=7)).start()
    config = site_config(tmp_path, 1883)
    fast = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    for officer in config["officers"]:
        officer["password_hash"] = fast
    service = QueueService(HubConfig.model_validate(config), tmp_path / "hub.db", outbox=True)
    runtime = CentralRuntime(
        load_central_config({"adapter": "opencps", "base_url": sim.url, "poll_interval_s": 0.2}),
        db_path=tmp_path / "hub.db",
        site="test",
        result_service="tra-ket-qua",
        result_counters=["6"],
    )
    runtime.start()
    assert runtime.results is not None
    wait_until(lambda: runtime.results.status()["fetched_at"] is not None, timeout=5)  # type: ignore[union-attr]
    running = serve(create_app(service, broker_connected=lambda: True, central=runtime), "127.0.0.1", 0)
    yield running, service, runtime, sim
    running.shutdown()
    runtime.stop()
    service.close()
    sim.stop()


def by_id(driver: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def test_tv_page_and_return_counter_in_chromium(
    site: tuple[WebServer, QueueService, CentralRuntime, SimServer], tmp_path: Path
) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    running, service, runtime, sim = site
    base = running.url
    OUT.mkdir(exist_ok=True)
    with chromium_support.chromium(tmp_path / "profile", 1920, 1080) as driver:
        # The desk redraws its card as data arrives: an element found may be replaced a moment later.
        wait = WebDriverWait(driver, 10, ignored_exceptions=(StaleElementReferenceException,))
        driver.get(base + "/results")
        board = runtime.results_payload()
        assert board is not None and len(board["items"]) > 8
        # As many rows as fit above the footer (at most 8), the newest first and highlighted.
        wait.until(
            lambda d: d.execute_script(
                "const rows = document.querySelectorAll('#r-rows tr');"
                "return rows[rows.length - 1].getBoundingClientRect().bottom"
                " <= document.querySelector('.results-foot').getBoundingClientRect().top;"
            )
        )
        rows = driver.find_elements(By.CSS_SELECTOR, "#r-rows tr")
        assert 4 <= len(rows) <= 8
        assert rows[0].text.startswith(board["items"][0]["code"]) and "MỚI" in rows[0].text
        assert "is-new" in (rows[0].get_attribute("class") or "")
        assert "is-new" not in (rows[-1].get_attribute("class") or "")
        assert board["items"][0]["applicant_masked"] in rows[0].text
        assert not by_id(driver, "r-stale").is_displayed()
        assert "Trang 1/" in by_id(driver, "r-page").text

        # Live: a dossier central finishes now appears on top without reloading the page.
        target = requests.post(f"{sim.url}/admin/ready", json={"count": 1}, timeout=5).json()["ready"][0]
        runtime.results.request_refresh()  # type: ignore[union-attr]
        wait.until(lambda d: target in by_id(d, "r-rows").text.split("\n")[0])
        driver.save_screenshot(str(OUT / "results-page-1920x1080.png"))
        with Image.open(OUT / "results-page-1920x1080.png") as shot:
            assert shot.width == 1920  # the window is 1920×1080; the page gets what the frame leaves

        # The return counter: a linked ticket called, the dossier on the console, handed over.
        code = board["items"][-1]["code"]
        issued = service.call("ticket.issue", {"service_id": "tra-ket-qua"}, caller_id="kiosk-1")
        assert runtime.desk is not None
        runtime.desk.link(issued["ticket"]["id"], code, by="kiosk-1")
        driver.set_window_size(1366, 1000)
        driver.get(base + "/counter/6")
        driver.find_element(By.NAME, "username").send_keys("canbo5")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait.until(lambda d: "/counter/6" in d.current_url)
        driver.find_element(By.CSS_SELECTOR, "button[value=call-next]").click()
        wait.until(lambda d: by_id(d, "serving-number").text == issued["ticket"]["number"])
        wait.until(lambda d: code in by_id(d, "rd-body").text)
        wait.until(lambda d: "Đã trả kết quả" in by_id(d, "rd-return").text)
        driver.save_screenshot(str(OUT / "results-console-1366x1000.png"))
        wait.until(lambda d: by_id(d, "rd-return").click() or True)
        wait.until(lambda d: "Đã trả kết quả lúc" in by_id(d, "rd-body").text)
        wait.until(lambda d: f"Đã ghi nhận trả kết quả hồ sơ {code}" in by_id(d, "banner").text)
        driver.save_screenshot(str(OUT / "results-console-returned-1366x1000.png"))
        logs = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
        assert not logs, json.dumps(logs, ensure_ascii=False)
    assert runtime.relay is not None and runtime.relay.drained(10)
    returned = [
        r
        for r in requests.get(f"{sim.url}/admin/received", timeout=5).json()["items"]
        if r["kind"] == "returned"
    ]
    assert len(returned) == 1 and returned[0]["data"]["dossierNo"] == code
