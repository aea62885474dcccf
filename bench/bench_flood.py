"""A counter's call_next while one kiosk floods the hub from its own broker credentials (issue 13).

    .venv/bin/python -m bench.bench_flood [--calls 400] [--interval 0.02] [--flood-seconds 15]

Runs Mosquitto from the shipped site configuration (dynamic security: every device has its own
account) and a real hub with its fleet (in this process: it only serves, the load comes from
others); enrols a kiosk and a counter unit as `motcua enroll` would. Then, from two processes of
their own: the kiosk floods `ticket.issue` as fast as paho publishes (QoS 1, no client-side flow
control), while the counter unit presses "call next" every `--interval` seconds and times each
answer. Measured twice: with the shipped settings (a flooding device's account is suspended) and
with suspension off (`flood_suspend_s = 0`: the per-device quota alone stands between the flood
and the counter, all along the flood). Prints p50/p99/max of the counter's calls, how many the
kiosk sent and got, and whether the broker had to drop messages for the hub.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.latency import latency_ms  # noqa: E402
from hub.daemon import Hub  # noqa: E402
from hub.fleet.broker_setup import SecureBroker  # noqa: E402
from hub.site import HubConfig  # noqa: E402
from tests.support.hub import site_config  # noqa: E402

SITE = "bench"

COUNTER = r"""
import json, sys, time
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient, RpcError
settings, device_id = json.loads(sys.argv[1]), sys.argv[2]
calls, interval = int(sys.argv[3]), float(sys.argv[4])
samples, errors = [], {}
with Link(MqttSettings(**settings), site="bench", device_id=device_id, role="led") as link:
    link.wait_connected(10)
    rpc = RpcClient(link)
    print("ready", flush=True)
    sys.stdin.readline()  # the flood is on
    for _ in range(calls):
        started = time.perf_counter()
        try:
            rpc.call("counter.call_next", {"counter_id": "1"}, timeout=5.0)
        except RpcError as error:
            errors[error.code] = errors.get(error.code, 0) + 1
            if error.code != "no_waiting":
                continue
        samples.append(time.perf_counter() - started)
        time.sleep(interval)
print(json.dumps({"samples": samples, "errors": errors}))
"""


def enrol(hub: Hub, role: str, place: str) -> dict[str, Any]:
    code = hub.fleet.add_device(role, place).code
    return hub.fleet.enrol(code, hub_host="127.0.0.1:8080")


def run(tmp: Path, *, suspend_s: float, calls: int, interval: float, flood_s: float) -> dict[str, Any]:
    with SecureBroker(site=SITE, data_dir=tmp / "broker") as broker:
        raw = site_config(tmp, broker.port, site=SITE)
        raw["mqtt"].update(username=broker.hub_user, password=broker.hub_password)
        raw["fleet"] = {
            "security": "dynsec",
            "watch_interval_s": 60,
            "flood_suspend_s": suspend_s,
            # The counter presses far faster than an officer (to gather samples): lift its quota.
            "quotas": [{"role": "led", "per_minute": 60_000, "burst": 1000}],
        }
        raw["services"] = [{"id": "a", "name": "Dịch vụ A", "prefix": "A", "first": 1, "last": 999_999}]
        raw["counters"] = [{"id": "1", "name": "1", "services": ["a"], "open_at_start": True}]
        raw["officers"], raw["kiosks"] = [], []
        hub = Hub(HubConfig.model_validate(raw))
        hub.start(web=False)
        try:
            kiosk = enrol(hub, "kiosk", "kiosk:kiosk-1")
            led = enrol(hub, "led", "counter:1")
            for _ in range(calls + 10):  # citizens waiting: every call_next calls someone
                hub.service.call("ticket.issue", {"service_id": "a"}, caller_id="bench")
            counter = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    COUNTER,
                    json.dumps(led["mqtt"]),
                    led["device_id"],
                    str(calls),
                    str(interval),
                ],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            assert counter.stdout is not None and counter.stdin is not None
            assert counter.stdout.readline().strip() == "ready"
            flooder = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.support.flood",
                    "--port",
                    str(broker.port),
                    "--site",
                    SITE,
                    "--device",
                    kiosk["device_id"],
                    "--username",
                    kiosk["mqtt"]["username"],
                    "--password",
                    kiosk["mqtt"]["password"],
                    "--params",
                    json.dumps({"service_id": "a"}),
                    "--seconds",
                    str(flood_s),
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(0.5)
            counter.stdin.write("go\n")
            counter.stdin.flush()
            measured = json.loads(counter.communicate(timeout=600)[0].strip().splitlines()[-1])
            flood = json.loads(flooder.communicate(timeout=600)[0].strip().splitlines()[-1])
            issued_by_kiosk = sum(1 for t in hub.service.engine.tickets.values() if t.issued_by == "kiosk-1")
            alerts = [a.device_id for a in hub.fleet.alerts() if a.key == "fleet_alert_flooding"]
        finally:
            hub.stop()
        log = broker.log_path.read_text(encoding="utf-8")
    return {
        "call_next_during_flood": latency_ms(measured["samples"]),
        "counter_errors": measured["errors"],
        "flood": flood,
        "tickets_the_kiosk_got": issued_by_kiosk,
        "flooding_alert_names": alerts,
        "broker_dropped_messages_for_hub": f"dropped for client {SITE}-hub" in log,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between key presses")
    parser.add_argument("--flood-seconds", type=float, default=15.0)
    parser.add_argument("--only", choices=("shipped_settings", "quota_only_no_suspension"))
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    }
    for name, suspend_s in (("shipped_settings", 60.0), ("quota_only_no_suspension", 0.0)):
        if args.only not in (None, name):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            results[name] = run(
                Path(tmp),
                suspend_s=suspend_s,
                calls=args.calls,
                interval=args.interval,
                flood_s=args.flood_seconds,
            )
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
