"""The kivy kiosk rendered offscreen, driven by real touch events, against a real hub, Mosquitto and the
central simulator. kivy runs only in subprocesses (one per orientation, in parallel); the pytest process
checks what came out as a person would: the pictures' sizes, the words on them read back by OCR, and the
ticket's QR code decoded back to the ticket's URL. Every screen is saved in out/kiosk-*.png."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import tomli_w
from PIL import Image

from appliance.broker import PrivateBroker, find_free_port
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient
from appliance.timeutil import SITE_TZ
from kiosk.config import DAYS
from tests.support.hub import ROOT, site_config
from tests.support.mqtt import Observer
from tests.test_kiosk_flows import SITE, SiteHub, central_url  # noqa: F401  (a fixture)

OUT = ROOT / "out"
TOPIC = f"motcua/v1/{SITE}"
SCREENS = (
    "home",
    "services",
    "ticket",
    "ticket-not-printed",
    "dossier",
    "dossier-error",
    "procedures",
    "procedure",
    "rating",
    "home-en",
)

pytestmark = pytest.mark.skipif(not shutil.which("tesseract"), reason="needs Debian tesseract-ocr(-vie)")

# Runs in the kivy subprocess: argv = kiosk TOML, facts JSON (codes to use), output folder.
SCENARIO = r"""
import json, sys
from pathlib import Path
from appliance.config import load
from kiosk.app import run_kiosk
from kiosk.config import KioskConfig
from kiosk.controller import KioskController
from tests.support.mqtt import Observer

config = load(sys.argv[1], KioskConfig)
facts = json.loads(Path(sys.argv[2]).read_text())
out = Path(sys.argv[3])
name = f"kiosk-{config.screen.orientation}"
kiosk = KioskController(config)
kiosk.start()
topic = f"motcua/v1/{config.site}"


def screen(kind, check=lambda body: True):
    return lambda view: view.overlay is None and view.screen == kind and check(view.body)


def script(app):
    kiosk.wait_for(lambda v: kiosk.online and v.overlay is None and v.header.site, 15)
    app.capture(out / f"{name}-home.png")
    app.press("open", "services")
    kiosk.wait_for(screen("services", lambda b: b.services))
    app.press("priority", "elderly")
    kiosk.wait_for(screen("services", lambda b: b.priorities[1].selected))
    app.capture(out / f"{name}-services.png")
    app.press("issue", facts["service"])
    ticket = kiosk.wait_for(screen("ticket")).body
    app.capture(out / f"{name}-ticket.png")
    job_id = f"ticket-{kiosk.model.ticket.data['id']}"
    with Observer(facts["mqtt_port"]) as printer:
        failure = {"v": 1, "job_id": job_id, "status": "failed", "error": {"code": "print_out_of_paper"}}
        printer.publish(f"{topic}/print/printer-1/results", json.dumps(failure))
    kiosk.wait_for(screen("ticket", lambda b: b.print_kind == "warn"))
    app.capture(out / f"{name}-ticket-not-printed.png")
    app.press("done")

    # A scan from this kiosk's scanner opens the dossier, whatever screen is up.
    app.press("open", "rating")
    kiosk.wait_for(screen("rating"))
    with Observer(facts["mqtt_port"]) as scanner:
        scan = {"v": 1, "code": facts["dossier"], "kind": "dossier_code", "symbology": "code128", "ts": "x"}
        scanner.publish(f"{topic}/scans/{config.kiosk.scanners[0]}", json.dumps(scan))
    kiosk.wait_for(screen("dossier", lambda b: b.result is not None), 10)
    app.capture(out / f"{name}-dossier.png")
    app.press("clear")
    for key in "12":
        app.press("key", key)
    for key in "345":
        kiosk.tap("key", key)
    app.press("submit")
    kiosk.wait_for(screen("dossier", lambda b: b.notice is not None))
    app.capture(out / f"{name}-dossier-error.png")
    app.press("back")

    app.press("open", "procedures")
    app.press("key", "d")
    for key in "ang ky khai sin":
        kiosk.tap("key", key)
    app.press("key", "h")
    kiosk.wait_for(screen("procedures", lambda b: b.results and b.summary), 10)
    app.capture(out / f"{name}-procedures.png")
    app.press("procedure", "0")
    kiosk.wait_for(screen("procedure"))
    app.capture(out / f"{name}-procedure.png")
    app.press("home")

    app.press("open", "rating")
    for key in ticket.number:
        app.press("key", key)
    app.press("rate", "3")
    kiosk.wait_for(screen("rating", lambda b: b.notice is not None))
    app.capture(out / f"{name}-rating.png")
    app.press("language")
    app.press("back")
    kiosk.wait_for(lambda v: v.screen == "home" and v.language == "en")
    app.capture(out / f"{name}-home-en.png")
    (out / f"{name}.json").write_text(json.dumps({"number": ticket.number, "qr_url": ticket.qr_url}))


