"""appliance.broker: the private Mosquitto that tests and `motcua demo` run."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from support.mqtt import Observer

from appliance.broker import BrokerError, PrivateBroker, find_free_port


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_start_stop_and_url(tmp_path: Path) -> None:
    broker = PrivateBroker(data_dir=tmp_path)
    with broker:
        assert broker.running and accepts(broker.port)
        assert broker.url == f"mqtt://127.0.0.1:{broker.port}"
        config = (tmp_path / "mosquitto.conf").read_text()
        assert "set_tcp_nodelay true" in config and "allow_anonymous true" in config
        assert "running" in (tmp_path / "mosquitto.log").read_text()
    assert not broker.running and not accepts(broker.port)
    broker.stop()  # idempotent
    broker.kill()


def test_two_brokers_get_different_free_ports() -> None:
    with PrivateBroker() as first, PrivateBroker() as second:
        assert first.port != second.port
        assert accepts(first.port) and accepts(second.port)


def test_restart_keeps_the_port_and_kill_is_abrupt(broker: PrivateBroker) -> None:
    port = broker.port
    broker.restart()
    assert broker.port == port and accepts(port)
    broker.kill()
    assert not broker.running and not accepts(port)
    broker.start()
    assert accepts(port)


def test_retained_messages_survive_restart_only_with_persistence(tmp_path: Path) -> None:
    topic = "motcua/v1/site/queue/state"
    for persistence, expected in [(True, True), (False, False)]:
        with PrivateBroker(data_dir=tmp_path / str(persistence), persistence=persistence) as broker:
            with Observer(broker.port) as hub:
                hub.publish(topic, b'{"v":1,"seq":1}', retain=True)
            broker.restart()
            # A marker published after the restart: once it arrives, a retained message would have too.
            with Observer(broker.port) as hub:
                hub.publish("marker", b"after restart", retain=True)
            with Observer(broker.port, topic, "marker") as device:
                device.wait_for(lambda seen: seen.topic == "marker")
                assert any(seen.topic == topic for seen in device.messages) is expected


def test_find_free_port_prefers_the_given_one_then_the_next() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        assert find_free_port(busy) != busy
        assert find_free_port(busy) > busy
    free = find_free_port(None)
    assert find_free_port(free) == free


def test_a_taken_fixed_port_fails_clearly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        broker = PrivateBroker(port=taken.getsockname()[1], data_dir=tmp_path)
        with pytest.raises(BrokerError, match="Address already in use"):
            broker.start()
    assert not broker.running


def test_a_broker_that_dies_at_start_reports_its_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PrivateBroker, "config_text", lambda self: "no_such_option true\n")
    with pytest.raises(BrokerError, match="no_such_option") as caught:
        PrivateBroker(data_dir=tmp_path).start()
    assert "exited with status" in str(caught.value)
