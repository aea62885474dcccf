"""Every text of the hall display fits its box in both orientations: long service names wrap or
shrink, waiting times shrink, nothing is cut with "…". Rendered offscreen in a subprocess (kivy
stays out of the pytest process); the measurements come from the real laid-out labels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

MEASURE = """
import json, sys, time
from queue_display.config import DisplayConfig
from queue_display.view import open_screen, demo_call, demo_state
orientation = sys.argv[1]
config = DisplayConfig(device_id="display-1", site="demo", screen={"orientation": orientation})
size = config.screen.size
open_screen(config.screen, fullscreen=False)
from kivy.base import EventLoop
from kivy.core.window import Window
from queue_display.board import BoardModel, layout_for
from queue_display.screen import BoardScreen, FitLabel
state = demo_state(40)
state["services"][0]["estimated_wait_s"] = 24 * 60
state["services"][1]["estimated_wait_s"] = 179 * 60
model = BoardModel(page_size=layout_for(orientation).page_size)
model.apply_state(state, 0)
model.apply_event(demo_call(40), 0)
screen = BoardScreen(orientation=orientation, size=size, recent_slots=6)
Window.add_widget(screen)
EventLoop.ensure_window()
from datetime import datetime
for _ in range(12):
    screen.show(model.snapshot(1), datetime(2026, 11, 24, 8, 42))
    EventLoop.idle()
labels = []
for widget in screen.walk():
    if isinstance(widget, FitLabel) and widget._source:
        widget.texture_update()
        lines = widget.text.split("\\n")
        labels.append({
            "source": widget._source,
            "text": widget.text,
            "box": list(widget.size),
            "texture": list(widget.texture_size),
            "widest_line": max(widget._extent(line, widget.font_size) for line in lines),
        })
print(json.dumps(labels))
"""


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_every_text_of_the_board_fits_uncut(orientation: str, tmp_path: Path) -> None:
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, orientation],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    labels = json.loads(done.stdout.strip().splitlines()[-1])
    shown = {label["source"] for label in labels}
    # The texts the issue saw cut are on screen …
    for text in ("Đăng ký kinh doanh", "Lao động – Thương binh và Xã hội", "≈ 24 phút", "≈ 179 phút"):
        assert text in shown, sorted(shown)
    for label in labels:
        # … whole (at most broken in two lines: never "…") …
        assert label["text"].replace("\n", " ") == label["source"], label
        # … and within their boxes.
        width, height = label["box"]
        assert label["widest_line"] <= width, label
        assert label["texture"][0] <= width + 1 and label["texture"][1] <= height + 1, label
