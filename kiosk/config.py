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
from datetime import date, datetime, time
from typing import Literal

from pydantic import Field, field_validator

from appliance.config import ID_PATTERN, DeviceConfig, Strict

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEJAVU_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def parse_hhmm(value: str) -> time:
    """ "07:30" → 07:30; "24:00" (end of day) → 23:59:59.999999."""
    if not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time like 07:30")
    if value == "24:00":
        return time.max
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class Period(Strict):
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _time(cls, value: str) -> str:
        parse_hhmm(value)
        return value

    def contains(self, moment: time) -> bool:
        return parse_hhmm(self.start) <= moment < parse_hhmm(self.end)


class Holiday(Strict):
    date: date
    name: str = Field("", max_length=80)


class OpeningHours(Strict):
    """The kiosk's own hours; once the hub's queue/state carried the site's (with its holidays, a
    province template's too), the lock screen follows those instead (KioskView.site_hours)."""

    days: list[Day] = list(DAYS[:5])
    periods: list[Period] = Field(
        default_factory=lambda: [Period(start="07:30", end="11:30"), Period(start="13:00", end="17:00")],
        min_length=1,
    )
    lock_outside: bool = True
    holidays: list[Holiday] = []  # closed all day

    def holiday(self, moment: datetime) -> Holiday | None:
        return next((h for h in self.holidays if h.date == moment.date()), None)

    def is_open(self, moment: datetime) -> bool:
        if DAYS[moment.weekday()] not in self.days or self.holiday(moment) is not None:
            return False
        return any(period.contains(moment.time()) for period in self.periods)


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
