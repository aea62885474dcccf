"""Every input reader survives any bytes and says so in its health (issue 14.9).

The bytes arrive the way they do in the field: written to the keypad or scanner FIFO, published to the
broker. After the garbage, the reader still works (a key calls the next number, a job prints, a call
shows on the hall display, a scan goes out) and its retained health counts what it refused
(`rejected_inputs: {count, last_error, at}`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient
from barcode_reader.service import RecordingSink, ScannerService
from barcode_reader.simulated import LineSource
from led_board.config import LedConfig
from led_board.daemon import LedDaemon, build_board
from led_board.simulated import SimulatedBoard
from queue_display.config import DisplayConfig
from queue_display.service import DisplayService
from tests.support.fake_printer import FakeNetworkPrinter
from tests.support.hub import ROOT, HubProcess, site_config, write_config
from tests.support.mqtt import Observer, Seen, wait_until
from tests.support.print_jobs import ticket_job

SITE = "test"
TOPIC = f"motcua/v1/{SITE}"
# What a fuzzer, a wrong baud rate or a confused script sends: not UTF-8, NUL, absurd nesting, JSON
# that is not an object, an object whose fields have the wrong types.
NOT_UTF8 = b"\xff\xfe\x80\x00garbage"
NESTED = b"[" * 30000 + b"]" * 30000
NESTED_OBJECT = b'{"v":1,"a":' + b"[" * 20000 + b"]" * 20000 + b"}"


def health_of(observer: Observer, device_id: str, count: int, timeout: float = 10.0) -> dict[str, Any]:
    """The device's retained health once it counts at least `count` refused inputs."""

    def counted(seen: Seen) -> bool:
        if not seen.topic.endswith(f"/devices/{device_id}/health"):
            return False
        rejected = seen.json().get("rejected_inputs") or {}
        return isinstance(rejected, dict) and rejected.get("count", 0) >= count

    return observer.wait_for(counted, timeout).json()


@pytest.fixture
def hub(broker: PrivateBroker, tmp_path: Path) -> Iterator[HubProcess]:
    process = HubProcess(write_config(tmp_path, site_config(tmp_path, broker.port, site=SITE))).start()
    yield process
    process.stop()


def test_the_simulated_keypad_survives_any_bytes(
    broker: PrivateBroker, mqtt_settings: MqttSettings, hub: HubProcess, tmp_path: Path
) -> None:
    fifo = tmp_path / "led-counter-1.keys"
    config = LedConfig.model_validate(
        {
            "device_id": "led-counter-1",
            "site": SITE,
            "role": "led",
            "mqtt": mqtt_settings.model_dump(),
            "mode": "counter",
            "counter": {"counter_id": "1"},
            "board": {"driver": "simulated", "lines": 2, "columns": 17},
            "keypads": [{"type": "simulated", "path": str(fifo)}],
        }
    )
    board = build_board(config)
    assert isinstance(board, SimulatedBoard)
    link = Link(mqtt_settings, site=SITE, device_id="led-counter-1", role="led")
    daemon = LedDaemon(config, link, board)
    with (
        Observer(broker.port, f"{TOPIC}/devices/led-counter-1/health") as observer,
        Link(mqtt_settings, site=SITE, device_id="kiosk-1", role="kiosk") as kiosk_link,
    ):
        daemon.start()
        try:
            assert kiosk_link.wait_connected(5)
            number = RpcClient(kiosk_link, default_timeout=5).call("ticket.issue", {"service_id": "dat-dai"})[
                "ticket"
            ]["number"]
            wait_until(fifo.exists)
            # One writer, as `echo … > led-counter-1.keys` would: garbage first, then a real key.
            with fifo.open("wb") as writer:
                writer.write(NOT_UTF8 + b"\n" + b"x" * 5000 + b"\n" + b"call_next;rm -rf\n" + b"call_next\n")
            board.wait_for(lambda output: output.lines[0] == number, 10)
            health = health_of(observer, "led-counter-1", 3)
            assert health["rejected_inputs"]["last_error"].startswith("keys ")
            # The reader is still there for the next writer.
            with fifo.open("wb") as writer:
                writer.write(b"\xc3\x28\n")
            health_of(observer, "led-counter-1", 4)
        finally:
            daemon.stop()


def test_the_printer_daemon_survives_any_job_bytes(broker: PrivateBroker, tmp_path: Path) -> None:
    config = {
        "device_id": "printer-1",
        "site": SITE,
        "role": "printer",
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "reconnect_min": 0.05, "reconnect_max": 0.5},
        "state_dir": str(tmp_path / "printer-state"),
        "printer": {"dots": 576, "backend": {"type": "network", "host": "127.0.0.1", "port": 0}},
        "jobs": {"status_interval_s": 0.2},
    }
    with FakeNetworkPrinter() as fake:
        config["printer"]["backend"]["port"] = fake.port  # type: ignore[index]
        path = tmp_path / "printer.toml"
        path.write_text(tomli_w.dumps(config), encoding="utf-8")
        printer = subprocess.Popen([sys.executable, "-m", "ticket_printer", "-c", str(path)], cwd=ROOT)
        try:
            with Observer(
                broker.port,
                f"{TOPIC}/devices/printer-1/#",
                f"{TOPIC}/print/printer-1/results",
            ) as observer:
                observer.wait_for(lambda m: m.topic.endswith("/state") and m.json()["online"] is True, 20)
                jobs = f"{TOPIC}/print/printer-1/jobs"
                for garbage in (
                    NOT_UTF8,
                    NESTED,
                    NESTED_OBJECT,
                    b"[1, 2]",
                    b'{"v":1,"job_id":"x","kind":[[[]]]}',
                ):
                    observer.publish(jobs, garbage)
                deep_field = ticket_job("deep-field")
                deep_field["ticket"] = {"id": json.loads(b"[" * 900 + b"]" * 900)}
                observer.publish(jobs, json.dumps(deep_field))
                refused = observer.wait_for(
                    lambda m: m.topic.endswith("/results") and m.json()["job_id"] == "deep-field", 10
                ).json()
                assert refused["status"] == "failed" and refused["error"]["code"] == "print_bad_job"
                health = health_of(observer, "printer-1", 6)
                assert health["rejected_inputs"]["last_error"].startswith("print job")
                # Still printing.
                observer.publish(jobs, json.dumps(ticket_job("after-garbage"), ensure_ascii=False))
                done = observer.wait_for(
                    lambda m: m.topic.endswith("/results") and m.json()["job_id"] == "after-garbage", 15
                ).json()
                assert done["status"] == "printed" and len(fake.wait_for_pages(1)) == 1
        finally:
            printer.terminate()
            printer.wait(10)
    assert printer.returncode == 0


