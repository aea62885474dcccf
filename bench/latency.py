"""How the benchmarks summarise a list of timings for docs/benchmarks.md."""

from __future__ import annotations

import statistics


def latency_ms(seconds: list[float]) -> dict[str, float]:
    """Count, median, 99th percentile (nearest rank) and worst of `seconds`, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[max(0, int(len(ms) * 0.99) - 1)], 2),
        "max_ms": round(ms[-1], 2),
    }
