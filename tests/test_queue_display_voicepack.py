"""Voice packs built with the real espeak-ng, announcements assembled from them and checked with sox."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from queue_display.announce import AnnounceSettings, build_announcement, vocabulary
from queue_display.audio import AplaySink, Audio, AudioError, WavFileSink
from queue_display.voicepack import (
    MANIFEST,
    VoicePack,
    VoicePackError,
    build_pack,
    chime,
    default_keys,
    read_manifest,
    telex,
)

pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs Debian espeak-ng and sox"
)


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("voicepack")
    build_pack(directory, default_keys())
    return directory


def sox_info(path: Path) -> dict[str, str]:
    out = subprocess.run(["sox", "--i", str(path)], capture_output=True, text=True, check=True).stdout
    return {key.strip(): value.strip() for key, value in re.findall(r"^([^:\n]+):(.*)$", out, re.M)}


def sox_stat(path: Path) -> dict[str, float]:
    # `sox f.wav -n stat` prints its table on stderr.
    err = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True, check=True).stderr
    return {
        key.strip(): float(value) for key, value in re.findall(r"^([^:\n]+):\s+(-?[\d.]+)\s*$", err, re.M)
    }


def test_announcement_wav_has_the_pack_format_and_is_speech_not_silence(
    pack_dir: Path, tmp_path: Path
) -> None:
    pack = VoicePack.load(pack_dir)
    out = pack.assemble(build_announcement("1023", "5").clips).write(tmp_path / "call.wav")
    info = sox_info(out)
    assert info["Sample Rate"] == "22050" and info["Channels"] == "1" and info["Precision"] == "16-bit"
    stat = sox_stat(out)
    # chime (1.6 s) + twice "Xin mời … năm" (~4.5 s) + pause: about 11 s, and clearly audible.
    assert 7.0 < stat["Length (seconds)"] < 16.0
    assert stat["RMS     amplitude"] > 0.03
    assert 0.3 < stat["Maximum amplitude"] <= 1.0


def test_every_clip_of_the_default_pack_is_audible_and_short(pack_dir: Path) -> None:
    manifest = read_manifest(pack_dir)
    assert set(manifest.clips) == {key for key in vocabulary(AnnounceSettings())}
    for key, filename in manifest.clips.items():
        audio = Audio.read(pack_dir / filename)
        samples = np.frombuffer(audio.pcm, dtype="<i2")
        assert 0.05 < audio.duration_s < 3.0, key
        assert np.abs(samples).max() > 8000, key  # levelled to -2 dB (chime -6 dB), never silence


def test_a_longer_number_makes_a_longer_announcement(pack_dir: Path) -> None:
    pack = VoicePack.load(pack_dir)
    settings = AnnounceSettings(number_mode="cardinal", repeats=1)
    short = pack.assemble(build_announcement("5", "1", settings).clips)
    long = pack.assemble(build_announcement("1015", "1", settings).clips)
    assert long.duration_s > short.duration_s + 1.0


def test_human_recordings_replace_clips_and_survive_a_rebuild(pack_dir: Path, tmp_path: Path) -> None:
    site_pack = tmp_path / "site-pack"
    shutil.copytree(pack_dir, site_pack)
    manifest = read_manifest(site_pack)
    # "năm" recorded by a person: here a 0.3 s 440 Hz tone, easy to find again in the output.
    t = np.arange(int(22050 * 0.3)) / 22050
    recording = Audio((np.sin(2 * math.pi * 440 * t) * 12000).astype("<i2").tobytes(), 22050)
    recording.write(site_pack / manifest.clips["năm"])
    build_pack(site_pack, default_keys())  # no --force: keeps it
    pack = VoicePack.load(site_pack)
    assert pack.clips["năm"] == recording.pcm
    assert recording.pcm in pack.assemble(build_announcement("1", "5").clips).pcm


def test_a_recording_in_the_wrong_format_is_named_with_the_fix(pack_dir: Path, tmp_path: Path) -> None:
    site_pack = tmp_path / "site-pack"
    shutil.copytree(pack_dir, site_pack)
    name = read_manifest(site_pack).clips["hai"]
    Audio(bytes(44100 * 2), 44100).write(site_pack / name)
    with pytest.raises(VoicePackError, match=rf"{name} is 44100 Hz.*sox {name} -r 22050"):
        VoicePack.load(site_pack)


def test_missing_clips_are_reported_and_phrases_fall_back_to_words(pack_dir: Path, tmp_path: Path) -> None:
    pack = VoicePack.load(pack_dir)
    settings = AnnounceSettings(template="Mời số {number} đến quầy {counter}")
    # "mời số" and "đến quầy" have no clip of their own and "mời" no word clip either.
    assert set(pack.missing(vocabulary(settings))) == {"đến quầy", "mời số"}
    with pytest.raises(VoicePackError, match="no clip for 'mời số'"):
        pack.assemble(build_announcement("1", "2", settings).clips)
    # A phrase made of words the pack has is spoken word by word.
    assert not pack.missing(["hai ba", "một không"])
    assert pack.assemble(["hai ba"]).duration_s > pack.assemble(["hai"]).duration_s


def test_a_pack_for_a_custom_template_gets_its_phrases(tmp_path: Path) -> None:
    settings = AnnounceSettings(template="Kính mời số {number} đến quầy {counter}")
    build_pack(tmp_path, default_keys([settings]))
    pack = VoicePack.load(tmp_path)
    assert pack.missing(vocabulary(settings)) == []
    assert (tmp_path / "kinhs_mowif_soos.wav").exists()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "not a voice pack"),
        ("format = 1\nsample_rate = 22050\n[clips\n", "not valid TOML"),
        ('format = 1\nvolume = 3\n[clips]\n"@chime" = "chime.wav"\n', "volume"),
        ('format = 1\n[clips]\n"hai" = "hai.wav"\n', "hai.wav: no such WAV file"),
    ],
)
def test_broken_packs_name_the_file_and_the_problem(tmp_path: Path, content: str | None, match: str) -> None:
    if content is not None:
        (tmp_path / MANIFEST).write_text(content, encoding="utf-8")
    with pytest.raises(VoicePackError, match=match):
        VoicePack.load(tmp_path)


def test_chime_is_two_tones_without_clicks() -> None:
    audio = chime()
    samples = np.frombuffer(audio.pcm, dtype="<i2").astype(float) / 32768
    assert 1.2 < audio.duration_s < 2.0
    assert 0.45 < np.abs(samples).max() <= 0.51
    assert abs(samples[0]) < 0.01 and abs(samples[-1]) < 0.01  # starts and ends at rest
    first, second = samples[: 22050 * 3 // 10], samples[-22050 * 6 // 10 :]

    def dominant(part: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(part))
        return float(np.fft.rfftfreq(part.size, 1 / 22050)[spectrum.argmax()])

    assert abs(dominant(first) - 659.25) < 10 and abs(dominant(second) - 523.25) < 10


@pytest.mark.parametrize(
    ("key", "stem"),
    [
        ("một", "mootj"),
        ("mốt", "moots"),
        ("mười", "muwowif"),
        ("mươi", "muwowi"),
        ("lăm", "lawm"),
        ("đến quầy số", "ddeens_quaayf_soos"),
        ("e-lờ", "e_lowf"),
        ("@chime", "chime"),
    ],
)
def test_clip_file_names_are_telex(key: str, stem: str) -> None:
    assert telex(key) == stem


def test_wav_file_sink_writes_numbered_files(tmp_path: Path) -> None:
    sink = WavFileSink(tmp_path)
    sink.play(chime(), label="1023-5")
    sink.play(chime(), label="A023-3A")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0001-1023-5.wav", "0002-A023-3A.wav"]
    assert sox_info(tmp_path / "0002-A023-3A.wav")["Sample Rate"] == "22050"


def test_aplay_sink_streams_a_wav_to_the_player(tmp_path: Path) -> None:
    # sox stands in for aplay: it reads the same WAV stream on stdin and records it.
    out = tmp_path / "played.wav"
    sink = AplaySink(command=["sox", "-q", "-t", "wav", "-", str(out)])
    sink.play(chime(), label="chime")
    assert abs(float(sox_stat(out)["Length (seconds)"]) - chime().duration_s) < 0.01


def test_aplay_sink_failures_are_audio_errors(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="no-such-player not found"):
        AplaySink(command=["no-such-player"]).play(chime())
    with pytest.raises(AudioError, match=r"sox \(device hw:9\) failed"):
        AplaySink("hw:9", command=["sox", "-q", "-t", "wav", "-", "-t", "nonexistent-format", "x"]).play(
            chime()
        )
