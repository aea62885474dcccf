"""appliance.screen_mirror and the scaled desk window of appliance.kivy_setup, in a real kivy app
drawn offscreen (a subprocess: kivy stays out of pytest): a screen laid out at its real size in a
window half as big, its picture kept at the real size, and a touch landing where it is seen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

APP = """
import json, os, sys
from appliance import screen_mirror
from appliance.kivy_setup import configure_kivy, fit_window, layout_size
configure_kivy((400, 800), fullscreen=False, touch=True)
from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout

pressed = []

class Probe(App):
    def build(self):
        root = FloatLayout(size=layout_size(Window.size), size_hint=(None, None))
        # The top-left quarter of the screen: a touch at (0.25, 0.25) lands in it.
        top_left = Button(text="A", size_hint=(0.5, 0.5), pos_hint={"x": 0, "top": 1})
        top_left.bind(on_release=lambda _b: pressed.append("top-left"))
        root.add_widget(top_left)
        root.add_widget(Button(text="B", size_hint=(0.5, 0.5), pos_hint={"right": 1, "y": 0}))
        self.mirror = screen_mirror.attach(lambda: root)
        Clock.schedule_once(self.finish, 4)
        return fit_window(root)

    def finish(self, _dt):
        print(json.dumps({"window": list(Window.size), "pressed": pressed}))
        self.stop()

Probe().run()
"""


def test_a_scaled_window_keeps_a_full_size_picture_and_takes_touches(tmp_path: Path) -> None:
    png, fifo = tmp_path / "screen.png", tmp_path / "screen.touch"
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": "offscreen",
        "KIVY_NO_ARGS": "1",
        "KIVY_HOME": str(tmp_path / "kivy"),
        "MOTCUA_WINDOW_SCALE": "0.5",
        "MOTCUA_SCREEN_PNG": str(png),
        "MOTCUA_TOUCH_FIFO": str(fifo),
    }
    script = tmp_path / "probe.py"  # a file: kivy's App looks for its class's source
    script.write_text(APP, encoding="utf-8")
    app = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The app makes the FIFO and reads it; its first picture says it is drawing.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and app.poll() is None and not png.exists():
            time.sleep(0.05)
        assert app.poll() is None, app.communicate()[1][-3000:]
        descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.write(descriptor, b"0.25 0.25\n")
        os.close(descriptor)
        out, err = app.communicate(timeout=30)
    finally:
        if app.poll() is None:
            app.kill()
    assert app.returncode == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["window"] == [200, 400], "the window is half the screen's size"
    assert result["pressed"] == ["top-left"], "the touch landed on the button seen there"
    with Image.open(png) as picture:
        assert picture.size == (400, 800), "the picture has the screen's real size"
