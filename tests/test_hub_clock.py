"""Wall-clock jumps (issue 14.2): a real hub process whose wall clock is stepped while it runs and
across restarts (libfaketime), citizens taking numbers over MQTT. A number once acknowledged is
never acknowledged again to anyone, a line is not cancelled because a clock was wrong, a day never
opens on an unsynchronised clock, and /healthz, the fleet API and the console say what is going on.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient
from appliance.timeutil import SITE_TZ
from tests.support.hub import FakeClock, HubProcess, find_libfaketime, site_config, write_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_libfaketime() is None, reason="libfaketime is not installed"),
]

SITE = "test"
DAY = 86_400
ROLLOVER_H = 3  # the sample site's day_rollover = "03:00"


def service_day(moment: datetime) -> date:
    return (moment.astimezone(SITE_TZ) - timedelta(hours=ROLLOVER_H)).date()


def compact(day: date) -> str:
    return f"{day:%Y%m%d}"


class Site:
    """A hub process on a fake clock, a kiosk that takes numbers, and the hub's database."""

    def __init__(self, tmp: Path, broker: PrivateBroker, mqtt: MqttSettings) -> None:
        self.tmp = tmp
        self.clock = FakeClock(tmp)
        self.flag = tmp / "ntp-synchronised"
        self.flag.touch()
        config = site_config(tmp, broker.port, site=SITE)
        config["hub"]["clock_sync_flag"] = str(self.flag)
        self.http = config["hub"]["public_url"]
        self.config_path = write_config(tmp, config)
        self.hub: HubProcess | None = None
        self.passwords: dict[str, str] = {}
        self.link = Link(mqtt, site=SITE, device_id="kiosk-9", role="kiosk")
        self.link.start()
        assert self.link.wait_connected(5)
        self.rpc = RpcClient(self.link, default_timeout=10)
        self.acknowledged: list[str] = []

    def start(self) -> None:
        self.hub = HubProcess(self.config_path, web=True, env=self.clock.env()).start()
        self.passwords = self.passwords or self.hub.passwords()

    def kill(self) -> None:
        assert self.hub is not None
        self.hub.kill()  # power loss: no goodbye

    def stop(self) -> None:
        if self.hub is not None:
            self.hub.stop()
        self.link.stop()

    def issue(self) -> dict[str, Any]:
        ticket = self.rpc.call("ticket.issue", {"service_id": "dat-dai"}, timeout=15)["ticket"]
        self.acknowledged.append(ticket["id"])
        return ticket

    def issue_ids(self, count: int) -> list[str]:
        return [self.issue()["id"] for _ in range(count)]

    def get(self, path: str, *, admin: bool = False) -> tuple[int, str]:
        request = urllib.request.Request(self.http + path, headers=self._auth(admin))
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post(self, path: str, *, admin: bool = True) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json", **self._auth(admin)}
        request = urllib.request.Request(self.http + path, data=b"{}", headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def health(self) -> tuple[int, dict[str, Any]]:
        status, body = self.get("/healthz")
        return status, json.loads(body)

    def _auth(self, admin: bool) -> dict[str, str]:
        if not admin:
            return {}
        secret = base64.b64encode(f"admin:{self.passwords['admin']}".encode()).decode()
        return {"Authorization": f"Basic {secret}"}

    def statuses(self) -> dict[str, str]:
        with sqlite3.connect(self.tmp / "hub.db") as db:
            return dict(db.execute("SELECT id, status FROM tickets").fetchall())

    def assert_no_number_twice(self) -> None:
        assert len(self.acknowledged) == len(set(self.acknowledged)), self.acknowledged
        assert set(self.acknowledged) <= set(self.statuses())


@pytest.fixture
def site(tmp_path: Path, broker: PrivateBroker, mqtt_settings: MqttSettings) -> Iterator[Site]:
    running = Site(tmp_path, broker, mqtt_settings)
    yield running
    running.stop()


def test_a_clock_one_day_back_then_corrected_never_hands_out_a_number_twice(site: Site) -> None:
    today = service_day(datetime.now(SITE_TZ))
    site.start()
    first = site.issue_ids(5)
    assert first == [f"{compact(today)}-{n}" for n in range(1001, 1006)]

    # The machine restarts with its clock one day back (no RTC, NTP not there yet).
    site.kill()
    site.clock.set_offset(-DAY)
    site.start()
    behind = site.issue_ids(2)
    assert behind == [f"{compact(today)}-1006", f"{compact(today)}-1007"]  # the day never goes back
    # ...and they queue behind the people already waiting.
    assert site.rpc.call("counter.call_next", {"counter_id": "1"}, timeout=15)["ticket"]["id"] == first[0]
    status, health = site.health()
    assert health["clock"]["state"] == "behind" and health["clock"]["service_day"] == today.isoformat()
    assert [p["code"] for p in health["problems"]] == ["hub_clock_behind"]

    # NTP corrects the clock while the hub runs.
    site.clock.set_offset(0)
    corrected = site.issue_ids(2)
    assert corrected == [f"{compact(today)}-1008", f"{compact(today)}-1009"]
    site.assert_no_number_twice()
    assert sorted(site.statuses().values()) == ["called"] + ["waiting"] * 8  # nobody's ticket was cancelled
    status, health = site.health()
    assert status == 200 and health["clock"]["state"] == "ok"


def test_a_clock_one_day_ahead_then_corrected_keeps_the_line_and_tomorrows_numbers(site: Site) -> None:
    today = service_day(datetime.now(SITE_TZ))
    site.start()
    site.issue_ids(3)

    site.clock.set_offset(DAY)  # a bad NTP server, or a technician's typo
    ahead = site.issue_ids(2)
    assert ahead == [f"{compact(today)}-1004", f"{compact(today)}-1005"]  # not tomorrow's numbers
    assert set(site.statuses().values()) == {"waiting"}  # the line was not cancelled
    status, health = site.health()
    assert status == 503
    assert health["clock"]["held_day"] == (today + timedelta(days=1)).isoformat()
    assert [p["code"] for p in health["problems"]] == ["hub_day_held_clock_jump"]
    # The technician sees it on the fleet API (and page) too.
    code, fleet = site.get("/api/v1/devices", admin=True)
    assert code == 200 and [p["code"] for p in json.loads(fleet)["hub"]] == ["hub_day_held_clock_jump"]
    code, page = site.get("/devices", admin=True)
    assert code == 200 and "Đồng hồ máy chủ hub đã nhảy sang ngày" in page
    assert "motcua_service_day_held 1.0" in site.get("/metrics")[1]

    # A restart on the same wrong clock does not open the held day either.
    site.kill()
    site.start()
    assert site.issue()["id"] == f"{compact(today)}-1006"
    assert site.health()[0] == 503

    site.clock.set_offset(0)  # corrected
    assert site.issue()["id"] == f"{compact(today)}-1007"
    assert site.health()[0] == 200

    # Tomorrow comes the way days come: the clock runs into the rollover.
    rollover = datetime.combine(today + timedelta(days=1), datetime.min.time(), SITE_TZ) + timedelta(
        hours=ROLLOVER_H
    )
    site.clock.set_offset(int((rollover - datetime.now(SITE_TZ)).total_seconds()) - 2)
    assert site.issue()["id"] == f"{compact(today)}-1008"  # a step, but still today
    time.sleep(3.5)
    tomorrow = site.issue()
    assert tomorrow["id"] == f"{compact(today + timedelta(days=1))}-1001"
    site.assert_no_number_twice()
    statuses = site.statuses()
    assert [statuses[i] for i in site.acknowledged[:-1]] == ["cancelled"] * 8  # day_end, at the real rollover


def test_a_hub_started_on_a_stale_clock_keeps_its_line_when_ntp_steps_the_clock(site: Site) -> None:
    today = service_day(datetime.now(SITE_TZ))
    yesterday = today - timedelta(days=1)
    site.clock.set_offset(-DAY)  # yesterday, on a synchronised clock
    site.start()
    site.issue_ids(2)
    site.kill()

    # The Pi boots with the time it saved at shutdown; NTP has not answered yet.
    site.flag.unlink()
    site.clock.set_offset(-DAY + 60)
    site.start()
    status, health = site.health()
    assert health["clock"]["synchronised"] is False
    assert [p["code"] for p in health["problems"]] == ["hub_clock_unsynchronised"]
    waiting = site.issue_ids(3)
    assert waiting == [f"{compact(yesterday)}-{n}" for n in (1003, 1004, 1005)]

    # NTP answers: the clock steps forward a day while these citizens wait.
    site.flag.touch()
    site.clock.set_offset(0)
    assert site.issue()["id"] == f"{compact(yesterday)}-1006"
    assert set(site.statuses().values()) == {"waiting"}  # nobody in line was cancelled
    status, health = site.health()
    assert status == 503 and health["clock"]["held_day"] == today.isoformat()
    console = site.get("/counter/1", admin=True)[1]
    assert "đã nhảy sang ngày" in console and "Xác nhận mở ngày phục vụ mới" in console

    # The administrator confirms the new day (after the line is served, or now).
    code, confirmed = site.post("/api/v1/admin/day/confirm")
    assert code == 200 and confirmed["rolled"] is True and confirmed["cancelled"] == 6
    assert site.issue()["id"] == f"{compact(today)}-1001"
    assert site.health()[0] == 200
    site.assert_no_number_twice()


def test_an_unsynchronised_clock_opens_no_new_day(site: Site) -> None:
    today = service_day(datetime.now(SITE_TZ))
    yesterday = today - timedelta(days=1)
    site.clock.set_offset(-DAY)
    site.start()
    site.issue_ids(1)
    site.kill()

    site.flag.unlink()  # right time, but nothing says so
    site.clock.set_offset(0)
    site.start()
    assert site.issue()["id"] == f"{compact(yesterday)}-1002"
    status, health = site.health()
    assert status == 503
    assert health["clock"]["held_day"] == today.isoformat() and health["clock"]["synchronised"] is False
    problem = health["problems"][0]
    assert problem["code"] == "hub_day_held_unsynchronised" and "chưa được đồng bộ" in problem["message"]
    assert site.statuses() == {
        f"{compact(yesterday)}-1001": "waiting",
        f"{compact(yesterday)}-1002": "waiting",
    }
