"""Hall display benchmark: announcement assembly, ticket.called → playback start over a real
Mosquitto, event → board model updated, and the resident memory of the kivy display.

    .venv/bin/python -m bench.bench_announce            # ~15 s
    .venv/bin/python -m bench.bench_announce --quick    # ~6 s

Prints markdown tables for docs/benchmarks.md. Target (issue 6): event → playback start p99 < 200 ms.
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.topics import Topics
from bench.offscreen import run_offscreen
from queue_display.announce import AnnounceSettings, build_announcement
from queue_display.audio import Audio, WavFileSink
from queue_display.config import DisplayConfig
from queue_display.numbers import SOUTH
from queue_display.service import DisplayService
from queue_display.voicepack import VoicePack, build_pack, default_keys

ROOT = Path(__file__).resolve().parents[1]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def row(name: str, values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return f"| {name} | {len(ms)} | {pct(ms, 50):.2f} | {pct(ms, 99):.2f} | {max(ms):.2f} |"


def bench_build(pack_dir: Path) -> str:
    started = time.perf_counter()
    manifest = build_pack(pack_dir, default_keys())
    seconds = time.perf_counter() - started
    return f"Default voice pack: {len(manifest.clips)} clips synthesised with espeak-ng in {seconds:.2f} s."


def bench_assembly(pack: VoicePack, runs: int) -> list[str]:
    cases = {
        "digits, 2 repeats (1023 → 5)": (AnnounceSettings(), "1023", "5"),
        "cardinal south, 2 repeats (A105 → 12B)": (
            AnnounceSettings(number_mode="cardinal", dialect=SOUTH),
            "A105",
            "12B",
        ),
        "digits, 1 repeat (1023 → 5)": (AnnounceSettings(repeats=1), "1023", "5"),
    }
    lines = ["| announcement | runs | p50 ms | p99 ms | max ms |", "|---|---|---|---|---|"]
    for name, (settings, number, counter) in cases.items():
        build, assemble, wav = [], [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            announcement = build_announcement(number, counter, settings)
            t1 = time.perf_counter()
            audio = pack.assemble(announcement.clips)
            t2 = time.perf_counter()
            audio.to_wav_bytes()
            t3 = time.perf_counter()
            build.append(t1 - t0)
            assemble.append(t2 - t1)
            wav.append(t3 - t2)
        lines.append(row(f"{name}: words + clip keys", build))
        lines.append(row(f"{name}: concatenate PCM ({audio.duration_s:.1f} s of audio)", assemble))
        lines.append(row(f"{name}: encode WAV for the player", wav))
    return lines


class StampingSink(WavFileSink):
    """Records when each announcement reaches the speaker."""

    def __init__(self) -> None:
        super().__init__()
        self.started_at: dict[str, float] = {}

    def play(self, audio: Audio, *, label: str = "") -> None:
        self.started_at[label] = time.monotonic()
        super().play(audio, label=label)


def bench_event_to_playback(pack: VoicePack, events: int) -> list[str]:
    topics = Topics("bench")
    with PrivateBroker() as broker:
        mqtt = MqttSettings(port=broker.port, reconnect_min=0.05, reconnect_max=0.5)
        config = DisplayConfig(device_id="display-bench", site="bench", mqtt=mqtt, audio={"sink": "none"})
        sink = StampingSink()
        with DisplayService(config, sink=sink, pack=pack) as service:
            if not service.link.wait_connected(10):
                raise SystemExit("the display did not connect to the private broker")
            publisher = _publisher(broker.port)
            sent: dict[str, float] = {}
            display_lag: list[float] = []
            for i in range(events):
                number = f"{1000 + i}"
                payload = {
                    "v": 1,
                    "type": "ticket.called",
                    "seq": i + 1,
                    "ticket": {"id": f"t-{number}", "number": number, "service_id": "s"},
                    "counter_id": "5",
                    "counter_name": "5",
                }
                version = service.store.model.version
                sent[f"{number}-5"] = time.monotonic()
                publisher.publish(topics.queue_events, json.dumps(payload), qos=1).wait_for_publish(5)
                deadline = time.monotonic() + 5
                while service.store.model.version == version and time.monotonic() < deadline:
                    time.sleep(0.0001)  # polled like the screen does, but 1000× more often
                display_lag.append(time.monotonic() - sent[f"{number}-5"])
                # One call at a time (a quiet hall): measures latency, not the queue behind a burst.
                service.playback.join(5)
            publisher.disconnect()
            publisher.loop_stop()
    to_play = [sink.started_at[label] - sent[label] for label in sent if label in sink.started_at]
    return [
        "| path | events | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|",
        row("ticket.called published → playback start (sink.play)", to_play),
        row("ticket.called published → board model updated", display_lag),
        "",
        "The kivy screen redraws from the model every 100 ms, so the screen shows a call at most"
        " ~100 ms + one frame after the model has it.",
    ]


def _publisher(port: int):  # type: ignore[no-untyped-def]
    from paho.mqtt.client import Client
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    client = Client(CallbackAPIVersion.VERSION2, client_id="bench-hub", protocol=MQTTProtocolVersion.MQTTv5)
    client.on_socket_open = lambda c, u, sock: sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def bench_display_rss(counters: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        shot = Path(tmp) / "board.png"
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        run_offscreen(
            ["queue_display", "--demo", str(counters), "--screenshot", str(shot)], timeout=120, KIVY_HOME=tmp
        ).check_returncode()
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    note = "" if peak > before else " (upper bound: an earlier child was larger)"
    where = f"{counters} counters, 1920×1080 offscreen (llvmpipe)"
    return f"Display process peak RSS, {where}: {peak / 1024:.0f} MB{note}."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    runs, events = (300, 40) if args.quick else (2000, 200)
    with tempfile.TemporaryDirectory() as tmp:
        pack_dir = Path(tmp) / "pack"
        print("## Hall display and voice announcements\n")
        print(bench_build(pack_dir) + "\n")
        pack = VoicePack.load(pack_dir)
        print("\n".join(bench_assembly(pack, runs)) + "\n")
        print("\n".join(bench_event_to_playback(pack, events)) + "\n")
        print(bench_display_rss(40))
    return 0


if __name__ == "__main__":
    sys.exit(main())
