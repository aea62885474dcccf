"""Run the province service for tests: `python -m province -c province.toml` in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from werkzeug.security import generate_password_hash

from appliance.broker import find_free_port
from province.config import render

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "tinh-admin-pass"
HEAD_PASSWORD = "truong-bo-phan"


def write_province_config(
    folder: Path,
    *,
    mqtt_port: int,
    dsn: str,
    client_id: str = "province-1",
    heads: dict[str, str] | None = None,
    mode: str = "leader",
) -> Path:
    """province.toml with admin / ADMIN_PASSWORD and a site head per `heads` (username → site)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{client_id}.toml"
    digest = generate_password_hash(HEAD_PASSWORD, method="pbkdf2:sha256:1000")
    path.write_text(
        render(
            mqtt_port=mqtt_port,
            dsn=dsn,
            web_port=find_free_port(),
            client_id=client_id,
            mode=mode,
            admin_password_hash=generate_password_hash(ADMIN_PASSWORD, method="pbkdf2:sha256:1000"),
            site_heads={user: (site, digest) for user, site in (heads or {}).items()},
        ),
        encoding="utf-8",
    )
    return path


class ProvinceProcess:
    def __init__(self, config_path: Path, *, web: bool = True) -> None:
        self.config_path = config_path
        self.web = web
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self.url: str | None = None

    def start(self, timeout: float = 30.0) -> ProvinceProcess:
        argv = [sys.executable, "-m", "province", "-c", str(self.config_path)]
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
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if line.startswith("Province web: "):
                self.url = line.split(": ", 1)[1].strip()
            if line.startswith("Province ready"):
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        self.kill()
        raise RuntimeError("province did not start:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def kill(self) -> None:
        """`kill -9`: no goodbye to the broker, nothing flushed."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
