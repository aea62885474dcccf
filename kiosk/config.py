"""Configuration of a citizen kiosk (TOML). Example: kiosk/sample_kiosk.toml (all keys below).

device_id = "kiosk-1"           # must also be listed under [[kiosks]] in the hub's TOML (printer, trust)
site = "demo"
role = "kiosk"
language = "vi"                 # the language the kiosk returns to when idle
hub_id = "hub"                  # the hub's device id: its retained state tells whether it is up
public_url = "http://127.0.0.1:8080"   # what citizens' phones reach; ticket QR codes point there

[mqtt]
host = "127.0.0.1"
port = 1883
reconnect_max = 5.0             # a kiosk should come back quickly after a broker restart

[screen]
orientation = "portrait"        # "portrait" 1080×1920 or "landscape" 1920×1080
fullscreen = true

[kiosk]
scanners = ["scanner-1"]        # scanners bound to this kiosk: their scans open "Tra cứu hồ sơ"
services = []                   # services offered here, in this order (empty: every service)
rating_scale = 3                # 3 or 5 levels; must match the hub's [place] rating_scale
idle_timeout_s = 60             # back to the home screen after this long without a touch
ticket_screen_s = 20            # the ticket stays on screen this long once printed
ticket_screen_no_print_s = 60   # … and this long when it could not be printed (time to photograph it)
print_wait_s = 15               # "Đang in phiếu…" turns into "the printer has not answered" after this
reconnect_grace_s = 1.0         # a shorter outage does not flash the "reconnecting" screen
scan_max_age_s = 5              # a scan delivered later than this (after an outage) is ignored
voice = true                    # "Hỗ trợ" reads the screen aloud (espeak-ng, aplay)
audio_device = "default"        # ALSA device of the kiosk's speaker
card_reader = "none"            # ID card chip reader: "none", "pcsc" (NFC: pyscard, an MRZ key), "simulated"
procedure_services = { HT = "ho-tich" }   # procedure field code (or procedure code) → service id

[opening_hours]                 # the same shape as the hub's; the hub's (with holidays) win once heard
days = ["mon", "tue", "wed", "thu", "fri", "sat"]
periods = [{ start = "07:30", end = "11:30" }, { start = "13:00", end = "17:00" }]
lock_outside = true             # show the lock screen (with these hours) outside them
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from appliance.config import ID_PATTERN, DeviceConfig, Strict
from appliance.opening_hours import DAYS as DAYS  # the day names the kiosk's texts and tests use
from appliance.opening_hours import WeeklyHours

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEJAVU_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


class OpeningHours(WeeklyHours):
    """The kiosk's own hours; once the hub's queue/state carried the site's (with its holidays, a
    province template's too), the lock screen follows those instead (KioskView.site_hours)."""

    lock_outside: bool = True


class ScreenSection(Strict):
    orientation: Literal["portrait", "landscape"] = "portrait"
    fullscreen: bool = True
    font: str = DEJAVU
    font_bold: str = DEJAVU_BOLD

    @property
    def size(self) -> tuple[int, int]:
        return (1080, 1920) if self.orientation == "portrait" else (1920, 1080)


class KioskSection(Strict):
    scanners: list[str] = []
    services: list[str] = []
    rating_scale: Literal[3, 5] = 3
    idle_timeout_s: float = Field(60.0, ge=5, le=3600)
    ticket_screen_s: float = Field(20.0, ge=3, le=600)
    ticket_screen_no_print_s: float = Field(60.0, ge=3, le=1800)
    print_wait_s: float = Field(15.0, ge=1, le=300)
    reconnect_grace_s: float = Field(1.0, ge=0, le=2.5)
    rpc_timeout_s: float = Field(5.0, gt=0, le=60)
    # A tap on the same service within this long after an unanswered request repeats its request_id,
    # so the hub answers with the ticket it may already have issued instead of issuing another.
    retry_window_s: float = Field(120.0, ge=0, le=3600)
    procedure_services: dict[str, str] = {}
    # A scan made longer ago than this (delivered late after a broker outage) is ignored: the citizen
    # who made it has left. Compared with the scan's `ts`, so kiosk and scanner clocks must agree.
    scan_max_age_s: float = Field(5.0, ge=1, le=120)
    # The "Hỗ trợ" (assist) mode speaks through this ALSA device (None: the default one); off: silent.
    voice: bool = True
    audio_device: str | None = None
    card_reader: Literal["none", "pcsc", "simulated"] = "none"

    @field_validator("scanners", "services")
    @classmethod
    def _ids(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.match(ID_PATTERN, value):
                raise ValueError(f"{value!r} is not a valid device or service id")
        return values


class KioskConfig(DeviceConfig):
    role: Literal["kiosk"] = "kiosk"
    hub_id: str = Field("hub", pattern=ID_PATTERN)
    public_url: str = Field("http://127.0.0.1:8080", pattern=r"^https?://[^\s]+$")
    screen: ScreenSection = ScreenSection()
    kiosk: KioskSection = KioskSection()
    opening_hours: OpeningHours = OpeningHours()

    def ticket_url(self, token: str) -> str:
        return f"{self.public_url.rstrip('/')}/t/{token}"
