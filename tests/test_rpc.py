"""appliance.rpc over a real Mosquitto: paho clients, the mosquitto_rr CLI, and raw malformed requests."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from support.mqtt import Observer

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient, RpcError, RpcRequest, RpcServer, RpcTimeout
from appliance.topics import Topics

SITE = "site"
TOPICS = Topics(SITE)
REPLIES = TOPICS.device_replies("raw")


@dataclass
class Hub:
    """Handlers with observable side effects, like the real hub's."""

    requests: list[RpcRequest] = field(default_factory=list)
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def echo(self, request: RpcRequest) -> dict[str, object]:
        self.requests.append(request)
        return {"params": request.params, "caller": request.caller_id, "request_id": request.request_id}

    def refuse(self, request: RpcRequest) -> dict[str, object]:
        raise RpcError.from_key(
            "unknown_service", request.language, service_id=request.params.get("service_id")
        )

    def crash(self, request: RpcRequest) -> dict[str, object]:
        raise KeyError("bug in a handler")

    def slow(self, request: RpcRequest) -> dict[str, object]:
        self.entered.set()
        self.release.wait(10)
        return {"late": True}

    def handlers(self) -> dict[str, object]:
        return {"echo": self.echo, "refuse": self.refuse, "crash": self.crash, "slow": self.slow}


@pytest.fixture
def hub() -> Hub:
    return Hub()


@pytest.fixture
def server(mqtt_settings: MqttSettings, hub: Hub) -> Iterator[RpcServer]:
    link = Link(mqtt_settings, site=SITE, device_id="hub", role="hub")
    rpc = RpcServer(link, hub.handlers(), workers=4)  # type: ignore[arg-type]
    with link:
        assert link.wait_connected(5)
        yield rpc
        hub.release.set()
        rpc.close()


@pytest.fixture
def client(mqtt_settings: MqttSettings, server: RpcServer) -> Iterator[RpcClient]:
    link = Link(mqtt_settings, site=SITE, device_id="kiosk-1", role="kiosk")
    rpc = RpcClient(link, default_timeout=5)
    with link:
        assert link.wait_connected(5)
        yield rpc
        rpc.close()


@pytest.fixture
def raw(broker: PrivateBroker, server: RpcServer) -> Iterator[Observer]:
    with Observer(broker.port, REPLIES) as observer:
        yield observer


def raw_call(raw: Observer, method: str, payload: bytes, correlation: bytes = b"c-1") -> dict[str, object]:
    start = len(raw.messages)
    raw.publish(TOPICS.rpc("raw", method), payload, response_topic=REPLIES, correlation=correlation)
    reply = raw.wait_for(lambda seen: seen.correlation == correlation, after=start)
    return reply.json()


# ---------------------------------------------------------------- happy path


def test_round_trip_through_paho(client: RpcClient, hub: Hub) -> None:
    result = client.call("echo", {"service_id": "ho-tich", "lang": "en"}, request_id="r-1")
    assert result == {"params": {"service_id": "ho-tich"}, "caller": "kiosk-1", "request_id": "r-1"}
    (request,) = hub.requests
    assert request.language == "en" and request.method == "echo"


def test_mosquitto_rr_can_call(broker: PrivateBroker, server: RpcServer) -> None:
    tool = shutil.which("mosquitto_rr")
    assert tool, "mosquitto-clients is a declared system package"
    completed = subprocess.run(
        [
            tool,
            "-p",
            str(broker.port),
            "-t",
            TOPICS.rpc("cli", "echo"),
            "-e",
            TOPICS.device_replies("cli"),
            "-m",
            '{"v":1,"service_id":"đất-đai"}',
            "-W",
            "5",
        ],
        capture_output=True,
        timeout=15,
        check=True,
    )
    reply = json.loads(completed.stdout)
    assert reply == {
        "v": 1,
        "ok": True,
        "result": {"params": {"service_id": "đất-đai"}, "caller": "cli", "request_id": None},
    }


# ---------------------------------------------------------------- malformed requests


