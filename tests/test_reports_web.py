"""`GET /api/v1/reports` and `/reports` on a real hub process over HTTP, on a generated history.

Who may see them (head of office, administrator; not a counter officer, not anonymous), the JSON
rows, the CSV parsed back, the xlsx opened with openpyxl and checked the way a head would (totals are
the sum of the rows, a known day's count), the PDF read back as text and rendered, and the page in a
real headless Chromium with its charts (screenshots in out/).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
import sqlite3
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from appliance.broker import find_free_port
from hub.reports.generate import generate, year_site
from hub.site import HubConfig
from tests.support import browser as browser_support
from tests.support.hub import ROOT, running_hub, write_config

PASSWORD = "mat-khau-thu-nghiem"
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
START = date(2025, 3, 3)
KNOWN_DAY = "2025-03-05"
MONTH = {"from": "2025-03-01", "to": "2025-03-31"}
OUT = ROOT / "out"


@pytest.fixture
def hub_url(tmp_path: Path, broker: Any) -> Iterator[tuple[str, Path]]:
    port = find_free_port()
    raw = year_site(db=str(tmp_path / "hub.db"), mqtt_port=broker.port, http_port=port)
    raw["mqtt"].update(reconnect_min=0.05, reconnect_max=0.5)
    for officer in raw["officers"]:
        officer["password_hash"] = FAST_HASH
    generate(tmp_path / "hub.db", HubConfig.model_validate(raw), start=START, days=6, per_day=300, seed=3)
    with running_hub(write_config(tmp_path, raw), web=True):
        yield f"http://127.0.0.1:{port}", tmp_path / "hub.db"


def get(url: str, user: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Accept-Language": "vi"}
    if user:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def query(**params: str) -> str:
    return "/api/v1/reports?" + "&".join(f"{k}={v}" for k, v in {**MONTH, **params}.items())


def test_reports_need_a_head_or_an_administrator(hub_url: tuple[str, Path]) -> None:
    base, _ = hub_url
    status, _, body = get(base + query(by="service"))
    assert status == 401 and json.loads(body)["error"]["code"] == "login_required"
    status, _, body = get(base + query(by="service"), user="canbo1")  # a counter officer
    assert status == 403
    assert json.loads(body)["error"]["message"] == "Chỉ trưởng bộ phận hoặc quản trị viên được xem báo cáo."
    assert get(base + query(by="service"), user="truongbp")[0] == 200
    assert get(base + query(by="service"), user="admin")[0] == 200
    status, _, body = get(base + "/api/v1/reports?from=2025-03-31&to=2025-03-01", user="truongbp")
    assert status == 400 and "Yêu cầu không hợp lệ" in json.loads(body)["error"]["message"]


def test_json_and_csv_agree_with_the_database(hub_url: tuple[str, Path]) -> None:
    base, db = hub_url
    with sqlite3.connect(db) as conn:
        issued = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
        known = conn.execute("SELECT COUNT(*) FROM tickets WHERE service_day=?", (KNOWN_DAY,)).fetchone()[0]
    status, headers, body = get(base + query(by="day"), user="truongbp")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    report = json.loads(body)
    assert report["total"]["issued"] == issued
    day = {row["key"]: row for row in report["rows"]}[KNOWN_DAY]
    assert day["issued"] == known
    for field in ("issued", "served", "no_show", "wait_p50_s", "wait_p90_s", "service_p50_s",
                  "within_target_share", "ratings", "rating_avg"):  # fmt: skip
        assert field in day

    status, headers, body = get(base + query(by="service", format="csv"), user="truongbp")
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[-1]["service"] == "total" and int(rows[-1]["issued"]) == issued
    assert sum(int(row["issued"]) for row in rows[:-1]) == issued
    assert {row["name"] for row in rows} >= {"Đất đai", "Hộ tịch", "Trả kết quả"}


def test_xlsx_has_a_sheet_per_grouping_with_totals(hub_url: tuple[str, Path]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    base, db = hub_url
    with sqlite3.connect(db) as conn:
        issued = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
        known = conn.execute("SELECT COUNT(*) FROM tickets WHERE service_day=?", (KNOWN_DAY,)).fetchone()[0]
        served = conn.execute("SELECT COUNT(*) FROM tickets WHERE status='completed'").fetchone()[0]
    status, headers, body = get(base + query(by="service", format="xlsx"), user="truongbp")
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["Lĩnh vực", "Quầy", "Cán bộ", "Giờ trong ngày", "Ngày"]
    for sheet in book.worksheets:
        header = [c.value for c in sheet[4]]
        assert header[1:4] == ["Số phiếu đã cấp", "Đã phục vụ", "Vắng mặt"]
        body_rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=5)]
        data, total = body_rows[:-1], body_rows[-1]
        assert total[0] == "Tổng cộng"
        assert sum(row[1] for row in data) == issued  # what the SUM formula adds up
        assert sum(row[2] for row in data) == served
        assert total[1] == f"=SUM(B5:B{4 + len(data)})"
    days = {row[0].value: row[1].value for row in book["Ngày"].iter_rows(min_row=5)}
    assert days["T4 05/03/2025"] == known


def test_pdf_of_the_month_reads_back(hub_url: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = hub_url
    status, _, body = get(base + query(format="pdf"), user="admin")
    assert status == 200 and body.startswith(b"%PDF") and len(body) > 5000
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")
    pdf = tmp_path / "month.pdf"
    pdf.write_bytes(body)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    assert "BÁO CÁO HOẠT ĐỘNG" in text and "Bộ phận Một cửa UBND huyện Long Thành" in text
    assert "01/03/2025 – 31/03/2025" in text and "Tổng cộng" in text and "Đất đai" in text
    OUT.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "1", str(pdf), str(OUT / "reports-pdf")],
                   check=True)  # fmt: skip


@pytest.mark.skipif(not browser_support.available(), reason="chromium and chromium-driver not installed")
def test_reports_page_in_chromium(hub_url: tuple[str, Path], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, _ = hub_url
    with browser_support.chromium(tmp_path / "profile", width=1366, height=1400) as driver:
        driver.get(f"{base}/reports?from=2025-03-01&to=2025-03-31&by=service")
        assert "/login" in driver.current_url
        driver.find_element(By.NAME, "username").send_keys("truongbp")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
        # The first report also starts the report worker process: give it time.
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "svg.chart"))
        charts = driver.find_elements(By.CSS_SELECTOR, "svg.chart")
        assert len(charts) == 2 and charts[0].size["height"] > 100
        rows = driver.find_elements(By.CSS_SELECTOR, "#report-rows tbody tr")
        assert len(rows) == 12 and rows[0].find_element(By.TAG_NAME, "td").text == "Đất đai"
        links = {a.get_attribute("id"): a.get_attribute("href")
                 for a in driver.find_elements(By.CSS_SELECTOR, ".exports a[id]")}  # fmt: skip
        assert "format=xlsx" in links["export-xlsx"] and "from=2025-03-01" in links["export-xlsx"]
        OUT.mkdir(exist_ok=True)
        driver.save_screenshot(str(OUT / "reports-page.png"))
        driver.get(f"{base}/reports?from=2025-03-01&to=2025-03-31&by=hour")
        assert len(driver.find_elements(By.CSS_SELECTOR, "#report-rows tbody tr")) >= 8
        driver.save_screenshot(str(OUT / "reports-page-hour.png"))
        driver.get(f"{base}/reports?from=2025-03-01&to=2025-03-31&by=counter")
        headers = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#report-rows thead th")]
        assert "Giờ mở quầy" in headers and "Giờ tạm dừng" in headers
        assert len(driver.find_elements(By.CSS_SELECTOR, "svg.chart")) == 3  # and the counters' time
        driver.save_screenshot(str(OUT / "reports-page-counter.png"))
