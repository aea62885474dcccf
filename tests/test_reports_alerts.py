"""Service-level alerts on a running hub whose clock the test moves: a citizen waiting past the
service's target and a counter paused too long show at /metrics and, for a head or an
administrator, on every page — not for a counter officer."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from appliance.timeutil import SITE_TZ
from hub.reports.alerts import LiveState, evaluate
from hub.service import QueueService
from hub.site import HubConfig
from hub.web import create_app, serve
from tests.support.hub import site_config

PASSWORD = "mat-khau-thu-nghiem"


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 3, 2, 7, 55, tzinfo=SITE_TZ)  # a Monday

    def __call__(self) -> datetime:
        return self.moment

    def at(self, hhmm: str) -> None:
        hours, minutes = (int(p) for p in hhmm.split(":"))
        self.moment = self.moment.replace(hour=hours, minute=minutes)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[str, QueueService, Clock]]:
    config = site_config(tmp_path, 1883)
    fast = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    for officer in config["officers"]:
        officer["password_hash"] = fast
    config["officers"].append({"username": "truongbp", "name": "Trưởng bộ phận", "head": True,
                               "password_hash": fast})  # fmt: skip
    clock = Clock()
    service = QueueService(HubConfig.model_validate(config), tmp_path / "hub.db", clock=clock)
    server = serve(create_app(service, broker_connected=lambda: True), "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.port}", service, clock
    finally:
        server.shutdown()
        service.close()


def get(url: str, user: str | None = None) -> str:
    headers = {}
    if user:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        return response.read().decode()


def test_waiting_past_the_target_and_a_long_pause_raise_alerts(hub) -> None:
    base, service, clock = hub
    clock.at("08:00")
    service.call("ticket.issue", {"service_id": "dat-dai"}, caller_id="kiosk-1")
    clock.at("08:05")
    service.call("counter.close", {"counter_id": "6"}, caller_id="web:canbo5")
    clock.at("08:20")
    metrics = get(base + "/metrics")
    assert 'motcua_service_oldest_wait_seconds{service="dat-dai"} 1200.0' in metrics
    assert "motcua_service_level_alert{" not in metrics  # 20 min < 30 min target, paused 15 min
    assert 'id="service-alerts"' not in get(base + "/stats", user="admin")

    clock.at("08:40")  # waited 40 minutes, counter 6 paused 35 minutes
    metrics = get(base + "/metrics")
    assert 'motcua_service_level_alert{kind="wait_over_target",subject="dat-dai"} 1.0' in metrics
    assert 'motcua_service_level_alert{kind="counter_paused",subject="6"} 1.0' in metrics
    for user in ("admin", "truongbp"):
        page = get(base + "/stats", user=user)
        assert "Đất đai: có người đã chờ 40 phút (mục tiêu 30 phút)" in page
        assert "6 tạm dừng đã 35 phút (giới hạn 20 phút)" in page
    assert 'id="service-alerts"' not in get(base + "/stats", user="canbo1")

    service.call("counter.open", {"counter_id": "6"}, caller_id="web:canbo5")
    service.call("counter.call_next", {"counter_id": "1"}, caller_id="web:canbo1")
    assert "motcua_service_level_alert{" not in get(base + "/metrics")


def test_a_counter_closed_over_lunch_is_paused_from_the_afternoon_opening() -> None:
    now = datetime(2026, 3, 2, 13, 25, tzinfo=SITE_TZ)
    state = LiveState(
        now=now,
        in_opening_hours=True,
        period_start=now.replace(hour=13, minute=0),
        oldest_waiting={},
        closed_since={"1": now.replace(hour=11, minute=30), "2": now.replace(hour=13, minute=10)},
    )
    alerts = evaluate(
        state, targets_s={}, service_names={}, counter_names={"1": "Quầy 1"}, pause_limit_s=1200
    )
    assert [(a.subject, a.seconds) for a in alerts] == [("1", 1500)]
    outside = LiveState(now, False, None, {}, {"1": now.replace(hour=7)})
    assert evaluate(outside, targets_s={}, service_names={}, counter_names={}, pause_limit_s=60) == []


def test_reports_are_refused_to_a_counter_officer_page(hub) -> None:
    base, _, _ = hub
    with pytest.raises(urllib.error.HTTPError) as refused:
        get(base + "/reports", user="canbo1")
    assert refused.value.code == 403
    assert "Báo cáo" not in get(base + "/stats", user="canbo1").split("<main")[0]  # no menu link either
    assert "Báo cáo" in get(base + "/stats", user="truongbp").split("<main")[0]
