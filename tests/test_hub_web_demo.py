"""The hub's /demo page (hub/web/demo.py) on a real hub process: there only under `motcua demo`,
serving the screens' pictures and printed pages and nothing else of the data folder, and forwarding
a click on the kiosk's picture to the kiosk's touch FIFO."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from PIL import Image

from appliance.broker import PrivateBroker
from tests.support.hub import running_hub, site_config, write_config


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def tap(url: str, body: object, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_demo_page_shows_the_data_folder_and_forwards_taps(broker: PrivateBroker, tmp_path: Path) -> None:
    data = tmp_path / "demo"
    (data / "printed").mkdir(parents=True)
    (data / "printed-counter-1").mkdir()
    Image.new("RGB", (108, 192), "navy").save(data / "kiosk-1.png")
    Image.new("RGB", (192, 108), "black").save(data / "display-1.png")
    Image.new("1", (576, 300), 1).save(data / "printed" / "00001.png")
    (data / "printed-counter-1" / "text-00001.txt").write_text("GIẤY TIẾP NHẬN HỒ SƠ", encoding="utf-8")
    os.utime(data / "printed" / "00001.png", (1, 1))  # printed long before the receipt
    config = site_config(tmp_path, broker.port)
    config["hub"]["demo_dir"] = str(data)
    web = config["hub"]["public_url"]
    with running_hub(write_config(tmp_path, config), web=True):
        status, page = get(f"{web}/demo")
        assert status == 200
        assert "/demo/files/kiosk-1.png" in page and "/demo/files/display-1.png" in page
        assert "GIẤY TIẾP NHẬN HỒ SƠ" in page
        state = json.loads(get(f"{web}/demo/state")[1])
        assert [t["file"] for t in state["tickets"]] == [
            "printed-counter-1/text-00001.txt",
            "printed/00001.png",
        ]
        assert get(f"{web}/demo/files/printed/00001.png")[0] == 200
        # Nothing else of the data folder: not the database, not the TOML with the password hashes.
        (data / "hub.toml").write_text("secret", encoding="utf-8")
        for name in ("hub.toml", "hub.db", "printed/../hub.toml", "%2e%2e/hub.toml"):
            assert get(f"{web}/demo/files/{name}")[0] == 404, name

        # No kiosk reads its FIFO yet: the visitor is told, in Vietnamese.
        status, refused = tap(f"{web}/demo/kiosk-1/tap", {"x": 0.5, "y": 0.3})
        assert status == 503
        assert refused["error"]["code"] == "demo_screen_absent"  # type: ignore[index]
        assert "không chạy" in refused["error"]["message"]  # type: ignore[index]

        fifo = data / "kiosk-1.touch"
        os.mkfifo(fifo)
        received: list[str] = []
        # The kiosk's end, non-blocking: the test never hangs on a hub that wrote nothing.
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            assert tap(f"{web}/demo/kiosk-1/tap", {"x": 0.25, "y": 0.75})[0] == 204
            received.append(os.read(reader, 100).decode())
            assert tap(f"{web}/demo/kiosk-1/tap", {"x": 2, "y": 0.5})[0] == 400
            assert tap(f"{web}/demo/kiosk-1/tap", ["x", "y"])[0] == 400
            # Another site cannot make a visitor's browser touch the kiosk.
            assert (
                tap(f"{web}/demo/kiosk-1/tap", {"x": 0.1, "y": 0.1}, {"Origin": "http://evil.example"})[0]
                == 403
            )
        finally:
            os.close(reader)
        assert received == ["0.2500 0.7500\n"]


def test_a_hub_outside_the_demo_has_no_demo_page(broker: PrivateBroker, tmp_path: Path) -> None:
    config = site_config(tmp_path, broker.port)
    with running_hub(write_config(tmp_path, config), web=True):
        assert get(f"{config['hub']['public_url']}/demo")[0] == 404
