"""A service day of announcements does not fill the data folder (issue 20.2).

The demo's hall display speaks into WAV files (`[audio] sink = "wav"`): one file per call grew to
3 GB in a 25-minute demo. 2,000 calls reach the display the way they do on site (queue/events from the
broker), each is assembled from the voice pack's clips and played on that simulated sink, and the data
folder grows by no more than `wav_keep` announcements.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.timeutil import iso, now
from queue_display.audio import WavFileSink
from queue_display.config import DisplayConfig
from queue_display.service import DisplayService
from queue_display.voicepack import VoicePack, build_pack, default_keys
from tests.support.mqtt import Observer, wait_until

pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs Debian espeak-ng and sox"
)

SITE = "demo"
CALLS = 2000
KEEP = 20
# The longest announcement ("Xin mời … số 1999 đến quầy số 6", said once) is well under 1 MB.
LIMIT_BYTES = KEEP * 1024 * 1024


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def call(seq: int, number: str, counter: str) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "ticket.called",
        "seq": seq,
        "ts": iso(now()),
        "ticket": {"id": f"t-{seq}", "number": number, "service_id": "dat-dai", "status": "called"},
        "counter_id": counter,
        "counter_name": counter,
    }


def test_two_thousand_calls_leave_a_bounded_data_folder(
    broker: PrivateBroker, mqtt_settings: MqttSettings, tmp_path: Path
) -> None:
    pack_dir = tmp_path / "voice"
    build_pack(pack_dir, default_keys())
    data = tmp_path / "data"
    data.mkdir()
    config = DisplayConfig.model_validate(
        {
            "device_id": "display-1",
            "site": SITE,
            "mqtt": mqtt_settings.model_dump(),
            # Said once, as in a rush: the test is about files, not about listening to 2,000 calls twice.
            "announce": {"repeats": 1, "chime": False},
            "audio": {"sink": "wav", "wav_dir": str(data / "announcements"), "wav_keep": KEEP},
        }
    )
    before = folder_bytes(data)
    with (
        Observer(broker.port) as hub,
        DisplayService(config, pack=VoicePack.load(pack_dir)) as display,
    ):
        sink = display.sink
        assert isinstance(sink, WavFileSink)
        wait_until(lambda: display.store.snapshot(0).connected)
        largest = 0
        for seq in range(1, CALLS + 1):
            hub.publish(
                f"motcua/v1/{SITE}/queue/events", json.dumps(call(seq, str(1000 + seq), str(seq % 6 + 1)))
            )
            if seq % 50 == 0:  # let the speaker catch up, as a hall's pace would
                wait_until(lambda seq=seq: sink.count >= seq, timeout=30)
                largest = max(largest, folder_bytes(data) - before)
        wait_until(lambda: sink.count >= CALLS and display.playback.pending == 0, timeout=30)
        # The sink has the last clip a moment before the queue counts it as played.
        wait_until(lambda: display.playback.stats.played >= CALLS, timeout=10)
        assert display.playback.stats.played == CALLS
    grown = folder_bytes(data) - before
    files = sorted((data / "announcements").glob("*.wav"))
    assert len(files) == KEEP, len(files)
    assert files[-1].name.startswith(f"{CALLS:04d}-")  # the newest are the ones kept
    print(f"data folder growth after {CALLS} calls: {grown} bytes (peak {largest}), limit {LIMIT_BYTES}")
    assert max(grown, largest) < LIMIT_BYTES, f"data folder grew by {max(grown, largest)} bytes"
