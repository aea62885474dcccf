"""Every sample configuration shipped for technicians validates against its role's model."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from appliance.config import load
from barcode_reader.config import ScannerConfig
from hub.site import HubConfig
from kiosk.config import KioskConfig
from led_board.config import LedConfig
from queue_display.config import DisplayConfig
from ticket_printer.config import PrinterConfig

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("hub/sample_site.toml", HubConfig),
        ("kiosk/sample_kiosk.toml", KioskConfig),
        ("queue_display/sample_display.toml", DisplayConfig),
        ("barcode_reader/scanner.example.toml", ScannerConfig),
        ("led_board/led.example.toml", LedConfig),
        ("ticket_printer/sample_printer.toml", PrinterConfig),
    ],
)
def test_sample_configuration_is_valid(path: str, model: type[BaseModel]) -> None:
    config = load(ROOT / path, model)
    assert config.site == "demo"  # type: ignore[attr-defined]


def test_a_typo_is_reported_with_file_and_key(tmp_path: Path) -> None:
    text = (ROOT / "ticket_printer/sample_printer.toml").read_text(encoding="utf-8")
    broken = tmp_path / "printer.toml"
    broken.write_text(text.replace("deadline_s = 300", "deadline = 300"), encoding="utf-8")
    with pytest.raises(ValueError) as error:
        load(broken, PrinterConfig)
    assert str(broken) in str(error.value)
    assert "jobs.deadline" in str(error.value)
