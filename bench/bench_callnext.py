"""counter.call_next as a counter feels it: over HTTP and MQTT, with the demo's devices attached or not.

    .venv/bin/python -m bench.bench_callnext [--calls 200] [--interval 0.02] [--only with|without]

The demo's site (hub/sample_site.toml through motcua.demo.hub_config) on a private Mosquitto and a
real hub process (durable SQLite). "with devices" also starts what `motcua demo --headless` starts,
the same way (motcua.demo.device_children and the central simulator, at the demo's lower priority,
SIMULATOR_NICE): the hall display drawn offscreen with its voice, the LED boards, the kiosk, the
printers, the scanner. Then for counter 1:

- HTTP: `POST /api/v1/counters/1/call-next` as its officer on one connection kept from call to
  call (a console's browser keeps it), and again with a new connection per call;
- MQTT: `counter.call_next` RPC from one client;
- event: call_next sent over MQTT → the `ticket.called` event for that ticket arriving on
  `queue/events` at the same client.

One call every `--interval` seconds (10 a second: a whole site's counters at their busiest are far
slower), tickets issued beforehand. Prints p50/p99 per measure, the hub's CPU per call (user +
system of all its threads), and with devices the devices' CPU per call (each child process).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from paho.mqtt.client import Client  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402

from appliance.broker import PrivateBroker, find_free_port  # noqa: E402
from bench.bench_hub import cpu_s  # noqa: E402
from bench.latency import latency_ms  # noqa: E402
from motcua.demo import SIMULATOR_NICE, SITE_ID, Child, _write_toml, device_children, hub_config, wait_healthy  # noqa: E402

COUNTER, SERVICE, OFFICER = "1", "dat-dai", "canbo1"


class MqttCaller:
    """One MQTT v5 connection: RPC with reply topic + correlation, and the site's queue events."""

    def __init__(self, port: int) -> None:
        self.root = f"motcua/v1/{SITE_ID}"
        self.replies: dict[bytes, tuple[float, dict[str, Any]]] = {}
        self.called: dict[str, float] = {}  # ticket id → when its ticket.called arrived
        self.changed = threading.Condition()
        self.client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"bench-{uuid.uuid4().hex[:6]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.on_socket_open = lambda _c, _u, sock: sock.setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe([(f"{self.root}/devices/bench/replies", 1), (f"{self.root}/queue/events", 1)])
        subscribed.wait(10)

    def _on_message(self, _client: Client, _userdata: object, message: Any) -> None:
        now = time.perf_counter()
        body = json.loads(message.payload)
        with self.changed:
            if message.topic.endswith("/queue/events"):
                if body.get("type") == "ticket.called":
                    ticket = body.get("ticket") or {}
                    self.called.setdefault(str(ticket.get("id")), now)
            else:
                self.replies[bytes(message.properties.CorrelationData)] = (now, body)
            self.changed.notify_all()

    def call(
        self, method: str, params: dict[str, Any], timeout: float = 10.0
    ) -> tuple[float, dict[str, Any]]:
        """(seconds to the reply, the reply)."""
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = f"{self.root}/devices/bench/replies"
        cid = uuid.uuid4().bytes
        props.CorrelationData = cid
        payload = json.dumps({"v": 1, **params}).encode()
        sent = time.perf_counter()
        self.client.publish(f"{self.root}/rpc/bench/{method}", payload, qos=1, properties=props)
        with self.changed:
            if not self.changed.wait_for(lambda: cid in self.replies, timeout):
                raise TimeoutError(method)
            at, reply = self.replies.pop(cid)
        if not reply.get("ok"):
            raise RuntimeError(f"{method}: {reply}")
        return at - sent, reply

    def called_at(self, ticket_id: str, timeout: float = 10.0) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: ticket_id in self.called, timeout):
                raise TimeoutError(f"no ticket.called for {ticket_id}")
            return self.called.pop(ticket_id)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


RESETS: list[float] = []  # connections the hub's server reset (counted in the report, then retried)


