"""appliance.notify against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.notify import Notifier, watchdog_interval


class FakeSystemd:
    """The receiving end of NOTIFY_SOCKET."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)

    def receive(self, timeout: float = 5.0) -> str:
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode()

    def pending(self) -> list[str]:
        """Everything already delivered, without waiting."""
        self.sock.setblocking(False)
        messages = []
        try:
            while True:
                messages.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return messages


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSystemd]:
    path = str(tmp_path / "notify.sock")
    fake = FakeSystemd(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield fake
    fake.sock.close()


class Health:
    """A switchable health predicate that lets the test wait until it has been consulted."""

    def __init__(self) -> None:
        self.healthy = True
        self.calls = 0
        self._changed = threading.Condition()

    def __call__(self) -> bool:
        with self._changed:
            self.calls += 1
            self._changed.notify_all()
            return self.healthy

    def wait_calls(self, count: int) -> None:
        with self._changed:
            target = self.calls + count
            assert self._changed.wait_for(lambda: self.calls >= target, 5)


def test_ready_status_stopping(systemd: FakeSystemd) -> None:
    notifier = Notifier()
    assert notifier.enabled and notifier.interval is None
    notifier.ready()
    notifier.status("Đang chờ máy in\nlần 2")
    notifier.stopping()
    assert [systemd.receive() for _ in range(3)] == ["READY=1", "STATUS=Đang chờ máy in lần 2", "STOPPING=1"]


def test_abstract_socket_address(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"motcua-test-{os.getpid()}-{threading.get_ident()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        Notifier().notify("READY=1")
        receiver.settimeout(5)
        assert receiver.recv(100) == b"READY=1"


def test_watchdog_pings_only_while_healthy(systemd: FakeSystemd, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "40000")  # ping every 20 ms
    health = Health()
    with Notifier(health) as notifier:
        assert notifier.interval == pytest.approx(0.02)
        notifier.ready()
        assert systemd.receive() == "READY=1"
        assert [systemd.receive(), systemd.receive()] == ["WATCHDOG=1", "WATCHDOG=1"]

        health.healthy = False
        health.wait_calls(1)  # a call returning False: any ping from before it has been sent
        systemd.pending()
        health.wait_calls(3)
        assert systemd.pending() == []  # wedged: systemd will restart us

        health.healthy = True
        assert systemd.receive() == "WATCHDOG=1"
    health.wait_calls(0)
    systemd.pending()
    assert not any(thread.name == "sd-watchdog" for thread in threading.enumerate())


def test_a_raising_health_check_counts_as_unhealthy(
    systemd: FakeSystemd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "40000")
    consulted = threading.Semaphore(0)

    def broken() -> bool:
        consulted.release()
        raise RuntimeError("database locked")

    with Notifier(broken) as notifier:
        notifier.ready()
        assert systemd.receive() == "READY=1"
        for _ in range(3):
            assert consulted.acquire(timeout=5)
        assert systemd.pending() == []


def test_watchdog_meant_for_another_process_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "2000000"}) == 1.0
    assert watchdog_interval({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid() + 1)}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "garbage"}) is None
    assert watchdog_interval({}) is None


def test_without_notify_socket_everything_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", "40000")
    with Notifier() as notifier:
        assert not notifier.enabled and notifier.interval is None
        notifier.ready()
        notifier.status("ok")
        notifier.stopping()
    assert not any(thread.name == "sd-watchdog" for thread in threading.enumerate())