try:
    code = run_kiosk(kiosk, config, fullscreen=False, on_start=script)
finally:
    kiosk.stop()
sys.exit(code)
"""


def kivy_env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    # One KIVY_HOME each: kivy writes its config.ini there.
    return {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_HOME": str(home)}


def kiosk_toml(
    path: Path, device: str, orientation: str, mqtt_port: int, public_url: str, **extra: Any
) -> Path:
    config = {
        "device_id": device,
        "site": SITE,
        "role": "kiosk",
        "public_url": public_url,
        "mqtt": {"port": mqtt_port, "reconnect_min": 0.05, "reconnect_max": 0.5},
        "screen": {"orientation": orientation, "fullscreen": False},
        "kiosk": {"scanners": [f"scanner-{device}"], "print_wait_s": 60},
        "opening_hours": {"lock_outside": False},
    }
    for section, values in extra.items():
        config[section] = {**config.get(section, {}), **values}
    path.write_text(tomli_w.dumps(config), encoding="utf-8")
    return path


def overdue_dossier(central: str) -> str:
    now = datetime.now(SITE_TZ)
    for status in ("processing", "waiting", "receiving"):
        for dossier in requests.get(f"{central}/admin/dossiers?status={status}", timeout=5).json()["data"]:
            due = datetime.strptime(dossier["dueDate"], "%d/%m/%Y %H:%M:%S").replace(tzinfo=SITE_TZ)
            if due < now:
                return str(dossier["dossierNo"])
    raise AssertionError("the simulator has no overdue dossier")


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory, central_url: str) -> Iterator[dict[str, Any]]:  # noqa: F811
    tmp = tmp_path_factory.mktemp("kiosk-view")
    OUT.mkdir(exist_ok=True)
    # Only the pictures this module makes: other kiosk tests leave theirs (e.g. *-dossier-ready.png).
    for old in OUT.glob("kiosk-*.png"):
        if not old.name.endswith("-dossier-ready.png"):
            old.unlink()
    with PrivateBroker() as broker:
        config = site_config(tmp, broker.port, site=SITE)
        config["central"] = {"adapter": "opencps", "base_url": central_url, "deliver": False}
        config["kiosks"] = [
            {"id": "kiosk-p", "printer": "printer-1"},
            {"id": "kiosk-l", "printer": "printer-1"},
        ]
        hub = SiteHub(tmp, config).start()
        try:
            with Link(
                MqttSettings(port=broker.port), site=SITE, device_id="kiosk-web", role="kiosk"
            ) as link:  # a morning queue already waits when the kiosks start
                assert link.wait_connected(5)
                early = RpcClient(link, default_timeout=10)
                for service in ("dat-dai", "dat-dai", "dat-dai", "chung-thuc"):
                    early.call("ticket.issue", {"service_id": service})
            with Observer(broker.port) as printer:  # printer-1 is up: tickets are sent to it
                printer.publish(f"{TOPIC}/devices/printer-1/state", b'{"v":1,"online":true}', retain=True)
                printer.publish(
                    f"{TOPIC}/devices/printer-1/health", b'{"v":1,"online":true,"paper":"ok"}', retain=True
                )
            facts = tmp / "facts.json"
            facts.write_text(
                json.dumps(
                    {"mqtt_port": broker.port, "dossier": overdue_dossier(central_url), "service": "ho-tich"}
                )
            )
            public = config["hub"]["public_url"]
            runs: dict[str, subprocess.Popen[bytes]] = {}
            for device, orientation in (("kiosk-p", "portrait"), ("kiosk-l", "landscape")):
                toml = kiosk_toml(tmp / f"{device}.toml", device, orientation, broker.port, public)
                runs[orientation] = subprocess.Popen(
                    [sys.executable, "-c", SCENARIO, str(toml), str(facts), str(OUT)],
                    env=kivy_env(tmp / device),
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            # The CLI draws the screens a citizen meets when something is off: no broker, closed hours.
            dead = find_free_port()  # nobody listens there
            cli = {
                "reconnecting": kiosk_toml(
                    tmp / "dead.toml", "kiosk-x", "portrait", dead, public, kiosk={"reconnect_grace_s": 0}
                ),
                "locked": kiosk_toml(
                    tmp / "closed.toml",
                    "kiosk-y",
                    "landscape",
                    broker.port,
                    public,
                    # Open every day but today: the kiosk is locked and says when it opens.
                    opening_hours={
                        "days": [d for d in DAYS if d != DAYS[datetime.now(SITE_TZ).weekday()]],
                        "lock_outside": True,
                    },
                ),
            }
            for kind, toml in cli.items():
                runs[kind] = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "kiosk",
                        "-c",
                        str(toml),
                        "--screenshot",
                        str(OUT / f"kiosk-{kind}.png"),
                    ],
                    env=kivy_env(tmp / kind),
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            for kind, process in runs.items():
                output, _ = process.communicate(timeout=120)
                assert process.returncode == 0, f"{kind}: {output.decode(errors='replace')[-3000:]}"
        finally:
            hub.stop()
    yield {
        orientation: json.loads((OUT / f"kiosk-{orientation}.json").read_text())
        for orientation in ("portrait", "landscape")
    }


def ocr(path: Path, scale: float = 1.0) -> str:
    """Text read back by tesseract (vie); `scale` < 1 helps it with the huge ticket number."""
    if scale != 1.0:
        image = Image.open(path)
        small = path.with_suffix(".small.png")
        image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS).save(small)
        path = small
    try:
        return subprocess.run(
            ["tesseract", str(path), "-", "-l", "vie", "--psm", "11"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        if scale != 1.0:
            path.unlink()


def words(text: str) -> str:
    return " ".join(text.split())


def bare(text: str) -> str:
    """The letters without their tone and vowel marks (đ kept apart: it is a letter of its own)."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def test_every_screen_in_both_orientations(shots: dict[str, Any]) -> None:
    for orientation, size in (("portrait", (1080, 1920)), ("landscape", (1920, 1080))):
        for screen in SCREENS:
            image = Image.open(OUT / f"kiosk-{orientation}-{screen}.png")
            assert image.size == size, (orientation, screen, image.size)
    assert Image.open(OUT / "kiosk-reconnecting.png").size == (1080, 1920)
    assert Image.open(OUT / "kiosk-locked.png").size == (1920, 1080)


