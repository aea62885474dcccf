"""`motcua announce | voicepack | display --check` as a user types them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from queue_display.cli import main
from queue_display.voicepack import MANIFEST

ROOT = Path(__file__).resolve().parents[1]

needs_espeak = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs Debian espeak-ng and sox"
)


def test_announce_text_only_is_the_contract_sentence() -> None:
    # Through the installed entry point, as the contract names it.
    result = subprocess.run(
        [sys.executable, "-m", "motcua.cli", "announce", "--ticket", "1023", "--counter", "5", "--text-only"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Xin mời công dân có số thứ tự một không hai ba đến quầy số năm\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--ticket", "A023", "--counter", "3A"], "thứ tự a không hai ba đến quầy số ba a"),
        (
            ["--ticket", "2024", "--counter", "24", "--mode", "cardinal", "--tu"],
            "hai nghìn không trăm hai mươi tư đến quầy số hai mươi tư",
        ),
        (
            ["--ticket", "105", "--counter", "1", "--mode", "cardinal", "--region", "south"],
            "một trăm lẻ năm đến quầy số một",
        ),
        (
            ["--ticket", "7", "--counter", "2", "--template", "Mời số {number} đến quầy {counter}"],
            "Mời số bảy đến quầy hai",
        ),
    ],
)
def test_announce_options(args: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["announce", *args, "--text-only"]) == 0
    assert capsys.readouterr().out.strip().endswith(expected)


def test_announce_refuses_bad_input_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["announce", "--ticket", "1#", "--counter", "5", "--template", "Mời {nguoi}", "--text-only"])
        == 2
    )
    assert "unknown field {nguoi}" in capsys.readouterr().err
    assert main(["announce", "--ticket", "###", "--counter", "5", "--text-only"]) == 2
    assert "cannot announce '###'" in capsys.readouterr().err


@needs_espeak
def test_announce_writes_a_wav(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.wav"
    pack = tmp_path / "pack"
    assert (
        main(["announce", "--ticket", "1023", "--counter", "5", "--wav", str(out), "--voice-pack", str(pack)])
        == 0
    )
    assert (pack / MANIFEST).exists()  # a missing pack is built on first use

    def soxi(flag: str) -> str:
        return subprocess.run(["sox", "--i", flag, str(out)], capture_output=True, text=True).stdout.strip()

    assert soxi("-r") == "22050" and soxi("-c") == "1" and 7 < float(soxi("-D")) < 16


@needs_espeak
def test_voicepack_build_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = tmp_path / "pack"
    assert main(["voicepack", "build", "--out", str(pack)]) == 0
    assert "clips, 22050 Hz" in capsys.readouterr().out
    assert main(["voicepack", "check", "--pack", str(pack)]) == 0
    manifest = pack / MANIFEST
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace('"chín" = "chins.wav"\n', ""), encoding="utf-8"
    )
    assert main(["voicepack", "check", "--pack", str(pack)]) == 1
    assert "missing clips: chín" in capsys.readouterr().out


def test_display_check_validates_the_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = ROOT / "queue_display" / "sample_display.toml"
    assert main(["display", "--check", "-c", str(good)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = tmp_path / "display.toml"
    bad.write_text(
        'device_id = "d1"\nsite = "demo"\nrole = "display"\n'
        '[announce]\nrepeats = 9\ntemplate = "Mời quầy {counter}"\n',
        encoding="utf-8",
    )
    assert main(["display", "--check", "-c", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "announce.repeats" in err and "announce.template" in err and "{number}" in err
