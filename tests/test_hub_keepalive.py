"""The hub's web server keeps connections alive (issue 20): a console does action after action on
one connection (over HTTPS that is one handshake, not one per action), event streams still stream,
one address still cannot hold more than its share of connections, and a connection left idle is
closed after `idle_timeout_s`. Real hub process, real sockets."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from appliance.broker import PrivateBroker
from tests.support.hub import running_hub, site_config, write_config

PASSWORD = "mot-mat-khau-du-dai"
BASIC = "Basic " + base64.b64encode(f"canbo1:{PASSWORD}".encode()).decode()
CAP = 4


@pytest.fixture
def port(tmp_path: Path, broker: PrivateBroker) -> Iterator[int]:
    config = site_config(tmp_path, broker.port, limits={"connections_per_address": CAP, "idle_timeout_s": 2})
    fast_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    for officer in config["officers"]:
        officer["password_hash"] = fast_hash
    with running_hub(write_config(tmp_path, config), web=True):
        yield int(config["hub"]["http_port"])


def connect(port: int, source: str) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))


def ask(
    connection: http.client.HTTPConnection, method: str, path: str, body: object = None
) -> tuple[int, object]:
    headers = {"Authorization": BASIC, "Content-Type": "application/json"}
    sent = json.dumps(body).encode() if body is not None else None
    connection.request(method, path, body=sent, headers=headers)
    response = connection.getresponse()
    data = response.read()
    return response.status, json.loads(data) if data else None


def test_a_console_keeps_its_connection_from_action_to_action(port: int) -> None:
    connection = connect(port, "127.0.0.31")
    status, ticket = ask(connection, "POST", "/api/v1/tickets", {"service_id": "dat-dai"})
    assert status == 201, ticket
    assert connection.sock is not None  # the hub did not close it after answering
    kept = connection.sock
    for method, path, body in (
        ("POST", "/api/v1/counters/1/open", {}),
        ("POST", "/api/v1/counters/1/call-next", {}),
        ("GET", "/api/v1/counters/1", None),
    ):
        status, answer = ask(connection, method, path, body)
        assert status == 200, answer
        assert connection.sock is kept  # the same connection, action after action
    assert isinstance(answer, dict) and isinstance(ticket, dict)
    assert answer["serving"]["number"] == ticket["number"]
    connection.close()


def test_an_event_stream_still_streams_on_a_kept_connection(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.32", 0)) as raw:
        body = b'{"service_id": "dat-dai"}'
        raw.sendall(
            b"POST /api/v1/tickets HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        head, _, rest = _read_until(raw, b"\r\n\r\n").partition(b"\r\n\r\n")
        length = int(_headers(head)["content-length"])
        while len(rest) < length:
            rest += raw.recv(4096)
        token = json.loads(rest[:length])["token"]
        # The same connection now opens the ticket's live page stream.
        raw.sendall(
            f"GET /t/{token}/events HTTP/1.1\r\nHost: hub\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        stream = _read_until(raw, b"event: ticket")
        assert stream.startswith(b"HTTP/1.1 200") and b"text/event-stream" in stream
        # A stream has no length: the connection ends with it, and says so.
        assert _headers(stream.partition(b"\r\n\r\n")[0]).get("connection") == "close"


def test_one_address_still_cannot_hold_more_than_its_connections(port: int) -> None:
    held = [connect(port, "127.0.0.33") for _ in range(CAP)]
    for connection in held:
        assert ask(connection, "GET", "/api/v1/queue")[0] == 200  # each kept alive, idle now
    extra = connect(port, "127.0.0.33")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        ask(extra, "GET", "/api/v1/queue")
    # Another machine is served meanwhile, and a connection given back makes room again.
    assert ask(connect(port, "127.0.0.34"), "GET", "/api/v1/queue")[0] == 200
    held.pop().close()
    time.sleep(0.2)  # the hub notices the close
    assert ask(connect(port, "127.0.0.33"), "GET", "/api/v1/queue")[0] == 200


def test_a_kept_connection_left_idle_is_closed_after_the_timeout(port: int) -> None:
    connection = connect(port, "127.0.0.35")
    assert ask(connection, "GET", "/api/v1/queue")[0] == 200
    assert connection.sock is not None
    started = time.monotonic()
    assert connection.sock.recv(1) == b""  # the hub closed it (idle_timeout_s = 2)
    assert time.monotonic() - started < 8


def _read_until(raw: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = raw.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _headers(head: bytes) -> dict[str, str]:
    """An answer's headers, names and values lower-cased."""
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {
        name.strip().lower(): value.strip().lower() for name, _, value in (x.partition(":") for x in lines)
    }
