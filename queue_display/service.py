"""The hall display daemon without its screen: MQTT in, board model and announcements out.

`DisplayService` subscribes to the retained `queue/state` and to `queue/events`, keeps a `BoardStore`
that the kivy view (queue_display/view.py) draws, and turns ticket.called / ticket.recalled events
into announcements on the `PlaybackQueue`. It runs the same without a screen (`--no-screen`), which
is how tests and audio-only installations use it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from appliance import __version__
from appliance.inputs import BAD_INPUT, RejectedInputs
from appliance.mqtt import Link, Message, PayloadError
from appliance.timeutil import now

from .announce import CHIME, AnnounceError, build_announcement, spoken_counter, vocabulary
from .audio import AplaySink, Audio, AudioSink, NullSink, WavFileSink
from .board import BoardModel, BoardStore, Call, layout_for
from .config import DisplayConfig
from .playback import PlaybackQueue, PlayRequest
from .results import ResultsModel, ResultsStore
from .voicepack import VoicePack, VoicePackError, chime, ensure_pack

log = logging.getLogger(__name__)

HEALTH_INTERVAL_S = 30.0
IDENTIFY_KIND = "identify"  # a PlayRequest kind: the chime of the hub's "identify" command
# For this long after a (re)connect, events may be a backlog the broker or the hub held during an
# outage: a call older than `announce.missed_max_age_s` is then shown, not said. Events while the link
# stays up are live and always said (whatever the clocks say).
RESYNC_WINDOW_S = 10.0


def make_sink(config: DisplayConfig) -> AudioSink:
    if config.audio.sink == "aplay":
        return AplaySink(config.audio.device or None)
    if config.audio.sink == "wav":
        return WavFileSink(config.audio.wav_dir, keep=20, keep_files=config.audio.wav_keep)
    return NullSink()


def load_pack(config: DisplayConfig) -> VoicePack | None:
    """The configured voice pack, built with espeak-ng if it is missing or incomplete; None (and one
    error line) when that is impossible: the board still works, only silently."""
    settings = config.announce.settings()
    try:
        pack = ensure_pack(config.voice_pack_dir, settings)
    except (VoicePackError, OSError) as error:
        log.error("announcements disabled: %s", error)
        return None
    missing = pack.missing(vocabulary(settings))
    if missing:
        log.error("voice pack %s lacks clips for %s: those words will not be spoken", pack.name, missing)
    return pack


class DisplayService:
    """Board + announcements for one display. Context manager; `stop()` is idempotent."""

    def __init__(
        self,
        config: DisplayConfig,
        *,
        sink: AudioSink | None = None,
        pack: VoicePack | None = None,
        link: Link | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = now,
    ) -> None:
        self.config = config
        self.clock = clock
        self.wall = wall
        self.settings = config.announce.settings()
        layout = layout_for(config.screen.orientation)
        self.store = BoardStore(
            BoardModel(
                page_size=layout.page_size,
                page_s=config.screen.page_s,
                highlight_s=config.screen.highlight_s,
                recent_limit=config.screen.recent_calls,
                message=config.screen.message,
            )
        )
        self.link = link or Link(config.mqtt, site=config.site, device_id=config.device_id, role="display")
        self.topics = self.link.topics
        self.results: ResultsStore | None = None
        if config.screen.results != "off":
            self.results = ResultsStore(
                ResultsModel(rows_per_page=config.screen.results_rows, page_s=config.screen.page_s)
            )
        self.sink = sink if sink is not None else make_sink(config)
        self.pack = pack if pack is not None or not config.announce.enabled else load_pack(config)
        self.playback = PlaybackQueue(self.sink, self._render)
        self.calls_seen = 0
        self.heartbeat = clock()
        self.config_error: str | None = None  # a pushed configuration refused (queue_display.device)
        self.rejected = RejectedInputs(on_change=self.publish_health)
        self._connected_at: float | None = None  # monotonic; None while the link is down
        self._stopped = threading.Event()
        self._health_thread: threading.Thread | None = None

    # ------------------------------------------------------------------ life cycle
    def start(self) -> DisplayService:
        self.link.on_connection_change(self._on_connection)
        self.link.subscribe(self.topics.queue_state, self._on_state)
        self.link.subscribe(self.topics.queue_events, self._on_event)
        if self.results is not None:
            self.link.subscribe(self.topics.results_ready, self._on_results)
        self.playback.start()
        self.link.start()
        self.publish_health()
        self._health_thread = threading.Thread(target=self._health_loop, name="display-health", daemon=True)
        self._health_thread.start()
        return self

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.playback.stop()
        self.sink.close()
        self.link.stop()

    def __enter__(self) -> DisplayService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ MQTT handlers (network thread)
    def _on_connection(self, connected: bool) -> None:
        self._connected_at = self.clock() if connected else None
        self.store.set_connected(connected)
        if not connected:
            log.warning("broker link lost: the board shows “mất kết nối” until it is back")

    def _on_state(self, message: Message) -> None:
        payload = self._decode(message)
        if payload is None:
            return
        try:
            self.store.apply_state(payload, self.clock())
            # A call made while the broker was down (or we were away) came in no event: said now.
            missed = self.store.missed_calls(payload, self.wall(), self.config.announce.missed_max_age_s)
        except BAD_INPUT as error:
            self._refuse(message, error)
            return
        for call in missed:
            log.info("announcing %s at counter %s, missed while away", call.number, call.counter_id)
            self.calls_seen += 1
            self.announce(call)

    def _on_event(self, message: Message) -> None:
        payload = self._decode(message)
        if payload is None:
            return
        try:
            call = self.store.apply_event(payload, self.clock())
        except BAD_INPUT as error:
            self._refuse(message, error)
            return
        if call is None:
            return
        self.calls_seen += 1
        if self._resyncing():
            age = self.store.event_age(payload, self.wall())
            if age is not None and age > self.config.announce.missed_max_age_s:
                log.info(
                    "call of %s delivered %.0f s late after an outage: shown, not announced", call.number, age
                )
                return
        self.announce(call)

    def _resyncing(self) -> bool:
        connected_at = self._connected_at
        return connected_at is None or self.clock() - connected_at < RESYNC_WINDOW_S

    def _on_results(self, message: Message) -> None:
        payload = self._decode(message)
        if payload is None or self.results is None:
            return
        try:
            self.results.apply(payload, self.clock())
        except BAD_INPUT as error:
            self._refuse(message, error)

    def _decode(self, message: Message) -> dict[str, Any] | None:
        try:
            return message.json()
        except PayloadError as error:
            self._refuse(message, error)
            return None

    def _refuse(self, message: Message, error: Exception) -> None:
        """Any bytes may arrive: what is not usable is counted in health, never raised."""
        where = message.topic.removeprefix(self.topics.root + "/")
        self.rejected.reject(where, f"{type(error).__name__}: {error}")

    # ------------------------------------------------------------------ announcements
    def announce(self, call: Call) -> bool:
        """Queue the announcement of a call; False if it cannot be said (logged) or is a duplicate."""
        if not self.config.announce.enabled or self.pack is None:
            return False
        try:
            counter = spoken_counter(call.counter_id, call.counter_name, self.config.announce.counter_labels)
            build_announcement(call.number, counter, self.settings)  # reject bad input now, not later
        except AnnounceError as error:
            log.error("not announcing ticket %s: %s", call.number, error)
            return False
        return self.playback.submit(
            PlayRequest(key=call.ticket_id, number=call.number, counter=counter, kind=call.kind)
        )

    def _render(self, request: PlayRequest, backlog: int) -> Audio | None:
        if request.kind == IDENTIFY_KIND:  # the hub's "identify": the gong alone, even without a pack
            return self.pack.assemble([CHIME]) if self.pack is not None else chime()
        assert self.pack is not None
        # With calls piling up (the opening rush), each is said once so the hall is not minutes behind.
        repeats = 1 if backlog >= self.config.announce.brief_when_backlog else None
        announcement = build_announcement(request.number, request.counter, self.settings, repeats=repeats)
        return self.pack.assemble(announcement.clips)

    # ------------------------------------------------------------------ health
    def alive(self, *, screen: bool) -> bool:
        """For the systemd watchdog: the player thread runs and (with a screen) the UI loop ticked
        within the last 30 s (the view sets `heartbeat`)."""
        return self.playback.running and (not screen or self.clock() - self.heartbeat < 30.0)

    def health(self) -> dict[str, Any]:
        stats = self.playback.stats
        snapshot = self.store.snapshot(self.clock())
        return {
            "version": __version__,
            "screen": self.config.screen.orientation,
            "counters": len(snapshot.counters),
            "state_seq": self.store.model.seq,
            "audio": self.config.audio.sink if self.pack is not None else "no voice pack",
            "voice_pack": str(self.pack.name) if self.pack is not None else None,
            "announcements_pending": self.playback.pending,
            "announcements_played": stats.played,
            "announcements_failed": stats.failed,
            "last_audio_error": stats.last_error,
            "config_error": self.config_error,
            "rejected_inputs": self.rejected.as_health(),
        }

    def _health_loop(self) -> None:
        while not self._stopped.wait(HEALTH_INTERVAL_S):
            self.publish_health()

    def publish_health(self) -> None:
        """Retained health; the link re-sends the last one after every reconnect."""
        try:
            self.link.publish_health(self.health())
        except Exception as error:  # health is best effort; the next round retries
            log.warning("health not published: %s", error)
