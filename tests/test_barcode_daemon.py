"""The scanner daemon end to end: `python -m barcode_reader` with a serial scanner on a pty and a real
Mosquitto; a scan becomes a `scans/{device_id}` message and an unplug shows in the retained health."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.mqtt import Observer, state_is
from test_barcode_serial import FakeSerialScanner

from appliance.broker import PrivateBroker
from appliance.topics import Topics
from barcode_reader.cli import main
from barcode_reader.config import (
    EXAMPLE_CONFIG,
    CameraSettings,
    HidSettings,
    ScannerConfig,
    SerialSettings,
    SimulatedSettings,
    load_config,
)

ROOT = Path(__file__).resolve().parent.parent
SITE, DEVICE = "test-site", "counter-2-scanner"


def write_config(path: Path, port: int, source: str) -> Path:
    path.write_text(
        f'device_id = "{DEVICE}"\nsite = "{SITE}"\nrole = "scanner"\n\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nreconnect_min = 0.05\nreconnect_max = 0.5\n\n'
        f"[source]\n{source}\nretry_interval = 0.1\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def serial_scanner(tmp_path: Path) -> Iterator[FakeSerialScanner]:
    fake = FakeSerialScanner(tmp_path / "ttyACM0")
    fake.plug()
    yield fake
    fake.unplug()


def start_daemon(config: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "barcode_reader", "-c", str(config), *extra],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_daemon(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    if process.stdin is not None and process.stdin.closed:
        process.stdin = None
    out, err = process.communicate(timeout=10)
    return process.returncode, out, err


def test_a_serial_scan_becomes_a_scans_message(
    broker: PrivateBroker, serial_scanner: FakeSerialScanner, tmp_path: Path
) -> None:
    topics = Topics(SITE)
    source = f'type = "serial"\nport = "{serial_scanner.path}"\nterminator = "cr"'
    config = write_config(tmp_path / "scanner.toml", broker.port, source)
    watched = (topics.scans(DEVICE), topics.device_health(DEVICE), topics.device_state(DEVICE))
    with Observer(broker.port, *watched) as seen:
        daemon = start_daemon(config)
        try:
            health = topics.device_health(DEVICE)
            seen.wait_for(lambda m: m.topic == health and m.json()["scanner"] == "attached", timeout=15)
            serial_scanner.send(b"000.00.06.h56.231027.0361\r")
            scan = seen.wait_for(lambda m: m.topic == topics.scans(DEVICE)).json()
            assert scan["v"] == 1
            assert (scan["code"], scan["kind"], scan["symbology"]) == (
                "000.00.06.H56-231027-0361",
                "dossier_code",
                None,
            )
            assert scan["ts"].endswith("+07:00")

            mark = len(seen.messages)
            serial_scanner.unplug()
            detached = seen.wait_for(
                lambda m: m.topic == health and m.json()["scanner"] == "detached", after=mark
            )
            body = detached.json()
            assert (body["source"], body["device"], body["last_scan_ts"]) == (
                "serial",
                str(serial_scanner.path),
                scan["ts"],
            )

            mark = len(seen.messages)
            serial_scanner.plug()
            seen.wait_for(lambda m: m.topic == health and m.json()["scanner"] == "attached", after=mark)
            serial_scanner.send(b"https://hub.local/t/abcDEF123\r")
            ticket = seen.wait_for(lambda m: m.topic == topics.scans(DEVICE), after=mark).json()
            assert (ticket["kind"], ticket["code"]) == ("ticket", "abcDEF123")
        finally:
            code, _, err = stop_daemon(daemon)
        assert code == 0, err
        seen.wait_for(lambda m: m.topic == topics.device_state(DEVICE) and state_is(False)(m))
    assert "unplugged" in err and "attached" in err


def test_stdout_mode_with_lines_from_standard_input(tmp_path: Path) -> None:
    config = write_config(tmp_path / "scanner.toml", 1, 'type = "simulated"\npath = "-"')
    daemon = start_daemon(config, "--stdout")
    assert daemon.stdin is not None
    daemon.stdin.write("CNTBD.181121.00336\n\x00\x01\x02\x03\nCNTBD.181121.00336\nxin chào\n")
    daemon.stdin.close()  # end of input = the simulated device goes away
    try:
        assert daemon.stdout is not None
        lines = []
        for line in daemon.stdout:
            lines.append(line)
            if '"detached"' in line and any('"scan"' in seen for seen in lines):
                break
    finally:
        code, rest, err = stop_daemon(daemon)
    records = [json.loads(line) for line in lines + rest.splitlines() if line.strip()]
    scans = [r["scan"] for r in records if "scan" in r]
    assert [(s["kind"], s["code"]) for s in scans] == [
        ("dossier_code", "CNTBD.181121.00336"),
        ("unknown", "xin chào"),
    ]
    assert code == 0
    assert "rejected (binary)" in err


def test_bad_configuration_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "scanner.toml", 1883, 'type = "serial"\nbaudrate = -5')
    assert main(["-c", str(config)]) == 2
    assert "source.serial.baudrate" in capsys.readouterr().err
    config = write_config(tmp_path / "scanner.toml", 1883, 'type = "laser"')
    assert main(["-c", str(config)]) == 2
    assert "source" in capsys.readouterr().err
    assert main(["-c", str(tmp_path / "missing.toml")]) == 2


def test_example_configuration_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(EXAMPLE_CONFIG)
    assert isinstance(config.source, HidSettings)
    assert main(["-c", str(EXAMPLE_CONFIG), "--check"]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["--example-config"]) == 0
    assert capsys.readouterr().out == EXAMPLE_CONFIG.read_text(encoding="utf-8")


def test_every_source_type_validates() -> None:
    base = {"device_id": DEVICE, "site": SITE, "role": "scanner"}
    for source, kind in [
        ({"type": "hid"}, HidSettings),
        ({"type": "serial", "port": "/dev/ttyUSB0", "terminator": "crlf"}, SerialSettings),
        ({"type": "camera", "formats": ["qr", "code128", "ean13"], "backend": "pyzbar"}, CameraSettings),
        ({"type": "simulated", "path": "/run/motcua/scanner.fifo"}, SimulatedSettings),
    ]:
        assert isinstance(ScannerConfig.model_validate({**base, "source": source}).source, kind)
    with pytest.raises(ValueError, match="unknown formats"):
        ScannerConfig.model_validate({**base, "source": {"type": "camera", "formats": ["qr", "hologram"]}})
    with pytest.raises(ValueError, match="unknown text encoding"):
        ScannerConfig.model_validate({**base, "source": {"type": "serial", "encoding": "klingon"}})
    with pytest.raises(ValueError, match="role"):
        ScannerConfig.model_validate({**base, "role": "printer", "source": {"type": "hid"}})


def test_camera_without_opencv_fails_at_start_with_the_install_hint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        import cv2  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("OpenCV is installed here")
    config = write_config(tmp_path / "scanner.toml", 1883, 'type = "camera"')
    assert main(["-c", str(config), "--stdout"]) == 2
    assert "pip install opencv-python-headless" in caplog.text


def test_fifo_source_for_the_demo(tmp_path: Path) -> None:
    from barcode_reader.service import RecordingSink, ScannerService
    from barcode_reader.simulated import LineSource

    fifo = tmp_path / "run" / "scanner.fifo"
    sink = RecordingSink()
    with ScannerService(LineSource(str(fifo)), sink, retry_interval=0.05, read_timeout=0.05):
        assert sink.wait(lambda s: s.health[-1]["scanner"] == "attached")
        for line in ("000.00.06.H56-231027-0361", "CNTBD.181121.00336"):
            # Each writer opens and closes the FIFO, as `echo code > fifo` does.
            fd = os.open(fifo, os.O_WRONLY)
            os.write(fd, (line + "\n").encode())
            os.close(fd)
        assert sink.wait(lambda s: len(s.scans) == 2)
    assert [s.code for s in sink.scans] == ["000.00.06.H56-231027-0361", "CNTBD.181121.00336"]
