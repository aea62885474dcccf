"""Benchmarks that draw: a Kivy program in a child process, offscreen (no window, no X server)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_offscreen(module_args: list[str], *, timeout: float, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m <module_args>` from the checkout, drawn by SDL's offscreen driver; output captured."""
    return subprocess.run(
        [sys.executable, "-m", *module_args],
        cwd=ROOT,
        env={**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
