"""The receipt carries the signed link to rate the dossier later (QĐ 766/2022: per dossier), as a
second QR code and a short address in words. The picture is rendered as the printer renders it,
the QR read back with zxing-cpp, and the link opened on a real hub (`python -m hub`, web on, a real
Mosquitto, the central simulator) — where the citizen rates the dossier, once.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import zxingcpp
from PIL import Image

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient
from hub.central_sim import SimServer, SimState
from tests.support.hub import ROOT, HubProcess, site_config, write_config
from tests.support.mqtt import Observer
from tests.support.print_jobs import receipt_job
from tests.test_hub_web import FAST_HASH, PASSWORD
from ticket_printer.documents import render_job
from ticket_printer.jobs import parse_job
from ticket_printer.layout import paper_for

SITE = "test"
OUT = ROOT / "out"
SIGNED = "http://192.168.1.10:8080/rate/d/IjAwMC4wMC4wNi5INTYtMjMxMDI3LTAzNjEi.x7Qm2c0yE3N3vq2mWJ8xLkYg6oA"
SHORT = "http://192.168.1.10:8080/r/7K2M9XQF4A"


def qr_texts(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image.convert("L")) if r.format.name == "QRCode"]


def ocr(image: Image.Image, path: Path) -> str:
    image.save(path)
    result = subprocess.run(
        ["tesseract", str(path), "-", "-l", "vie", "--psm", "6"], capture_output=True, check=True, text=True
    )
    return " ".join(unicodedata.normalize("NFC", result.stdout).split())


@pytest.mark.parametrize("dots", [384, 576])
def test_the_receipt_prints_the_rating_link_as_a_qr_code_and_a_short_address(
    dots: int, tmp_path: Path
) -> None:
    job = receipt_job(rating_url=SIGNED, rating_short_url=SHORT)
    image = render_job(parse_job(job), paper_for(dots))
    # Both QR codes read back: the dossier's (for kiosks) and the rating link, whole.
    assert sorted(qr_texts(image)) == sorted([job["receipt"]["qr_data"], SIGNED])
    plain = render_job(parse_job(receipt_job()), paper_for(dots))
    assert qr_texts(plain) == [job["receipt"]["qr_data"]]  # without a link: the receipt as before
    OUT.mkdir(exist_ok=True)
    image.save(OUT / f"receipt-rating-{dots}.png")
    if shutil.which("tesseract") and dots == 576:
        text = ocr(image, tmp_path / "receipt.png")
        assert "ĐÁNH GIÁ SỰ HÀI LÒNG" in text, text
        assert "7K2M9XQF4A" in text.replace(" ", ""), text  # the short address reads back from paper


# -- the whole path: a real hub, a real broker, the central simulator ---------------------------


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer(SimState(seed=7)).start()
    yield server
    server.stop()


@pytest.fixture
def hub_url(tmp_path: Path, broker: PrivateBroker, sim: SimServer) -> Iterator[str]:
    config = site_config(
        tmp_path,
        broker.port,
        site=SITE,
        central={"adapter": "opencps", "base_url": sim.url, "agency_code": "000.00.16.H19"},
    )
    for officer in config["officers"]:
        officer["password_hash"] = FAST_HASH
    running = HubProcess(write_config(tmp_path, config), web=True).start()
    yield f"http://127.0.0.1:{config['hub']['http_port']}"
    assert running.stop() == 0


def print_receipt(base: str, code: str) -> dict[str, Any]:
    reply = requests.post(
        f"{base}/api/v1/counters/1/receipt", json={"code": code}, auth=("canbo1", PASSWORD), timeout=10
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_the_receipts_qr_code_opens_the_rating_page_of_its_dossier(
    hub_url: str, broker: PrivateBroker, sim: SimServer
) -> None:
    code = next(row for row in sim.state.dossiers if row["dossierStatus"] == "processing")["dossierNo"]
    with Observer(broker.port, f"motcua/v1/{SITE}/print/printer-counter-1/jobs") as observer:
        answer = print_receipt(hub_url, code)
        job = observer.wait_for(lambda seen: seen.json().get("job_id") == answer["job_id"]).json()
        again = print_receipt(hub_url, code)  # a reprint: the same short address
        reprinted = observer.wait_for(lambda seen: seen.json().get("job_id") == again["job_id"]).json()
    image = render_job(parse_job(job), paper_for(576))
    OUT.mkdir(exist_ok=True)
    image.save(OUT / "receipt-rating-hub.png")
    links = [text for text in qr_texts(image) if "/rate/" in text]
    assert len(links) == 1, qr_texts(image)
    assert links[0].startswith(f"{hub_url}/rate/d/")
    short = job["receipt"]["rating_short_url"]
    assert re.fullmatch(rf"{re.escape(hub_url)}/r/[0-9A-Z]{{10}}", short)
    assert reprinted["receipt"]["rating_short_url"] == short

    # From home: the QR opens the rating page of this dossier, with the province's criteria.
    page = requests.get(links[0], timeout=10)
    assert page.status_code == 200
    assert re.search(r'id="rate-code">([^<]+)<', page.text).group(1) == code
    assert "Đánh giá sự hài lòng" in page.text and "Thái độ phục vụ" in page.text
    # The short address typed by hand (in lower case, an O for a 0) leads to the same page.
    typed = short.rsplit("/", 1)[0] + "/" + short.rsplit("/", 1)[1].lower().replace("0", "o")
    same = requests.get(typed, timeout=10)
    assert same.status_code == 200 and same.url == links[0]
    assert requests.get(f"{hub_url}/r/AAAAAAAAAA", timeout=10).status_code == 404

    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    form = {"token": token, "overall": "3", "c0": "3"}
    rated = requests.post(links[0], data=form, timeout=10)
    assert rated.status_code == 200 and "Xin cảm ơn quý khách đã đánh giá." in rated.text
    twice = requests.get(links[0], timeout=10)
    assert twice.status_code == 409 and f"Hồ sơ {code} đã được đánh giá" in twice.text


def test_a_receipt_sent_over_mqtt_carries_the_link_too(
    hub_url: str, broker: PrivateBroker, mqtt_settings: MqttSettings
) -> None:
    code = "000.00.06.H56-231027-0361"
    receipt = receipt_job()["receipt"]
    with (
        Link(mqtt_settings, site=SITE, device_id="kiosk-9", role="kiosk") as link,
        Observer(broker.port, f"motcua/v1/{SITE}/print/printer-counter-1/jobs") as observer,
    ):
        assert link.wait_connected(5)
        sent = RpcClient(link, default_timeout=10).call(
            "receipt.print", {"counter_id": "1", "receipt": receipt}
        )
        job = observer.wait_for(lambda seen: seen.json().get("job_id") == sent["job_id"]).json()
    image = render_job(parse_job(job), paper_for(384))
    links = [text for text in qr_texts(image) if "/rate/d/" in text]
    assert len(links) == 1
    page = requests.get(links[0], timeout=10)
    assert page.status_code == 200 and re.search(r'id="rate-code">([^<]+)<', page.text).group(1) == code
