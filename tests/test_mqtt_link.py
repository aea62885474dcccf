"""appliance.mqtt.Link against a real Mosquitto: will, birth, reconnects, sessions, bad handlers."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.mqtt import Observer, state_is, wait_until

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link, Message, PayloadError, check_version, decode_json
from appliance.topics import Topics

SITE = "site"
TOPICS = Topics(SITE)
REPO = Path(__file__).resolve().parents[1]


def make_link(
    settings: MqttSettings, device_id: str = "dev-1", role: str = "printer", **kwargs: object
) -> Link:
    return Link(settings, site=SITE, device_id=device_id, role=role, **kwargs)  # type: ignore[arg-type]


class Inbox:
    """A handler that records messages and lets a test wait for the n-th one."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._changed = threading.Condition()

    def __call__(self, message: Message) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def wait(self, count: int, timeout: float = 5.0) -> list[Message]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.messages) >= count, timeout), self.messages
            return list(self.messages)

    def wait_for_topic(self, topic: str, timeout: float = 5.0) -> list[Message]:
        with self._changed:
            arrived = self._changed.wait_for(lambda: any(m.topic == topic for m in self.messages), timeout)
            assert arrived, self.messages
            return list(self.messages)


def test_birth_is_retained_and_stop_leaves_offline(
    broker: PrivateBroker, mqtt_settings: MqttSettings
) -> None:
    state = TOPICS.device_state("dev-1")
    link = make_link(mqtt_settings, version="9.9.9")
    with Observer(broker.port, state) as early, link:
        body = early.wait_for(state_is(True)).json()
        assert body["v"] == 1 and body["role"] == "printer" and body["version"] == "9.9.9"
        assert body["ts"].endswith("+07:00")
        assert link.wait_connected(5)
        with Observer(broker.port, state) as late:  # the broker has it now: it must be retained
            assert late.wait_for(state_is(True)).retain
    assert not link.connected
    link.stop()  # idempotent
    with Observer(broker.port, state) as later:  # stop() waited for the broker's PUBACK
        assert later.wait_for(state_is(False)).retain


CHILD = """
import sys, time
from appliance.config import MqttSettings
from appliance.mqtt import Link
link = Link(MqttSettings(port=int(sys.argv[1])), site="site", device_id="victim", role="scanner")
link.start()
link.wait_connected(10)
time.sleep(60)
"""


def test_will_fires_retained_offline_after_kill_9(broker: PrivateBroker) -> None:
    with Observer(broker.port, TOPICS.device_state("victim")) as watcher:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(broker.port)], cwd=REPO)
        try:
            watcher.wait_for(state_is(True), timeout=15)
            count = len(watcher.messages)
            child.kill()  # SIGKILL: no chance to say goodbye
            will = watcher.wait_for(state_is(False), after=count)
        finally:
            child.kill()
            child.wait()
    assert will.json()["role"] == "scanner"
    with Observer(broker.port, TOPICS.device_state("victim")) as late:
        assert late.wait_for(state_is(False)).retain


def test_reconnects_after_broker_restart_with_birth_health_and_subscriptions(
    broker: PrivateBroker, mqtt_settings: MqttSettings
) -> None:
    link = make_link(mqtt_settings)
    inbox = Inbox()
    link.subscribe(TOPICS.device_commands("dev-1"), inbox)
    changes: list[bool] = []
    back = threading.Event()
    link.on_connection_change(lambda up: (changes.append(up), up and len(changes) > 1 and back.set()))
    with link:
        assert link.wait_connected(5)
        link.publish_health({"paper": "ok"})
        broker.restart()  # no persistence: every retained message is gone
        assert back.wait(10), changes
        assert changes == [True, False, True]
        with Observer(broker.port, TOPICS.device_state("dev-1"), TOPICS.device_health("dev-1")) as late:
            late.wait_for(state_is(True))  # birth re-sent
            health = late.wait_for(lambda seen: seen.topic.endswith("/health")).json()
            assert health["paper"] == "ok" and health["v"] == 1
            late.publish(TOPICS.device_commands("dev-1"), b'{"v":1,"cmd":"identify"}')
        assert inbox.wait(1)[0].json()["cmd"] == "identify"


