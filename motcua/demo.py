"""`motcua demo`: a whole district one-stop shop on simulated hardware.

A private Mosquitto, the hub with the sample site (hub/sample_site.toml) and every device role on
simulated hardware, each as its own process with its own generated TOML — exactly as on a real
site, only the drivers are simulated. Ctrl-C stops everything.

Every screen keeps a picture in the data folder (kiosk-1.png, display-1.png, led-*.png, printed*/)
and `{Web}/demo` shows them live; a click on the kiosk's picture touches the kiosk. Headless, the
kiosk and the hall display draw offscreen; on a desktop they are windows scaled to fit the screen.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
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
KIOSK_SIZE = (1080, 1920)  # portrait
# The simulated devices and central systems run at a lower priority than the hub: on a demo machine
# they share its cores, where on a site each device has its own. A counter's call is answered
# first; a screen's picture waits a few milliseconds.
SIMULATOR_NICE = 10
DISPLAY_SIZE = (1920, 1080)  # landscape


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    required: bool = False
    env: dict[str, str] = field(default_factory=dict)
    nice: int = 0  # added to the niceness (SIMULATOR_NICE for what stands in for other machines)

    def start(self) -> None:
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        increment = self.nice
        lower = (lambda: os.nice(increment)) if increment else None
        self.process = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=lower
        )
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
    data_dir: Path,
    mqtt_port: int,
    http_port: int,
    central_url: str | None = None,
    notify_url: str | None = None,
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
        # The /demo page shows the screens kept in this folder.
        "demo_dir": str(data_dir),
        # The demo runs on one machine for one person: plain HTTP, and it says so when it starts.
        "https": False,
    }
    for key in ("broker_tls", "broker_port", "broker_ca_file"):  # the demo's broker is plain
        config.get("fleet", {}).pop(key, None)
    if central_url is not None:
        config["central"] = {"adapter": "opencps", "base_url": central_url, "agency_code": "000.00.16.H19"}
    if notify_url is not None:
        # Citizens' messages go to the gateway simulator (`GET {Notify}/messages` shows them).
        config["citizen_notify"] = {
            "near_ahead": 3,
            "sms": {
                "url": f"{notify_url}/sms",
                "api_key": "demo",
                "secret_key": "demo",
                "brandname": "MOTCUA",
            },
            "webpush": {"subject": "mailto:demo@motcua.invalid"},
        }
        # Online booking (/book) of every service, today + 6 days, a slot every 30 minutes.
        config["booking"] = {
            "services": {
                service["id"]: {"start": "07:30", "end": "17:00", "every_minutes": 30, "capacity": 3}
                for service in config["services"]
            },
        }
    logins: dict[str, str] = {}
    for officer in config.get("officers", []):
        password = generate_password()
        officer["password_hash"] = hash_password(password)
        logins[officer["username"]] = password
    return config, logins


def device_children(
    data_dir: Path, mqtt_port: int, http_port: int, headless: bool, scale: float = 1.0
) -> list[Child]:
    """Every device role that exists in this installation, on simulated hardware."""
    mqtt = {"host": "127.0.0.1", "port": mqtt_port}
    children: list[Child] = []

    def add(
        name: str,
        module: str,
        config: dict[str, Any],
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        if importlib.util.find_spec(module) is None:
            return
        path = _write_toml(data_dir / f"{name}.toml", config)
        argv = [sys.executable, "-m", module, *args, "-c", str(path)]
        children.append(Child(name, argv, data_dir / f"{name}.log", env=env or {}, nice=SIMULATOR_NICE))

    def screen_env(name: str, left: int, touch: bool = False) -> dict[str, str]:
        """A kivy screen's picture (and touches) through the data folder (appliance.screen_mirror);
        on a desktop its window scaled to fit, `left` pixels from the screen's left edge."""
        env = {"KIVY_NO_ARGS": "1", "MOTCUA_SCREEN_PNG": str(data_dir / f"{name}.png")}
        if touch:
            env["MOTCUA_TOUCH_FIFO"] = str(data_dir / f"{name}.touch")
        if headless:
            env["SDL_VIDEODRIVER"] = "offscreen"
        else:
            env["MOTCUA_WINDOW_SCALE"] = f"{scale:.3f}"
            env["MOTCUA_WINDOW_POSITION"] = f"{left},40"
        return env

    if importlib.util.find_spec("ticket_printer.daemon") is not None:
        # The kiosk's ticket printer, and counter 1's receipt printer (hub/sample_site.toml).
        for printer_id, pages in (("printer-1", "printed"), ("printer-counter-1", "printed-counter-1")):
            add(
                printer_id,
                "ticket_printer",
                {
                    "device_id": printer_id,
                    "site": SITE_ID,
                    "role": "printer",
                    "mqtt": mqtt,
                    "state_dir": str(data_dir / printer_id),
                    "printer": {
                        "dots": 576,
                        "backend": {"type": "simulated", "save_dir": str(data_dir / pages)},
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
            # ID cards (masked) and receipt proofs go to kiosk-1 alone.
            "scan": {"kiosk": "kiosk-1"},
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
    # The citizen kiosk: a window, or headless drawn offscreen and touched from the /demo page.
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
        screen_env("kiosk-1", 0, touch=True),
    )
    # The hall display with its voice: on a desktop a window and the speakers; headless, drawn
    # offscreen (still: no scrolling message nobody watches) and the announcements go to WAV files.
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
            "screen": {"fullscreen": False, **({"marquee_fps": 0} if headless else {})},
        },
        ("--windowed",),
        screen_env("display-1", round(KIOSK_SIZE[0] * scale) + 8),
    )
    return children


