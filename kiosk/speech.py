"""The kiosk's voice in assist mode: screen texts and button labels spoken with espeak-ng (the same
synthesiser the hall display's voice pack is built with) on an `AudioSink` (aplay on the kiosk's
speaker; a WavFileSink records what was said in tests).

One worker thread speaks; what it has not started yet is dropped when newer words come, so a citizen
touching buttons quickly hears the last one, not a backlog. Nothing spoken is logged: a screen may
show a dossier's facts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from appliance.i18n import Language

log = logging.getLogger("motcua.kiosk")

# espeak-ng voices by the kiosk's language.
VOICES: dict[str, str] = {"vi": "vi", "en": "en"}


class Sink(Protocol):
    def play(self, audio: object, *, label: str = "") -> None: ...
    def close(self) -> None: ...


class Speaker:
    """`say(text, language)` returns at once; the words are synthesised and played in order."""

    def __init__(self, sink: Sink, synthesize: Callable[[str, Language], object] | None = None) -> None:
        self.sink = sink
        self._synthesize = synthesize or espeak
        self._pending: list[tuple[str, Language]] = []
        self._changed = threading.Condition()
        self._closed = False
        self.spoken: list[str] = []  # what was played (tests read it; a kiosk keeps only the last few)
        self._thread = threading.Thread(target=self._run, name="kiosk-voice", daemon=True)
        self._thread.start()

    def say(self, text: str, language: Language) -> None:
        with self._changed:
            if self._closed or not text:
                return
            # Words not yet begun are stale once newer ones come: keep the newest two.
            self._pending = [*self._pending[-1:], (text, language)]
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 10.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.spoken), timeout)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._pending.clear()
            self._changed.notify_all()
        self._thread.join(5)
        self.sink.close()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._closed or bool(self._pending))
                if self._closed:
                    return
                text, language = self._pending.pop(0)
            try:
                audio = self._synthesize(text, language)
                self.sink.play(audio, label="kiosk-voice")
            except Exception as error:  # the voice failing must never take the screen with it
                log.warning("kiosk voice failed: %s", type(error).__name__)
                continue
            with self._changed:
                self.spoken.append(text)
                del self.spoken[:-50]
                self._changed.notify_all()


def espeak(text: str, language: Language) -> object:
    from queue_display.voicepack import EspeakSynthesizer

    return EspeakSynthesizer(VOICES.get(language, "vi"))(text)


def default_speaker(enabled: bool, device: str | None) -> Speaker | None:
    """The kiosk's speaker through ALSA, or None when the voice is turned off in its TOML."""
    if not enabled:
        return None
    from queue_display.audio import AplaySink

    return Speaker(AplaySink(device))