class Officer:
    """An officer's console: call-next over HTTP on one connection kept from call to call (as a
    browser keeps it), or, with `fresh`, a new connection per call (the hub before keep-alive)."""

    def __init__(self, port: int, auth: str, *, fresh: bool = False) -> None:
        self.port, self.auth, self.fresh = port, auth, fresh
        self.connection: http.client.HTTPConnection | None = None

    def call_next(self) -> float:
        """Seconds to the full answer."""
        try:
            return self._call_next()
        except (ConnectionResetError, http.client.RemoteDisconnected):
            RESETS.append(time.time())
            self.close()
            return self._call_next()

    def _call_next(self) -> float:
        started = time.perf_counter()
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        self.connection.request(
            "POST",
            f"/api/v1/counters/{COUNTER}/call-next",
            body=b"{}",
            headers={"Content-Type": "application/json", "Authorization": self.auth},
        )
        response = self.connection.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        if self.fresh or response.will_close:
            self.close()
        if response.status != 200:
            raise RuntimeError(f"call-next over HTTP: {response.status} {body[:200]!r}")
        return elapsed

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def run(tmp: Path, *, devices: bool, calls: int, interval: float) -> dict[str, Any]:
    mqtt_port, http_port = find_free_port(), find_free_port()
    children: list[Child] = []
    with PrivateBroker(port=mqtt_port, data_dir=tmp / "broker"):
        try:
            central_url = None
            if devices:
                central_port = find_free_port()
                central_url = f"http://127.0.0.1:{central_port}"
                central = Child(
                    "central-sim",
                    [
                        sys.executable,
                        "-m",
                        "hub.central_sim",
                        "--port",
                        str(central_port),
                        "--journal",
                        str(tmp / "central-journal.jsonl"),
                    ],
                    tmp / "central-sim.log",
                    nice=SIMULATOR_NICE,
                )
                children.append(central)
                central.start()
                assert wait_healthy(f"{central_url}/admin/stats", central, timeout=30), "central simulator"
            config, logins = hub_config(tmp, mqtt_port, http_port, central_url)
            hub = Child(
                "hub",
                [sys.executable, "-m", "hub", "-c", str(_write_toml(tmp / "hub.toml", config))],
                tmp / "hub.log",
            )
            hub.start()
            assert wait_healthy(f"http://127.0.0.1:{http_port}/healthz", hub), (tmp / "hub.log").read_text()
            if devices:
                for child in device_children(tmp, mqtt_port, http_port, headless=True):
                    children.append(child)
                    child.start()
                time.sleep(8)  # the devices connect, the display draws its first screen
            auth = "Basic " + base64.b64encode(f"{OFFICER}:{logins[OFFICER]}".encode()).decode()
            caller = MqttCaller(mqtt_port)
            try:
                for _ in range(calls * 3 + 10):  # plus the `calls` issued while measuring issue
                    caller.call("ticket.issue", {"service_id": SERVICE})
                time.sleep(1)  # the issue burst's queue/state and prints settle
                officer, fresh = Officer(http_port, auth), Officer(http_port, auth, fresh=True)
                for _ in range(5):  # warm-up: first requests pay for imports and caches
                    officer.call_next()
                assert hub.process is not None
                pids = {c.name: c.process.pid for c in children if c.process is not None}
                result: dict[str, Any] = {"devices": [c.name for c in children]}

                def measure(name: str, one: Any) -> None:
                    hub_cpu, device_cpu = cpu_s(hub.process.pid), {n: cpu_s(p) for n, p in pids.items()}
                    samples = []
                    for _ in range(calls):
                        samples.append(one())
                        time.sleep(interval)
                    time.sleep(0.5)  # the devices finish drawing the last call
                    result[name] = latency_ms(samples)
                    result[name]["hub_cpu_ms_per_call"] = round(
                        (cpu_s(hub.process.pid) - hub_cpu) * 1000 / calls, 2
                    )
                    if pids:  # their idle work (timers) included
                        spent = {n: (cpu_s(p) - device_cpu[n]) * 1000 / calls for n, p in pids.items()}
                        result[name]["devices_cpu_ms_per_call"] = round(sum(spent.values()), 2)
                        result[name]["each_device_cpu_ms_per_call"] = {
                            n: round(v, 2) for n, v in spent.items()
                        }

                def over_mqtt() -> float:
                    return caller.call("counter.call_next", {"counter_id": COUNTER})[0]

                def to_event() -> float:
                    sent = time.perf_counter()
                    _, reply = caller.call("counter.call_next", {"counter_id": COUNTER})
                    return caller.called_at(str(reply["result"]["ticket"]["id"])) - sent

                # The yardstick: issuing a ticket the same way (goal: call-next p50 ≤ issue p50).
                measure("issue_mqtt", lambda: caller.call("ticket.issue", {"service_id": SERVICE})[0])
                measure("call_next_http", officer.call_next)
                measure("call_next_http_new_connection", fresh.call_next)
                result["call_next_http"]["connection_resets"] = len(RESETS)
                RESETS.clear()
                officer.close()
                measure("call_next_mqtt", over_mqtt)
                measure("call_next_to_ticket_called", to_event)
            finally:
                caller.close()
            return result
        finally:
            for child in reversed(children):
                child.stop()
            if "hub" in locals():
                hub.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--calls",
        type=int,
        default=200,
        help="calls per measure (5 measures; ≤ 245: a service has 999 numbers)",
    )
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between a counter's calls")
    parser.add_argument("--only", choices=("with", "without"))
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_before": os.getloadavg(),
    }
    for devices in (False, True):
        label = "with_devices" if devices else "without_devices"
        if args.only and label != f"{args.only}_devices":
            continue
        tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-callnext-"))
        try:
            results[label] = run(tmp, devices=devices, calls=args.calls, interval=args.interval)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
