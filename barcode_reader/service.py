"""The scanner daemon's core: source → normalise/classify/dedupe → `scans/{device_id}` + health.

`ScannerService` knows nothing of MQTT: it publishes through a `ScanSink`. `MqttSink` is the real
one (appliance.mqtt.Link); `RecordingSink` keeps what it was given for tests; `JsonLinesSink` prints
scans for a technician testing a scanner without a broker.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.inputs import RejectedInputs
from appliance.timeutil import iso

from .camera import CameraSource, V4L2Frames
from .classify import Classified, Deduplicator, Rejected, classify, split_aim
from .config import CameraSettings, HidSettings, ScannerConfig, ScanSettings, SerialSettings, SourceSettings
from .decoders import make_decoder
from .source import RawScan, ScanSource, SourceRunner

log = logging.getLogger("barcode_reader")

PROTOCOL_VERSION = 1
# How long the health shows `identify: true` after the hub asked (the scanner has no beeper).
IDENTIFY_S = 10.0


@dataclass(frozen=True)
class ScanEvent:
    """One accepted scan, as published on `scans/{device_id}`."""

    code: str
    kind: str
    symbology: str | None
    ts: str
    text: str  # the normalised scanned text (the full URL of a ticket QR, for instance)
    source: str
    proof: str | None = None  # a receipt's proof (see appliance.dossier_code.split_receipt_proof)
    private: bool = False  # ID card or receipt proof: only to the paired kiosk
    age: int | None = None  # an ID card holder's age (never the birth date)

    def payload(self) -> dict[str, Any]:
        body = {
            "v": PROTOCOL_VERSION,
            "code": self.code,
            "kind": self.kind,
            "symbology": self.symbology,
            "ts": self.ts,
            "text": self.text,
            "source": self.source,
        }
        if self.proof is not None:
            body["proof"] = self.proof
        if self.age is not None and self.private:
            body["age"] = self.age
        return body


class ScanPipeline:
    """Turns raw scans into events: AIM prefix, normalisation, classification, repeat suppression."""

    def __init__(self, settings: ScanSettings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.dedupe = Deduplicator(settings.dedupe_window, clock)
        self.accepted = 0
        self.rejected = 0
        self.last_rejection: str | None = None
        self.repeats = 0

    def process(self, raw: RawScan, source: str) -> ScanEvent | None:
        text, symbology = raw.text, raw.symbology
        if self.settings.aim_ids:
            aim_symbology, text = split_aim(text)
            symbology = symbology or aim_symbology
        result = classify(text, max_length=self.settings.max_length, ticket_path=self.settings.ticket_path)
        if isinstance(result, Rejected):
            self.rejected += 1
            self.last_rejection = f"{result.reason}: {result.detail}"
            log.warning("scan from %s rejected (%s): %s", source, result.reason, result.detail)
            return None
        if self.dedupe.is_repeat(result.code):
            self.repeats += 1
            log.debug(
                "scan from %s repeated within %g s, suppressed: %s",
                source,
                self.dedupe.window,
                "(withheld)" if result.private else result.code,
            )
            return None
        self.accepted += 1
        event = _event(result, symbology, raw, source)
        # An ID card's number, even masked, and a receipt's proof stay out of the log.
        shown = "(withheld)" if event.kind == "id_card" else event.code
        log.info(
            "scan from %s: %s %s%s (%s)",
            source,
            event.kind,
            shown,
            " with receipt proof" if event.proof else "",
            event.symbology or "symbology unknown",
        )
        return event


def _event(result: Classified, symbology: str | None, raw: RawScan, source: str) -> ScanEvent:
    return ScanEvent(
        code=result.code,
        kind=result.kind,
        symbology=symbology,
        ts=iso(raw.at) or "",
        text=result.text,
        source=source,
        proof=result.proof,
        private=result.private,
        age=result.age,
    )


class ScanSink(Protocol):
    def publish_scan(self, event: ScanEvent) -> None: ...
    def publish_health(self, health: Mapping[str, Any]) -> None: ...


class MqttSink:
    """Publishes through an appliance.mqtt.Link: scans at QoS 1, health retained.

    A scan is worth something only while the citizen stands at the scanner: it carries a message
    expiry of `[scan] expiry_s` (the broker drops it if no kiosk took it by then), and once the broker
    has been unreachable for that long scans are dropped here instead of queued (paho would send
    them on reconnect with a fresh expiry, switching a kiosk's screen long after the citizen left).
    ID card scans and receipt proofs go only to `scans/{scanner}/{kiosk}`, which the broker lets only
    that kiosk read; without a paired kiosk they are not published at all.
    """

    def __init__(
        self,
        link: Any,
        settings: Callable[[], ScanSettings] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self._settings = settings or ScanSettings
        self._clock = clock
        self.dropped = 0
        # Since when the broker is out of reach (from the start until the first connection).
        self._down_since: float | None = None if link.connected else clock()
        link.on_connection_change(self._on_connection)

    def _on_connection(self, connected: bool) -> None:
        self._down_since = None if connected else (self._down_since or self._clock())

    def publish_scan(self, event: ScanEvent) -> None:
        settings = self._settings()
        down_since = self._down_since
        if down_since is not None and self._clock() - down_since > settings.expiry_s:
            self.dropped += 1
            log.warning("%s scan dropped: the broker is unreachable (scans are not queued)", event.kind)
            return
        topic = self.link.topics.scans(self.link.device_id)
        if event.private:
            if settings.kiosk is None:
                self.dropped += 1
                log.warning("%s scan not published: no kiosk paired ([scan] kiosk)", event.kind)
                return
            topic = self.link.topics.private_scans(self.link.device_id, settings.kiosk)
        properties = Properties(PacketTypes.PUBLISH)
        properties.MessageExpiryInterval = max(1, math.ceil(settings.expiry_s))
        self.link.publish_json(topic, event.payload(), qos=1, properties=properties)

    def publish_health(self, health: Mapping[str, Any]) -> None:
        self.link.publish_health(health)


class RecordingSink:
    """Keeps every scan and health report; `wait_for_scans` lets a test wait without sleeping."""

    def __init__(self) -> None:
        self.scans: list[ScanEvent] = []
        self.health: list[dict[str, Any]] = []
        self._changed = threading.Condition()

    def publish_scan(self, event: ScanEvent) -> None:
        with self._changed:
            self.scans.append(event)
            self._changed.notify_all()

    def publish_health(self, health: Mapping[str, Any]) -> None:
        with self._changed:
            self.health.append(dict(health))
            self._changed.notify_all()

    def wait(self, predicate: Callable[[RecordingSink], bool], timeout: float = 5.0) -> bool:
        with self._changed:
            return bool(self._changed.wait_for(lambda: predicate(self), timeout))


class JsonLinesSink:
    """Prints each scan and health change as one JSON line (`motcua scanner --stdout`)."""

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def _write(self, obj: Mapping[str, Any]) -> None:
        with self._lock:
            self.stream.write(json.dumps(obj, ensure_ascii=False) + "\n")
            self.stream.flush()

    def publish_scan(self, event: ScanEvent) -> None:
        self._write({"scan": event.payload()})

    def publish_health(self, health: Mapping[str, Any]) -> None:
        self._write({"health": dict(health)})


class ScannerService:
    """Runs one source with hot-plug, publishes its scans and its health."""

    def __init__(
        self,
        source: ScanSource,
        sink: ScanSink,
        settings: ScanSettings | None = None,
        *,
        retry_interval: float = 2.0,
        read_timeout: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.sink = sink
        self.clock = clock
        self.pipeline = ScanPipeline(settings or ScanSettings(), clock=clock)
        self.runner = SourceRunner(
            source, self._on_scan, self._on_status, retry_interval=retry_interval, read_timeout=read_timeout
        )
        self._lock = threading.Lock()
        self._attached = False
        self._detail: str | None = None
        self._last_scan_ts: str | None = None
        self._identify_until = 0.0
        # Bytes that were no scan (binary, not UTF-8, too long): counted in health.
        self.rejected = RejectedInputs()

    def identify(self, seconds: float = IDENTIFY_S) -> None:
        """Flag this scanner in its health for `seconds` (the fleet page shows it) and say so in the log."""
        log.warning(
            "identify asked by the hub: this is the scanner on %s %s", self.source.kind, self.source.device
        )
        with self._lock:
            self._identify_until = self.clock() + seconds
        self.publish_health()
        timer = threading.Timer(seconds, self.publish_health)  # the flag goes down again by itself
        timer.daemon = True
        timer.start()

    def health(self) -> dict[str, Any]:
        with self._lock:
            return {
                "identify": self.clock() < self._identify_until,
                "scanner": "attached" if self._attached else "detached",
                "source": self.source.kind,
                "device": self.source.device,
                "last_scan_ts": self._last_scan_ts,
                "error": self._detail,
                "rejected_inputs": self.rejected.as_health(),
            }

    def publish_health(self) -> None:
        try:
            self.sink.publish_health(self.health())
        except Exception:
            log.exception("publishing health failed")

    def start(self) -> None:
        self.publish_health()  # "detached" until the first open succeeds
        self.runner.start()

    def stop(self) -> None:
        self.runner.stop()
        self.source.close()

    def __enter__(self) -> ScannerService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_status(self, attached: bool, reason: str | None) -> None:
        with self._lock:
            self._attached = attached
            self._detail = reason
        self.publish_health()

    def _on_scan(self, raw: RawScan) -> None:
        refused = self.pipeline.rejected
        event = self.pipeline.process(raw, self.source.kind)
        if event is None:
            if self.pipeline.rejected != refused:
                self.rejected.reject(f"scan {self.source.device}", self.pipeline.last_rejection)
                self.publish_health()
            return
        self.sink.publish_scan(event)
        with self._lock:
            self._last_scan_ts = event.ts
        self.publish_health()


def build_source(settings: SourceSettings) -> ScanSource:
    """The real source a configuration names. Raises BackendUnavailable for a missing optional library."""
    if isinstance(settings, HidSettings):
        from .hid import HidSource

        return HidSource(**settings.source_options())
    if isinstance(settings, SerialSettings):
        from .serial_source import SerialSource

        return SerialSource(**settings.source_options())
    if isinstance(settings, CameraSettings):
        V4L2Frames.load_backend()  # fail at start, with the install hint, not on every retry
        frames = V4L2Frames(
            settings.device, width=settings.width, height=settings.height, fps=settings.capture_fps
        )
        return CameraSource(
            frames,
            make_decoder(settings.backend, settings.formats),
            decode_rate=settings.decode_rate,
            change_threshold=settings.change_threshold,
        )
    from .simulated import LineSource

    return LineSource(settings.path)


def build_service(config: ScannerConfig, sink: ScanSink, source: ScanSource | None = None) -> ScannerService:
    return ScannerService(
        source or build_source(config.source),
        sink,
        config.scan,
        retry_interval=config.source.retry_interval,
    )
