"""Reports at a year's scale, and the hub's live path while reports run.

    .venv/bin/python -m bench.bench_reports [--db /tmp/motcua-year.db] [--days 365]

Generates a realistic year (hub.reports.generate: ≥ 300,000 tickets, 20 counters, 12 services) into
a hub database unless `--db` already holds one, then measures in-process, on a fresh connection as
the web view uses: the first summary of the year (cold), every grouping over the year, a quarter
and a month (warm), the month's xlsx and PDF. Then it starts a real hub (`python -m hub`, web on)
on that database and measures `ticket.issue` over MQTT at a paced rate, quietly and while a loop
of HTTP report requests (year reports in every grouping, the month's xlsx) runs against the same
hub — warm, and cold (summaries dropped first, so the hub summarises the year meanwhile).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
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
from bench.bench_hub import run_clients  # noqa: E402
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
    """HTTP report requests back to back until stopped; keeps each one's latency."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.stop = threading.Event()
        self.latencies: dict[str, list[float]] = {}
        token = base64.b64encode(f"truongbp:{PASSWORD}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}

    def run(self) -> None:
        queries = [f"from={YEAR}-01-01&to={YEAR}-12-31&by={by}" for by in DIMENSIONS]
        queries.append(f"from={YEAR}-03-01&to={YEAR}-03-31&format=xlsx")
        while not self.stop.is_set():
            for query in queries:
                started = time.perf_counter()
                request = urllib.request.Request(f"{self.base}/api/v1/reports?{query}", headers=self.headers)
                with urllib.request.urlopen(request, timeout=120) as response:
                    response.read()
                kind = "month_xlsx" if "xlsx" in query else "year_" + query.rsplit("=", 1)[1]
                self.latencies.setdefault(kind, []).append(time.perf_counter() - started)
                if self.stop.is_set():
                    return


def live_path(db: Path, raw: dict[str, Any], requests: int, rate: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, PrivateBroker() as broker:
        http_port = find_free_port()
        config = json.loads(json.dumps(raw))
        config["mqtt"] = {"host": "127.0.0.1", "port": broker.port}
        config["hub"] = {"db": str(db), "http_host": "127.0.0.1", "http_port": http_port,
                         "public_url": f"http://127.0.0.1:{http_port}"}  # fmt: skip
        config["site"] = "bench"
        fast = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        for officer in config["officers"]:
            officer["password_hash"] = fast
        path = Path(tmp) / "hub.toml"
        path.write_text(tomli_w.dumps(config), encoding="utf-8")
        hub = HubProcess(path, web=True).start(timeout=120)
        base = f"http://127.0.0.1:{http_port}"
        issue = {"service_id": "chung-thuc"}
        try:
            out["issue_quiet"] = run_clients(broker.port, "ticket.issue", issue, requests, 10, rate)
            for label, cold in (("warm", False), ("cold", True)):
                if cold:
                    conn = connect(db)
                    conn.execute("DELETE FROM report_cells")
                    conn.execute("DELETE FROM report_days")
                    conn.close()
                loop = ReportLoop(base)
                loop.start()
                time.sleep(0.3)
                out[f"issue_during_reports_{label}"] = run_clients(
                    broker.port,
                    "ticket.issue",
                    {"service_id": "ho-tich" if cold else "tu-phap"},
                    requests,
                    10,
                    rate,
                )
                loop.stop.set()
                loop.join(timeout=300)
                out[f"reports_during_{label}"] = {
                    kind: {"n": len(v), "median_s": round(statistics.median(v), 3), "max_s": round(max(v), 3)}
                    for kind, v in loop.latencies.items()
                }
        finally:
            hub.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "motcua-year.db")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=600, help="ticket.issue requests per phase")
    parser.add_argument("--rate", type=float, default=40.0, help="paced issue rate, requests/s")
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
    results.update(in_process(args.db, site))
    results.update(live_path(args.db, raw, args.requests, args.rate))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