def test_the_ticket_is_large_readable_and_its_qr_code_leads_to_it(shots: dict[str, Any]) -> None:
    import zxingcpp

    for orientation in ("portrait", "landscape"):
        path = OUT / f"kiosk-{orientation}-ticket.png"
        # Readable: the words are there, letter for letter. Tesseract confuses the small tone marks
        # ("Hồ tich" for "Hộ tịch", "phiêu") from run to run, so they are compared without them; the
        # texts themselves, marks included, are asserted on the view (test_kiosk_model).
        texts = [bare(words(ocr(path, scale=scale))) for scale in (1.0, 1.5)]
        assert any(bare("Hộ tịch") in text for text in texts), texts
        assert any(bare("Đang in phiếu") in text for text in texts), texts
        # Tesseract reads a 300 px number best scaled down; which scale works best varies with the
        # glyphs, so the number must be read at one of a few (a misread never passes).
        readings = [ocr(path, scale=scale).split() for scale in (0.5, 0.4, 0.35, 0.3, 0.25)]
        assert any(shots[orientation]["number"] in words_read for words_read in readings), readings
        decoded = [result.text for result in zxingcpp.read_barcodes(Image.open(path).convert("L"))]
        assert decoded == [shots[orientation]["qr_url"]]
    not_printed = words(ocr(OUT / "kiosk-landscape-ticket-not-printed.png"))
    assert "Máy in không in được phiếu" in not_printed, not_printed


def test_services_show_their_queues(shots: dict[str, Any]) -> None:
    text = words(ocr(OUT / "kiosk-landscape-services.png"))
    assert "Đất đai" in text and "Đang chờ: 3 người" in text and "Người cao tuổi" in text, text


def test_dossier_and_outage_screens_say_it_in_vietnamese(shots: dict[str, Any]) -> None:
    dossier = words(ocr(OUT / "kiosk-landscape-dossier.png"))
    assert "Quá hạn" in dossier and "Thủ tục" in dossier and "Người nộp" in dossier, dossier
    red = Image.open(OUT / "kiosk-landscape-dossier.png").convert("RGB").resize((480, 270))
    assert (
        sum(1 for r, g, b in red.get_flattened_data() if r > 170 and g < 70 and b < 70) > 40
    )  # overdue in red
    assert "Hệ thống đang kết nối lại" in words(ocr(OUT / "kiosk-reconnecting.png"))
    locked = words(ocr(OUT / "kiosk-locked.png"))
    assert "Ngoài giờ làm việc" in locked and "07:30" in locked, locked
