"""The display daemon against a real Mosquitto: retained state in, announcements out as WAV files."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.timeutil import iso, now
from appliance.topics import Topics
from queue_display.audio import Audio, WavFileSink
from queue_display.config import DisplayConfig
from queue_display.service import DisplayService
from queue_display.voicepack import VoicePack, build_pack, default_keys
from tests.support.mqtt import Observer, wait_until

pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs Debian espeak-ng and sox"
)

TOPICS = Topics("demo")


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> VoicePack:
    directory = tmp_path_factory.mktemp("voicepack")
    build_pack(directory, default_keys())
    return VoicePack.load(directory)


def config(mqtt: MqttSettings, **announce: Any) -> DisplayConfig:
    return DisplayConfig.model_validate(
        {
            "device_id": "display-1",
            "site": "demo",
            "mqtt": mqtt.model_dump(),
            "announce": {"repeats": 2, **announce},
            "audio": {"sink": "wav"},
            "screen": {"highlight_s": 5},
        }
    )


def queue_state(seq: int, serving: dict[str, str] | None = None) -> dict[str, Any]:
    serving = serving or {}
    return {
        "v": 1,
        "seq": seq,
        "ts": "2025-11-24T08:30:00.000+07:00",
        "site": {"id": "demo", "name": "Bộ phận Một cửa UBND huyện Long Thành"},
        "services": [
            {"id": "dat-dai", "name": "Đất đai", "name_en": "Land", "waiting": 3, "estimated_wait_s": 900}
        ],
        "counters": [
            {
                "id": str(i),
                "name": str(i),
                "services": ["dat-dai"],
                "open": True,
                "serving": {"id": f"t-{serving[str(i)]}", "number": serving[str(i)], "service_id": "dat-dai"}
                if str(i) in serving
                else None,
            }
            for i in range(1, 7)
        ],
        "recent_calls": [],
    }


def called(seq: int, number: str, counter: str, kind: str = "ticket.called") -> dict[str, Any]:
    return {
        "v": 1,
        "type": kind,
        "seq": seq,
        # Now: the display only says a call older than announce.missed_max_age_s if it arrived live.
        "ts": iso(now()),
        "ticket": {"id": f"t-{number}", "number": number, "service_id": "dat-dai", "status": "called"},
        "counter_id": counter,
        "counter_name": counter,
    }


@pytest.fixture
def hub(broker: PrivateBroker) -> Iterator[Observer]:
    """Plays the hub: publishes queue/state and queue/events with a plain paho client."""
    with Observer(broker.port) as observer:
        yield observer


def publish(hub: Observer, topic: str, payload: dict[str, Any], *, retain: bool = False) -> None:
    hub.publish(topic, json.dumps(payload, ensure_ascii=False).encode(), retain=retain)


def test_a_published_call_becomes_a_wav_announcement(
    broker: PrivateBroker, mqtt_settings: MqttSettings, hub: Observer, pack: VoicePack, tmp_path: Path
) -> None:
    publish(hub, TOPICS.queue_state, queue_state(10, {"1": "1001"}), retain=True)
    sink = WavFileSink(tmp_path)
    with DisplayService(config(mqtt_settings), sink=sink, pack=pack) as service:
        # Rebuilt from the retained state on connect.
        # (The retained state can arrive a moment before the link reports itself connected.)
        wait_until(lambda: service.store.snapshot(0).has_state and service.store.snapshot(0).connected)
        board = service.store.snapshot(0)
        assert board.connected and board.counters[0].number == "1001"

        publish(hub, TOPICS.queue_events, called(11, "1023", "5"))
        assert sink.wait_for(1, timeout=5)
        played = sink.played[0]
        assert played.label == "1023-5" and played.path is not None
        info = subprocess.run(["sox", "--i", "-r", str(played.path)], capture_output=True, text=True).stdout
        assert info.strip() == "22050"
        assert 7 < Audio.read(played.path).duration_s < 16
        board = service.store.snapshot(service.clock())
        assert board.counters[4].number == "1023" and board.counters[4].highlighted

        # A QoS 1 redelivery of the same event and garbage on the topic: no second announcement.
        publish(hub, TOPICS.queue_events, called(11, "1023", "5"))
        hub.publish(TOPICS.queue_events, b"{not json")
        hub.publish(TOPICS.queue_events, b'{"v": 7, "type": "ticket.called"}')
        publish(hub, TOPICS.queue_events, called(12, "1024", "6", kind="ticket.recalled"))
        assert sink.wait_for(2, timeout=5)
        assert [p.label for p in sink.played] == ["1023-5", "1024-6"]
        assert service.health()["announcements_played"] == 2

    with Observer(broker.port, TOPICS.device_health("display-1")) as watcher:  # retained health
        assert watcher.wait_for(lambda m: True).json()["audio"] == "wav"


def test_the_board_shows_a_lost_broker_and_rebuilds_after_it_returns(
    broker: PrivateBroker, mqtt_settings: MqttSettings, pack: VoicePack
) -> None:
    with Observer(broker.port) as hub:
        publish(hub, TOPICS.queue_state, queue_state(10), retain=True)
    with DisplayService(config(mqtt_settings), sink=WavFileSink(), pack=pack) as service:
        wait_until(lambda: service.store.snapshot(0).has_state and service.store.snapshot(0).connected)
        broker.stop()
        wait_until(lambda: not service.store.snapshot(0).connected)  # "mất kết nối"
        broker.start()
        wait_until(lambda: service.store.snapshot(0).connected, timeout=10)
        with Observer(broker.port) as hub:  # the hub republishes its state on reconnect
            publish(hub, TOPICS.queue_state, queue_state(11, {"2": "1002"}), retain=True)
        wait_until(lambda: service.store.snapshot(0).counters[1].number == "1002")


class GatedSink(WavFileSink):
    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def play(self, audio: Audio, *, label: str = "") -> None:
        self.entered.set()
        assert self.gate.wait(5)
        super().play(audio, label=label)


def test_a_rush_of_calls_is_announced_briefly(
    broker: PrivateBroker, mqtt_settings: MqttSettings, hub: Observer, pack: VoicePack
) -> None:
    sink = GatedSink()
    with DisplayService(config(mqtt_settings, brief_when_backlog=2), sink=sink, pack=pack) as service:
        wait_until(lambda: service.link.connected)
        for i in range(4):
            publish(hub, TOPICS.queue_events, called(20 + i, f"{1101 + i}", str(i + 1)))
            if i == 0:
                assert sink.entered.wait(5)  # the first is on the speaker; the others pile up
        wait_until(lambda: service.calls_seen == 4)
        sink.gate.set()
        assert sink.wait_for(4, timeout=10)
    durations = [p.audio.duration_s for p in sink.played]
    # The first started alone (said twice); the second had 2 behind it (said once); the rest twice.
    assert [p.label for p in sink.played] == ["1101-1", "1102-2", "1103-3", "1104-4"]
    assert durations[1] < durations[0] - 3 and durations[2] > durations[1] + 3