@pytest.mark.parametrize(
    ("method", "payload", "code"),
    [
        ("echo", b"{not json", "bad_json"),
        ("echo", b"x" * (64 * 1024 + 1), "payload_too_large"),
        ("echo", b"[1,2,3]", "bad_request"),
        ("echo", b'{"v":2}', "unsupported_version"),
        ("no.such", b'{"v":1}', "unknown_method"),
        ("echo", b'{"v":1,"request_id":{"x":1}}', "bad_request"),
    ],
)
def test_malformed_requests_get_an_error_code(raw: Observer, method: str, payload: bytes, code: str) -> None:
    reply = raw_call(raw, method, payload)
    assert reply["v"] == 1 and reply["ok"] is False
    error = reply["error"]
    assert isinstance(error, dict) and error["code"] == code
    assert error["message"] and error["message"] != error["message_en"]  # Vietnamese first, English too


def test_error_message_follows_the_requested_language(raw: Observer) -> None:
    reply = raw_call(raw, "no.such", b'{"v":1,"lang":"en"}')
    assert reply["error"] == {
        "code": "unknown_method",
        "message": "There is no method “no.such”.",
        "message_en": "There is no method “no.such”.",
        "details": {"method": "no.such"},
    }
    reply = raw_call(raw, "no.such", b'{"v":1}', correlation=b"c-2")
    assert reply["error"]["message"] == "Không có chức năng “no.such”."  # type: ignore[index]


def test_request_without_response_topic_is_dropped_and_server_keeps_serving(
    raw: Observer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="appliance.rpc"):
        raw.publish(TOPICS.rpc("raw", "echo"), b'{"v":1}')
        assert raw_call(raw, "echo", b'{"v":1,"n":1}')["ok"] is True
    dropped = [r for r in caplog.records if "no Response Topic" in r.getMessage()]
    assert len(dropped) == 1 and TOPICS.rpc("raw", "echo") in dropped[0].getMessage()


def test_handler_rpc_error_becomes_an_error_reply(client: RpcClient) -> None:
    with pytest.raises(RpcError) as caught:
        client.call("refuse", {"service_id": "xyz"})
    assert caught.value.code == "unknown_service"
    assert caught.value.message == "Không có dịch vụ “xyz”."
    assert caught.value.message_en == "There is no service “xyz”."


def test_handler_crash_is_internal_and_server_keeps_serving(
    client: RpcClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="appliance.rpc"), pytest.raises(RpcError) as caught:
        client.call("crash")
    assert caught.value.code == "internal"
    assert "bug in a handler" not in caught.value.message  # internals stay in the log
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (
        len(errors) == 1
        and "crash" in errors[0].getMessage()
        and "bug in a handler" in errors[0].getMessage()
    )
    assert client.call("echo", {"after": "crash"})["params"] == {"after": "crash"}


# ---------------------------------------------------------------- time and availability


def test_timeout_raises_rpc_timeout(client: RpcClient, hub: Hub) -> None:
    with pytest.raises(RpcTimeout) as caught:
        client.call("slow", timeout=0.3)
    assert caught.value.code == "timeout" and isinstance(caught.value, TimeoutError)
    assert hub.entered.is_set()
    hub.release.set()
    assert client.call("echo", {"n": 2})["params"] == {"n": 2}  # the late reply confused nothing


def test_not_connected_fails_fast_with_unavailable(mqtt_settings: MqttSettings) -> None:
    link = Link(mqtt_settings, site=SITE, device_id="kiosk-2", role="kiosk")  # never started
    started = time.monotonic()
    with pytest.raises(RpcError) as caught:
        RpcClient(link).call("echo", timeout=30)
    assert caught.value.code == "unavailable"
    assert time.monotonic() - started < 5  # far from the 30 s timeout


