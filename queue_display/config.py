"""Configuration of a hall display (TOML). Example: queue_display/sample_display.toml.

device_id = "display-1"
site = "demo"
role = "display"

[announce]
template = "Xin mời công dân có số thứ tự {number} đến quầy số {counter}"
number_mode = "digits"        # ticket number: "digits" (một không hai ba) or "cardinal"
counter_mode = "cardinal"     # counter: "cardinal" (quầy số mười hai) or "digits"
leading_zeros = "digits"      # cardinal mode: "0361" still digit by digit, or "drop" the zeros
repeats = 2                   # the sentence is said this many times (1–5)
brief_when_backlog = 3        # with this many calls still waiting, say each one once
region = "north"              # "north": linh, nghìn · "south": lẻ, ngàn
four_as_tu = false            # "hai mươi tư" instead of "hai mươi bốn"
chime = true
voice_pack = "/var/lib/motcua/voice/default"
counter_labels = { }          # counter id → what to say, when the counter's name is not speakable

[audio]
sink = "aplay"                # "aplay" (ALSA speakers), "wav" (files in wav_dir), "none"
device = ""                   # ALSA device for aplay -D, e.g. "plughw:0,0"; empty = default
wav_dir = "/var/lib/motcua/announcements"
wav_keep = 50                 # only the newest 50 announcements stay in wav_dir (~0.5 MB each)

[screen]
orientation = "landscape"     # 1920×1080 "landscape" or 1080×1920 "portrait"
fullscreen = true
message = "Kính chào quý khách …"   # scrolling line (queue/state "message" wins when present)
highlight_s = 8               # a new call stays highlighted this long
page_s = 10                   # with more counters than fit, pages turn this often
recent_calls = 6
results = "off"               # results ready for collection: "off", "alternate" with the board, "only"
results_s = 20                # alternate: the results page stays at least this long
queue_s = 40                  # alternate: the queue board stays this long between results pages
results_rows = 8              # results per page (pages turn every page_s)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from appliance.config import DeviceConfig, Strict

from .announce import DEFAULT_TEMPLATE, AnnounceError, AnnounceSettings, parse_template
from .numbers import Dialect

DEFAULT_VOICE_PACK = "/var/lib/motcua/voice/default"


class AnnounceSection(Strict):
    template: str = DEFAULT_TEMPLATE
    number_mode: Literal["digits", "cardinal"] = "digits"
    counter_mode: Literal["digits", "cardinal"] = "cardinal"
    leading_zeros: Literal["digits", "drop"] = "digits"
    repeats: int = Field(2, ge=1, le=5)
    brief_when_backlog: int = Field(3, ge=1)
    region: Literal["north", "south"] = "north"
    four_as_tu: bool = False
    chime: bool = True
    voice_pack: str = DEFAULT_VOICE_PACK
    counter_labels: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True
    # A call that reached the display only through the retained queue/state (made while the broker
    # was down) is announced once when it resyncs, unless it is older than this: then only shown.
    missed_max_age_s: float = Field(120.0, ge=0, le=3600)

    @field_validator("template")
    @classmethod
    def _template_is_usable(cls, template: str) -> str:
        try:
            parse_template(template)
        except AnnounceError as error:
            raise ValueError(str(error)) from None
        return template

    def settings(self) -> AnnounceSettings:
        return AnnounceSettings(
            template=self.template,
            number_mode=self.number_mode,
            counter_mode=self.counter_mode,
            leading_zeros=self.leading_zeros,
            dialect=Dialect.for_region(self.region, four_as_tu=self.four_as_tu),
            repeats=self.repeats,
            chime=self.chime,
        )


class AudioSection(Strict):
    sink: Literal["aplay", "wav", "none"] = "aplay"
    device: str = ""
    wav_dir: str = "/var/lib/motcua/announcements"
    # With sink "wav", only the newest this many announcements stay in wav_dir (~0.5 MB each).
    wav_keep: int = Field(50, ge=1, le=10000)


class ScreenSection(Strict):
    orientation: Literal["landscape", "portrait"] = "landscape"
    fullscreen: bool = True
    message: str = "Kính chào quý khách. Vui lòng giữ phiếu và chờ gọi số."
    highlight_s: float = Field(8.0, gt=0, le=120)
    page_s: float = Field(10.0, ge=2, le=300)
    recent_calls: int = Field(5, ge=1, le=12)
    # Scrolling redraws the window; with software OpenGL (no GPU) 20 fps costs ~60 % of a core at
    # 1920×1080. 0 keeps the message still.
    marquee_fps: int = Field(20, ge=0, le=60)
    # Results ready for collection (the hub's retained results/ready): a page that alternates with
    # the queue board, or a screen of its own ("only").
    results: Literal["off", "alternate", "only"] = "off"
    results_s: float = Field(20.0, ge=4, le=600)
    queue_s: float = Field(40.0, ge=4, le=3600)
    results_rows: int = Field(8, ge=3, le=20)
    font: str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    font_bold: str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

    @property
    def size(self) -> tuple[int, int]:
        return (1920, 1080) if self.orientation == "landscape" else (1080, 1920)


class DisplayConfig(DeviceConfig):
    role: Literal["display"] = "display"
    announce: AnnounceSection = AnnounceSection()
    audio: AudioSection = AudioSection()
    screen: ScreenSection = ScreenSection()

    @property
    def voice_pack_dir(self) -> Path:
        return Path(self.announce.voice_pack)
