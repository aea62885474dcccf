"""From lookup to collection on the kiosk, against a real hub (`python -m hub`), Mosquitto and the central
simulator: a dossier the simulator made ready shows "Hồ sơ đã có kết quả" and a large "Lấy số nhận kết
quả"; one tap (or a bounced double tap) gives exactly one ticket of the result-return service, linked to
the dossier in the hub's SQLite; an answer lost to a timeout is asked for again with the same request_id;
a dossier still in work offers nothing. The kivy screen is drawn offscreen and touched for real once,
saved as out/kiosk-portrait-dossier-ready.png and read back by OCR.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image, ImageOps

from appliance import dossier_code
from appliance.rpc import RpcTimeout
from kiosk.controller import KioskController
from kiosk.views import DossierBody
from tests.support.hub import ROOT
from tests.support.mqtt import Observer
from tests.test_kiosk_flows import (  # noqa: F401  (central_url, hub and kiosk are fixtures)
    TOPIC,
    SiteHub,
    central_url,
    dossiers,
    hub,
    kiosk,
    on_screen,
    ticket_shown,
    type_text,
)
from tests.test_kiosk_view import kiosk_toml, kivy_env, ocr, words

RESULT_SERVICE = "tra-ket-qua"  # the sample site's result-return service
SHOT = ROOT / "out" / "kiosk-portrait-dossier-ready.png"
BUTTON_GREEN = (0x2E, 0x7D, 0x32)  # kiosk.screens.GREEN


def make_ready(sim_url: str) -> str:
    """A dossier in processing becomes ready for collection in the simulator; its number."""
    code = next(d["dossierNo"] for d in dossiers(sim_url, "processing"))
    answer = requests.post(f"{sim_url}/admin/ready", json={"code": code}, timeout=5).json()
    assert answer["ready"] == [code]
    return str(code)


def canonical(code: str) -> str:
    """The code as the hub keeps it (central may write it with dots where the receipt has dashes)."""
    return dossier_code.parse(code).canonical


def looked_up(controller: KioskController, code: str) -> DossierBody:
    controller.tap("open", "dossier")
    type_text(controller, code)
    controller.tap("submit")
    answered = on_screen("dossier", lambda b: b.result is not None or b.notice is not None)
    body = controller.wait_for(answered, 10).body
    assert isinstance(body, DossierBody) and body.result is not None, body
    return body


def result_tickets(site: SiteHub) -> list[tuple[str, str | None]]:
    """(number, dossier_code) of every result-return ticket, read from the hub's own SQLite file."""
    with sqlite3.connect(site.config["hub"]["db"]) as db:
        rows = db.execute(
            "SELECT number, dossier_code FROM tickets WHERE service_id=? ORDER BY number", (RESULT_SERVICE,)
        ).fetchall()
    return [(str(number), code) for number, code in rows]


def rows(body: DossierBody) -> dict[str, str]:
    assert body.result is not None
    return {row.label: row.value for row in body.result.rows}


def test_one_tap_on_a_ready_dossier_gives_one_linked_ticket(
    broker: Any,
    hub: SiteHub,  # noqa: F811
    kiosk: KioskController,  # noqa: F811
    central_url: str,  # noqa: F811
) -> None:
    code = make_ready(central_url)
    with Observer(broker.port) as printer:  # printer-1 (this kiosk's) is up: the ticket is printed
        printer.publish(f"{TOPIC}/devices/printer-1/state", b'{"v":1,"online":true}', retain=True)
        printer.publish(
            f"{TOPIC}/devices/printer-1/health", b'{"v":1,"online":true,"paper":"ok"}', retain=True
        )

    body = looked_up(kiosk, code.lower())
    assert rows(body)["Tình trạng"] == "Đã xử lý xong"
    assert body.ready is not None and body.ready.text == (
        "Hồ sơ đã có kết quả. Mời quý khách lấy số để nhận kết quả."
    )
    assert body.collect is not None and body.collect.label == "Lấy số nhận kết quả"

    kiosk.tap("language")
    english = kiosk.view()
    assert isinstance(english.body, DossierBody) and english.body.collect is not None
    assert english.body.collect.label == "Take a number to collect the result"
    assert "The result is ready. Please take a number to collect it." in english.texts()
    kiosk.tap("language")

    with Observer(broker.port, f"{TOPIC}/queue/events", f"{TOPIC}/print/printer-1/jobs") as seen:
        kiosk.tap("collect")
        kiosk.tap("collect")  # the finger bounced
        ticket = ticket_shown(kiosk)
        assert ticket.number.startswith("T") and ticket.service == "Trả kết quả"
        assert ticket.qr_url.startswith(f"{kiosk.config.public_url}/t/")
        assert ticket.print_text == "Đang in phiếu…"
        job = seen.wait_for(lambda m: m.topic.endswith("/jobs")).json()
        assert job["ticket"]["number"] == ticket.number and job["ticket_url"] == ticket.qr_url
        # The event may follow the print job: wait for it before counting.
        seen.wait_for(lambda m: m.topic.endswith("/events") and m.json().get("type") == "ticket.issued")
        issued = [m.json() for m in seen.messages if m.json().get("type") == "ticket.issued"]
    assert [e["ticket"]["number"] for e in issued] == [ticket.number]
    assert result_tickets(hub) == [(ticket.number, canonical(code))]
    token = ticket.qr_url.rsplit("/t/", 1)[1]
    public = requests.get(f"{hub.public_url}/api/v1/tickets/{token}", timeout=5).json()
    assert (public["number"], public["service_id"]) == (ticket.number, RESULT_SERVICE)