def test_losing_the_broker_fails_waiting_calls_with_unavailable(
    broker: PrivateBroker, client: RpcClient, hub: Hub
) -> None:
    outcome: list[BaseException] = []

    def waiting_call() -> None:
        try:
            client.call("slow", timeout=30)
        except RpcError as error:
            outcome.append(error)

    caller = threading.Thread(target=waiting_call)
    caller.start()
    assert hub.entered.wait(5)
    broker.kill()
    caller.join(10)
    assert not caller.is_alive(), "the call waited for its whole timeout"
    assert [error.code for error in outcome] == ["unavailable"]  # type: ignore[attr-defined]


def test_request_the_caller_gave_up_on_expires_instead_of_running_later(mqtt_settings: MqttSettings) -> None:
    issued: list[RpcRequest] = []

    def persistent_hub() -> tuple[Link, RpcServer]:
        link = Link(
            mqtt_settings, site=SITE, device_id="hub", role="hub", clean_start=False, session_expiry=60
        )
        return link, RpcServer(link, {"ticket.issue": issued.append})  # type: ignore[dict-item]

    kiosk = Link(mqtt_settings, site=SITE, device_id="kiosk-3", role="kiosk")
    client = RpcClient(kiosk)
    with kiosk:
        link, rpc = persistent_hub()
        with link:
            assert link.wait_connected(5) and kiosk.wait_connected(5)
        rpc.close()
        given_up_at = time.monotonic()
        with pytest.raises(RpcTimeout):
            client.call("ticket.issue", {"service_id": "a"}, timeout=1)  # the hub is away
        time.sleep(max(0.0, given_up_at + 2.2 - time.monotonic()))  # let the 1 s message expiry pass
        link, rpc = persistent_hub()
        with link:
            assert link.wait_connected(5)
            assert client.call("ticket.issue", {"service_id": "b"}) == {}
        rpc.close()
    assert [request.params for request in issued] == [{"service_id": "b"}]


def test_200_concurrent_calls_from_8_threads_are_all_matched(client: RpcClient) -> None:
    def batch(thread: int) -> list[tuple[dict[str, object], dict[str, object]]]:
        pairs = []
        for number in range(25):
            params = {"thread": thread, "number": number, "text": f"Số {thread}-{number}"}
            pairs.append((params, client.call("echo", params, request_id=f"{thread}-{number}")))
        return pairs

    with ThreadPoolExecutor(8) as pool:
        results = [pair for pairs in pool.map(batch, range(8)) for pair in pairs]
    assert len(results) == 200
    for params, result in results:
        assert result["params"] == params
        assert result["request_id"] == f"{params['thread']}-{params['number']}"


def test_overloaded_server_answers_at_once(
    mqtt_settings: MqttSettings, broker: PrivateBroker, hub: Hub
) -> None:
    link = Link(mqtt_settings, site=SITE, device_id="hub", role="hub")
    rpc = RpcServer(link, hub.handlers(), workers=1, max_pending=1)  # type: ignore[arg-type]
    with link, Observer(broker.port, REPLIES) as raw:
        assert link.wait_connected(5)
        raw.publish(TOPICS.rpc("raw", "slow"), b"{}", response_topic=REPLIES, correlation=b"busy")
        assert hub.entered.wait(5)
        reply = raw_call(raw, "echo", b"{}", correlation=b"second")
        hub.release.set()
        assert reply["error"]["code"] == "overloaded"  # type: ignore[index]
        assert raw.wait_for(lambda seen: seen.correlation == b"busy").json()["ok"] is True
    rpc.close()


def test_rpc_error_payload_round_trip() -> None:
    error = RpcError.from_key("counter_busy", counter=3, number="A023")
    assert error.to_payload() == {
        "code": "counter_busy",
        "message": "Quầy 3 đang phục vụ số A023: hãy hoàn thành hoặc chuyển trước.",
        "message_en": "Counter 3 is serving A023: complete or transfer it first.",
        "details": {"counter": 3, "number": "A023"},
    }
    again = RpcError.from_payload(error.to_payload())
    assert (again.code, again.message, again.message_en, again.details) == (
        error.code,
        error.message,
        error.message_en,
        error.details,
    )
    assert isinstance(RpcError.from_payload({"code": "timeout"}), RpcTimeout)
