"""Voice packs: the recorded clips announcements are assembled from.

Folder format (version 1)::

    <pack>/
      manifest.toml        what follows
      chime.wav            the gong played before an announcement
      xin_mowfi_coong_daan_cos_soos_thuws_tuwj.wav
      mootj.wav, hai.wav, …

    # manifest.toml
    format = 1
    name = "espeak-ng vi"
    language = "vi"
    sample_rate = 22050        # every clip has this rate,
    channels = 1               # this many channels
    sample_width = 2           # and 16-bit signed PCM
    word_gap_ms = 40           # silence between two spoken clips
    chime_gap_ms = 250         # after the chime
    sentence_gap_ms = 700      # between repetitions (@pause)
    lead_in_ms = 50            # before the first clip (a sound card may swallow the very start)

    [clips]                    # clip key (spoken text, NFC lower case; "@chime") = file name
    "@chime" = "chime.wav"
    "xin mời công dân có số thứ tự" = "xin_mowfi_coong_daan_cos_soos_thuws_tuwj.wav"
    "một" = "mootj.wav"

File names are the key written in Telex (the ASCII typing scheme every Vietnamese typist knows:
"một" → mootj, "mười" → muwowif), so a technician can tell which file says what. A site that has
human recordings copies them over the generated files (same names, same format; convert with
`sox in.wav -r 22050 -c 1 -b 16 out.wav`) or builds a pack of its own with this manifest.
`motcua voicepack build` writes the default pack with espeak-ng and keeps clips already present.

A phrase without a clip of its own is spoken word by word when every word has one.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import tempfile
import threading
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from pydantic import Field, ValidationError

from appliance.config import Strict, describe_errors
from appliance.errors import MotcuaError

from .announce import CHIME, PAUSE, AnnounceSettings, vocabulary
from .audio import Audio, AudioError

log = logging.getLogger(__name__)

MANIFEST = "manifest.toml"
FORMAT_VERSION = 1
SAMPLE_RATE = 22050  # espeak-ng's native rate: no resampling of the default pack

_TONES = {"\u0301": "s", "\u0300": "f", "\u0309": "r", "\u0303": "x", "\u0323": "j"}
_VOWEL_MARKS = {"\u0302": None, "\u0306": "w", "\u031b": "w"}  # circumflex doubles the vowel


class VoicePackError(MotcuaError):
    """A voice pack is missing, malformed or lacks a clip; the message names the pack and the clip."""


class Manifest(Strict):
    format: int = Field(FORMAT_VERSION, ge=1, le=FORMAT_VERSION)
    name: str = "voice pack"
    language: str = "vi"
    sample_rate: int = Field(SAMPLE_RATE, ge=8000, le=96000)
    channels: int = Field(1, ge=1, le=2)
    sample_width: int = Field(2, ge=2, le=2)
    word_gap_ms: int = Field(40, ge=0, le=2000)
    chime_gap_ms: int = Field(250, ge=0, le=5000)
    sentence_gap_ms: int = Field(700, ge=0, le=5000)
    lead_in_ms: int = Field(50, ge=0, le=2000)
    clips: dict[str, str] = Field(default_factory=dict)


def telex(text: str) -> str:
    """ASCII file stem of a clip key in Telex: "đến quầy số" → ddeens_quaafy_soos; "@chime" → chime."""
    words = []
    for word in unicodedata.normalize("NFC", text).lower().replace("-", " ").split():
        letters: list[str] = []
        tone = ""
        for char in word:
            if char == "đ":
                letters.append("dd")
                continue
            base, *marks = unicodedata.normalize("NFD", char)
            letters.append(base if base.isascii() and base.isalnum() else "")
            for mark in marks:
                if mark in _TONES:
                    tone = _TONES[mark]
                elif mark in _VOWEL_MARKS:
                    letters.append(_VOWEL_MARKS[mark] or base)
        stem = "".join(letters) + tone
        if stem:
            words.append(stem)
    return "_".join(words) or "clip"


class VoicePack:
    """A loaded voice pack: every clip's PCM in memory, ready to be concatenated."""

    def __init__(self, manifest: Manifest, clips: dict[str, bytes], directory: Path | None = None) -> None:
        self.manifest = manifest
        self.clips = clips
        self.directory = directory
        self.format = Audio(b"", manifest.sample_rate, manifest.channels, manifest.sample_width)

    @classmethod
    def load(cls, directory: str | Path) -> VoicePack:
        directory = Path(directory)
        manifest = read_manifest(directory)
        expected = Audio(b"", manifest.sample_rate, manifest.channels, manifest.sample_width)
        clips: dict[str, bytes] = {}
        for key, filename in manifest.clips.items():
            path = directory / filename
            try:
                audio = Audio.read(path)
            except AudioError as error:
                raise VoicePackError(f"voice pack {directory}: clip {key!r}: {error}") from None
            if not audio.same_format(expected):
                raise VoicePackError(
                    f"voice pack {directory}: {filename} is {audio.sample_rate} Hz, {audio.channels} "
                    f"channel(s), {8 * audio.sample_width}-bit; the pack is {manifest.sample_rate} Hz, "
                    f"{manifest.channels} channel(s), 16-bit (convert: sox {filename} -r "
                    f"{manifest.sample_rate} -c {manifest.channels} -b 16 fixed.wav)"
                )
            clips[_key(key)] = audio.pcm
        return cls(manifest, clips, directory)

    @property
    def name(self) -> str:
        return str(self.directory or self.manifest.name)

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The keys this pack cannot speak (directly or word by word), sorted."""
        return sorted(key for key in keys if key != PAUSE and self._resolve(key) is None)

    def assemble(self, clips: Sequence[str]) -> Audio:
        """Concatenate clips with the manifest's gaps. Raises VoicePackError for a clip it lacks."""
        manifest = self.manifest
        parts: list[bytes] = [self._silence(manifest.lead_in_ms)]
        previous: str | None = None
        for key in clips:
            if key == PAUSE:
                parts.append(self._silence(manifest.sentence_gap_ms))
                previous = None
                continue
            pcm = self._resolve(key)
            if pcm is None:
                raise VoicePackError(f"voice pack {self.name} has no clip for {key!r}")
            if previous == CHIME:
                parts.append(self._silence(manifest.chime_gap_ms))
            elif previous is not None:
                parts.append(self._silence(manifest.word_gap_ms))
            parts.append(pcm)
            previous = key
        parts.append(self._silence(manifest.lead_in_ms))
        return Audio(b"".join(parts), manifest.sample_rate, manifest.channels, manifest.sample_width)

    def _resolve(self, key: str) -> bytes | None:
        key = _key(key)
        pcm = self.clips.get(key)
        if pcm is not None or " " not in key:
            return pcm
        # A phrase without its own clip: its words, if the pack has them all.
        words = [self.clips.get(word) for word in key.split()]
        if any(word is None for word in words):
            return None
        gap = self._silence(self.manifest.word_gap_ms)
        return gap.join(word for word in words if word is not None)

    def _silence(self, ms: int) -> bytes:
        frames = self.manifest.sample_rate * ms // 1000
        return bytes(frames * self.manifest.channels * self.manifest.sample_width)


