"""Run a real hub for tests: the sample site's TOML with test ports and paths."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomli_w

from appliance.broker import find_free_port

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "hub" / "sample_site.toml"


def site_config(
    tmp: Path, mqtt_port: int, *, site: str = "test", http_port: int | None = None, **overrides: Any
) -> dict[str, Any]:
    config = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
    config["site"] = site
    config["mqtt"] = {"host": "127.0.0.1", "port": mqtt_port, "reconnect_min": 0.05, "reconnect_max": 0.5}
    port = http_port or find_free_port()
    config["hub"] = {
        "db": str(tmp / "hub.db"),
        "http_host": "127.0.0.1",
        "http_port": port,
        "public_url": f"http://127.0.0.1:{port}",
        "https": False,
    }
    for officer in config["officers"]:
        officer.pop("password_hash", None)
    # The sample's devices reach a site broker over TLS; test brokers are plain.
    for key in ("broker_tls", "broker_port", "broker_ca_file"):
        config.get("fleet", {}).pop(key, None)
    config.update(overrides)
    return config


def write_config(tmp: Path, config: dict[str, Any]) -> Path:
    path = tmp / "hub.toml"
    path.write_text(tomli_w.dumps(config), encoding="utf-8")
    return path


class HubProcess:
    """`python -m hub` in a subprocess; ready once it printed its ready line. `env` is laid over
    the test's environment (e.g. `FakeClock.env()`). After start a thread keeps reading the output
    into `output`, so a talkative hub never blocks on a full pipe."""

    def __init__(self, config_path: Path, *, web: bool = False, env: dict[str, str] | None = None) -> None:
        self.config_path = config_path
        self.web = web
        self.env = dict(env or {})
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._reader: threading.Thread | None = None

    def passwords(self) -> dict[str, str]:
        """The one-time officer passwords the hub printed at start (`Officer login created: …`)."""
        found: dict[str, str] = {}
        for line in list(self.output):
            if line.startswith("Officer login created: "):
                username, _, password = line.split(": ", 1)[1].strip().partition(" / ")
                found[username] = password
        return found

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def start(self, timeout: float = 30.0) -> HubProcess:
        argv = [sys.executable, "-m", "hub", "-c", str(self.config_path)]
        if not self.web:
            argv.append("--no-web")
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if line.startswith("Hub ready"):
                self._reader = threading.Thread(target=self._drain, name="hub-output", daemon=True)
                self._reader.start()
                return self
        self.kill()
        raise RuntimeError("hub did not start:\n" + "".join(self.output))

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextmanager
def running_hub(
    config_path: Path, *, web: bool = False, env: dict[str, str] | None = None
) -> Iterator[HubProcess]:
    hub = HubProcess(config_path, web=web, env=env).start()
    try:
        yield hub
    finally:
        hub.stop()


LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")


def find_libfaketime() -> Path | None:
    """libfaketime (Debian package `libfaketime`), or None where it is not installed."""
    for candidate in (
        LIBFAKETIME,
        *Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"),
        Path("/usr/lib/faketime/libfaketimeMT.so.1"),
    ):
        if candidate.exists():
            return candidate
    return None


class FakeClock:
    """The wall clock of the processes started with `env()`, moved while they run: libfaketime
    (LD_PRELOAD) reads the offset from a file on every call (FAKETIME_NO_CACHE), so `set_offset`
    steps the clock of a running hub the way NTP does. Monotonic time stays real."""

    def __init__(self, folder: Path) -> None:
        library = find_libfaketime()
        if library is None:
            raise RuntimeError("libfaketime is not installed (apt-get install libfaketime faketime)")
        self.library = library
        self.path = folder / "faketime.rc"
        self.offset_s = 0
        self.set_offset(0)

    def set_offset(self, seconds: int) -> None:
        """The faked clock = the real one + `seconds` (written atomically)."""
        self.offset_s = seconds
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(f"{seconds:+d}\n", encoding="ascii")
        temporary.replace(self.path)

    def env(self) -> dict[str, str]:
        return {
            "LD_PRELOAD": str(self.library),
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }


def issued_number(service: Any, service_id: str, **extra: Any) -> str:
    """A ticket taken at kiosk-1 of an in-process QueueService: its number."""
    result = service.call("ticket.issue", {"service_id": service_id, **extra}, caller_id="kiosk-1")
    return str(result["ticket"]["number"])


@contextmanager
def served_console(
    tmp: Path, password: str, *, extra_officers: tuple[dict[str, Any], ...] = ()
) -> Iterator[Any]:
    """The sample site's web side in this process (no broker) for browser tests: every officer, and
    `extra_officers`, log in with `password` (a fast hash). Yields (server, queue service)."""
    from werkzeug.security import generate_password_hash

    from hub.service import QueueService
    from hub.site import HubConfig
    from hub.web.app import create_app, serve

    config = site_config(tmp, 1883)
    fast_hash = generate_password_hash(password, method="pbkdf2:sha256:1000")
    config["officers"].extend(dict(officer) for officer in extra_officers)
    for officer in config["officers"]:
        officer["password_hash"] = fast_hash
    service = QueueService(HubConfig.model_validate(config), tmp / "hub.db")
    running = serve(create_app(service, broker_connected=lambda: True), "127.0.0.1", 0)
    try:
        yield running, service
    finally:
        running.shutdown()
        service.close()
