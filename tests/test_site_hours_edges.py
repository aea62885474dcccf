"""The edges of a site's `[opening_hours]` and `[place] day_rollover` in its TOML: "24:00" may end
an opening period (an office open until midnight) and the reports count those hours; it may not
start one, nor be the day's rollover (a time of day). An empty `periods` list: closed every day."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest

from appliance.config import ConfigError, load
from appliance.timeutil import SITE_TZ
from hub.reports.alerts import _period_start
from hub.reports.history import SiteFacts
from hub.site import HubConfig
from kiosk.config import OpeningHours as KioskHours

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = (ROOT / "hub/sample_site.toml").read_text(encoding="utf-8")
ROLLOVER = 'day_rollover = "03:00"'
PERIODS = 'periods = [{ start = "07:30", end = "11:30" }, { start = "13:00", end = "17:00" }]'
MONDAY = date(2026, 12, 7)


def _site(tmp_path: Path, old: str, new: str) -> Path:
    assert old in SAMPLE
    path = tmp_path / "site.toml"
    path.write_text(SAMPLE.replace(old, new), encoding="utf-8")
    return path


def test_a_period_may_end_at_midnight_and_the_reports_count_it(tmp_path: Path) -> None:
    path = _site(tmp_path, PERIODS, 'periods = [{ start = "13:00", end = "24:00" }]')
    site = load(path, HubConfig)
    hours = site.opening_hours
    assert hours.is_open(datetime.combine(MONDAY, time(23, 59), SITE_TZ))
    assert not hours.is_open(datetime.combine(MONDAY, time(12, 59), SITE_TZ))
    assert hours.describe() == "T2, T3, T4, T5, T6, T7: 13:00–24:00"
    # The reports' open time runs to the end of the day; the pause alert finds the period's start.
    ((opens, closes),) = SiteFacts.of(site).windows(MONDAY)
    assert opens.time() == time(13, 0) and closes.date() == MONDAY
    assert round((closes - opens).total_seconds()) == 11 * 3600
    late = datetime.combine(MONDAY, time(23, 30), SITE_TZ)
    assert _period_start(site, late) == datetime.combine(MONDAY, time(13, 0), SITE_TZ)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (ROLLOVER, 'day_rollover = "24:00"', "place.day_rollover"),
        (PERIODS, 'periods = [{ start = "24:00", end = "24:00" }]', "opening_hours.periods.0.start"),
    ],
)
def test_midnight_as_a_time_of_day_is_refused_with_the_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    path = _site(tmp_path, old, new)
    with pytest.raises(ConfigError) as error:
        load(path, HubConfig)
    assert str(path) in str(error.value)
    assert key in str(error.value)
    assert "may only end an opening period" in str(error.value)


def test_no_periods_means_closed_every_day(tmp_path: Path) -> None:
    site = load(_site(tmp_path, PERIODS, "periods = []"), HubConfig)
    hours = site.opening_hours
    assert not hours.is_open(datetime.combine(MONDAY, time(9, 0), SITE_TZ))
    assert hours.describe() == "Không làm việc ngày nào / Closed every day"
    assert SiteFacts.of(site).windows(MONDAY) == []
    # A kiosk takes over what the hub hands devices (tests/test_kiosk_site_hours.py: it says so).
    dumped = site.device_settings()["opening_hours"]
    assert KioskHours.model_validate({"days": dumped["days"], "periods": dumped["periods"]}).periods == []