def test_starts_before_the_broker_and_connects_when_it_comes_up(tmp_path: Path) -> None:
    broker = PrivateBroker(data_dir=tmp_path)
    settings = MqttSettings(port=broker.port, reconnect_min=0.05, reconnect_max=0.2)
    with make_link(settings) as link:
        assert not link.wait_connected(0.2)
        with broker:
            assert link.wait_connected(5)


def test_persistent_session_receives_qos1_published_while_offline(
    broker: PrivateBroker, mqtt_settings: MqttSettings
) -> None:
    jobs = TOPICS.print_jobs("printer-1")

    def printer(inbox: Inbox, *, commands_first: bool = False) -> Link:
        link = make_link(mqtt_settings, "printer-1", clean_start=False, session_expiry=300)
        if commands_first:  # a newer version subscribing in another order must still route the queue
            link.subscribe(TOPICS.device_commands("printer-1"), Inbox())
        link.subscribe(jobs, inbox)
        return link

    first = Inbox()
    with printer(first) as link:
        assert link.wait_connected(5)
    with Observer(broker.port) as hub:  # the printer is away: the hub sends three jobs
        for number in range(3):
            hub.publish(jobs, f'{{"v":1,"job_id":"j{number}"}}')
    second = Inbox()
    with printer(second, commands_first=True):
        received = second.wait(3)
    assert [message.json()["job_id"] for message in received] == ["j0", "j1", "j2"]
    assert first.messages == []


