"""The hub's web app on a real socket (serve()): HTTP with urllib and server-sent events read off the
wire as a browser would, including keep-alives and a prompt end on shutdown."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.client import HTTPResponse
from pathlib import Path
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from hub.service import QueueService
from hub.site import HubConfig
from hub.web import WebServer, create_app, serve
from tests.support.hub import site_config

PASSWORD = "mat-khau-thu-nghiem"
AUTH = "Basic " + base64.b64encode(f"canbo1:{PASSWORD}".encode()).decode()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[WebServer, QueueService]]:
    config = site_config(tmp_path, 1883)
    fast_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    for officer in config["officers"]:
        officer["password_hash"] = fast_hash
    service = QueueService(HubConfig.model_validate(config), tmp_path / "hub.db")
    app = create_app(service, broker_connected=lambda: True)
    app.extensions["motcua_web"].keepalive_s = 0.5  # so the test sees one without waiting 15 s
    server = serve(app, "127.0.0.1", 0)
    yield server, service
    server.shutdown()
    service.close()


def request(
    base: str, path: str, body: dict[str, Any] | None = None, *, auth: bool = False, method: str | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = AUTH
    data = json.dumps(body).encode() if body is not None else None
    prepared = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(prepared, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


class EventReader:
    """Reads `event:`/`data:` blocks and comments off an open text/event-stream response."""

    def __init__(self, response: HTTPResponse) -> None:
        self.response = response

    def next(self) -> tuple[str, Any]:
        """(event name, decoded data) of the next event, or ("comment", text) for a comment line."""
        name, data = "message", None
        while True:
            line = self.response.readline().decode("utf-8")
            if line == "":
                raise EOFError("stream closed")
            line = line.rstrip("\n")
            if line.startswith(":"):
                return "comment", line[1:].strip()
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and data is not None:
                return name, data

    def next_event(self, name: str) -> Any:
        while True:
            kind, data = self.next()
            if kind == name:
                return data


def open_stream(base: str, path: str, *, auth: bool = False) -> EventReader:
    headers = {"Accept": "text/event-stream"}
    if auth:
        headers["Authorization"] = AUTH
    response = urllib.request.urlopen(urllib.request.Request(base + path, headers=headers), timeout=5)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return EventReader(response)


def test_http_api_over_a_real_socket(running: tuple[WebServer, QueueService]) -> None:
    server, _ = running
    base = server.url
    with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
        assert response.status == 200 and json.load(response)["broker_connected"] is True
    status, ticket = request(base, "/api/v1/tickets", {"service_id": "ho-tich", "priority_group": "elderly"})
    assert status == 201 and ticket["number"] == "2001" and ticket["priority"] is True
    status, error = request(base, "/api/v1/counters/3/call-next", {}, auth=True, method="POST")
    assert status == 403 and error["error"]["code"] == "not_your_counter"  # canbo1 has counters 1 and 2
    status, error = request(base, "/api/v1/counters/1/call-next", {}, method="POST")
    assert status == 401
    with urllib.request.urlopen(base + "/metrics", timeout=5) as response:
        assert b'motcua_tickets_issued_today{service="ho-tich"} 1.0' in response.read()


def test_ticket_page_stream_follows_only_its_own_ticket(running: tuple[WebServer, QueueService]) -> None:
    server, _ = running
    base = server.url
    _, ahead = request(base, "/api/v1/tickets", {"service_id": "dat-dai"})
    _, mine = request(base, "/api/v1/tickets", {"service_id": "dat-dai"})
    stream = open_stream(base, f"/t/{mine['token']}/events")
    first = stream.next_event("ticket")
    assert (first["number"], first["status"], first["ahead"]) == (mine["number"], "waiting", 1)

    # Another service's ticket changes nothing for this page; the one ahead being called does.
    request(base, "/api/v1/tickets", {"service_id": "chung-thuc"})
    status, called = request(base, "/api/v1/counters/1/call-next", {}, auth=True, method="POST")
    assert status == 200 and called["ticket"]["number"] == ahead["number"]
    update = stream.next_event("ticket")
    assert (update["status"], update["ahead"]) == ("waiting", 0)

    request(base, "/api/v1/counters/2/call-next", {}, auth=True, method="POST")
    update = stream.next_event("ticket")
    assert update["status"] == "called" and update["counter_name"] == "2"
    assert set(update) >= {"number", "service_name", "estimated_wait_s", "counter_id"}
    assert "token" not in update and "id" not in update
    assert stream.next() == ("comment", "keep-alive")  # nothing else happened: only keep-alives
    stream.response.close()

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base + "/t/not-a-ticket/events", timeout=5)
    assert refused.value.code == 404


def test_console_stream_wakes_the_page_and_ends_on_shutdown(running: tuple[WebServer, QueueService]) -> None:
    server, service = running
    base = server.url
    stream = open_stream(base, "/counter/1/events", auth=True)
    assert stream.next_event("hello")["counter_id"] == "1"
    assert stream.next() == ("comment", "keep-alive")
    request(base, "/api/v1/tickets", {"service_id": "dat-dai"})
    event = stream.next_event("queue")
    assert event["type"] == "ticket.issued" and "ticket" not in event  # the page fetches the view
    service.call("counter.call_next", {"counter_id": "1"}, caller_id="test")
    assert stream.next_event("queue")["type"] == "ticket.called"
    _, view = request(base, "/api/v1/counters/1", auth=True)
    assert view["serving"]["number"] == "1001"

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base + "/counter/1/events", timeout=5)  # no login
    assert refused.value.code == 401

    started = time.monotonic()
    server.shutdown()
    with pytest.raises(EOFError):
        while True:  # the stream ends instead of holding a thread for ever
            stream.next()
    assert time.monotonic() - started < 5
