"""`motcua demo`: a whole site comes up, prints what to open, works, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from appliance.broker import find_free_port
from tests.support.hub import ROOT
from tests.support.mqtt import Observer

pytestmark = pytest.mark.slow


def test_demo_runs_a_site_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    mqtt_port, http_port, central_port = find_free_port(), find_free_port(), find_free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "motcua.cli",
            "demo",
            "--headless",
            "--mqtt-port",
            str(mqtt_port),
            "--http-port",
            str(http_port),
            "--central-port",
            str(central_port),
            "--data",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert demo.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("{") and json.loads(line).get("ready"):
                break
        output = "\n".join(lines)
        assert f"MQTT: mqtt://127.0.0.1:{mqtt_port}" in lines, output
        assert f"Web: http://127.0.0.1:{http_port}" in lines, output
        assert f"Central: http://127.0.0.1:{central_port}" in lines, output
        assert any(line.startswith("Officer login: canbo1 / ") for line in lines), output

        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=5) as response:
            assert response.status == 200
        with Observer(mqtt_port, "motcua/v1/demo/devices/+/state", "motcua/v1/demo/print/+/results") as seen:
            # Every simulated device came up.
            for device in ("printer-1", "scanner-1", "display-1", "led-counter-1", "led-hall"):
                seen.wait_for(lambda m, d=device: f"/{d}/state" in m.topic and m.json()["online"], timeout=30)
            # A citizen at kiosk-1 takes a number: the kiosk's printer prints it.
            reply = subprocess.run(
                [
                    "mosquitto_rr",
                    "-p",
                    str(mqtt_port),
                    "-t",
                    "motcua/v1/demo/rpc/kiosk-1/ticket.issue",
                    "-e",
                    "motcua/v1/demo/devices/kiosk-1/replies",
                    "-m",
                    '{"v":1,"service_id":"ho-tich"}',
                    "-W",
                    "10",
                ],
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            )
            result = json.loads(reply.stdout)["result"]
            assert result["ticket"]["number"] == "2001" and result["ticket"]["service_name"] == "Hộ tịch"
            printed = seen.wait_for(lambda m: m.topic.endswith("printer-1/results"), timeout=20).json()
            assert printed["job_id"] == f"ticket-{result['ticket']['id']}"
            assert printed["status"] == "printed"
        assert list((tmp_path / "site" / "printed").glob("*.png")), "the simulated printer kept no page"
        # The officer at counter 3 calls it: the hall display says it (headless: into a WAV file).
        subprocess.run(
            [
                "mosquitto_rr",
                "-p",
                str(mqtt_port),
                "-t",
                "motcua/v1/demo/rpc/counter-3/counter.call_next",
                "-e",
                "motcua/v1/demo/devices/counter-3/replies",
                "-m",
                '{"v":1,"counter_id":"3"}',
                "-W",
                "10",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        announcements = tmp_path / "site" / "announcements"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list(announcements.glob("*.wav")):
            time.sleep(0.2)
        assert list(announcements.glob("*.wav")), "the hall display announced nothing"

        # The central simulator answers lookups through the hub, names masked for the public.
        with urllib.request.urlopen(f"http://127.0.0.1:{central_port}/admin/dossiers", timeout=5) as response:
            listed = json.load(response)
        rows = listed["data"] if isinstance(listed, dict) else listed
        code = rows[0]["dossierNo"]
        with urllib.request.urlopen(
            f"http://127.0.0.1:{http_port}/api/v1/dossiers/{code}", timeout=10
        ) as response:
            dossier = json.load(response)
        assert code.replace(".", "").replace("-", "") in json.dumps(dossier).replace(".", "").replace("-", "")
        assert "**" in json.dumps(dossier, ensure_ascii=False)
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(demo.pid, signal.SIGINT)
        rest, _ = demo.communicate(timeout=30)
    assert demo.returncode == 0, rest
    assert "motcua demo: stopped" in rest
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path / "site")], capture_output=True, text=True).stdout
    assert leftovers == "", f"processes left behind: {leftovers}"
