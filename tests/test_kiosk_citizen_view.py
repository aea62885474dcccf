"""The kivy kiosk offscreen, in portrait and landscape, with the assist mode on, against a real hub
with bookings and Mosquitto (issue 17): "Hỗ trợ" turns the screen high-contrast with larger text, the
ID card's consent, "Tôi đã đặt lịch" with a refusal, and the ticket a booking gives. Touched with real
touch events, twice each (assist mode: the first touch speaks). Every screen is saved in
out/citizen-kiosk-*.png; the pytest process checks the pictures' sizes and colours and that no touch
target is under 44 px."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from PIL import Image

from appliance.broker import PrivateBroker
from appliance.timeutil import SITE_TZ
from hub.central_sim import SimServer, SimState
from tests.support.hub import ROOT, HubProcess, site_config, write_config
from tests.support.mqtt import Observer
from tests.test_kiosk_view import kiosk_toml, kivy_env

OUT = ROOT / "out"
SITE = "test"
TOPIC = f"motcua/v1/{SITE}"
SHOTS = (
    "home",
    "home-assist",
    "card-consent",
    "card-elderly",
    "booking-refused",
    "booking",
    "ticket",
    "chip-consent",
    "chip-read",
    "chip-mine",
)
# A 1080x1920 portrait kiosk: its main buttons stay out of the top third (reach range, QCVN 10:2024).
TOP_THIRD_PX = 1920 // 3
MIN_TARGET_PX = 44

# Runs in the kivy subprocess: argv = kiosk TOML, facts JSON, output folder.
SCENARIO = r"""
import json, sys
from pathlib import Path
from appliance.config import load
from appliance.timeutil import SITE_TZ, iso
from datetime import date, datetime
from kiosk.app import run_kiosk
from kiosk.config import KioskConfig
from kiosk.controller import KioskController
from tests.support.mqtt import Observer

config = load(sys.argv[1], KioskConfig)
facts = json.loads(Path(sys.argv[2]).read_text())
out = Path(sys.argv[3])
name = f"citizen-kiosk-{config.screen.orientation}"
kiosk = KioskController(config)
kiosk.start()
topic = f"motcua/v1/{config.site}"
smallest = {}
tiles = {}


def screen(kind, check=lambda body: True):
    return lambda view: view.overlay is None and view.screen == kind and check(view.body)


def shot(app, label):
    app.settle()
    # Encoding a PNG on a busy machine may take longer than a tap's 10 s.
    app.on_main(lambda: app._save(out / f"{name}-{label}.png"), timeout=120)
    sizes = app.on_main(lambda: [min(t.width, t.height) for t in app.root_widget.tiles()])
    smallest[label] = min(sizes) if sizes else None
    # Each tile's action and its top and bottom edges in pixels from the top of the screen.
    def edges():
        height = app.root_widget.height
        found = []
        for t in app.root_widget.tiles():
            x, y = t.to_window(t.x, t.y)
            found.append([t.action, t.arg, round(height - y - t.height), round(height - y)])
        return found
    tiles[label] = app.on_main(edges)


def twice(app, action, arg=""):
    app.press(action, arg)  # heard
    app.press(action, arg)  # done


def script(app):
    kiosk.wait_for(lambda v: kiosk.online and v.overlay is None and v.header.site, 15)
    shot(app, "home")
    app.press("assist")
    kiosk.wait_for(lambda v: v.assist)
    shot(app, "home-assist")
    with Observer(facts["mqtt_port"]) as scanner:
        scan = {"v": 1, "code": "*********345", "kind": "id_card", "symbology": "qr",
                "text": "*********345", "age": 72, "ts": iso(datetime.now(SITE_TZ))}
        scanner.publish(f"{topic}/scans/{config.kiosk.scanners[0]}/{config.device_id}", json.dumps(scan))
    kiosk.wait_for(screen("card"), 10)
    shot(app, "card-consent")
    twice(app, "consent", "yes")
    kiosk.wait_for(screen("card", lambda b: b.notice is not None))
    shot(app, "card-elderly")
    twice(app, "open", "booking")
    kiosk.wait_for(screen("booking"))
    for key in "ABCD2345":
        twice(app, "key", key)
    twice(app, "submit")
    kiosk.wait_for(screen("booking", lambda b: b.notice is not None), 10)
    shot(app, "booking-refused")
    twice(app, "clear")
    for key in facts["code"][:7]:
        twice(app, "key", key)
    kiosk.tap("key", facts["code"][7])
    kiosk.tap("key", facts["code"][7])
    kiosk.wait_for(screen("booking", lambda b: len(b.input) == 9))
    shot(app, "booking")
    twice(app, "submit")
    ticket = kiosk.wait_for(screen("ticket"), 10).body
    shot(app, "ticket")
    twice(app, "done")
    kiosk.wait_for(screen("home"))
    # The chip, read by the reader wired to this kiosk: more is offered, after consent.
    kiosk.card_reader.present(facts["holder"], date(1950, 3, 1))
    kiosk.wait_for(screen("card"), 10)
    shot(app, "chip-consent")
    twice(app, "consent", "yes")
    kiosk.wait_for(screen("card", lambda b: b.notice is not None))
    shot(app, "chip-read")
    twice(app, "mine")
    kiosk.wait_for(screen("card", lambda b: bool(b.dossiers)), 15)
    shot(app, "chip-mine")
    (out / f"{name}.json").write_text(json.dumps(
        {"number": ticket.number, "priority": ticket.priority, "smallest": smallest, "tiles": tiles},
        ensure_ascii=False))


