"""Run every benchmark in bench/ one after the other (`make bench`); each prints its own figures."""

from __future__ import annotations

import pkgutil
import runpy
import sys
from pathlib import Path


def main() -> int:
    folder = Path(__file__).resolve().parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("bench_"))
    for name in names:
        print(f"\n=== bench.{name}", flush=True)
        saved = sys.argv
        sys.argv = [f"bench.{name}"]
        try:
            runpy.run_module(f"bench.{name}", run_name="__main__")
        except SystemExit as done:
            if done.code not in (0, None):
                print(f"bench.{name} exited with {done.code}", file=sys.stderr)
        finally:
            sys.argv = saved
    return 0


if __name__ == "__main__":
    sys.exit(main())
