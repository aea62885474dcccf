"""`motcua demo`: a whole site comes up, prints what to open, works, and stops cleanly on Ctrl-C.

Headless, the kiosk and the hall display draw offscreen and keep their pictures in the data folder;
the hub's /demo page shows them, and a click on the kiosk's picture touches the kiosk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from appliance.broker import find_free_port
from tests.support import browser
from tests.support.hub import ROOT
from tests.support.mqtt import Observer
from tests.support.print_jobs import RECEIPT_JOB

pytestmark = pytest.mark.slow


def wait_for_file(path: Path, timeout: float = 30.0, *, changed_from: bytes | None = None) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            content = b""
        if content and content != changed_from:
            return content
        time.sleep(0.2)
    raise AssertionError(f"{path}: {'unchanged' if changed_from else 'never written'} after {timeout} s")


def colours(path: Path) -> int:
    """How many colours a picture has (a blank or half-drawn screen has one or two)."""
    with Image.open(path) as picture:
        return len(picture.convert("RGB").getcolors(maxcolors=1 << 20) or [])


def mqtt_rr(port: int, caller: str, method: str, params: dict[str, object]) -> dict[str, object]:
    reply = subprocess.run(
        [
            "mosquitto_rr",
            "-p",
            str(port),
            "-t",
            f"motcua/v1/demo/rpc/{caller}/{method}",
            "-e",
            f"motcua/v1/demo/devices/{caller}/replies",
            "-m",
            json.dumps({"v": 1, **params}),
            "-W",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    return json.loads(reply.stdout)


def test_demo_runs_a_site_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    mqtt_port, http_port, central_port = find_free_port(), find_free_port(), find_free_port()
    web = f"http://127.0.0.1:{http_port}"
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "motcua.cli",
            "demo",
            "--headless",
            "--mqtt-port",
            str(mqtt_port),
            "--http-port",
            str(http_port),
            "--central-port",
            str(central_port),
            "--keep",  # a temporary folder (under TMPDIR), kept after Ctrl-C
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp_path)},
        start_new_session=True,
    )
    site = tmp_path / "unknown"
    lines: list[str] = []
    try:
        assert demo.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("{") and json.loads(line).get("ready"):
                break
        output = "\n".join(lines)
        assert f"MQTT: mqtt://127.0.0.1:{mqtt_port}" in lines, output
        assert f"Web: http://127.0.0.1:{http_port}" in lines, output
        assert f"Central: http://127.0.0.1:{central_port}" in lines, output
        notify = next(line for line in lines if line.startswith("Notify: http://127.0.0.1:"))
        with urllib.request.urlopen(notify.removeprefix("Notify: ") + "/messages", timeout=10) as response:
            assert json.loads(response.read()) == []
        assert any(line.startswith("Officer login: canbo1 / ") for line in lines), output
        data = next(line for line in lines if line.startswith("Data: "))
        site = Path(data.removeprefix("Data: ").split(" (")[0])
        assert site.parent == tmp_path and "kept after Ctrl-C" in data, data
        assert f"{web}/demo" in output and f"Public board: {web}/results" in output, output
        # Every screen draws offscreen and keeps its picture in the data folder.
        for name in ("kiosk-1", "display-1", "led-hall", "led-counter-1"):
            wait_for_file(site / f"{name}.png", timeout=60)
        for name in ("kiosk-1", "display-1"):
            assert colours(site / f"{name}.png") > 20, f"{name}.png is blank"
        with Image.open(site / "kiosk-1.png") as kiosk, Image.open(site / "display-1.png") as display:
            assert kiosk.size == (1080, 1920) and display.size == (1920, 1080)
        with urllib.request.urlopen(f"{web}/demo", timeout=10) as response:
            page = response.read().decode()
        for name in ("kiosk-1.png", "display-1.png", "led-hall.png", "led-counter-1.png"):
            assert f"/demo/files/{name}" in page, name
        with urllib.request.urlopen(f"{web}/demo/files/kiosk-1.png", timeout=10) as response:
            assert response.headers["Content-Type"] == "image/png"

        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=5) as response:
            assert response.status == 200
        with Observer(mqtt_port, "motcua/v1/demo/devices/+/state", "motcua/v1/demo/print/+/results") as seen:
            # Every simulated device came up.
            for device in ("printer-1", "scanner-1", "display-1", "led-counter-1", "led-hall"):
                seen.wait_for(lambda m, d=device: f"/{d}/state" in m.topic and m.json()["online"], timeout=30)
            # A citizen at kiosk-1 takes a number: the kiosk's printer prints it.
            reply = subprocess.run(
                [
                    "mosquitto_rr",
                    "-p",
                    str(mqtt_port),
                    "-t",
                    "motcua/v1/demo/rpc/kiosk-1/ticket.issue",
                    "-e",
                    "motcua/v1/demo/devices/kiosk-1/replies",
                    "-m",
                    '{"v":1,"service_id":"ho-tich"}',
                    "-W",
                    "10",
                ],
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            )
            result = json.loads(reply.stdout)["result"]
            assert result["ticket"]["number"] == "2001" and result["ticket"]["service_name"] == "Hộ tịch"
            printed = seen.wait_for(lambda m: m.topic.endswith("printer-1/results"), timeout=20).json()
            assert printed["job_id"] == f"ticket-{result['ticket']['id']}"
            assert printed["status"] == "printed"
        assert list((site / "printed").glob("*.png")), "the simulated printer kept no page"
        # Counter 1's officer prints a dossier receipt: counter 1's printer prints it.
        mqtt_rr(
            mqtt_port, "counter-1", "receipt.print", {"counter_id": "1", "receipt": RECEIPT_JOB["receipt"]}
        )
        wait_for_file(site / "printed-counter-1" / "00001.png", timeout=20)
        with urllib.request.urlopen(f"{web}/demo/state", timeout=10) as response:
            state = json.load(response)
        assert state["tickets"][0]["file"] == "printed-counter-1/00001.png", "newest first"
        assert any(ticket["file"] == "printed/00001.png" for ticket in state["tickets"])

        # The officer at counter 3 calls it: the hall display says it (headless: into a WAV file).
        subprocess.run(
            [
                "mosquitto_rr",
                "-p",
                str(mqtt_port),
                "-t",
                "motcua/v1/demo/rpc/counter-3/counter.call_next",
                "-e",
                "motcua/v1/demo/devices/counter-3/replies",
                "-m",
                '{"v":1,"counter_id":"3"}',
                "-W",
                "10",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        announcements = site / "announcements"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list(announcements.glob("*.wav")):
            time.sleep(0.2)
        assert list(announcements.glob("*.wav")), "the hall display announced nothing"

        # The central simulator answers lookups through the hub, names masked for the public.
        with urllib.request.urlopen(f"http://127.0.0.1:{central_port}/admin/dossiers", timeout=5) as response:
            listed = json.load(response)
        rows = listed["data"] if isinstance(listed, dict) else listed
        code = rows[0]["dossierNo"]
        with urllib.request.urlopen(
            f"http://127.0.0.1:{http_port}/api/v1/dossiers/{code}", timeout=10
        ) as response:
            dossier = json.load(response)
        assert code.replace(".", "").replace("-", "") in json.dumps(dossier).replace(".", "").replace("-", "")
        assert "**" in json.dumps(dossier, ensure_ascii=False)
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(demo.pid, signal.SIGINT)
        rest, _ = demo.communicate(timeout=30)
    assert demo.returncode == 0, rest
    assert "motcua demo: stopped" in rest
    assert f"the data folder stays: {site}" in rest
    assert (site / "printed" / "00001.png").is_file(), "--keep kept the printed tickets"
    leftovers = subprocess.run(["pgrep", "-f", str(site)], capture_output=True, text=True).stdout
    assert leftovers == "", f"processes left behind: {leftovers}"


@pytest.mark.skipif(not browser.available(), reason="needs Debian chromium and chromium-driver")
def green_share(path: Path) -> float:
    """The share of the picture in the green of the kiosk's home tile "Tra cứu hồ sơ"."""
    with Image.open(path) as picture:
        small = picture.convert("RGB").resize((108, 192))
    counted = small.getcolors(maxcolors=108 * 192) or []
    green = sum(count for count, (r, g, b) in counted if g > r + 40 and g > b + 40)
    return green / (108 * 192)


