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

pytestmark = pytest.mark.slow


def test_demo_runs_a_site_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    mqtt_port, http_port = find_free_port(), find_free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "motcua.cli", "demo", "--headless", "--mqtt-port", str(mqtt_port),
         "--http-port", str(http_port), "--data", str(tmp_path / "site")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True,
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
        assert any(line.startswith("Officer login: canbo1 / ") for line in lines), output

        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=5) as response:
            assert response.status == 200
        reply = subprocess.run(
            ["mosquitto_rr", "-p", str(mqtt_port), "-t", "motcua/v1/demo/rpc/tech/ticket.issue",
             "-e", "motcua/v1/demo/devices/tech/replies", "-m", '{"v":1,"service_id":"ho-tich"}', "-W", "10"],
            capture_output=True, text=True, timeout=20, check=True,
        )
        ticket = json.loads(reply.stdout)["result"]["ticket"]
        assert ticket["number"] == "2001" and ticket["service_name"] == "Hộ tịch"
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(demo.pid, signal.SIGINT)
        rest, _ = demo.communicate(timeout=30)
    assert demo.returncode == 0, rest
    assert "motcua demo: stopped" in rest
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path / "site")], capture_output=True, text=True).stdout
    assert leftovers == "", f"processes left behind: {leftovers}"
