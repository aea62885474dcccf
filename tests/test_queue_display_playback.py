"""The playback queue: bursts of calls play in order, one at a time, none lost, recalls not doubled."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from queue_display.announce import build_announcement
from queue_display.audio import Audio, WavFileSink
from queue_display.playback import PlaybackQueue, PlayRequest
from queue_display.voicepack import VoicePack, build_pack, default_keys

pytestmark = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs Debian espeak-ng")


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> VoicePack:
    directory = tmp_path_factory.mktemp("voicepack")
    build_pack(directory, default_keys())
    return VoicePack.load(directory)


def renderer(pack: VoicePack):  # type: ignore[no-untyped-def]
    def render(request: PlayRequest, backlog: int) -> Audio:
        return pack.assemble(build_announcement(request.number, request.counter).clips)

    return render


class GatedSink(WavFileSink):
    """A WavFileSink whose speaker is 'busy' until the test opens the gate."""

    def __init__(self, directory: Path | None = None) -> None:
        super().__init__(directory)
        self.gate = threading.Event()
        self.entered = threading.Event()

    def play(self, audio: Audio, *, label: str = "") -> None:
        self.entered.set()
        assert self.gate.wait(5), "gate never opened"
        super().play(audio, label=label)


def test_ten_calls_within_a_second_play_in_order_without_overlap(pack: VoicePack, tmp_path: Path) -> None:
    # realtime=0.01: each ~12 s announcement holds the "speaker" ~0.12 s, so calls pile up.
    sink = WavFileSink(tmp_path, realtime=0.01)
    calls = [(f"{1001 + i}", str(i % 6 + 1)) for i in range(10)]
    with PlaybackQueue(sink, renderer(pack)) as queue:
        for number, counter in calls:
            queue.submit(PlayRequest(key=f"t-{number}", number=number, counter=counter))
            time.sleep(0.05)  # 10 calls over 0.5 s
        assert queue.join(timeout=10)
    assert [played.label for played in sink.played] == [f"{n}-{c}" for n, c in calls]
    assert sink.overlaps == 0
    for before, after in zip(sink.played, sink.played[1:], strict=False):
        assert before.ended <= after.started
    assert len(list(tmp_path.glob("*.wav"))) == 10
    assert queue.stats.played == 10 and queue.stats.failed == 0


def test_a_recall_of_a_queued_ticket_is_not_doubled(pack: VoicePack) -> None:
    sink = GatedSink()
    with PlaybackQueue(sink, renderer(pack)) as queue:
        assert queue.submit(PlayRequest("t-1", "1001", "1"))
        assert sink.entered.wait(2)  # 1001 is being "played"
        assert queue.submit(PlayRequest("t-2", "1002", "2"))
        assert queue.submit(PlayRequest("t-3", "1003", "3"))
        # 1002 is recalled while still waiting: merged, and the newest counter wins.
        assert not queue.submit(PlayRequest("t-2", "1002", "4", kind="recalled"))
        # 1001 is recalled while it plays: the recall is a new announcement.
        assert queue.submit(PlayRequest("t-1", "1001", "1", kind="recalled"))
        assert queue.pending == 3
        sink.gate.set()
        assert queue.join(timeout=10)
    assert [p.label for p in sink.played] == ["1001-1", "1002-4", "1003-3", "1001-1"]
    assert queue.stats.merged == 1


def test_a_failing_announcement_does_not_stop_the_next(pack: VoicePack) -> None:
    sink = WavFileSink()
    render = renderer(pack)

    def flaky(request: PlayRequest, backlog: int) -> Audio:
        if request.number == "bad":
            raise ValueError("cannot build")
        return render(request, backlog)

    with PlaybackQueue(sink, flaky) as queue:
        for number in ("1001", "bad", "1002"):
            queue.submit(PlayRequest(f"t-{number}", number, "1"))
        assert queue.join(timeout=10)
    assert [p.label for p in sink.played] == ["1001-1", "1002-1"]
    assert queue.stats.failed == 1 and queue.stats.last_error == "cannot build"


def test_backlog_is_passed_to_the_renderer_and_stop_is_idempotent(pack: VoicePack) -> None:
    sink = GatedSink()
    seen: list[int] = []
    render = renderer(pack)

    def spy(request: PlayRequest, backlog: int) -> Audio:
        seen.append(backlog)
        return render(request, backlog)

    queue = PlaybackQueue(sink, spy).start()
    for i in range(4):
        queue.submit(PlayRequest(f"t-{i}", str(1001 + i), "1"))
    assert sink.entered.wait(2)
    sink.gate.set()
    assert queue.join(timeout=10)
    queue.stop()
    queue.stop()
    assert seen[1:] == [2, 1, 0]
    assert not queue.running
