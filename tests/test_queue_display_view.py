"""The kivy board rendered offscreen (in subprocesses, to keep kivy out of the pytest process),
checked as a person would look at it: size, the highlighted call, and the words read back by OCR.
Screenshots are kept in out/ for a human look."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from appliance.broker import PrivateBroker
from appliance.topics import Topics
from queue_display.view import demo_state
from tests.support.mqtt import Observer

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out"

pytestmark = pytest.mark.skipif(not shutil.which("tesseract"), reason="needs Debian tesseract-ocr(-vie)")

RENDER = """
import sys
from pathlib import Path
from queue_display.config import DisplayConfig
from queue_display.view import run_demo
counters, orientation, connected, path = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1", Path(sys.argv[4])
config = DisplayConfig(device_id="display-1", site="demo", screen={"orientation": orientation})
sys.exit(run_demo(config, counters=counters, screenshot=path, connected=connected))
"""

SHOTS = {
    "display-4-landscape": (4, "landscape", True),
    "display-40-landscape": (40, "landscape", True),
    "display-40-portrait": (40, "portrait", True),
    "display-offline": (4, "landscape", False),
}


def kivy_env(tmp: Path) -> dict[str, str]:
    tmp.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_HOME": str(tmp / "kivy")}


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("kivy")
    OUT.mkdir(exist_ok=True)
    processes = {}
    for name, (counters, orientation, connected) in SHOTS.items():
        path = OUT / f"{name}.png"
        path.unlink(missing_ok=True)
        processes[name] = subprocess.Popen(
            [sys.executable, "-c", RENDER, str(counters), orientation, "1" if connected else "0", str(path)],
            env=kivy_env(tmp / name),  # one KIVY_HOME each: kivy writes its config.ini there
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    for name, process in processes.items():
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, f"{name}: {output.decode(errors='replace')[-2000:]}"
    return {name: OUT / f"{name}.png" for name in SHOTS}


def ocr(path: Path) -> str:
    """Text read back by tesseract (vie). Light-on-dark reads better inverted to dark-on-light."""
    inverted = path.with_suffix(".ocr.png")
    ImageOps.invert(Image.open(path).convert("L")).save(inverted)
    try:
        return subprocess.run(
            ["tesseract", str(inverted), "-", "-l", "vie", "--psm", "11"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        inverted.unlink()


def amber_share(image: Image.Image, box: tuple[int, int, int, int] | None = None) -> float:
    """Share of pixels in the highlight colour (#ffc107)."""
    region = image.convert("RGB").crop(box) if box else image.convert("RGB")
    small = region.resize((region.width // 4, region.height // 4))
    pixels = list(small.get_flattened_data())
    amber = sum(1 for r, g, b in pixels if r > 230 and 170 < g < 215 and b < 60)
    return amber / len(pixels)


def test_four_counters_landscape(screenshots: dict[str, Path]) -> None:
    image = Image.open(screenshots["display-4-landscape"])
    assert image.size == (1920, 1080)
    # Counter 2 was just called: its tile (top right of the 2×2 grid) is amber, the others are not.
    assert amber_share(image, (660, 140, 1240, 520)) > 0.5
    assert amber_share(image, (20, 560, 620, 950)) < 0.01
    text = ocr(screenshots["display-4-landscape"])
    for words in ("QUẦY 2", "1023", "1011", "VỪA GỌI", "ĐANG CHỜ", "Đất đai", "Kính chào quý khách"):
        assert words in text, (words, text)
    assert "Mất kết nối" not in text


def test_forty_counters_are_paged(screenshots: dict[str, Path]) -> None:
    for name in ("display-40-landscape", "display-40-portrait"):
        image = Image.open(screenshots[name])
        assert image.size == ((1920, 1080) if "landscape" in name else (1080, 1920))
        text = ocr(screenshots[name])
        assert "Trang 1/2" in text, text
        assert "QUẦY 20" in text and "QUẦY 21" not in text, text


def test_a_lost_broker_is_marked(screenshots: dict[str, Path]) -> None:
    text = ocr(screenshots["display-offline"])
    assert "Mất kết nối" in text, text
    assert "1023" in text  # the last known board stays up


def test_the_daemon_draws_the_retained_state(broker: PrivateBroker, tmp_path: Path) -> None:
    topics = Topics("demo")
    state = demo_state(6)
    state["counters"][4]["serving"] = {"id": "t-9876", "number": "9876", "service_id": "dat-dai"}
    with Observer(broker.port) as hub:
        hub.publish(topics.queue_state, json.dumps(state, ensure_ascii=False).encode(), retain=True)
    config = tmp_path / "display.toml"
    config.write_text(
        f"""device_id = "display-1"
site = "demo"
role = "display"
[mqtt]
port = {broker.port}
[announce]
enabled = false
[audio]
sink = "none"
[screen]
fullscreen = false
""",
        encoding="utf-8",
    )
    path = OUT / "display-live.png"
    path.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "queue_display", "-c", str(config), "--screenshot", str(path)],
        env=kivy_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = ocr(path)
    assert "9876" in text and "QUẦY 5" in text, text
    assert "Mất kết nối" not in text
