"""`motcua province-demo --sites N --data DIR`: a province on one machine.

A province broker, PostgreSQL (the Debian package's, initialised in the data folder, no system
service), the province service, and N small sites: each a real hub with its own Mosquitto bridged to
the province broker (the shipped bridge template), simulated devices (they announce themselves as
real ones do) and a trickle of citizens taking numbers over the hub's public HTTP API.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import signal
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

from werkzeug.security import generate_password_hash

from appliance.broker import find_free_port
from appliance.config import MqttSettings
from appliance.mqtt import Link
from motcua.demo import Child, _write_toml, hub_config, start_required, wait_healthy

from .brokers import BridgedSiteBroker, ProvinceBroker
from .config import render
from .postgres import PrivatePostgres

DEVICES = (("kiosk-1", "kiosk"), ("printer-1", "printer"), ("led-counter-1", "led"), ("display-1", "display"))
SERVICES = ("dat-dai", "ho-tich", "kinh-doanh")


def _citizens(sites: dict[str, str], stop: threading.Event, rng: random.Random) -> None:
    """Numbers taken at every site now and then, so the province view moves."""
    while not stop.wait(rng.uniform(1.0, 4.0)):
        web = rng.choice(sorted(sites.values()))
        body = json.dumps({"service_id": rng.choice(SERVICES)}).encode()
        request = urllib.request.Request(
            f"{web}/api/v1/tickets", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with contextlib.suppress(OSError):  # a hub restarting: the next citizen tries again
            urllib.request.urlopen(request, timeout=5).close()


def main(argv: list[str] | None = None) -> int:
    from hub.web.auth import generate_password

    parser = argparse.ArgumentParser(prog="motcua province-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=3, help="how many sites (default 3)")
    parser.add_argument("--data", type=Path, help="keep state here (default: a temporary folder)")
    parser.add_argument("--http-port", type=int, default=8100, help="the province pages (default 8100)")
    args = parser.parse_args(argv)
    if not 1 <= args.sites <= 50:
        parser.error("--sites: 1 to 50 on one machine (the benchmark drives more)")
    temporary = args.data is None
    data_dir: Path = Path(tempfile.mkdtemp(prefix="motcua-province-")) if temporary else args.data
    data_dir.mkdir(parents=True, exist_ok=True)

    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())

    postgres = PrivatePostgres(data_dir / "postgres")
    province_broker = ProvinceBroker(data_dir=data_dir / "province-broker", persistence=True)
    site_brokers: list[BridgedSiteBroker] = []
    children: list[Child] = []
    devices: list[Link] = []
    try:
        postgres.start()
        province_broker.start()
        password = generate_password()
        web_port = find_free_port(args.http_port)
        province_toml = data_dir / "province.toml"
        province_toml.write_text(
            render(
                mqtt_port=province_broker.port,
                dsn=postgres.dsn,
                web_port=web_port,
                admin_password_hash=generate_password_hash(password),
            ),
            encoding="utf-8",
        )
        argv = [sys.executable, "-m", "province", "-c", str(province_toml)]
        province = start_required(children, "province", argv, data_dir / "province.log")
        province_url = f"http://127.0.0.1:{web_port}"
        if not wait_healthy(f"{province_url}/healthz", province, timeout=60):
            print(f"motcua province-demo: the province service did not start; see {province.log_path}")
            return 1

        sites: dict[str, str] = {}
        for index in range(1, args.sites + 1):
            site = f"xa-{index:02d}"
            site_dir = data_dir / site
            site_dir.mkdir(exist_ok=True)
            broker = BridgedSiteBroker(site, province_broker.port, data_dir=site_dir / "broker").start()
            site_brokers.append(broker)
            http_port = find_free_port(8200 + index)
            config, _ = hub_config(site_dir, broker.port, http_port)
            config["site"] = site
            config["place"]["name"] = f"Bộ phận một cửa xã {index:02d}"
            config.setdefault("limits", {})["public_tickets_per_address"] = 10_000  # the citizens' trickle
            argv = [sys.executable, "-m", "hub", "-c", str(_write_toml(site_dir / "hub.toml", config))]
            start_required(children, f"hub-{site}", argv, site_dir / "hub.log")
            sites[site] = f"http://127.0.0.1:{http_port}"
        for site, web in sites.items():
            hub = next(c for c in children if c.name == f"hub-{site}")
            if not wait_healthy(f"{web}/healthz", hub, timeout=60):
                print(f"motcua province-demo: the hub of {site} did not start; see {hub.log_path}")
                return 1
        for broker in site_brokers:
            for device_id, role in DEVICES:
                link = Link(MqttSettings(port=broker.port), site=broker.site, device_id=device_id, role=role)
                link.start()
                devices.append(link)

        print(f"Province: {province_url}")
        print(f"Province login: admin / {password}")
        for site, web in sites.items():
            print(f"Site {site}: {web}")
        print(
            f"Data: {data_dir} ({'deleted on Ctrl-C' if temporary else 'kept'}) · Ctrl-C to stop", flush=True
        )

        traffic = threading.Thread(
            target=_citizens, args=(sites, stopping, random.Random(18)), name="citizens", daemon=True
        )
        traffic.start()
        while not stopping.wait(0.5):
            for child in children:
                if child.process is not None and child.process.poll() is not None and child.required:
                    print(f"motcua province-demo: {child.name} exited; see {child.log_path}", file=sys.stderr)
                    return 1
        return 0
    finally:
        stopping.set()
        for link in devices:
            link.stop()
        for child in reversed(children):
            child.stop()
        for broker in site_brokers:
            broker.stop()
        province_broker.stop()
        postgres.stop()
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
        print("motcua province-demo: stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