def test_the_demo_page_shows_the_kiosk_and_a_click_touches_it(tmp_path: Path) -> None:
    mqtt_port, http_port, central_port = find_free_port(), find_free_port(), find_free_port()
    site = tmp_path / "unknown"
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "motcua.cli",
            "demo",
            "--headless",
            "--mqtt-port",
            str(mqtt_port),
            "--http-port",
            str(http_port),
            "--central-port",
            str(central_port),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp_path)},
        start_new_session=True,
    )
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            if line.startswith("Data: "):
                site = Path(line.removeprefix("Data: ").split(" (")[0])
                assert "deleted on Ctrl-C unless --keep" in line, line
            if line.startswith("{") and json.loads(line).get("ready"):
                break
        home = wait_for_file(site / "kiosk-1.png", timeout=60)
        assert green_share(site / "kiosk-1.png") > 0.05, "the kiosk starts on its home screen"
        with browser.chromium(tmp_path / "chromium", width=1400, height=1000) as driver:
            from selenium.webdriver.common.action_chains import ActionChains
            from selenium.webdriver.common.by import By

            driver.get(f"http://127.0.0.1:{http_port}/demo")
            kiosk = driver.find_element(By.CSS_SELECTOR, "img.demo-kiosk")
            shown = kiosk.get_attribute("src")
            assert kiosk.size["height"] > kiosk.size["width"] > 200, kiosk.size  # a portrait picture
            # "Lấy số thứ tự", the first tile, in the lower reach range: 720-934 px of the 1920 px
            # portrait screen, so 43 % down (offsets from the centre).
            ActionChains(driver).move_to_element_with_offset(
                kiosk, 0, -0.07 * kiosk.size["height"]
            ).click().perform()
            wait_for_file(site / "kiosk-1.png", timeout=20, changed_from=home)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and kiosk.get_attribute("src") == shown:
                time.sleep(0.2)
            assert kiosk.get_attribute("src") != shown, "the page did not follow the kiosk's new screen"
            assert driver.find_element(By.CSS_SELECTOR, ".demo-tap-error").text == ""
            driver.save_screenshot(str(tmp_path / "demo-page.png"))
        # The kiosk left its home screen for the list of services, as a citizen's touch would.
        assert green_share(site / "kiosk-1.png") < 0.01 and colours(site / "kiosk-1.png") > 20
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        rest, _ = demo.communicate(timeout=30)
    assert demo.returncode == 0, rest
    # Without --keep the temporary data folder goes, and the demo says so.
    assert f"motcua demo: deleted the data folder {site} (--keep keeps it)" in rest
    assert not site.exists()
