"""Long service names on the /reports charts: wrapped between words and ellipsised between glyphs
(never through a letter's tone mark), with the full name in a <title>. The SVG is read back as XML,
and the page of a real hub process is drawn in headless Chromium: every label stays inside its chart,
left of the bars (screenshot in out/)."""

from __future__ import annotations

import base64
import unicodedata
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from appliance.broker import find_free_port
from hub.reports.charts import bars
from hub.reports.generate import generate, year_site
from hub.site import HubConfig
from tests.support import browser as browser_support
from tests.support.hub import ROOT, running_hub, write_config

SVG = "{http://www.w3.org/2000/svg}"
PASSWORD = "mat-khau-thu-nghiem"
LONG = "Đăng ký kinh doanh hợp tác xã, hộ kinh doanh cá thể và tổ hợp tác trên địa bàn huyện Long Thành"
# Typed on a machine that decomposes: every tone mark a combining character of its own.
DECOMPOSED = unicodedata.normalize("NFD", "Chứng thực bản sao từ bản chính giấy tờ, văn bằng, chứng chỉ")
UNBROKEN = "Giấychứngnhậnquyềnsửdụngđấtquyềnsởhữunhàởvàtàisảnkhácgắnliềnvớiđất"
OUT = ROOT / "out"


def labels_of(svg: str) -> list[tuple[str, list[str]]]:
    """(the <title>, the lines drawn) of every label of a chart."""
    root = ET.fromstring(svg)
    return [
        (text.find(f"{SVG}title").text or "", [span.text or "" for span in text.findall(f"{SVG}tspan")])
        for text in root.iter(f"{SVG}text")
        if text.get("class") == "chart-label"
    ]


def squash(text: str) -> str:
    return "".join(unicodedata.normalize("NFC", text).split())


def test_long_names_wrap_and_end_in_an_ellipsis_between_glyphs_with_the_full_name_in_a_title() -> None:
    names = ["Đất đai", LONG, DECOMPOSED, UNBROKEN]
    chart = bars(names, [("Cấp số", [10, 20, 30, 40]), ("Đã phục vụ", [9, 18, 27, 36])], title="Số phiếu")
    drawn = labels_of(str(chart))
    assert [title for title, _ in drawn] == names  # the full name, as given, for a hover and a reader
    assert drawn[0][1] == ["Đất đai"]  # a short name as it is
    for title, lines in drawn[1:]:
        assert len(lines) == 2 and lines[-1].endswith("…"), lines
        shown = squash("".join(lines))[:-1]
        # What is drawn is the name's beginning, glyph for glyph: no tone mark cut off its letter.
        assert squash(title).startswith(shown), (title, lines)
        rest = squash(title)[len(shown) :]
        assert not unicodedata.combining(rest[0]), (shown, rest)  # the cut is between two letters
        assert not any(unicodedata.combining(line[0]) for line in lines)
    # One series leaves room for one line only: the label is ellipsised on it.
    single = labels_of(str(bars([LONG], [("Cấp số", [1])], title="t")))
    assert len(single[0][1]) == 1 and single[0][1][0].endswith("…")


@pytest.fixture
def hub_url(tmp_path: Path, broker: Any) -> Iterator[str]:
    port = find_free_port()
    raw = year_site(db=str(tmp_path / "hub.db"), mqtt_port=broker.port, http_port=port)
    raw["mqtt"].update(reconnect_min=0.05, reconnect_max=0.5)
    for officer in raw["officers"]:
        officer["password_hash"] = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    for service, name in zip(raw["services"], (LONG, DECOMPOSED, UNBROKEN), strict=False):
        service["name"] = name
    generate(
        tmp_path / "hub.db",
        HubConfig.model_validate(raw),
        start=date(2025, 3, 3),
        days=2,
        per_day=200,
        seed=5,
    )
    with running_hub(write_config(tmp_path, raw), web=True):
        yield f"http://127.0.0.1:{port}"


MEASURE = """
return Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const box = svg.getBoundingClientRect();
  const bars = Array.from(svg.querySelectorAll('rect[width]')).filter(r => +r.getAttribute('x') > 100);
  const barLeft = Math.min(...bars.map(r => r.getBoundingClientRect().left));
  return Array.from(svg.querySelectorAll('text.chart-label tspan')).map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, left: r.left - box.left, right: r.right, barLeft: barLeft};
  });
});
"""


@pytest.mark.skipif(not browser_support.available(), reason="chromium and chromium-driver not installed")
def test_the_reports_page_draws_long_names_inside_the_chart(hub_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    address = f"{hub_url}/reports?from=2025-03-01&to=2025-03-31&by=service"
    auth = base64.b64encode(f"truongbp:{PASSWORD}".encode()).decode()
    with urllib.request.urlopen(urllib.request.Request(address, headers={"Authorization": f"Basic {auth}"}),
                                timeout=60) as reply:  # fmt: skip
        page = reply.read().decode()
    svg = page[page.index("<svg") : page.index("</svg>") + 6]
    titles = [title for title, _ in labels_of(svg)]
    assert LONG in titles and DECOMPOSED in titles and UNBROKEN in titles

    with browser_support.chromium(tmp_path / "profile", width=1366, height=1200) as driver:
        driver.get(address)
        driver.find_element(By.NAME, "username").send_keys("truongbp")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "svg.chart"))
        charts = driver.execute_script(MEASURE)
        assert len(charts) == 2
        for spans in charts:
            wrapped = [span for span in spans if span["text"].endswith("…")]
            assert len(wrapped) >= 3, spans  # the three long names, on each chart
            for span in spans:
                # Inside the chart on the left, and clear of the bars on the right.
                assert span["left"] >= 0 and span["right"] <= span["barLeft"], span
        OUT.mkdir(exist_ok=True)
        driver.save_screenshot(str(OUT / "reports-long-names.png"))