def window_scale() -> float:
    """How much to shrink the kiosk's and the hall display's windows so both fit this screen side
    by side (a laptop: about half); 0.5 when the screen's size cannot be read."""
    size = _screen_size()
    if size is None:
        return 0.5
    width, height = size
    # Room for the title bars and a panel: 90 % of the height, 95 % of the width.
    fit = min(0.9 * height / KIOSK_SIZE[1], 0.95 * width / (KIOSK_SIZE[0] + DISPLAY_SIZE[0]))
    return max(0.2, min(1.0, fit))


def _screen_size() -> tuple[int, int] | None:
    """The X screen's size from xdpyinfo (x11-utils) or xrandr, whichever is installed."""
    for command, pattern in (
        (["xdpyinfo"], r"dimensions:\s+(\d+)x(\d+) pixels"),
        (["xrandr", "--current"], r"current (\d+) x (\d+)"),
    ):
        try:
            shown = subprocess.run(command, capture_output=True, text=True, timeout=5).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        found = re.search(pattern, shown)
        if found is not None:
            return int(found.group(1)), int(found.group(2))
    return None


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


def start_required(
    children: list[Child], name: str, argv: list[str], log_path: Path, *, nice: int = 0
) -> Child:
    """Start a process the demo cannot run without; `children` are the ones stopped at the end."""
    child = Child(name, argv, log_path, required=True, nice=nice)
    children.append(child)
    child.start()
    return child


def start_simulator(children: list[Child], name: str, argv: list[str], data_dir: Path, url: str) -> bool:
    """Start one of the hub's outside partners (central, notify) and wait for it to answer."""
    # The simulators stand in for other machines: they yield the 2 cores to the hub and the devices.
    child = start_required(children, name, argv, data_dir / f"{name}.log", nice=SIMULATOR_NICE)
    if wait_healthy(f"{url}/admin/stats", child, timeout=30):
        return True
    what = name.removesuffix("-sim")
    print(f"motcua demo: the {what} simulator did not start; see {child.log_path}", file=sys.stderr)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua demo", description=__doc__.splitlines()[0])
    parser.add_argument("--headless", action="store_true", help="open no windows")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--http-port", type=int, default=8080)
    parser.add_argument("--central-port", type=int, default=8090)
    parser.add_argument("--notify-port", type=int, default=8091, help="citizens' message gateway simulator")
    parser.add_argument("--data", type=Path, help="keep state here (default: a temporary folder)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary data folder (tickets, logs) after Ctrl-C"
    )
    parser.add_argument(
        "--scale", type=float, help="size of the kiosk and hall display windows (default: fit the screen)"
    )
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
            command = [sys.executable, "-m", "hub.central_sim", "--port", str(central_port)]
            command += ["--journal", str(data_dir / "central-journal.jsonl")]
            if not start_simulator(children, "central-sim", command, data_dir, central_url):
                return 1
        notify_url: str | None = None
        if importlib.util.find_spec("hub.notify_sim") is not None:
            notify_port = find_free_port(args.notify_port)
            notify_url = f"http://127.0.0.1:{notify_port}"
            command = [sys.executable, "-m", "hub.notify_sim", "--port", str(notify_port)]
            if not start_simulator(children, "notify-sim", command, data_dir, notify_url):
                return 1
        config, logins = hub_config(data_dir, mqtt_port, http_port, central_url, notify_url)
        hub_toml = _write_toml(data_dir / "hub.toml", config)
        hub = start_required(
            children, "hub", [sys.executable, "-m", "hub", "-c", str(hub_toml)], data_dir / "hub.log"
        )
        web = f"http://127.0.0.1:{http_port}"
        if not wait_healthy(f"{web}/healthz", hub):
            print(f"motcua demo: the hub did not start; see {hub.log_path}", file=sys.stderr)
            sys.stderr.write(hub.log_path.read_text(encoding="utf-8", errors="replace")[-3000:])
            return 1
        scale = 1.0 if args.headless else (args.scale or window_scale())
        for child in device_children(data_dir, mqtt_port, http_port, args.headless, scale):
            children.append(child)
            child.start()

        print(f"MQTT: {broker.url}")
        print(f"Web: {web}")
        print("Web is plain HTTP (no TLS): fine for this demo on one machine; a site's hub serves HTTPS.")
        if central_url is not None:
            print(f"Central: {central_url}")
        if notify_url is not None:
            print(f"Notify: {notify_url}")
            print(f"Messages to citizens (SMS, Web Push): {notify_url}/messages · Booking: {web}/book")
        for username, password in logins.items():
            print(f"Officer login: {username} / {password}")
        kept = "kept after Ctrl-C" if not temporary or args.keep else "deleted on Ctrl-C unless --keep"
        print(f"Data: {data_dir} ({kept})")
        print(f"Every screen (kiosk, hall display, LED boards, printed tickets): {web}/demo")
        print(f"Officer console: {web}/counter/1 · Public board: {web}/results · Ctrl-C to stop")
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
        if temporary and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
            print(f"motcua demo: deleted the data folder {data_dir} (--keep keeps it)", flush=True)
        else:
            print(f"motcua demo: the data folder stays: {data_dir}", flush=True)
        print("motcua demo: stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
