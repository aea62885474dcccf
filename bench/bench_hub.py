"""Hub latency and throughput: ticket.issue and counter.call_next over MQTT RPC.

    .venv/bin/python -m bench.bench_hub [--requests 2000] [--clients 50]

Starts a private Mosquitto and a real hub process (`python -m hub`, durable SQLite in a temporary
folder), then measures from separate client processes, so client work does not share the hub's
GIL: 1 client issuing back to back; N clients sharing a paced load (open loop, `--rate` requests/s
in all: latency under the load a busy site sends); N clients back to back (closed loop: the most the
hub sustains); counter.call_next the same way.
Prints medians, p99 and sustained throughput, and the hub's resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appliance.broker import PrivateBroker  # noqa: E402
from tests.support.hub import HubProcess, site_config, write_config  # noqa: E402

CLIENT = r"""
import json, sys, threading, time
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient
port, site, name, method, params, count, threads, rate, start_at = sys.argv[1:10]
params = json.loads(params); count = int(count); threads = int(threads); rate = float(rate)
with Link(MqttSettings(port=int(port)), site=site, device_id=name, role="kiosk") as link:
    link.wait_connected(10)
    client = RpcClient(link, default_timeout=30)
    client.call("counter.open", {"counter_id": "1"})  # warm up the route
    samples = []
    lock = threading.Lock()
    go = threading.Barrier(threads)
    def worker(n, phase):
        go.wait()
        # Every process starts at the same wall-clock moment, after all have imported and connected.
        time.sleep(max(0.0, float(start_at) - time.time()))
        mine = []
        start = time.perf_counter() + phase
        interval = threads / rate if rate > 0 else 0.0
        for i in range(n):
            if interval:
                # Open loop: each request has its slot; latency counts from the slot, so a slow
                # reply that delays the next send is not hidden (no coordinated omission).
                t = start + i * interval
                delay = t - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            else:
                t = time.perf_counter()
            try:
                client.call(method, params)
            except Exception as error:
                print(json.dumps({"error": str(error)}), file=sys.stderr)
            mine.append(time.perf_counter() - t)
        with lock:
            samples.extend(mine)
    per = count // threads
    spread = threads / rate if rate > 0 else 0.0
    ts = [threading.Thread(target=worker, args=(per, spread * k / threads)) for k in range(threads)]
    [t.start() for t in ts]; [t.join() for t in ts]
    print(json.dumps({"samples": samples, "finished_at": time.time()}))
"""


def run_clients(
    port: int, method: str, params: dict[str, object], total: int, clients: int, rate: float = 0.0
) -> dict[str, float]:
    """`clients` callers spread over up to 5 processes; `rate` > 0 paces them (requests/s in all)."""
    processes = min(clients, 5)  # spread clients over processes: one GIL per 10 clients at most
    per_process = clients // processes
    argv = [sys.executable, "-c", CLIENT, str(port), "bench"]
    start_at = time.time() + 3.0
    procs = [
        subprocess.Popen(
            [
                *argv, f"bench-{method}-{i}", method, json.dumps(params),
                str(total // processes), str(per_process), str(rate / processes), str(start_at),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    samples: list[float] = []
    finished = start_at
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        report = json.loads(out.strip().splitlines()[-1])
        samples.extend(report["samples"])
        finished = max(finished, report["finished_at"])
    wall = finished - start_at
    samples.sort()
    ms = [s * 1000 for s in samples]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[int(len(ms) * 0.99) - 1], 2),
        "max_ms": round(ms[-1], 2),
        "per_s": round(len(ms) / wall, 1),
    }


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
            port, n, c = broker.port, args.requests, args.clients
            results["issue_1_client"] = run_clients(port, "ticket.issue", issue, n, 1)
            results[f"issue_{c}_clients_at_{args.rate:g}_per_s"] = run_clients(
                port, "ticket.issue", issue, n * 3, c, args.rate
            )
            results[f"issue_{c}_clients_saturated"] = run_clients(port, "ticket.issue", issue, n * 3, c)
            results["call_next_1_client"] = run_clients(port, "counter.call_next", call, n, 1)
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
