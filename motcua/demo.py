"""`motcua demo`: a whole district one-stop shop on simulated hardware.

A private Mosquitto, the hub with the sample site (hub/sample_site.toml) and every device role on
simulated hardware, each as its own process with its own generated TOML — exactly as on a real
site, only the drivers are simulated. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from appliance.broker import PrivateBroker, find_free_port

SITE_ID = "demo"
SAMPLE_SITE = Path(__file__).resolve().parent.parent / "hub" / "sample_site.toml"


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    required: bool = False
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _write_toml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def hub_config(
    data_dir: Path, mqtt_port: int, http_port: int, central_url: str | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The sample site with this demo's ports and paths, and officer logins made up for it."""
    from hub.web.auth import generate_password, hash_password

    config = tomllib.loads(SAMPLE_SITE.read_text(encoding="utf-8"))
    config["site"] = SITE_ID
    config["mqtt"] = {"host": "127.0.0.1", "port": mqtt_port}
    config["hub"] = {
        "db": str(data_dir / "hub.db"),
        "http_host": "127.0.0.1",
        "http_port": http_port,
        "public_url": f"http://127.0.0.1:{http_port}",
        # The demo runs on one machine for one person: plain HTTP, and it says so when it starts.
        "https": False,
    }
    for key in ("broker_tls", "broker_port", "broker_ca_file"):  # the demo's broker is plain
        config.get("fleet", {}).pop(key, None)
    if central_url is not None:
        config["central"] = {"adapter": "opencps", "base_url": central_url, "agency_code": "000.00.16.H19"}
    logins: dict[str, str] = {}
    for officer in config.get("officers", []):
        password = generate_password()
        officer["password_hash"] = hash_password(password)
        logins[officer["username"]] = password
    return config, logins


def device_children(data_dir: Path, mqtt_port: int, http_port: int, headless: bool) -> list[Child]:
    """Every device role that exists in this installation, on simulated hardware."""
    mqtt = {"host": "127.0.0.1", "port": mqtt_port}
    children: list[Child] = []

    def add(name: str, module: str, config: dict[str, Any], args: tuple[str, ...] = ()) -> None:
        if importlib.util.find_spec(module) is None:
            return
        path = _write_toml(data_dir / f"{name}.toml", config)
        argv = [sys.executable, "-m", module, *args, "-c", str(path)]
        env = {"SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1"} if headless else {}
        children.append(Child(name, argv, data_dir / f"{name}.log", env=env))

    if importlib.util.find_spec("ticket_printer.daemon") is not None:
        add(
            "printer-1",
            "ticket_printer",
            {
                "device_id": "printer-1",
                "site": SITE_ID,
                "role": "printer",
                "mqtt": mqtt,
                "state_dir": str(data_dir / "printer-1"),
                "printer": {
                    "dots": 576,
                    "backend": {"type": "simulated", "save_dir": str(data_dir / "printed")},
                },
            },
        )
    # A scanner at the kiosk: technicians (and tests) write codes into its FIFO, one per line.
    add(
        "scanner-1",
        "barcode_reader",
        {
            "device_id": "scanner-1",
            "site": SITE_ID,
            "role": "scanner",
            "mqtt": mqtt,
            "source": {"type": "simulated", "path": str(data_dir / "scanner-1.fifo")},
        },
    )
    # LED boards: counter 1's board with a keypad (write "call_next", "recall", "complete" … into
    # its FIFO) and the hall board; both draw PNGs in the data folder.
    add(
        "led-counter-1",
        "led_board",
        {
            "device_id": "led-counter-1",
            "site": SITE_ID,
            "role": "led",
            "mode": "counter",
            "mqtt": mqtt,
            "counter": {"counter_id": "1"},
            "board": {
                "driver": "simulated",
                "lines": 2,
                "columns": 8,
                "png": str(data_dir / "led-counter-1.png"),
            },
            "keypads": [{"type": "simulated", "path": str(data_dir / "led-counter-1.keys")}],
            "gpio": {"pin_factory": "mock"},
        },
    )
    add(
        "led-hall",
        "led_board",
        {
            "device_id": "led-hall",
            "site": SITE_ID,
            "role": "led",
            "mode": "hall",
            "mqtt": mqtt,
            "board": {
                "driver": "simulated",
                "lines": 6,
                "columns": 16,
                "png": str(data_dir / "led-hall.png"),
            },
            "gpio": {"pin_factory": "mock"},
        },
    )
    # The citizen kiosk (a touchscreen window; left out when headless: a kiosk is to be touched).
    if not headless:
        add(
            "kiosk-1",
            "kiosk",
            {
                "device_id": "kiosk-1",
                "site": SITE_ID,
                "role": "kiosk",
                "mqtt": mqtt,
                "public_url": f"http://127.0.0.1:{http_port}",
                "screen": {"orientation": "portrait", "fullscreen": False},
                "kiosk": {"scanners": ["scanner-1"]},
                # A demo is tried at any hour.
                "opening_hours": {"lock_outside": False},
            },
            ("--windowed",),
        )
    # The hall display with its voice: on a desktop a window and the speakers; headless, the
    # announcements go to WAV files a technician can play.
    add(
        "display-1",
        "queue_display",
        {
            "device_id": "display-1",
            "site": SITE_ID,
            "role": "display",
            "mqtt": mqtt,
            "announce": {"voice_pack": str(data_dir / "voice"), "repeats": 2},
            "audio": (
                {"sink": "wav", "wav_dir": str(data_dir / "announcements")}
                if headless or shutil.which("aplay") is None
                else {"sink": "aplay"}
            ),
            "screen": {"fullscreen": False},
        },
        ("--no-screen",) if headless else ("--windowed",),
    )
    return children


