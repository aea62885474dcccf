"""Reports at a year's scale, and the hub's live path while reports run.

    .venv/bin/python -m bench.bench_reports [--db /tmp/motcua-year.db] [--days 365]

Generates a realistic year (hub.reports.generate: ≥ 300,000 tickets, 20 counters, 12 services) into
a hub database unless `--db` already holds one, then measures in-process, on a fresh connection as
the web view uses: the first summary of the year (cold), every grouping over the year, a quarter
and a month (warm), the month's xlsx and PDF. Then it starts a real hub (`python -m hub`, web on)
on that database and measures `ticket.issue` over MQTT at a paced rate, quietly and while a loop
of HTTP report requests (year reports in every grouping, the month's xlsx) runs against the same
hub — warm, and cold (`--cold`: summaries dropped first, so the hub summarises the year meanwhile).

The machine is shared with other people's test runs, whose load comes and goes within seconds: a
quiet phase and a loaded phase run one after the other would compare two different neighbourhoods.
So the quiet and loaded windows are interleaved (`--rounds`, in the order Q L L Q Q L …) and pooled
per condition; each window also records how busy the whole machine was (/proc/stat) and the load
average, so a run can be read against its neighbours. `--live-only` skips the in-process figures.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tomli_w  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from appliance.broker import PrivateBroker, find_free_port  # noqa: E402
from bench.bench_hub import CLIENT, cpu_s, run_clients  # noqa: E402
from hub.reports import DIMENSIONS, build, build_all, parse_period  # noqa: E402
from hub.reports.export import to_pdf, to_xlsx  # noqa: E402
from hub.reports.generate import generate, year_site  # noqa: E402
from hub.site import HubConfig  # noqa: E402
from hub.store import connect  # noqa: E402
from tests.support.hub import HubProcess  # noqa: E402

PASSWORD = "bench-password-1"
YEAR = "2025"
TODAY = date(2026, 1, 1)  # every generated day is finished


def timed(action: Any, repeat: int = 1) -> tuple[float, Any]:
    """Median wall seconds of `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3), result


def in_process(db: Path, site: HubConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    year = parse_period(None, None, YEAR, today=TODAY)
    quarter = parse_period(None, None, f"{YEAR}-Q2", today=TODAY)
    month = parse_period(None, None, f"{YEAR}-03", today=TODAY)
    conn = connect(db)
    try:
        conn.execute("DELETE FROM report_cells")
        conn.execute("DELETE FROM report_days")
        out["year_first_report_cold_s"], report = timed(
            lambda: build(conn, site, year, "service", today=TODAY)
        )
        out["tickets_in_year"] = report.total["issued"]
        for by in DIMENSIONS:
            out[f"year_by_{by}_s"], _ = timed(lambda by=by: build(conn, site, year, by, today=TODAY), 3)
            out[f"quarter_by_{by}_s"], _ = timed(lambda by=by: build(conn, site, quarter, by, today=TODAY), 3)
            out[f"month_by_{by}_s"], _ = timed(lambda by=by: build(conn, site, month, by, today=TODAY), 3)
        out["month_xlsx_s"], xlsx = timed(lambda: to_xlsx(build_all(conn, site, month, today=TODAY)), 3)
        out["month_xlsx_bytes"] = len(xlsx)
        out["month_pdf_s"], pdf = timed(lambda: to_pdf(build_all(conn, site, month, today=TODAY)), 3)
        out["month_pdf_bytes"] = len(pdf)
        out["year_xlsx_s"], _ = timed(lambda: to_xlsx(build_all(conn, site, year, today=TODAY)), 3)
        out["summary_rows"] = conn.execute("SELECT COUNT(*) FROM report_cells").fetchone()[0]
    finally:
        conn.close()
    return out


class ReportLoop(threading.Thread):
    """HTTP report requests back to back while resumed; keeps each one's latency. `pause` returns once
    the request in flight has finished, so a quiet window is quiet from its first request."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.stop = threading.Event()
        self.active = threading.Event()
        self.active.set()
        self.busy = threading.Lock()  # held while a request is in flight
        self.latencies: dict[str, list[float]] = {}
        token = base64.b64encode(f"truongbp:{PASSWORD}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}

    def pause(self) -> None:
        self.active.clear()
        with self.busy:  # the request in flight, if any, is over; the next one sees `active` cleared
            pass

    def resume(self) -> None:
        self.active.set()

    def run(self) -> None:
        queries = [f"from={YEAR}-01-01&to={YEAR}-12-31&by={by}" for by in DIMENSIONS]
        queries.append(f"from={YEAR}-03-01&to={YEAR}-03-31&format=xlsx")
        while not self.stop.is_set():
            for query in queries:
                with self.busy:
                    if self.stop.is_set():
                        return
                    paused = not self.active.is_set()
                    if not paused:
                        self._one(query)
                if paused:
                    self.active.wait(0.2)
                    break

    def _one(self, query: str) -> None:
        started = time.perf_counter()
        request = urllib.request.Request(f"{self.base}/api/v1/reports?{query}", headers=self.headers)
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
        kind = "month_xlsx" if "xlsx" in query else "year_" + query.rsplit("=", 1)[1]
        self.latencies.setdefault(kind, []).append(time.perf_counter() - started)

    def summary(self) -> dict[str, Any]:
        return {
            kind: {"n": len(v), "median_s": round(statistics.median(v), 3), "max_s": round(max(v), 3)}
            for kind, v in self.latencies.items()
        }


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far (/proc/stat, all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(x) for x in (task / "children").read_text().split()]
    return found


def process_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds so far of the hub itself and of its child processes (the report worker)."""
    with contextlib.suppress(OSError):
        return cpu_s(pid), sum(cpu_s(child) for child in children(pid))
    return 0.0, 0.0


def issue_window(port: int, hub_pid: int, params: dict[str, Any], total: int, rate: float) -> dict[str, Any]:
    """One window of paced `ticket.issue`: the latencies (ms), how busy the whole machine was, and
    the CPU the hub and its report worker used meanwhile (cores)."""
    busy0, total0 = cpu_jiffies()
    hub0, worker0 = process_cpu(hub_pid)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, str(port), "bench", "ticket.issue", json.dumps(params), str(total),
         "10", str(rate)],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=True,
    ).stdout  # fmt: skip
    wall = time.perf_counter() - started
    busy1, total1 = cpu_jiffies()
    hub1, worker1 = process_cpu(hub_pid)
    samples = [s * 1000 for s in json.loads(out.strip().splitlines()[-1])["samples"]]
    return {
        "ms": samples,
        "machine_busy": round((busy1 - busy0) / max(1, total1 - total0), 2),
        "load1": round(load, 1),
        "hub_cores": round((hub1 - hub0) / wall, 2),
        "worker_cores": round((worker1 - worker0) / wall, 2),
    }


def percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 2),
        "max_ms": round(ordered[-1], 2),
    }


def interleaved(
    port: int, hub_pid: int, loop: ReportLoop, rounds: int, requests: int, rate: float
) -> dict[str, Any]:
    """Quiet and loaded windows in the order Q L, L Q, Q L …: pooled per condition, and per round."""
    pooled: dict[str, list[float]] = {"quiet": [], "reports": []}
    per_round = []
    for index in range(rounds):
        order = ("quiet", "reports") if index % 2 == 0 else ("reports", "quiet")
        row: dict[str, Any] = {}
        for condition in order:
            if condition == "quiet":
                loop.pause()
            else:
                loop.resume()
                time.sleep(0.3)  # a report in flight before the first ticket
            window = issue_window(port, hub_pid, {"service_id": "chung-thuc"}, requests, rate)
            ms = window.pop("ms")
            pooled[condition] += ms
            row[condition] = {**percentiles(ms), **window}
        per_round.append(row)
    loop.pause()
    return {
        "quiet": percentiles(pooled["quiet"]),
        "reports": percentiles(pooled["reports"]),
        "rounds": per_round,
        "rounds_loaded_p99_not_above_quiet": sum(
            r["reports"]["p99_ms"] <= r["quiet"]["p99_ms"] for r in per_round
        ),
    }


def live_path(db: Path, raw: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, PrivateBroker() as broker:
        http_port = find_free_port()
        config = json.loads(json.dumps(raw))
        config["mqtt"] = {"host": "127.0.0.1", "port": broker.port}
        config["hub"] = {"db": str(db), "http_host": "127.0.0.1", "http_port": http_port,
                         "public_url": f"http://127.0.0.1:{http_port}", "https": False}  # fmt: skip
        config["site"] = "bench"
        fast = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        for officer in config["officers"]:
            officer["password_hash"] = fast
        path = Path(tmp) / "hub.toml"
        path.write_text(tomli_w.dumps(config), encoding="utf-8")
        hub = HubProcess(path, web=True).start(timeout=120)
        base = f"http://127.0.0.1:{http_port}"
        try:
            # Warm up: the first issue, and the first report (it spawns the report worker).
            run_clients(broker.port, "ticket.issue", {"service_id": "chung-thuc"}, 20, 10, args.rate)
            loop = ReportLoop(base)
            loop._one(f"from={YEAR}-01-01&to={YEAR}-12-31&by=service")
            loop.latencies.clear()
            loop.start()
            loop.pause()
            out["issue_interleaved"] = interleaved(
                broker.port, hub.process.pid, loop, args.rounds, args.requests, args.rate
            )
            out["reports_during_warm"] = loop.summary()
            loop.stop.set()
            loop.resume()
            loop.join(timeout=300)
            if args.cold:
                conn = connect(db)
                conn.execute("DELETE FROM report_cells")
                conn.execute("DELETE FROM report_days")
                conn.close()
                cold = ReportLoop(base)
                cold.start()
                time.sleep(0.3)
                out["issue_during_reports_cold"] = run_clients(
                    broker.port, "ticket.issue", {"service_id": "ho-tich"}, args.requests, 10, args.rate
                )
                cold.stop.set()
                cold.join(timeout=300)
                out["reports_during_cold"] = cold.summary()
        finally:
            hub.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "motcua-year.db")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=300, help="ticket.issue requests per window")
    parser.add_argument("--rate", type=float, default=40.0, help="paced issue rate, requests/s")
    parser.add_argument("--rounds", type=int, default=4, help="quiet/loaded window pairs, interleaved")
    parser.add_argument("--cold", action="store_true", help="also issue while the year is summarised anew")
    parser.add_argument("--live-only", action="store_true", help="skip the in-process report timings")
    args = parser.parse_args()
    raw = year_site(db=str(args.db))
    site = HubConfig.model_validate(raw)
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    }
    if not args.db.exists():
        started = time.perf_counter()
        results["generated"] = generate(args.db, site, start=date(int(YEAR), 1, 1), days=args.days)
        results["generate_s"] = round(time.perf_counter() - started, 1)
    results["db_mb"] = round(args.db.stat().st_size / 2**20)
    if args.live_only:
        conn = connect(args.db)  # summarise the year once, so every loaded window is warm
        try:
            build(conn, site, parse_period(None, None, YEAR, today=TODAY), "service", today=TODAY)
        finally:
            conn.close()
    else:
        results.update(in_process(args.db, site))
    results.update(live_path(args.db, raw, args))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
