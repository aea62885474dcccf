"""A real hub with its web pages and a head of office (`truongbp`), driven over HTTP by the admin
and office tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import requests
from werkzeug.security import generate_password_hash

from tests.support.hub import HubProcess, write_config

PASSWORD = "mat-khau-thu-nghiem"
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


class AdminSite:
    def __init__(self, tmp: Path, broker_port: int, config: dict[str, Any]) -> None:
        for officer in config["officers"]:
            officer["password_hash"] = FAST_HASH
        config["officers"].append(
            {"username": "truongbp", "name": "Phạm Thu Hà", "head": True, "password_hash": FAST_HASH}
        )
        self.config_path = write_config(tmp, config)
        self.base = f"http://127.0.0.1:{config['hub']['http_port']}"
        self.broker_port = broker_port
        self.hub: HubProcess | None = None

    def start(self) -> None:
        self.hub = HubProcess(self.config_path, web=True).start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.hub is not None:
            self.hub.stop()
            self.hub = None

    def restart(self) -> None:
        assert self.hub is not None
        self.stop()
        self.start()

    def kill_and_start(self) -> None:
        assert self.hub is not None
        self.hub.kill()  # SIGKILL: nothing is flushed on the way out
        self.start()

    def req(self, method: str, path: str, user: str | None = "truongbp", **kwargs: Any) -> requests.Response:
        """`user` None: anonymous."""
        auth = (user, PASSWORD) if user else None
        return requests.request(method, self.base + path, auth=auth, timeout=15, **kwargs)

    def ok(self, method: str, path: str, user: str | None = "truongbp", **kwargs: Any) -> Any:
        response = self.req(method, path, user, **kwargs)
        assert response.status_code in (200, 201), response.text
        return response.json()