try:
    code = run_kiosk(kiosk, config, fullscreen=False, on_start=script)
finally:
    kiosk.stop()
sys.exit(code)
"""


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("kiosk-citizen-view")
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("citizen-kiosk-*"):
        old.unlink()
    now = datetime.now(SITE_TZ)
    if not (0, 10) <= (now.hour, now.minute) <= (23, 50):
        pytest.skip("too close to the day's rollover")
    slot = (now - timedelta(minutes=5)).strftime("%H:%M")
    table = {"phone_otp": False, "elderly_age": 70, "services": {"dat-dai": {"slots": [slot], "capacity": 5}}}
    with PrivateBroker() as broker, SimServer(SimState(seed=11)) as central:
        holder = central.state.dossiers[0]["applicantIdNo"]  # the central simulator's applicant
        config = site_config(tmp, broker.port, site=SITE, booking=table)
        config["hub"]["clock_check"] = "off"
        config["central"] = {"adapter": "opencps", "base_url": central.url, "deliver": False}
        config["kiosks"] = [
            {"id": "kiosk-p", "printer": "printer-1"},
            {"id": "kiosk-l", "printer": "printer-1"},
        ]
        hub = HubProcess(write_config(tmp, config), web=True).start()
        try:
            base = config["hub"]["public_url"]
            codes = []
            for id_no in ("001099012345", "001099054321"):
                body = {"service_id": "dat-dai", "slot": slot, "date": now.date().isoformat(), "id_no": id_no}
                made = requests.post(f"{base}/api/v1/bookings", json=body, timeout=10)
                assert made.status_code == 201, made.text
                codes.append(made.json()["code"])
            with Observer(broker.port) as printer:  # printer-1 is up: tickets are sent to it
                printer.publish(f"{TOPIC}/devices/printer-1/state", b'{"v":1,"online":true}', retain=True)
                printer.publish(
                    f"{TOPIC}/devices/printer-1/health", b'{"v":1,"online":true,"paper":"ok"}', retain=True
                )
            for (device, orientation), code in zip(
                (("kiosk-p", "portrait"), ("kiosk-l", "landscape")), codes, strict=True
            ):
                facts = tmp / f"facts-{orientation}.json"
                facts.write_text(json.dumps({"mqtt_port": broker.port, "code": code, "holder": holder}))
                toml = kiosk_toml(
                    tmp / f"{device}.toml",
                    device,
                    orientation,
                    broker.port,
                    base,
                    kiosk={"voice": False, "card_reader": "simulated"},
                )
                # One after the other: two kivy windows at once make a small machine miss its timeouts.
                run = subprocess.run(
                    [sys.executable, "-c", SCENARIO, str(toml), str(facts), str(OUT)],
                    env=kivy_env(tmp / device),
                    cwd=ROOT,
                    capture_output=True,
                    timeout=300,
                    check=False,
                )
                output = (run.stdout + run.stderr).decode(errors="replace")
                assert run.returncode == 0, f"{orientation}: {output[-3000:]}"
        finally:
            hub.stop()
    yield {
        orientation: json.loads((OUT / f"citizen-kiosk-{orientation}.json").read_text())
        for orientation in ("portrait", "landscape")
    }


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_every_screen_is_drawn_in_both_orientations(shots: dict[str, Any], orientation: str) -> None:
    size = (1080, 1920) if orientation == "portrait" else (1920, 1080)
    for label in SHOTS:
        with Image.open(OUT / f"citizen-kiosk-{orientation}-{label}.png") as image:
            assert image.size == size, label


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_the_booking_gives_an_elderly_ticket_and_no_target_is_small(
    shots: dict[str, Any], orientation: str
) -> None:
    facts = shots[orientation]
    assert facts["priority"] == "Ưu tiên: Người cao tuổi" and facts["number"].startswith("1")
    small = {label: px for label, px in facts["smallest"].items() if px is not None and px < MIN_TARGET_PX}
    assert small == {}, facts["smallest"]


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_assist_mode_is_dark_with_light_text(shots: dict[str, Any], orientation: str) -> None:
    """The plain screen is mostly light paper; the assist mode's is mostly black."""

    def dark_share(label: str) -> float:
        with Image.open(OUT / f"citizen-kiosk-{orientation}-{label}.png") as image:
            histogram = image.convert("L").histogram()
        return sum(histogram[:40]) / sum(histogram)

    assert dark_share("home") < 0.2
    assert all(dark_share(label) > 0.6 for label in SHOTS[1:]), {label: dark_share(label) for label in SHOTS}


def test_the_main_buttons_are_in_the_lower_reach_range_in_portrait(shots: dict[str, Any]) -> None:
    """Home's buttons and the ID card's answers start below the top third of a portrait kiosk and
    end on the screen; the header's small buttons (language, assist) are not main ones."""
    tiles = shots["portrait"]["tiles"]
    main = {
        "home": {"open"},
        "card-consent": {"consent"},
        "chip-consent": {"consent"},
        "chip-read": {"open", "mine", "card_check_in"},
    }
    for label, actions in main.items():
        found = [tile for tile in tiles[label] if tile[0] in actions]
        assert len(found) >= 2, (label, tiles[label])
        for action, arg, top, bottom in found:
            assert TOP_THIRD_PX <= top < bottom <= 1920, (label, action, arg, top, bottom)
    assert {tile[0] for tile in tiles["chip-read"]} >= {"mine", "card_check_in"}
