"""The hub's device commands on the printer daemon: a real Mosquitto, the hub's FleetRuntime sending
commands as the /devices page does, the daemon, and a fake network printer whose paper is read back."""

from __future__ import annotations

import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from support.fake_printer import FakeNetworkPrinter
from support.fleet_hub import FleetHub
from support.mqtt import wait_until

from appliance.config import MqttSettings, load
from appliance.device import RESTART_EXIT_CODE
from ticket_printer.config import PrinterConfig
from ticket_printer.daemon import PrinterDaemon

SITE, DEVICE = "test-site", "printer-1"
ROOT = Path(__file__).resolve().parent.parent


def write_config(path: Path, mqtt: MqttSettings, state: Path, port: int, dots: int = 576) -> Path:
    path.write_text(
        f'device_id = "{DEVICE}"\nsite = "{SITE}"\nrole = "printer"\nstate_dir = "{state}"\n\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {mqtt.port}\nreconnect_min = 0.05\nreconnect_max = 0.5\n\n'
        f"[printer]\ndots = {dots}\n\n"
        f'[printer.backend]\ntype = "network"\nhost = "127.0.0.1"\nport = {port}\ntimeout = 0.5\n\n'
        "[jobs]\nstatus_interval_s = 0.2\n",
        encoding="utf-8",
    )
    return path


def qr_codes(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image.convert("L")) if r.format.name == "QRCode"]


def ocr(image: Image.Image, tmp_path: Path) -> str:
    path = tmp_path / "slip.png"
    image.save(path)
    done = subprocess.run(
        ["tesseract", str(path), "-", "-l", "vie", "--psm", "6"], capture_output=True, check=True, text=True
    )
    return " ".join(unicodedata.normalize("NFC", done.stdout).split())


@pytest.fixture
def fake() -> Iterator[FakeNetworkPrinter]:
    with FakeNetworkPrinter() as printer:
        yield printer


@pytest.fixture
def hub(mqtt_settings: MqttSettings, tmp_path: Path) -> Iterator[FleetHub]:
    with FleetHub(mqtt_settings, SITE, tmp_path) as running:
        yield running


@pytest.fixture
def daemon(mqtt_settings: MqttSettings, tmp_path: Path, fake: FakeNetworkPrinter) -> Iterator[PrinterDaemon]:
    path = write_config(tmp_path / "printer.toml", mqtt_settings, tmp_path / "state", fake.port)
    running = PrinterDaemon(load(path, PrinterConfig), config_path=path, wait_poll_s=0.05)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_identify_prints_a_slip_naming_the_printer(
    hub: FleetHub, daemon: PrinterDaemon, fake: FakeNetworkPrinter, tmp_path: Path
) -> None:
    result = hub.command(DEVICE, "identify")
    assert result["ok"] is True and result["cmd"] == "identify"
    assert hub.last_command(DEVICE)["status"] == "ok"
    slip = fake.wait_for_pages(1)[0].image
    assert qr_codes(slip) == [DEVICE]
    assert slip.height < 700  # a short slip, not a test page
    if shutil.which("tesseract"):
        text = ocr(slip, tmp_path)
        assert "NHẬN DIỆN THIẾT BỊ" in text and SITE in text

    # The hub's "test print" of a printer goes as a test job; it prints the long test page.
    hub.fleet.send_command(DEVICE, "test_print")
    page = fake.wait_for_pages(2)[1].image
    assert page.height > slip.height and qr_codes(page) != [DEVICE]


def test_pushed_configuration_applies_live_and_a_bad_one_is_refused(
    hub: FleetHub, daemon: PrinterDaemon, fake: FakeNetworkPrinter
) -> None:
    backend = {"type": "network", "host": "127.0.0.1", "port": fake.port, "timeout": 0.5}
    hub.push_config(DEVICE, "printer", 2, {"printer": {"dots": 384, "backend": backend}})
    wait_until(lambda: daemon.paper.dots == 384)
    assert hub.command(DEVICE, "identify")["ok"] is True
    assert fake.wait_for_pages(1)[0].image.width == 384

    hub.push_config(DEVICE, "printer", 3, {"printer": {"dots": 999, "backend": backend}})
    result = hub.command(DEVICE, "reload")
    assert result["ok"] is False
    shown = result["error"]["message"]
    assert shown.startswith("Lệnh “reload” không thực hiện được: cấu hình bị từ chối")
    assert "printer.dots" in shown and "999" in shown
    assert hub.last_command(DEVICE)["error"] == shown  # what the technician reads on /devices
    assert daemon.paper.dots == 384 and daemon.config.printer.dots == 384  # nothing half applied
    assert daemon.health()["config_error"] is not None
    assert hub.command(DEVICE, "identify")["ok"] is True  # still printing
    assert fake.wait_for_pages(2)[1].image.width == 384


def test_reload_rereads_the_file_and_restart_exits_for_systemd(
    hub: FleetHub, mqtt_settings: MqttSettings, fake: FakeNetworkPrinter, tmp_path: Path
) -> None:
    path = write_config(tmp_path / "printer.toml", mqtt_settings, tmp_path / "state", fake.port)
    process = subprocess.Popen(
        [sys.executable, "-m", "ticket_printer", "-c", str(path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        write_config(path, mqtt_settings, tmp_path / "state", fake.port, dots=384)
        assert hub.command(DEVICE, "reload")["ok"] is True
        assert hub.command(DEVICE, "identify")["ok"] is True
        assert fake.wait_for_pages(1)[0].image.width == 384

        path.write_text(path.read_text(encoding="utf-8").replace("dots = 384", 'dots = "wide"'))
        refused = hub.command(DEVICE, "reload")
        assert refused["ok"] is False and "printer.dots" in refused["error"]["message"]

        assert hub.command(DEVICE, "restart")["ok"] is True
        assert process.wait(10) == RESTART_EXIT_CODE
    finally:
        if process.poll() is None:
            process.kill()
        _, err = process.communicate(timeout=5)
    assert "Traceback" not in err
