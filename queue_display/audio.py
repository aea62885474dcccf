"""PCM audio in memory and the sinks that play it.

`AudioSink` is the hardware edge of the display: `AplaySink` plays on the speakers through ALSA's
`aplay`; `WavFileSink` writes every announcement to a WAV file and keeps a record (start, end, audio)
that a test can inspect, including whether two announcements ever overlapped.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import subprocess
import threading
import time
import wave
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from appliance.errors import MotcuaError

log = logging.getLogger(__name__)

_NUMBERED = re.compile(r"^(\d+)-.*\.wav$")


class AudioError(MotcuaError):
    """Audio could not be read, written or played; the message names the file or the device."""


@dataclass(frozen=True)
class Audio:
    """Signed 16-bit little-endian PCM frames with their format."""

    pcm: bytes
    sample_rate: int
    channels: int = 1
    sample_width: int = 2

    @property
    def frames(self) -> int:
        return len(self.pcm) // (self.channels * self.sample_width)

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def to_wav_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(self.channels)
            out.setsampwidth(self.sample_width)
            out.setframerate(self.sample_rate)
            out.writeframes(self.pcm)
        return buffer.getvalue()

    def write(self, path: str | Path) -> Path:
        """Write a WAV file atomically (a reader never sees half a file)."""
        path = Path(path)
        partial = path.with_name(f".{path.name}.partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(self.to_wav_bytes())
            partial.replace(path)
        except OSError as error:
            raise AudioError(f"cannot write {path}: {error.strerror}") from None
        return path

    @classmethod
    def read(cls, path: str | Path) -> Audio:
        path = Path(path)
        try:
            with wave.open(str(path), "rb") as source:
                audio = cls(
                    pcm=source.readframes(source.getnframes()),
                    sample_rate=source.getframerate(),
                    channels=source.getnchannels(),
                    sample_width=source.getsampwidth(),
                )
        except FileNotFoundError:
            raise AudioError(f"{path}: no such WAV file") from None
        except (wave.Error, EOFError) as error:
            raise AudioError(f"{path}: not a PCM WAV file ({error})") from None
        except OSError as error:
            raise AudioError(f"cannot read {path}: {error.strerror}") from None
        return audio

    def same_format(self, other: Audio) -> bool:
        return (self.sample_rate, self.channels, self.sample_width) == (
            other.sample_rate,
            other.channels,
            other.sample_width,
        )


class AudioSink(Protocol):
    """Plays audio. `play` blocks until the sound has been played (or handed over completely)."""

    def play(self, audio: Audio, *, label: str = "") -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PlayedAudio:
    audio: Audio
    label: str
    started: float  # time.monotonic()
    ended: float
    path: Path | None


class WavFileSink:
    """Records every announcement; with `directory`, also writes `0001-<label>.wav`, `0002-…`.

    `realtime` holds each `play` for that fraction of the sound's duration, like a loudspeaker
    would (0 = return at once), so tests can check that a player never overlaps announcements.
    `keep` bounds the in-memory record (a daemon writing WAV files runs for months); `count` is
    the total. `keep_files` bounds the files: only the newest that many stay in `directory` (also
    across restarts, which go on numbering after the newest file left), so a day of calls never
    fills the disk (about 0.5 MB per announcement).
    """

    def __init__(
        self,
        directory: str | Path | None = None,
        *,
        realtime: float = 0.0,
        keep: int | None = None,
        keep_files: int | None = None,
    ) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.realtime = realtime
        self.keep = keep
        self.keep_files = keep_files
        self.count = 0
        self.played: list[PlayedAudio] = []
        self.overlaps = 0
        self._active = 0
        self._lock = threading.Condition()
        self._files: deque[Path] = deque()
        self._last_index = 0
        if self.directory is not None and keep_files is not None:
            # Files a previous run left count against the bound, oldest first by their number.
            numbered = sorted(
                (int(match[1]), path)
                for path in (self.directory.glob("*.wav") if self.directory.is_dir() else ())
                if (match := _NUMBERED.match(path.name))
            )
            self._files.extend(path for _, path in numbered)
            self._last_index = numbered[-1][0] if numbered else 0

    def play(self, audio: Audio, *, label: str = "") -> None:
        with self._lock:
            self._active += 1
            if self._active > 1:
                self.overlaps += 1
            self.count += 1
            self._last_index += 1
            index = self._last_index
        started = time.monotonic()
        try:
            path = None
            if self.directory is not None:
                safe = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in label).strip("-")
                path = audio.write(self.directory / f"{index:04d}-{safe or 'audio'}.wav")
                self._bound_files(path)
            if self.realtime > 0:
                time.sleep(audio.duration_s * self.realtime)
        finally:
            with self._lock:
                self._active -= 1
                self.played.append(PlayedAudio(audio, label, started, time.monotonic(), path))
                if self.keep is not None and len(self.played) > self.keep:
                    del self.played[: -self.keep]
                self._lock.notify_all()

    def _bound_files(self, written: Path) -> None:
        if self.keep_files is None:
            return
        with self._lock:
            self._files.append(written)
            old = [self._files.popleft() for _ in range(max(0, len(self._files) - self.keep_files))]
        for path in old:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until `count` sounds have been played."""
        with self._lock:
            return self._lock.wait_for(lambda: self.count - self._active >= count, timeout)

    def close(self) -> None:
        pass


class AplaySink:
    """Plays on an ALSA device with `aplay` (Debian package alsa-utils), one process per sound.

    `command` replaces the whole player command line; it must read a WAV file on standard input
    (e.g. `["paplay"]`, or `["sox", "-q", "-t", "wav", "-", "out.wav"]` to record what would play).
    """

    def __init__(
        self,
        device: str | None = None,
        *,
        command: Sequence[str] | None = None,
        timeout_margin_s: float = 5.0,
    ) -> None:
        self.device = device
        if command is None:
            command = ["aplay", "-q", *(["-D", device] if device else []), "-"]
        self.command = list(command)
        self.timeout_margin_s = timeout_margin_s
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False

    def play(self, audio: Audio, *, label: str = "") -> None:
        if self._closed:
            raise AudioError("the audio sink is closed")
        where = f"{self.command[0]} (device {self.device or 'default'})"
        try:
            self._process = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except FileNotFoundError:
            raise AudioError(
                f"{self.command[0]} not found (aplay is in the Debian package alsa-utils)"
            ) from None
        try:
            _, stderr = self._process.communicate(
                audio.to_wav_bytes(), timeout=audio.duration_s + self.timeout_margin_s
            )
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
            raise AudioError(f"{where} did not finish playing {label or 'a sound'} in time") from None
        finally:
            returncode = self._process.returncode
            self._process = None
        if returncode != 0:
            detail = stderr.decode("utf-8", "replace").strip().splitlines()
            raise AudioError(f"{where} failed ({returncode}): {detail[-1] if detail else 'no message'}")

    def close(self) -> None:
        """Stop a sound being played; idempotent."""
        self._closed = True
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()


class NullSink:
    """Plays nothing (a display without speakers); keeps a count."""

    def __init__(self) -> None:
        self.count = 0

    def play(self, audio: Audio, *, label: str = "") -> None:
        self.count += 1

    def close(self) -> None:
        pass