def test_the_hall_display_survives_any_message_bytes(
    broker: PrivateBroker, mqtt_settings: MqttSettings
) -> None:
    config = DisplayConfig.model_validate(
        {
            "device_id": "display-1",
            "site": SITE,
            "mqtt": mqtt_settings.model_dump(),
            "announce": {"enabled": False},
        }
    )
    with (
        Observer(broker.port, f"{TOPIC}/devices/display-1/health") as observer,
        DisplayService(config) as display,
    ):
        wait_until(lambda: display.store.snapshot(0).connected)
        events = f"{TOPIC}/queue/events"
        for garbage in (
            NOT_UTF8,
            NESTED,
            NESTED_OBJECT,
            b"[]",
            b'{"v":1,"type":"ticket.called","seq":"x","ticket":5,"counter_id":[1]}',
        ):
            observer.publish(events, garbage)
        observer.publish(f"{TOPIC}/queue/state", b'{"v":1,"seq":1,"counters":7,"services":{"a":1}}')
        # The last two decode; the board takes what it can use from them and ignores the rest.
        health = health_of(observer, "display-1", 4)
        assert health["rejected_inputs"]["last_error"]
        # Still showing calls.
        state = {
            "v": 1,
            "seq": 1,
            "ts": "2026-12-05T08:30:00.000+07:00",
            "site": {"id": SITE, "name": "Bộ phận Một cửa"},
            "services": [{"id": "dat-dai", "name": "Đất đai", "waiting": 1}],
            "counters": [{"id": "5", "name": "5", "services": ["dat-dai"], "open": True, "serving": None}],
            "recent_calls": [],
        }
        observer.publish(f"{TOPIC}/queue/state", json.dumps(state, ensure_ascii=False))
        call = {
            "v": 1,
            "type": "ticket.called",
            "seq": 2,
            "ts": "2026-12-05T08:31:00.000+07:00",
            "ticket": {"id": "t-1023", "number": "1023", "service_id": "dat-dai", "status": "called"},
            "counter_id": "5",
            "counter_name": "5",
        }
        observer.publish(events, json.dumps(call))
        wait_until(lambda: any(c.number == "1023" for c in display.store.snapshot(display.clock()).counters))


def test_the_scanner_fifo_counts_bytes_that_are_no_scan(tmp_path: Path) -> None:
    fifo = tmp_path / "scanner-1.fifo"
    sink = RecordingSink()
    with ScannerService(LineSource(str(fifo)), sink, retry_interval=0.1, read_timeout=0.1):
        wait_until(fifo.exists)
        wait_until(lambda: bool(sink.health) and sink.health[-1]["scanner"] == "attached")
        fd = os.open(fifo, os.O_WRONLY)
        try:
            os.write(fd, NOT_UTF8 + b"\n" + b"\x00\x01\x02\x03\n" + b"000.00.06.H56-231027-0361\n")
        finally:
            os.close(fd)
        assert sink.wait(lambda s: len(s.scans) == 1, timeout=5)
        assert sink.scans[0].code == "000.00.06.H56-231027-0361"
        rejected = sink.health[-1]["rejected_inputs"]
        assert rejected["count"] == 2 and rejected["last_error"].startswith("scan ")


def test_the_kiosk_survives_any_message_bytes(broker: PrivateBroker, mqtt_settings: MqttSettings) -> None:
    from kiosk.config import KioskConfig
    from kiosk.controller import KioskController

    config = KioskConfig(
        device_id="kiosk-1", site=SITE, mqtt=mqtt_settings, opening_hours={"lock_outside": False}
    )
    with Observer(broker.port, f"{TOPIC}/devices/kiosk-1/health") as observer:
        controller = KioskController(config)
        controller.start()
        try:
            assert controller.link.wait_connected(5)
            observer.publish(f"{TOPIC}/queue/state", NOT_UTF8)
            observer.publish(f"{TOPIC}/queue/state", NESTED)
            observer.publish(f"{TOPIC}/queue/state", b'{"v":1,"services":5,"counters":true}')
            observer.publish(f"{TOPIC}/print/printer-1/results", NESTED_OBJECT)
            observer.publish(f"{TOPIC}/devices/kiosk-1/printer", b"\x00")
            health = health_of(observer, "kiosk-1", 5)
            assert health["rejected_inputs"]["last_error"]
            # Still reading the hub: a good state shows its services.
            good = {"v": 1, "site": {"name": "UBND"}, "services": [{"id": "dat-dai", "name": "Đất đai"}]}
            observer.publish(f"{TOPIC}/queue/state", json.dumps(good, ensure_ascii=False))
            wait_until(lambda: controller.view().header.site == "UBND")
        finally:
            controller.stop()
