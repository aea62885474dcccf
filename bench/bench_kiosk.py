"""Kiosk benchmark: tap → number on screen through the controller against a real hub, and the kivy
draw time of the ticket screen (offscreen). Prints one JSON object.

    .venv/bin/python -m bench.bench_kiosk            # ~40 s
    .venv/bin/python -m bench.bench_kiosk --quick    # ~15 s

Latency: a private Mosquitto, the hub as its own process (`python -m hub`, the sample site), and the
kiosk's KioskController as tests/test_kiosk_flows.py drives it: `tap("issue", service)` until the
ViewState shows the ticket screen with the new number (the moment kivy's next refresh would draw it).
Draw: a subprocess with SDL_VIDEODRIVER=offscreen KIVY_NO_ARGS=1 swaps the home screen for the ticket
screen of a real `ticket.issue` reply and times `KioskRoot.show(view)` plus one rendered frame.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.offscreen import run_offscreen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

SITE = "bench"
SERVICE = "dat-dai"


def percentiles_ms(samples: list[float]) -> dict[str, float]:
    values = np.array(samples) * 1000
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "max_ms": round(float(values.max()), 2),
        "n": len(samples),
    }


def tap_latency(taps: int, work: Path) -> tuple[dict[str, float], dict[str, Any]]:
    """Tap → number on screen through the controller; also one real reply for the draw benchmark."""
    from support.hub import HubProcess, site_config, write_config

    from appliance.broker import PrivateBroker
    from appliance.config import MqttSettings
    from appliance.mqtt import Link
    from appliance.rpc import RpcClient
    from kiosk.config import KioskConfig
    from kiosk.controller import KioskController
    from kiosk.views import TicketBody

    with PrivateBroker() as broker:
        hub = HubProcess(write_config(work, site_config(work, broker.port, site=SITE))).start()
        try:
            settings = MqttSettings(host="127.0.0.1", port=broker.port, reconnect_min=0.05, reconnect_max=0.5)
            config = KioskConfig(
                device_id="kiosk-1",
                site=SITE,
                mqtt=settings,
                kiosk={"rpc_timeout_s": 5},
                opening_hours={"lock_outside": False},
            )
            samples: list[float] = []
            with KioskController(config) as kiosk:
                kiosk.wait_for(lambda v: kiosk.online and v.overlay is None and bool(v.header.site), 15)
                for index in range(taps + 3):  # the first taps warm the hub's and the kiosk's code paths
                    kiosk.tap("open", "services")
                    kiosk.wait_for(lambda view: view.screen == "services" and bool(view.buttons()))
                    start = time.perf_counter()
                    kiosk.tap("issue", SERVICE)
                    view = kiosk.wait_for(
                        lambda view: view.screen == "ticket" and isinstance(view.body, TicketBody), 10
                    )
                    elapsed = time.perf_counter() - start
                    assert isinstance(view.body, TicketBody) and view.body.number
                    if index >= 3:
                        samples.append(elapsed)
                    kiosk.tap("done")
            with Link(settings, site=SITE, device_id="kiosk-1", role="kiosk") as link:
                assert link.wait_connected(5)
                reply = RpcClient(link, default_timeout=5).call("ticket.issue", {"service_id": SERVICE})
                snapshot = _retained_state(broker.port)
        finally:
            hub.stop()
    return percentiles_ms(samples), {"reply": reply, "state": snapshot}


def _retained_state(port: int) -> dict[str, Any]:
    from support.mqtt import Observer

    from appliance.topics import Topics

    with Observer(port, Topics(SITE).queue_state) as seen:
        return dict(seen.wait_for(lambda message: message.retain).json())


def draw_time(sample: Path, frames: int) -> dict[str, Any]:
    child = ["bench.bench_kiosk", "--draw-child", str(sample), "--frames", str(frames)]
    done = run_offscreen(child, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"draw benchmark failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def draw_child(sample: Path, frames: int) -> int:
    """In the offscreen subprocess: home screen → ticket screen, `frames` times, timed."""
    from kiosk.app import open_screen
    from kiosk.config import KioskConfig
    from kiosk.model import KioskModel

    data = json.loads(sample.read_text(encoding="utf-8"))
    config = KioskConfig(device_id="kiosk-1", site=SITE, opening_hours={"lock_outside": False})
    size = config.screen.size
    open_screen(config.screen, fullscreen=False)
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.screens import KioskRoot
    from kiosk.widgets import PAPER

    model = KioskModel(config)
    model.set_link(True)
    model.set_hub_online(True)
    model.apply_state(data["state"])
    home = model.view()
    model.tap("open", "services")
    calls = model.tap("issue", SERVICE)
    model.reply(calls[0], data["reply"], None)
    ticket = model.view()
    assert ticket.screen == "ticket", ticket.screen

    EventLoop.ensure_window()
    Window.clearcolor = PAPER
    root = KioskRoot(lambda action, arg: None, size=(int(Window.width), int(Window.height)))
    Window.add_widget(root)
    gc.freeze()  # as kiosk.app does once the screens are built
    show: list[float] = []
    show_and_frame: list[float] = []
    for index in range(frames + 3):
        root.show(home)
        EventLoop.idle()
        start = time.perf_counter()
        root.show(ticket)
        shown = time.perf_counter()
        EventLoop.idle()  # layout, canvas and one rendered frame
        end = time.perf_counter()
        if index >= 3:
            show.append(shown - start)
            show_and_frame.append(end - start)
    print(
        json.dumps(
            {
                "screen": f"{size[0]}x{size[1]}",
                "show": percentiles_ms(show),
                "show_and_frame": percentiles_ms(show_and_frame),
            }
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer taps and frames")
    parser.add_argument("--taps", type=int, help="taps to time (default 60, quick 15)")
    parser.add_argument("--frames", type=int, default=None, help="frames to time (default 30, quick 10)")
    parser.add_argument("--draw-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    frames = args.frames or (10 if args.quick else 30)
    if args.draw_child is not None:
        return draw_child(args.draw_child, frames)
    taps = args.taps or (15 if args.quick else 60)
    with tempfile.TemporaryDirectory(prefix="bench-kiosk-") as folder:
        work = Path(folder)
        latency, sample = tap_latency(taps, work)
        sample_path = work / "ticket-sample.json"
        sample_path.write_text(json.dumps(sample, ensure_ascii=False), encoding="utf-8")
        draw = draw_time(sample_path, frames)
    print(
        json.dumps(
            {
                "bench": "kiosk",
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                f"Python {platform.python_version()}",
                "tap_to_number": latency,
                "ticket_screen_draw": draw,
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
