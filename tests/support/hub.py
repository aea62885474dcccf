"""Run a real hub for tests: the sample site's TOML with test ports and paths."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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
    """`python -m hub` in a subprocess; ready once it printed its ready line."""

    def __init__(self, config_path: Path, *, web: bool = False) -> None:
        self.config_path = config_path
        self.web = web
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

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
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if line.startswith("Hub ready"):
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
def running_hub(config_path: Path, *, web: bool = False) -> Iterator[HubProcess]:
    hub = HubProcess(config_path, web=web).start()
    try:
        yield hub
    finally:
        hub.stop()
