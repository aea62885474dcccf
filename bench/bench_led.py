"""Benchmark: a counter key press -> hub (call_next over MQTT) -> the LED board shows the number.

Runs a private Mosquitto, the real hub (`python -m hub`), and the LED daemon in this process on mock
GPIO pins; each press drives the "call next" pin low and times until the board driver has drawn the
new number. Boards: the in-memory simulated board, and a Modbus RTU module simulated on a pty pair
(the driver writes real RTU frames). Then the daemon's memory: `python -m led_board` started as a
process with a simulated board, RSS read from /proc after it settled.

    .venv/bin/python -m bench.bench_led [--presses 200]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tomli_w  # noqa: E402
from gpiozero.pins.mock import MockFactory  # noqa: E402
from pymodbus.client import ModbusSerialClient  # noqa: E402

from appliance.broker import PrivateBroker  # noqa: E402
from appliance.config import MqttSettings  # noqa: E402
from appliance.mqtt import Link  # noqa: E402
from appliance.rpc import RpcClient  # noqa: E402
from led_board.board import Board, LineSpec, Output  # noqa: E402
from led_board.config import LedConfig  # noqa: E402
from led_board.daemon import LedDaemon  # noqa: E402
from led_board.modbus import ModbusBoard, profile_for  # noqa: E402
from led_board.modbus_sim import ModbusSlaveSimulator  # noqa: E402
from led_board.simulated import SimulatedBoard  # noqa: E402
from tests.support.hub import HubProcess, site_config, write_config  # noqa: E402

SITE = "bench"
CALL_NEXT = 17


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def led_settings(port: int) -> dict[str, Any]:
    return {
        "device_id": "led-counter-1",
        "site": SITE,
        "role": "led",
        "mqtt": {"host": "127.0.0.1", "port": port, "reconnect_min": 0.05, "reconnect_max": 0.5},
        "mode": "counter",
        "counter": {"counter_id": "1"},
        "board": {"driver": "simulated", "lines": 2, "columns": 8},
        "keypads": [{"type": "gpio", "buttons": {"call_next": CALL_NEXT, "recall": 27}, "bounce_time": None}],
        "feedback": {"buzzer_pin": 18, "led_pin": 25},
        "rating": {"scale": 3, "buttons": [5, 6, 13], "leds": [16], "bounce_time": None},
        "gpio": {"pin_factory": "mock"},
        "timing": {"debounce": 0.0},
    }


def drawn_number(board: Board) -> str | None:
    output: Output | None = board.output
    return output.lines[0] if output is not None else None


def measure(broker: PrivateBroker, mqtt: MqttSettings, board: Board, presses: int) -> list[float]:
    config = LedConfig.model_validate(led_settings(broker.port))
    factory = MockFactory()
    link = Link(mqtt, site=SITE, device_id="led-counter-1", role="led")
    daemon = LedDaemon(config, link, board, pin_factory=factory)
    daemon.start()
    assert link.wait_connected(10)
    assert daemon.desk is not None
    desk = daemon.desk
    kiosk_link = Link(mqtt, site=SITE, device_id="kiosk-bench", role="kiosk")
    kiosk_link.start()
    assert kiosk_link.wait_connected(10)
    kiosk = RpcClient(kiosk_link, default_timeout=10)
    issue = {"service_id": "dat-dai"}
    numbers = [kiosk.call("ticket.issue", issue)["ticket"]["number"] for _ in range(presses)]
    pin = factory.pin(CALL_NEXT)
    latencies: list[float] = []
    try:
        for number in numbers:
            while any(lane.busy for lane in desk.lanes.values()):
                time.sleep(0.001)
            started = time.perf_counter()
            pin.drive_low()
            pin.drive_high()
            while drawn_number(board) != number:
                if time.perf_counter() - started > 5:
                    raise RuntimeError(f"board did not show {number}; shows {drawn_number(board)!r}")
                time.sleep(0.0002)
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        kiosk_link.stop()
        daemon.stop()
        factory.reset()
    return latencies


def daemon_rss(port: int, tmp: Path) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB of `python -m led_board` after 3 s of running."""
    path = tmp / "led.toml"
    settings = led_settings(port)
    settings["device_id"] = "led-counter-2"
    settings["counter"] = {"counter_id": "2"}
    for section in (settings["keypads"][0], settings["rating"]):
        section.pop("bounce_time")  # TOML has no null: the default (20 ms) then
    path.write_text(tomli_w.dumps(settings), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "led_board", "-c", str(path)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if line.startswith("LED ready") or not line:
                break
        time.sleep(3)
        status = Path(f"/proc/{process.pid}/status").read_text()
        fields = {row.split(":")[0]: row.split()[1] for row in status.splitlines() if row.startswith("Vm")}
        return int(fields["VmRSS"]), int(fields["VmHWM"])
    finally:
        process.terminate()
        process.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp_name, PrivateBroker() as broker:
        tmp = Path(tmp_name)
        hub = HubProcess(write_config(tmp, site_config(tmp, broker.port, site=SITE))).start()
        mqtt = MqttSettings(host="127.0.0.1", port=broker.port, reconnect_min=0.05, reconnect_max=0.5)
        try:
            results: dict[str, list[float]] = {}
            results["simulated board"] = measure(
                broker, mqtt, SimulatedBoard([LineSpec(8), LineSpec(8)]), args.presses
            )
            with ModbusSlaveSimulator(unit=1) as module:
                client = ModbusSerialClient(module.port, baudrate=9600, timeout=0.5, retries=0)
                results["Modbus RTU module (pty)"] = measure(
                    broker, mqtt, ModbusBoard(client, profile_for("text-2x8"), port=module.port), args.presses
                )
            rss, peak = daemon_rss(broker.port, tmp)
        finally:
            hub.stop()
    print(
        f"LED board: key press -> hub call_next -> board updated, {args.presses} presses, loopback, "
        f"{os.cpu_count()} CPUs"
    )
    for name, values in results.items():
        print(
            f"  {name:<24} p50 {statistics.median(values):6.2f} ms   "
            f"p99 {percentile(values, 0.99):6.2f} ms   max {max(values):6.2f} ms"
        )
    print(
        f"  daemon RSS (python -m led_board, simulated board, mock GPIO): {rss / 1024:.1f} MiB "
        f"(peak {peak / 1024:.1f} MiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
