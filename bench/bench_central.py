"""Central dossier system benchmark: backlog drain rate after an outage, dossier lookup latency
(cached vs. asking the simulator), procedure.search latency over a 2,000-procedure catalogue.

    .venv/bin/python -m bench.bench_central            # ~20 s
    .venv/bin/python -m bench.bench_central --quick    # ~8 s

The simulator runs as its own process (as central would), so its HTTP work does not share the
hub's interpreter. Targets (issue 8): drain ≥ 500 events/s, search p99 < 5 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from appliance.broker import find_free_port
from hub.central import CentralRuntime, load_central_config
from hub.central.catalogue import ProcedureCatalogue
from hub.central.opencps import procedure_from_opencps
from hub.central_sim import SimState
from hub.service import QueueService
from hub.site import HubConfig
from tests.support.hub import site_config

ROOT = Path(__file__).resolve().parents[1]
QUERIES = (
    "dang ky khai sinh",
    "Đăng ký kết hôn",
    "chung thuc ban sao",
    "giay phep xay dung",
    "ho kinh doanh",
    "tach thua",
    "thế chấp",
    "karaoke",
    "liet si",
    "cap lai giay chung nhan",
    "xac nhan tinh trang hon nhan",
    "zzzz",
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(ms: list[float]) -> str:
    return f"p50 {pct(ms, 50):.3f} ms · p99 {pct(ms, 99):.3f} ms · max {max(ms):.3f} ms (n={len(ms)})"


class Sim:
    def __init__(self, *extra: str) -> None:
        self.port = find_free_port()
        self.extra = extra
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Sim:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub.central_sim", "--port", str(self.port), *self.extra],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("Central simulator ready"), line
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    def faults(self, **faults: object) -> None:
        requests.post(f"{self.url}/admin/faults", json=faults, timeout=5).raise_for_status()


def bench_drain(tmp: Path, events: int, concurrency: int) -> dict[str, float]:
    """Events produced while central is down, then central comes back: how fast does it empty?"""
    raw = site_config(tmp, 1883, site="bench")
    raw["services"] = [{"id": "a", "name": "Dịch vụ A", "prefix": "A", "first": 1, "last": 999_999}]
    raw["counters"] = [{"id": "1", "name": "1", "services": ["a"], "open_at_start": True}]
    raw["officers"], raw["kiosks"] = [], []
    service = QueueService(HubConfig.model_validate(raw), tmp / f"drain-{concurrency}.db", outbox=True)
    sim = Sim().start()
    sim.faults(down=True)
    config = load_central_config(
        {
            "adapter": "opencps",
            "base_url": sim.url,
            "retry_base_s": 0.05,
            "retry_max_s": 0.2,
            "breaker_open_s": 0.2,
            "delivery_concurrency": concurrency,
            "poll_interval_s": 0.1,
        }
    )
    runtime = CentralRuntime(config, db_path=service.db_path, site="bench")
    service.add_commit_hook(runtime.on_commit)
    runtime.start()
    assert runtime.relay is not None
    try:
        for _ in range(events):
            service.call("ticket.issue", {"service_id": "a"}, caller_id="kiosk-1")
        backlog = runtime.relay.status()["backlog"]
        sim.faults(down=False)
        started = time.perf_counter()
        assert runtime.relay.drained(120, interval=0.01), runtime.relay.status()
        seconds = time.perf_counter() - started
        received = requests.get(f"{sim.url}/admin/stats", timeout=5).json()["unique_keys"]
        return {"backlog": backlog, "seconds": seconds, "rate": backlog / seconds, "received": received}
    finally:
        runtime.stop()
        service.close()
        sim.stop()


def bench_lookup(tmp: Path, count: int) -> dict[str, list[float]]:
    sim = Sim().start()
    state = SimState()  # same seed as the simulator process: the same dossier numbers
    codes = [d["dossierNo"] for d in state.dossiers]
    base = {"adapter": "opencps", "base_url": sim.url, "deliver": False, "lookup_burst": 1000}
    results: dict[str, list[float]] = {}
    try:
        for label, fresh in (("uncached (central asked)", 0.0), ("cached", 3600.0)):
            config = load_central_config({**base, "cache_fresh_s": fresh})
            runtime = CentralRuntime(config, db_path=tmp / "lookup.db", site="bench")
            runtime.lookup(codes[0], caller_id="warm-up")
            times: list[float] = []
            for n in range(count):
                code = codes[n % len(codes)]
                started = time.perf_counter()
                runtime.lookup(code, caller_id=f"kiosk-{n % 50}")
                times.append((time.perf_counter() - started) * 1000)
            results[label] = times
            runtime.stop()
        sim.faults(down=True)
        config = load_central_config({**base, "cache_fresh_s": 0, "breaker_failures": 3})
        runtime = CentralRuntime(config, db_path=tmp / "lookup.db", site="bench")
        times = []
        for n in range(count):
            started = time.perf_counter()
            answer = runtime.lookup(codes[n % len(codes)], caller_id=f"kiosk-{n % 50}")
            times.append((time.perf_counter() - started) * 1000)
            assert answer["stale"]
        results["stale (central down, breaker open)"] = times
        runtime.stop()
    finally:
        sim.stop()
    return results


def bench_search(tmp: Path, procedures: int, count: int) -> list[float]:
    state = SimState(extra_procedures=max(0, procedures - 61))
    catalogue = ProcedureCatalogue(tmp / "search.db")
    rows = [procedure_from_opencps(p.to_opencps()) for p in state.procedures]
    catalogue.replace_all([p for p in rows if p is not None])
    rng = random.Random(1)
    for query in QUERIES:  # warm the page cache
        catalogue.search(query)
    times = []
    for _ in range(count):
        query = rng.choice(QUERIES)
        started = time.perf_counter()
        catalogue.search(query)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    events = 1000 if args.quick else 3000
    lookups = 200 if args.quick else 1000
    searches = 1000 if args.quick else 5000
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        print("\n| backlog drain after an outage | events | seconds | events/s |")
        print("|---|---|---|---|")
        for concurrency in (1, 4, 8):
            drain = bench_drain(tmp, events, concurrency)
            assert drain["received"] == drain["backlog"] == events, drain
            print(
                f"| {concurrency} request(s) in flight | {drain['backlog']:.0f} | {drain['seconds']:.2f}"
                f" | {drain['rate']:.0f} |"
            )
        print("\n| dossier.lookup | latency |")
        print("|---|---|")
        for label, times in bench_lookup(tmp, lookups).items():
            print(f"| {label} | {summary(times)} |")
        times = bench_search(tmp, 2000, searches)
        print("\n| procedure.search over 2,000 procedures | latency |")
        print("|---|---|")
        print(f"| {len(QUERIES)} queries, with and without diacritics | {summary(times)} |")
        print(f"\nmean search {statistics.mean(times):.3f} ms; target p99 < 5 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