def test_handler_exception_is_logged_with_topic_and_loop_survives(
    broker: PrivateBroker, mqtt_settings: MqttSettings, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox()

    def fragile(message: Message) -> None:
        inbox(message)
        if message.payload == b"boom":
            raise ValueError("cannot handle this")

    topic = TOPICS.scans("scanner-1")
    link = make_link(mqtt_settings)
    link.subscribe(topic, fragile)
    with link, Observer(broker.port) as other:
        assert link.wait_connected(5)
        with caplog.at_level(logging.ERROR, logger="appliance.mqtt"):
            other.publish(topic, b"boom")
            other.publish(topic, b"fine")
            assert [m.payload for m in inbox.wait(2)] == [b"boom", b"fine"]
        errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
        assert (
            len(errors) == 1
            and topic in errors[0].getMessage()
            and "cannot handle this" in errors[0].getMessage()
        )
        assert link.connected


def test_overlapping_filters_call_each_handler_once(
    broker: PrivateBroker, mqtt_settings: MqttSettings
) -> None:
    wide, narrow = Inbox(), Inbox()
    link = make_link(mqtt_settings)
    link.subscribe(TOPICS.all_devices("state"), narrow)
    link.subscribe(f"{TOPICS.root}/#", wide)
    with link, Observer(broker.port) as other:
        assert link.wait_connected(5)
        other.publish(TOPICS.device_state("x"), b"{}")
        # A marker only `wide` sees, sent after the state: once it is in, no copy is still in flight.
        other.publish(TOPICS.scans("x"), b"{}")
        wide_seen = wide.wait_for_topic(TOPICS.scans("x"))
    watched = {TOPICS.device_state("x"), TOPICS.scans("x")}
    assert [m.topic for m in wide_seen if m.topic in watched] == [
        TOPICS.device_state("x"),
        TOPICS.scans("x"),
    ]
    assert [m.topic for m in narrow.messages].count(TOPICS.device_state("x")) == 1


def test_second_handler_on_a_filter_still_gets_the_retained_state(
    broker: PrivateBroker, mqtt_settings: MqttSettings
) -> None:
    with Observer(broker.port) as hub:
        hub.publish(TOPICS.queue_state, b'{"v":1,"seq":7}', retain=True)
    first, second = Inbox(), Inbox()
    with make_link(mqtt_settings) as link:
        link.subscribe(TOPICS.queue_state, first)
        assert first.wait(1)[0].retain
        link.subscribe(TOPICS.queue_state, second)
        assert second.wait(1)[0].json()["seq"] == 7


def test_sets_tcp_nodelay_on_its_socket(mqtt_settings: MqttSettings) -> None:
    with make_link(mqtt_settings) as link:
        assert link.wait_connected(5)
        sock = link._client.socket()  # paho's socket; the option is the whole point of the test
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_publish_json_keeps_vietnamese_readable(broker: PrivateBroker, mqtt_settings: MqttSettings) -> None:
    topic = TOPICS.queue_events
    with make_link(mqtt_settings, "hub", "hub") as link, Observer(broker.port, topic) as watcher:
        assert link.wait_connected(5)
        link.publish_json(topic, {"v": 1, "counter_name": "Quầy số 3"}).wait_for_publish(5)
        seen = watcher.wait_for(lambda _: True)
    assert "Quầy số 3".encode() in seen.payload


def test_stop_before_start_and_unreachable_broker_are_quiet() -> None:
    Link(MqttSettings(port=1), site=SITE, device_id="d", role="kiosk").stop()
    unreachable = make_link(MqttSettings(port=_closed_port(), reconnect_min=0.05, reconnect_max=0.1))
    unreachable.start()
    assert not unreachable.wait_connected(0.3)
    unreachable.stop()
    assert not unreachable.connected


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------- payload helpers (no broker)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"x" * 65537, "payload_too_large"),
        (b"{not json", "bad_json"),
        (b"\xff\xfe{}", "bad_json"),
        (b'{"a": NaN}', "bad_json"),
        (b"[" * 60000 + b"]" * 60000, "payload_too_large"),
        (b"[" * 30000 + b"]" * 30000, "bad_json"),
        (b"[1, 2]", "bad_request"),
        (b'"text"', "bad_request"),
    ],
)
def test_decode_json_rejects_with_a_code(payload: bytes, code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        decode_json(payload)
    assert caught.value.code == code


def test_decode_json_accepts_objects_and_a_custom_limit() -> None:
    assert decode_json('{"tên": "Nguyễn Văn A"}'.encode()) == {"tên": "Nguyễn Văn A"}
    with pytest.raises(PayloadError, match="payload_too_large"):
        decode_json(b'{"a": 1}', max_size=4)


@pytest.mark.parametrize("version", [2, 0, "1", True, 1.5, None])
def test_check_version_rejects_other_versions(version: object) -> None:
    with pytest.raises(PayloadError) as caught:
        check_version({"v": version})
    assert caught.value.code == "unsupported_version"


def test_check_version_accepts_one_or_missing() -> None:
    assert check_version({"v": 1, "a": 2}) == {"v": 1, "a": 2}
    assert check_version({}) == {}


def test_publishing_status_follows_the_brokers_acknowledgements(
    broker: PrivateBroker, mqtt_settings: MqttSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    from appliance import publishing as publishing_module

    monkeypatch.setattr(publishing_module, "PUBLISH_STALL_S", 0.5)
    link = make_link(mqtt_settings)
    with link:
        assert link.wait_connected(5)
        for index in range(200):  # QoS 1 and QoS 0 mixed, as the hub sends them
            link.publish(f"{TOPICS.root}/x", str(index).encode(), qos=index % 2)
        wait_until(lambda: link.publishing().backlog == 0)
        assert link.publishing().healthy and link.publishing().last_ack_age_s is not None

        assert broker._process is not None
        broker._process.send_signal(signal.SIGSTOP)  # the socket stays up; nothing is acknowledged
        try:
            link.publish(f"{TOPICS.root}/x", b"stuck", qos=1)
            wait_until(lambda: link.publishing().stalled, timeout=3)
            assert link.connected and not link.publishing().healthy
        finally:
            broker._process.send_signal(signal.SIGCONT)
        wait_until(lambda: link.publishing().healthy, timeout=5)

        broker.restart()  # a reconnect leaves no stale bookkeeping behind
        wait_until(lambda: link.connected, timeout=10)
        for index in range(100):
            link.publish(f"{TOPICS.root}/x", str(index).encode(), qos=1)
        wait_until(lambda: link.publishing().backlog == 0)
        time.sleep(0.6)
        assert link.publishing().healthy
