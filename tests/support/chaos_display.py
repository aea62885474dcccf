"""A hall display process whose loudspeaker is a journal: the real DisplayService (MQTT, board,
playback queue, voice pack) with a sink that appends one JSON line per announcement played.

    python -m tests.support.chaos_display -c display.toml --journal played.jsonl

The journal is flushed per line, so a test reads what the hall heard even while the process runs.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path

from appliance.config import load
from queue_display.audio import Audio
from queue_display.config import DisplayConfig
from queue_display.service import DisplayService


class JournalSink:
    """Plays nothing; writes `{"label", "duration_s", "t"}` per announcement (label: number-counter)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def play(self, audio: Audio, *, label: str = "") -> None:
        line = json.dumps({"label": label, "duration_s": round(audio.duration_s, 2), "t": time.time()})
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-c", "--config", type=Path, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    args = parser.parse_args(argv)
    config = load(args.config, DisplayConfig)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with DisplayService(config, sink=JournalSink(args.journal)):
        print("Display ready", flush=True)
        stopped.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