def _key(key: str) -> str:
    return " ".join(unicodedata.normalize("NFC", key).lower().split())


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VoicePackError(
            f"{directory} is not a voice pack (no {MANIFEST}); create one with `motcua voicepack build`"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise VoicePackError(f"cannot read {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise VoicePackError(f"{path}: not valid TOML: {error}") from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as error:
        raise VoicePackError(describe_errors(str(path), error)) from None


def write_manifest(directory: Path, manifest: Manifest) -> Path:
    """TOML written by hand (no writer in the standard library); JSON strings are valid TOML strings."""

    def q(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    lines = [
        "# motcua voice pack: clip key (spoken text, NFC, lower case) = WAV file in this folder.",
        "# Replace any WAV with a human recording of the same words, in the same format.",
    ]
    for name, value in manifest.model_dump(exclude={"clips"}).items():
        lines.append(f"{name} = {q(value) if isinstance(value, str) else value}")
    lines += ["", "[clips]"]
    lines += [f"{q(key)} = {q(filename)}" for key, filename in sorted(manifest.clips.items())]
    path = directory / MANIFEST
    partial = directory / f".{MANIFEST}.partial"
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


# --- building the default pack ------------------------------------------------------------------


def chime(sample_rate: int = SAMPLE_RATE, channels: int = 1) -> Audio:
    """A soft two-tone gong (E5 then C5, bell-like partials, exponential decay), peak -6 dBFS."""
    tones: list[np.ndarray] = []
    for frequency, length in ((659.25, 0.8), (523.25, 1.2)):
        t = np.arange(int(sample_rate * length)) / sample_rate
        wave = sum(
            amplitude * np.sin(2 * math.pi * frequency * ratio * t)
            for ratio, amplitude in ((1.0, 1.0), (2.0, 0.35), (3.0, 0.12), (4.2, 0.05))
        )
        # 6 ms attack and a 60 ms release to silence: a tone never starts or stops with a click.
        attack = np.minimum(1.0, t / 0.006)
        release = np.clip((length - t) / 0.06, 0.0, 1.0)
        tones.append(wave * np.exp(-t * 4.0) * attack * release)
    # The second tone starts while the first still rings, like a door gong.
    overlap = int(sample_rate * 0.4)
    signal = np.zeros(overlap + len(tones[1]))
    signal[: len(tones[0])] += tones[0]
    signal[overlap : overlap + len(tones[1])] += tones[1]
    return _to_audio(signal, sample_rate, channels, peak=0.5)


def _to_audio(signal: np.ndarray, sample_rate: int, channels: int, *, peak: float) -> Audio:
    signal = signal / max(float(np.max(np.abs(signal))), 1e-9) * peak
    pcm = np.round(signal * 32767).astype("<i2")
    if channels == 2:
        pcm = np.repeat(pcm, 2)
    return Audio(pcm.tobytes(), sample_rate, channels, 2)


def trim_and_level(audio: Audio, *, threshold: float = 0.02, margin_ms: int = 15, peak: float = 0.8) -> Audio:
    """Cut the silence a synthesiser leaves around a word and bring every clip to the same peak."""
    if audio.channels != 1 or audio.sample_width != 2:
        raise VoicePackError("the synthesiser must produce 16-bit mono audio")
    samples = np.frombuffer(audio.pcm, dtype="<i2").astype(np.float64) / 32768
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        raise VoicePackError("the synthesiser produced silence")
    margin = audio.sample_rate * margin_ms // 1000
    clip = samples[max(0, int(loud[0]) - margin) : int(loud[-1]) + margin]
    fade = min(clip.size // 4, audio.sample_rate * 5 // 1000)  # 5 ms fades: no clicks at the joins
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        clip[:fade] *= ramp
        clip[-fade:] *= ramp[::-1]
    return _to_audio(clip, audio.sample_rate, 1, peak=peak)


class EspeakSynthesizer:
    """Text → Audio with espeak-ng (`espeak-ng -v vi -w out.wav "…"`, ~10 ms per phrase)."""

    def __init__(self, voice: str = "vi", *, speed_wpm: int = 160, executable: str = "espeak-ng") -> None:
        self.voice = voice
        self.speed_wpm = speed_wpm
        self.executable = executable

    def __call__(self, text: str) -> Audio:
        spoken = text.replace("-", " ")  # letter names such as "e-lờ" are two syllables
        with tempfile.TemporaryDirectory(prefix="motcua-espeak-") as tmp:
            out = Path(tmp) / "clip.wav"
            command = [self.executable, "-v", self.voice, "-s", str(self.speed_wpm), "-w", str(out), spoken]
            try:
                result = subprocess.run(command, capture_output=True, timeout=30, check=False)
            except FileNotFoundError:
                raise VoicePackError(f"{self.executable} not found: install Debian's espeak-ng") from None
            if result.returncode != 0:
                detail = result.stderr.decode("utf-8", "replace").strip()
                raise VoicePackError(f"{self.executable} -v {self.voice} failed on {text!r}: {detail}")
            return Audio.read(out)


Synthesizer = Callable[[str], Audio]
Progress = Callable[[Iterable[str], int], Iterable[str]]


def tqdm_progress(items: Iterable[str], total: int) -> Iterable[str]:
    from tqdm import tqdm

    return tqdm(items, total=total, desc="voice pack", unit="clip")


def build_pack(
    directory: str | Path,
    keys: Iterable[str],
    *,
    synthesize: Synthesizer | None = None,
    name: str = "espeak-ng vi",
    force: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
) -> Manifest:
    """Write a pack with a clip for every key; clips already present (human recordings) are kept
    unless `force`. Returns the manifest written."""
    directory = Path(directory)
    synthesize = synthesize or EspeakSynthesizer()
    directory.mkdir(parents=True, exist_ok=True)
    wanted = sorted({_key(key) for key in keys if key != PAUSE})
    # Keep what the pack already has (other templates, human recordings) and add what is wanted.
    clips = {key: name for key, name in _previous_clips(directory).items() if (directory / name).exists()}
    todo: list[str] = []
    used = set(clips.values())
    for key in wanted:
        filename = clips.get(key) or _unique_filename(key, used)
        used.add(filename)
        clips[key] = filename
        if force or not (directory / filename).exists():
            todo.append(key)
    probe = Audio(b"", SAMPLE_RATE)
    lock = threading.Lock()

    def make(key: str) -> str:
        audio = chime(probe.sample_rate) if key == CHIME else trim_and_level(synthesize(key))
        if audio.sample_rate != probe.sample_rate or audio.channels != 1:
            raise VoicePackError(
                f"clip {key!r}: the synthesiser gave {audio.sample_rate} Hz, "
                f"expected mono {probe.sample_rate} Hz"
            )
        with lock:
            audio.write(directory / clips[key])
        return key

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        done = pool.map(make, todo)
        for _ in progress(done, len(todo)) if progress else done:
            pass
    manifest = Manifest(name=name, sample_rate=probe.sample_rate, channels=1, clips=clips)
    write_manifest(directory, manifest)
    VoicePack.load(directory)  # refuse to leave a pack behind that would fail at the first call
    return manifest


def _previous_clips(directory: Path) -> dict[str, str]:
    try:
        return {_key(key): name for key, name in read_manifest(directory).clips.items()}
    except VoicePackError:
        return {}


def _unique_filename(key: str, used: set[str]) -> str:
    stem = "chime" if key == CHIME else telex(key)
    filename, counter = f"{stem}.wav", 2
    while filename in used:
        filename, counter = f"{stem}_{counter}.wav", counter + 1
    return filename


def default_keys(settings: Iterable[AnnounceSettings] = ()) -> set[str]:
    """The clips of the default pack: every word, letter and the phrases of the given templates
    (always including the default template)."""
    keys = vocabulary(AnnounceSettings())
    for extra in settings:
        keys |= vocabulary(extra)
    return keys


def default_pack_dir() -> Path:
    """Where `motcua announce` keeps a pack when no configuration names one."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "motcua" / "voicepack-espeak-vi"


def ensure_pack(
    directory: str | Path, settings: AnnounceSettings, *, progress: Progress | None = None
) -> VoicePack:
    """Load the pack, building the missing clips first (a fresh machine has none)."""
    directory = Path(directory)
    if not (directory / MANIFEST).exists() or VoicePack.load(directory).missing(vocabulary(settings)):
        if shutil.which("espeak-ng") is None:
            raise VoicePackError(f"voice pack {directory} is incomplete and espeak-ng is not installed")
        build_pack(directory, default_keys([settings]), progress=progress)
    return VoicePack.load(directory)
