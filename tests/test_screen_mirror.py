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


UNSEEN = """
import json
from appliance import screen_mirror
from appliance.kivy_setup import configure_kivy, skip_unseen_frames
configure_kivy((400, 300), fullscreen=False, touch=False)
from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.label import Label

drawn = []
window_class = type(Window)
draw = window_class.on_draw
window_class.on_draw = lambda self, *a: (drawn.append(1), draw(self, *a))[1]  # the window's frames

class Busy(App):
    def build(self):
        self.skipping = skip_unseen_frames()
        self.label = Label(text="0", font_size=120, color=(1, 1, 0, 1), size=(400, 300))
        self.mirror = screen_mirror.attach(lambda: self.label)
        self.changes = 0
        Clock.schedule_interval(self.change, 0.05)
        return self.label

    def change(self, _dt):
        self.changes += 1
        self.label.text = str(self.changes)
        if self.changes == 30:
            Clock.schedule_once(self.finish, 2.5)  # the mirror writes the newest picture
            return False

    def finish(self, _dt):
        print(json.dumps({"skipping": self.skipping, "frames": len(drawn)}))
        self.stop()

Busy().run()
"""


def test_an_unseen_offscreen_window_draws_no_frames_and_its_picture_is_still_made(tmp_path: Path) -> None:
    """Offscreen (the headless demo) nobody sees the window: 30 changes draw no window frame (each
    was ~100 ms of a core on a software GL), and its picture is still drawn (an export)."""
    png = tmp_path / "screen.png"
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": "offscreen",
        "KIVY_NO_ARGS": "1",
        "KIVY_HOME": str(tmp_path / "kivy"),
        "MOTCUA_SCREEN_PNG": str(png),
        "PYTHONPATH": str(ROOT),  # this checkout's appliance, not an installed one
    }
    script = tmp_path / "busy.py"
    script.write_text(UNSEEN, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"skipping": True, "frames": 0}
    with Image.open(png) as picture:
        lit = sum(
            1
            for r, g, b, *_ in picture.convert("RGBA").get_flattened_data()
            if r > 200 and g > 200 and b < 80
        )
    assert lit > 500, "the picture shows the yellow text"
