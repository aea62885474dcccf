"""Every route of the hub's web app answers a hostile body with a 4xx in the documented shape, never a
5xx (issue 14 item 7): a real hub in-process (Mosquitto, SQLite, the central simulator, the fleet),
its Flask url_map walked route by route, anonymous and as the administrator."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.security import generate_password_hash

from appliance.broker import PrivateBroker
from hub.central_sim import SimServer, SimState
from hub.daemon import Hub
from hub.site import HubConfig
from tests.support.hub import site_config

PASSWORD = "mat-khau-thu-nghiem"
ADMIN = {"Authorization": "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()}
DEEP = 30_000  # far past the parser's recursion limit, inside the 64 KiB body limit

HOSTILE_JSON: list[bytes] = [
    b"[" * DEEP + b"]" * DEEP,
    b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    b"[]",
    b'"text"',
    b"42",
    b"null",
    b"true",
    b"1e999999",
    b'{"service_id": NaN, "counter_id": Infinity}',
    b'{"service_id": "\\ud800", "code": "\\udfff"}',
    b"\xff\xfe\x00\x01",
    json.dumps(
        {
            "service_id": {"x": [1]},
            "priority": "yes",
            "priority_group": [[]],
            "request_id": {"a": 1},
            "to_service_id": [],
            "ticket_id": {},
            "code": {"x": 1},
            "hostname": 5,
            "score": "5",
        }
    ).encode(),
    json.dumps({"request_id": "x" * 5000, "code": "A" * 40_000}).encode(),
    b'{"code": "' + b"\\" * 100 + b'"',
]
HOSTILE_FORMS: list[bytes] = [
    b"a[b][c][d]=1&" * 200,
    b"%ff%fe=%00&username=" + b"x" * 10_000,
    b"action=call-next&reinstate=" + b"%00" * 100,
    b"=&=&&&==",
]
SAMPLE_VALUES = {
    "counter_id": "1",
    "action": "call-next",
    "device_id": "printer-1",
    "username": "canbo1",
    "code": "000.00.16.H19-261125-0001",
    "filename": "motcua.js",
}


@pytest.fixture
def app(tmp_path: Path, broker: PrivateBroker) -> Iterator[Flask]:
    sim = SimServer(SimState(seed=3)).start()
    config = site_config(tmp_path, broker.port, site="test")
    fast = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    for officer in config["officers"]:
        officer["password_hash"] = fast
    config["central"] = {"adapter": "opencps", "base_url": sim.url, "retry_base_s": 0.05, "retry_max_s": 0.2}
    hub = Hub(HubConfig.model_validate(config))
    hub.start(web=True)
    try:
        yield hub.web.app
    finally:
        hub.stop()
        sim.stop()


def _path(rule: Any, token: str) -> str:
    return _fill(str(rule.rule), {name: SAMPLE_VALUES.get(name, token) for name in rule.arguments})


def _fill(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        for converter in ("", "path:", "int:", "string:"):
            template = template.replace(f"<{converter}{name}>", value)
    return template


def test_no_route_answers_a_hostile_body_with_a_5xx(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    client = app.test_client()
    token = client.post("/api/v1/tickets", json={"service_id": "dat-dai"}).get_json()["token"]
    failures: list[str] = []
    tried = 0
    caplog.set_level(logging.INFO)
    for rule in app.url_map.iter_rules():
        path = _path(rule, token)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method == "GET" and path.endswith("/events"):
                continue  # a live stream: it does not end on its own
            bodies = [(body, "application/json") for body in HOSTILE_JSON]
            bodies += [(body, "application/x-www-form-urlencoded") for body in HOSTILE_FORMS]
            bodies += [(HOSTILE_JSON[0], "text/plain")]
            for body, content_type in bodies:
                for headers in ({}, ADMIN):
                    tried += 1
                    reply = client.open(
                        path,
                        method=method,
                        data=body,
                        headers={**headers, "Content-Type": content_type, "Accept": "application/json"},
                    )
                    who = "admin" if headers else "anonymous"
                    where = f"{method} {path} [{content_type}, {who}] {body[:30]!r}"
                    if reply.status_code >= 500 and reply.status_code != 503:
                        failures.append(f"{reply.status_code} {where}")
                    elif path.startswith("/api/") and reply.status_code >= 400:
                        answer = reply.get_json(silent=True)
                        if not (
                            isinstance(answer, dict)
                            and answer.get("ok") is False
                            and isinstance(answer.get("error", {}).get("code"), str)
                            and isinstance(answer["error"].get("message"), str)
                        ):
                            failures.append(f"{reply.status_code} not the error shape: {where}")
    assert tried > 1000
    assert not failures, "\n".join(failures[:40])
    tracebacks = [record for record in caplog.records if record.exc_info]
    assert not tracebacks, tracebacks[0].getMessage()