def test_an_answer_lost_to_a_timeout_is_asked_for_again_with_the_same_request_id(
    hub: SiteHub,  # noqa: F811
    kiosk: KioskController,  # noqa: F811
    central_url: str,  # noqa: F811
) -> None:
    code = make_ready(central_url)
    looked_up(kiosk, code)
    # The hub issues the ticket but its reply never reaches the kiosk: the model hears a timeout.
    with kiosk._lock:
        (call,) = kiosk.model.tap("collect")
    assert call.params["dossier_code"] == canonical(code) and call.params["service_id"] == RESULT_SERVICE
    lost = kiosk.rpc.call(call.method, call.params, request_id=call.request_id)
    with kiosk._lock:
        kiosk.model.reply(call, None, RpcTimeout())
    failed = kiosk.wait_for(on_screen("dossier", lambda b: b.notice is not None)).body
    assert isinstance(failed, DossierBody) and failed.collect is not None
    assert failed.notice is not None and failed.notice.text.startswith("Chưa thực hiện được")

    kiosk.tap("collect")  # the citizen tries again
    assert ticket_shown(kiosk).number == lost["ticket"]["number"]
    assert result_tickets(hub) == [(lost["ticket"]["number"], canonical(code))]


def test_a_dossier_still_in_work_offers_no_number(
    hub: SiteHub,  # noqa: F811
    kiosk: KioskController,  # noqa: F811
    central_url: str,  # noqa: F811
) -> None:
    code = dossiers(central_url, "processing")[-1]["dossierNo"]
    body = looked_up(kiosk, code)
    assert rows(body)["Tình trạng"] == "Đang xử lý"
    assert body.ready is None and body.collect is None
    assert "Lấy số nhận kết quả" not in kiosk.view().texts()
    kiosk.tap("collect")  # no such button: nothing happens
    assert kiosk.model.issue is None and kiosk.view().screen == "dossier"
    assert result_tickets(hub) == []


# Runs in the kivy subprocess: argv = kiosk TOML, the dossier code, the picture, a JSON file for facts.
SCENARIO = r"""
import json, sys
from pathlib import Path
from appliance.config import load
from kiosk.app import run_kiosk
from kiosk.config import KioskConfig
from kiosk.controller import KioskController

config = load(sys.argv[1], KioskConfig)
code, picture, facts = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
kiosk = KioskController(config)
kiosk.start()


def script(app):
    kiosk.wait_for(lambda v: kiosk.online and v.overlay is None and v.header.site, 15)
    app.press("open", "dossier")
    for key in code:
        kiosk.tap("key", key)
    app.press("submit")
    kiosk.wait_for(lambda v: v.screen == "dossier" and v.body.collect is not None, 10)
    app.capture(picture)
    app.press("collect")  # a real touch on the big button
    ticket = kiosk.wait_for(lambda v: v.screen == "ticket").body
    facts.write_text(json.dumps({"number": ticket.number, "service": ticket.service}, ensure_ascii=False))


try:
    status = run_kiosk(kiosk, config, fullscreen=False, on_start=script)
finally:
    kiosk.stop()
sys.exit(status)
"""


@pytest.mark.skipif(not shutil.which("tesseract"), reason="needs Debian tesseract-ocr(-vie)")
def test_the_ready_screen_in_portrait_is_drawn_and_its_button_works(
    tmp_path: Path,
    broker: Any,
    hub: SiteHub,  # noqa: F811
    central_url: str,  # noqa: F811
) -> None:
    code = make_ready(central_url)
    toml = kiosk_toml(tmp_path / "kiosk.toml", "kiosk-1", "portrait", broker.port, hub.public_url)
    facts = tmp_path / "facts.json"
    SHOT.unlink(missing_ok=True)
    process = subprocess.run(
        [sys.executable, "-c", SCENARIO, str(toml), code, str(SHOT), str(facts)],
        env=kivy_env(tmp_path / "kivy"),
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stdout.decode(errors="replace")[-3000:]
    shown = json.loads(facts.read_text(encoding="utf-8"))
    assert shown["service"] == "Trả kết quả" and result_tickets(hub) == [(shown["number"], canonical(code))]

    picture = Image.open(SHOT).convert("RGB")
    assert picture.size == (1080, 1920)
    text = words(ocr(SHOT))
    assert "Hồ sơ đã có kết quả. Mời quý khách lấy số để nhận kết quả." in text, text
    # The big green button below the card (the "Tra cứu" one is above it), read on its own: tesseract
    # misses white on green among a whole screen of dark-on-light text.
    button = green_band(picture, below=picture.height // 3)
    assert button.height >= 120, button.size  # a large target, whatever else the card holds
    inverted = tmp_path / "button.png"
    ImageOps.invert(button.convert("L")).save(inverted)
    assert "Lấy số nhận kết quả" in words(ocr(inverted)), words(ocr(inverted))


def green_band(picture: Image.Image, *, below: int) -> Image.Image:
    """The rows under `below` where the kiosk's button green fills more than an eighth of the width."""
    pixels = picture.load()
    assert pixels is not None
    width = picture.width
    rows = [
        y
        for y in range(below, picture.height)
        if sum(1 for x in range(0, width, 4) if pixels[x, y] == BUTTON_GREEN) > width // 32
    ]
    assert rows, "no green button on the screen"
    return picture.crop((0, rows[0], width, rows[-1] + 1))
