"""Printer benchmark: render + encode time per ticket and per receipt, jobs/s through the daemon to a
fake network printer, and the daemon's resident memory.

    .venv/bin/python -m bench.bench_printer            # ~30 s
    .venv/bin/python -m bench.bench_printer --quick    # ~10 s

"Encode" is python-escpos turning the 1-bit picture into `GS v 0` bytes (what goes on the wire).
The daemon runs as its own process (`python -m ticket_printer`) against a private Mosquitto and the
tests' fake TCP printer, so its RSS is that of the real daemon. Prints markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from appliance.broker import PrivateBroker
from appliance.topics import Topics
from ticket_printer.documents import render_job
from ticket_printer.jobs import parse_job
from ticket_printer.layout import Fonts, paper_for
from ticket_printer.printer import SimulatedPrinter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.fake_printer import FakeNetworkPrinter  # noqa: E402
from support.mqtt import Observer  # noqa: E402
from support.print_jobs import RECEIPT_JOB, ticket_job  # noqa: E402

SITE, DEVICE = "bench", "printer-bench"


def stats_ms(samples: list[float]) -> tuple[float, float]:
    values = np.array(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def time_it(action: Callable[[], Any], runs: int) -> list[float]:
    action()  # warm the font cache and the code paths
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def render_and_encode(runs: int) -> list[str]:
    fonts = Fonts()
    rows = [
        "| job | width | render p50 / p99 ms | encode p50 / p99 ms | total p50 / p99 ms | bytes |",
        "|---|---|---|---|---|---|",
    ]
    jobs = {"ticket": parse_job(ticket_job()), "receipt (3 papers)": parse_job(RECEIPT_JOB)}
    for name, job in jobs.items():
        for dots in (384, 576):
            paper = paper_for(dots)
            image = render_job(job, paper, fonts=fonts)
            # The daemon's own path: ESC @, GS v 0 bands of 256 rows, feed and cut, into python-escpos Dummy.
            printer = SimulatedPrinter(dots=dots)

            def encode(image: Any = image, printer: SimulatedPrinter = printer) -> None:
                printer.clear()
                printer.print_image(image)

            def both(job: Any = job, paper: Any = paper, printer: SimulatedPrinter = printer) -> None:
                printer.clear()
                printer.print_image(render_job(job, paper, fonts=fonts))

            render = stats_ms(time_it(lambda job=job, paper=paper: render_job(job, paper, fonts=fonts), runs))
            encoded = stats_ms(time_it(encode, runs))
            total = stats_ms(time_it(both, runs))
            encode()
            cells = [
                name,
                f"{dots} ({image.width}×{image.height})",
                *(f"{p50:.1f} / {p99:.1f}" for p50, p99 in (render, encoded, total)),
                str(len(printer.output)),
            ]
            rows.append("| " + " | ".join(cells) + " |")
    return rows


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def through_daemon(jobs: int) -> list[str]:
    topics = Topics(SITE)
    with (
        tempfile.TemporaryDirectory(prefix="bench-printer-") as tmp,
        PrivateBroker() as broker,
        FakeNetworkPrinter() as fake,
    ):
        config = {
            "device_id": DEVICE,
            "site": SITE,
            "role": "printer",
            "mqtt": {"host": "127.0.0.1", "port": broker.port},
            "state_dir": str(Path(tmp) / "state"),
            "printer": {"dots": 576, "backend": {"type": "network", "host": "127.0.0.1", "port": fake.port}},
            "jobs": {"status_interval_s": 5.0},
        }
        config_path = Path(tmp) / "printer.toml"
        config_path.write_text(tomli_w.dumps(config), encoding="utf-8")
        log = (Path(tmp) / "daemon.log").open("wb")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "ticket_printer", "-c", str(config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "MOTCUA_LOG": "WARNING"},
        )
        try:
            watched = (topics.print_results(DEVICE), topics.device_health(DEVICE))
            with Observer(broker.port, *watched) as observer:
                observer.wait_for(lambda seen: seen.topic.endswith("/health"), timeout=20)
                idle_rss = rss_kib(daemon.pid)
                start = time.perf_counter()
                for n in range(jobs):
                    job = ticket_job(f"bench-{n}", number=f"{n % 1000:04d}")
                    observer.publish(topics.print_jobs(DEVICE), json.dumps(job, ensure_ascii=False))
                last = f"bench-{jobs - 1}"
                observer.wait_for(
                    lambda seen: seen.topic.endswith("/results") and seen.json()["job_id"] == last,
                    timeout=120,
                )
                elapsed = time.perf_counter() - start
                pages = fake.wait_for_pages(jobs, timeout=10)
                busy_rss = rss_kib(daemon.pid)
                printed = sum(
                    1
                    for seen in observer.messages
                    if seen.topic.endswith("/results") and seen.json()["status"] == "printed"
                )
        finally:
            daemon.terminate()
            daemon.wait(timeout=15)
            log.close()
    return [
        "| measure | value |",
        "|---|---|",
        f"| ticket jobs through MQTT → daemon → fake TCP printer | {jobs / elapsed:.1f} jobs/s "
        f"({jobs} jobs in {elapsed:.2f} s, {printed} printed, {len(pages)} pages received) |",
        f"| daemon RSS idle / after {jobs} jobs | {idle_rss / 1024:.1f} MB / {busy_rss / 1024:.1f} MB |",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    runs, jobs = (30, 50) if args.quick else (200, 300)
    print(
        f"## Printer ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()})\n"
    )
    print(f"Render + encode, {runs} runs each (ticket target < 20 ms):\n")
    print("\n".join(render_and_encode(runs)))
    print()
    print("\n".join(through_daemon(jobs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
