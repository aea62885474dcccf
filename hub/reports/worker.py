"""Reports are computed in a separate, lower-priority process, not in the hub's.

A year's report is CPU work in Python; in the hub's own process it would hold the interpreter lock
the queue writer needs, and a citizen's ticket would wait behind the head's spreadsheet (measured:
issue p99 3 ms → 190 ms). One spawned worker (nice 19, its own session) does it instead, on its own SQLite
connection; the hub only waits for the answer on the web thread that asked.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from pathlib import Path
from typing import Any

from .period import Period

TIMEOUT_S = 300.0
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _lower_priority() -> None:
    """Nice 19 in a scheduling group of its own. With autogroups (Linux's default) CPU is shared
    between sessions first and by nice only inside one: a worker in the hub's session, however nice,
    spends the hub's share, and a ticket waits behind other processes while it does (measured:
    docs/benchmarks.md). Its own session is its own autogroup, made nice 19 too."""
    with contextlib.suppress(OSError):
        os.setsid()
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as group:
        group.write("19")
    with contextlib.suppress(OSError):
        os.nice(19)


def pool() -> ProcessPoolExecutor:
    """The one report worker, started on first use (tests and hubs that never report never pay)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_lower_priority
            )
        return _pool


def render(db_path: Path, site: Any, period: Period, by: str, fmt: str, today: date, language: str) -> Any:
    """In the worker: the Report (fmt "report"), its JSON dict, or the file's bytes."""
    from ..store import connect
    from .export import to_csv, to_pdf, to_xlsx
    from .report import build, build_all

    conn = connect(db_path)
    try:
        if fmt in ("xlsx", "pdf"):
            everything = build_all(conn, site, period, today=today, language=language)
            ordered = {by: everything[by], **{k: v for k, v in everything.items() if k != by}}
            return to_xlsx(ordered, language) if fmt == "xlsx" else to_pdf(ordered, language)
        report = build(conn, site, period, by, today=today, language=language)
        if fmt == "json":
            return report.to_json()
        if fmt == "csv":
            return to_csv(report, language)
        return report
    finally:
        conn.close()


def run(db_path: Path, site: Any, period: Period, by: str, fmt: str, today: date, language: str) -> Any:
    """`render` in the worker process; a worker that died is replaced for the next request."""
    global _pool
    executor = pool()
    try:
        return executor.submit(render, db_path, site, period, by, fmt, today, language).result(TIMEOUT_S)
    except BrokenProcessPool:
        with _lock:
            if _pool is executor:
                _pool = None
        raise
