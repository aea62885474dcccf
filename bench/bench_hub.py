"""Hub latency and throughput: ticket.issue and counter.call_next over MQTT RPC.

    .venv/bin/python -m bench.bench_hub [--requests 2000] [--clients 50]

Starts a private Mosquitto and a real hub process (`python -m hub`, durable SQLite in a temporary
folder), then measures from a separate load process (one MQTT connection driving N virtual
clients, each with its own caller id, from one thread): 1 client back to back; N clients sharing a
paced load (open loop, `--rate` requests/s in all: latency under the load a busy site sends); N
clients back to back (closed loop: the most the hub sustains); counter.call_next the same way.
Prints medians, p99 and sustained throughput, and the hub's resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appliance.broker import PrivateBroker  # noqa: E402
from bench.latency import latency_ms  # noqa: E402
from tests.support.hub import HubProcess, site_config, write_config  # noqa: E402

CLIENT = r"""
# One process, one MQTT connection, no worker threads: N virtual clients (each its own caller id
# and reply topic) driven from a single thread, so the harness adds no GIL contention of its own.
import json, sys, threading, time, uuid
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
import socket

port, site, method, params, total, clients, rate = sys.argv[1:8]
total, clients, rate = int(total), int(clients), float(rate)
payload = json.dumps({"v": 1, **json.loads(params)}).encode()
root = f"motcua/v1/{site}"
sent: dict[bytes, float] = {}
samples: list[float] = []
done = threading.Event()
lock = threading.Lock()
issued = 0

def on_socket_open(client, userdata, sock):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

client = Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:6]}",
                protocol=MQTTProtocolVersion.MQTTv5)
client.on_socket_open = on_socket_open
subscribed = threading.Event()
client.on_subscribe = lambda *a: subscribed.set()

def send(k: int, at: float) -> None:
    global issued
    with lock:
        if issued >= total:
            return
        issued += 1
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = f"{root}/devices/bench-{k}/replies"
    cid = uuid.uuid4().bytes
    props.CorrelationData = cid
    sent[cid] = at
    client.publish(f"{root}/rpc/bench-{k}/{method}", payload, qos=1, properties=props)

def on_message(client, userdata, message):
    now = time.perf_counter()
    cid = message.properties.CorrelationData
    at = sent.pop(cid, None)
    if at is None:
        return
    samples.append(now - at)
    if not json.loads(message.payload).get("ok"):
        print(message.payload.decode(), file=sys.stderr)
    if len(samples) >= total:
        done.set()
    elif rate <= 0:  # closed loop: this virtual client sends again at once
        k = int(message.topic.split("/")[-2].split("-")[1])
        send(k, time.perf_counter())

client.on_message = on_message
client.connect("127.0.0.1", int(port))
client.loop_start()
client.subscribe(f"{root}/devices/+/replies", qos=1)
subscribed.wait(10)
time.sleep(0.5)
t0 = time.perf_counter()
if rate > 0:
    # Open loop: request i has its slot t0 + i/rate; latency counts from the slot (no coordinated
    # omission), virtual clients take turns.
    for i in range(total):
        slot = t0 + i / rate
        delay = slot - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        send(i % clients, slot)
else:
    for k in range(clients):
        send(k, time.perf_counter())
done.wait(600)
wall = time.perf_counter() - t0
client.disconnect(); client.loop_stop()
print(json.dumps({"samples": samples, "wall": wall}))
"""


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_clients(
    port: int,
    method: str,
    params: dict[str, object],
    total: int,
    clients: int,
    rate: float = 0.0,
    *,
    hub_pid: int | None = None,
) -> dict[str, float]:
    """`clients` virtual callers; `rate` > 0 paces them (requests/s in all), else back to back.
    With `hub_pid`, also the hub's CPU time per request (all its threads: RPC, commit, publishing)."""
    cpu_before = cpu_s(hub_pid) if hub_pid else 0.0
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CLIENT,
            str(port),
            "bench",
            method,
            json.dumps(params),
            str(total),
            str(clients),
            str(rate),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    ).stdout
    report = json.loads(out.strip().splitlines()[-1])
    ms = report["samples"]
    result: dict[str, float] = {**latency_ms(ms), "per_s": round(len(ms) / report["wall"], 1)}
    if hub_pid:
        result["hub_cpu_ms_per_call"] = round((cpu_s(hub_pid) - cpu_before) * 1000 / len(ms), 2)
    return result


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=300.0, help="paced load, requests/s in all")
    args = parser.parse_args()
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    }
    with tempfile.TemporaryDirectory() as tmp, PrivateBroker() as broker:
        config = site_config(Path(tmp), broker.port, site="bench")
        # Large numeric blocks: a benchmark issues more than a real day's 999 per service.
        config["services"] = [
            {"id": "a", "name": "Dịch vụ A", "prefix": "A", "first": 1, "last": 999_999},
            {"id": "b", "name": "Dịch vụ B", "prefix": "B", "first": 1, "last": 999_999},
        ]
        config["counters"] = [
            {"id": "1", "name": "1", "services": ["a", "b"], "open_at_start": True},
            {"id": "2", "name": "2", "services": ["a", "b"], "open_at_start": True},
        ]
        config["officers"] = []
        config["kiosks"] = []
        hub = HubProcess(write_config(Path(tmp), config)).start()
        try:
            assert hub.process is not None
            results["rss_idle_mb"] = rss_mb(hub.process.pid)
            issue = {"service_id": "a"}
            call = {"counter_id": "1"}
            port, n, c, pid = broker.port, args.requests, args.clients, hub.process.pid
            results["issue_1_client"] = run_clients(port, "ticket.issue", issue, n, 1, hub_pid=pid)
            results[f"issue_{c}_clients_at_{args.rate:g}_per_s"] = run_clients(
                port, "ticket.issue", issue, n * 3, c, args.rate
            )
            results[f"issue_{c}_clients_saturated"] = run_clients(port, "ticket.issue", issue, n * 3, c)
            results["call_next_1_client"] = run_clients(port, "counter.call_next", call, n, 1, hub_pid=pid)
            results[f"call_next_{c}_clients_at_{args.rate:g}_per_s"] = run_clients(
                port, "counter.call_next", call, n * 3, c, args.rate
            )
            results["rss_after_mb"] = rss_mb(hub.process.pid)
        finally:
            hub.stop()
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