def wait_healthy(url: str, child: Child, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process is not None and child.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua demo", description=__doc__.splitlines()[0])
    parser.add_argument("--headless", action="store_true", help="open no windows")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--http-port", type=int, default=8080)
    parser.add_argument("--central-port", type=int, default=8090)
    parser.add_argument("--data", type=Path, help="keep state here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if not args.headless and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print("motcua demo: no screen here (no DISPLAY): running headless", file=sys.stderr, flush=True)
        args.headless = True

    temporary = args.data is None
    data_dir: Path = Path(tempfile.mkdtemp(prefix="motcua-demo-")) if temporary else args.data
    data_dir.mkdir(parents=True, exist_ok=True)
    mqtt_port = find_free_port(args.mqtt_port)
    http_port = find_free_port(args.http_port)

    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    broker = PrivateBroker(port=mqtt_port, data_dir=data_dir / "broker")
    children: list[Child] = []
    try:
        broker.start()
        central_url: str | None = None
        if importlib.util.find_spec("hub.central_sim") is not None:
            central_port = find_free_port(args.central_port)
            central_url = f"http://127.0.0.1:{central_port}"
            central = Child(
                "central-sim",
                [
                    sys.executable,
                    "-m",
                    "hub.central_sim",
                    "--port",
                    str(central_port),
                    "--journal",
                    str(data_dir / "central-journal.jsonl"),
                ],
                data_dir / "central-sim.log",
                required=True,
            )
            children.append(central)
            central.start()
            if not wait_healthy(f"{central_url}/admin/stats", central, timeout=30):
                print(
                    f"motcua demo: the central simulator did not start; see {central.log_path}",
                    file=sys.stderr,
                )
                return 1
        config, logins = hub_config(data_dir, mqtt_port, http_port, central_url)
        hub_toml = _write_toml(data_dir / "hub.toml", config)
        hub = Child(
            "hub", [sys.executable, "-m", "hub", "-c", str(hub_toml)], data_dir / "hub.log", required=True
        )
        children.append(hub)
        hub.start()
        web = f"http://127.0.0.1:{http_port}"
        if not wait_healthy(f"{web}/healthz", hub):
            print(f"motcua demo: the hub did not start; see {hub.log_path}", file=sys.stderr)
            sys.stderr.write(hub.log_path.read_text(encoding="utf-8", errors="replace")[-3000:])
            return 1
        for child in device_children(data_dir, mqtt_port, http_port, args.headless):
            children.append(child)
            child.start()

        print(f"MQTT: {broker.url}")
        print(f"Web: {web}")
        print("Web is plain HTTP (no TLS): fine for this demo on one machine; a site's hub serves HTTPS.")
        if central_url is not None:
            print(f"Central: {central_url}")
        for username, password in logins.items():
            print(f"Officer login: {username} / {password}")
        print(f"Data: {data_dir}")
        print(f"Officer console: {web}/counter/1 · Public board: {web}/api/v1/queue · Ctrl-C to stop")
        print(json.dumps({"ready": True, "mqtt_port": mqtt_port, "http_port": http_port}), flush=True)

        while not stop_requested:
            for child in children:
                if child.process is not None and child.process.poll() is not None:
                    code = child.process.returncode
                    print(f"motcua demo: {child.name} exited ({code}); see {child.log_path}", file=sys.stderr)
                    if child.required:
                        return 1
                    child.process = None
            time.sleep(0.3)
        return 0
    finally:
        for child in reversed(children):
            child.stop()
        broker.stop()
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
        print("motcua demo: stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
