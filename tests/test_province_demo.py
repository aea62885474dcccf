"""`motcua province-demo --sites 2 --data DIR`: the lines it promises, a province that sees both real
hubs live through their bridges, each site's own public API, and everything stopped on SIGTERM."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.support.mqtt import wait_until

ROOT = Path(__file__).resolve().parents[1]


def test_province_demo_runs_a_province_and_its_sites() -> None:
    # Not under tmp_path: PostgreSQL runs as another account, which must reach the folder.
    data = Path(tempfile.mkdtemp(prefix="motcua-province-demo-")) / "data"
    process = subprocess.Popen(
        [sys.executable, "-m", "motcua.cli", "province-demo", "--sites", "2", "--data", str(data)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(line.startswith("Data: ") for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
        text = "\n".join(lines)
        province = re.search(r"^Province: (http://\S+)$", text, re.M)
        login = re.search(r"^Province login: admin / (\S+)$", text, re.M)
        site_urls = dict(re.findall(r"^Site (\S+): (http://\S+)$", text, re.M))
        assert province and login, text
        assert sorted(site_urls) == ["xa-01", "xa-02"], text
        assert (data / "postgres" / "cluster" / "PG_VERSION").exists()

        # Each site's public API as today; a number taken there reaches the province.
        for web in site_urls.values():
            reply = requests.post(f"{web}/api/v1/tickets", json={"service_id": "dat-dai"}, timeout=10)
            assert reply.status_code == 201, reply.text
        api = f"{province.group(1)}/api/v1/province/sites"
        auth = ("admin", login.group(1))

        def both_live() -> bool:
            sites = requests.get(api, auth=auth, timeout=10).json()
            return [s["site"] for s in sites if s["online"] and s["issued_today"] >= 1] == ["xa-01", "xa-02"]

        wait_until(both_live, timeout=30, interval=0.5)
        devices = requests.get(f"{province.group(1)}/api/v1/province/devices", auth=auth, timeout=10).json()
        assert {(d["site"], d["device_id"]) for d in devices if d["online"]} >= {
            ("xa-01", "kiosk-1"),
            ("xa-02", "printer-1"),
        }
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    # PostgreSQL stopped with the demo (no server left behind).
    assert not (data / "postgres" / "cluster" / "postmaster.pid").exists()
    shutil.rmtree(data.parent, ignore_errors=True)
