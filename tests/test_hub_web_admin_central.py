"""The admin page's "Hệ thống một cửa điện tử" section and `GET /api/v1/central/status`: a real
CentralRuntime talking to the central simulator (synced catalogue, a relay piling up events while
central is down), a site without central, and a status that lacks keys or cannot be read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import requests

from appliance.timeutil import SITE_TZ
from appliance.timeutil import now as site_now
from hub.central import CentralRuntime, load_central_config
from hub.central_sim import SimServer, SimState
from hub.service import QueueService
from hub.web import create_app
from hub.web.central_status import central_groups, human_age
from tests.support.mqtt import wait_until
from tests.test_hub_web import basic, login, make_site

# The runtime's clock runs this far ahead of the queue's: the first undelivered event is "3 phút" old.
AHEAD = timedelta(seconds=200)


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer(SimState(seed=5)).start()
    yield server
    server.stop()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[QueueService]:
    running = QueueService(make_site(tmp_path), tmp_path / "hub.db", outbox=True)
    yield running
    running.close()


@pytest.fixture
def runtime(sim: SimServer, service: QueueService, tmp_path: Path) -> Iterator[CentralRuntime]:
    config = load_central_config(
        {
            "adapter": "opencps",
            "base_url": sim.url,
            "agency_code": "000.00.16.H19",
            "retry_base_s": 0.05,
            "retry_max_s": 0.2,
            "breaker_failures": 2,
            "breaker_open_s": 30,
        }
    )
    running = CentralRuntime(
        config, db_path=tmp_path / "hub.db", site="test", clock=lambda: site_now() + AHEAD
    )
    service.add_commit_hook(running.on_commit)
    running.start()
    assert running.catalogue_synced.wait(10)
    yield running
    running.stop()


def section(html: str) -> str:
    """The central section of the admin page as plain text, one row a line."""
    found = re.search(r'<section class="card central-status".*?</section>', html, re.S)
    assert found, "no central section on the admin page"
    rows = re.sub(r"</tr>|</caption>|</h2>", "\n", found.group(0))
    return "\n".join(" ".join(unescape(re.sub(r"<[^>]+>", " ", line)).split()) for line in rows.split("\n"))


def test_admin_sees_relay_backlog_breaker_and_catalogue_of_a_real_runtime(
    service: QueueService, runtime: CentralRuntime, sim: SimServer
) -> None:
    client = create_app(service, broker_connected=lambda: True, central=runtime).test_client()
    login(client, "admin")
    healthy = section(client.get("/admin").text)
    procedures = runtime.catalogue.count()
    assert procedures >= 50
    assert "Hệ thống một cửa điện tử" in healthy
    assert "Kiểu kết nối OpenCPS (REST)" in healthy and f"Địa chỉ {sim.url}" in healthy
    assert "Sự kiện chờ gửi 0" in healthy and "Sự kiện chờ lâu nhất —" in healthy
    assert "Bị từ chối, không gửi lại 0" in healthy and "Trạng thái đường truyền Bình thường" in healthy
    assert f"Số thủ tục {procedures}" in healthy
    assert re.search(r"Đồng bộ lần cuối \d\d:\d\d \d\d/\d\d/\d{4} \((vừa xong|\d+ giây trước)\)", healthy)

    # Central goes down while citizens take numbers: the events wait in the outbox.
    requests.post(f"{sim.url}/admin/faults", json={"down": True}, timeout=5).raise_for_status()
    for _ in range(3):
        service.call("ticket.issue", {"service_id": "dat-dai"}, caller_id="kiosk-1")
    assert runtime.relay is not None
    wait_until(lambda: runtime.relay.status()["breaker"] == "open", timeout=10)  # type: ignore[union-attr]
    down = section(client.get("/admin").text)
    assert "Sự kiện chờ gửi 3" in down
    assert "Sự kiện chờ lâu nhất 3 phút" in down  # created 200 s before the runtime's "now"
    assert "Trạng thái đường truyền Tạm ngừng — đang chờ thử lại" in down
    assert "Lỗi gần nhất" in down

    english = section(client.get("/admin?lang=en").text)
    assert "Central one-stop-shop system" in english and "Oldest undelivered event 3 min" in english

    status = client.get("/api/v1/central/status")
    assert status.status_code == 200
    body = status.get_json()
    assert body["relay"]["backlog"] == 3 and body["relay"]["breaker"] == "open"
    assert body["catalogue"]["procedures"] == procedures and body["adapter"] == "opencps"


def test_central_status_is_for_admins_only(service: QueueService, runtime: CentralRuntime) -> None:
    client = create_app(service, broker_connected=lambda: True, central=runtime).test_client()
    assert client.get("/api/v1/central/status").status_code == 401
    officer = client.get("/api/v1/central/status", headers=basic("canbo1"))
    assert officer.status_code == 403 and officer.get_json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/central/status", headers=basic("admin")).status_code == 200


def test_without_central_the_admin_page_has_no_such_section(service: QueueService) -> None:
    client = create_app(service, broker_connected=lambda: True).test_client()
    login(client, "admin")
    page = client.get("/admin")
    assert page.status_code == 200 and "central-status" not in page.text
    assert "Hệ thống một cửa điện tử" not in page.text
    missing = client.get("/api/v1/central/status")
    assert missing.status_code == 501
    assert "chưa kết nối hệ thống quản lý hồ sơ" in missing.get_json()["error"]["message"]


class PartialCentral:
    """A runtime whose status() says only part of what CentralRuntime says, or fails."""

    def __init__(self, status: dict[str, Any] | Exception) -> None:
        self._status = status

    def status(self) -> dict[str, Any]:
        if isinstance(self._status, Exception):
            raise self._status
        return self._status


@pytest.mark.parametrize(
    "status",
    [
        {},
        {"adapter": "webhook"},
        {"adapter": "opencps", "relay": None, "results": None, "catalogue": {}},
        {"relay": {"backlog": 2}, "catalogue": {"procedures": 3, "synced_at": None, "error": "HTTP 500"}},
        {"relay": {"backlog": "?", "breaker": "sideways"}, "results": {"ready": 1, "fetched_at": "bad"}},
    ],
)
def test_a_status_missing_keys_still_renders(service: QueueService, status: dict[str, Any]) -> None:
    client = create_app(service, broker_connected=lambda: True, central=PartialCentral(status)).test_client()
    login(client, "admin")
    page = client.get("/admin")
    assert page.status_code == 200
    assert "Hệ thống một cửa điện tử" in section(page.text)


def test_a_status_that_fails_is_said_on_the_page(service: QueueService) -> None:
    broken = PartialCentral(RuntimeError("database is locked"))
    client = create_app(service, broker_connected=lambda: True, central=broken).test_client()
    login(client, "admin")
    page = client.get("/admin")
    assert page.status_code == 200
    assert "Không đọc được trạng thái kết nối: database is locked" in section(page.text)
    assert "Cán bộ" in page.text  # the rest of the page is there


def test_rows_of_a_results_board_and_a_failed_sync() -> None:
    now = datetime(2025, 1, 6, 8, 0, tzinfo=SITE_TZ)
    groups = central_groups(
        {
            "adapter": "opencps",
            "relay": None,
            "catalogue": {"procedures": 0, "synced_at": None, "error": "HTTP 503"},
            "results": {
                "ready": 12,
                "fetched_at": "2025-01-06T07:55:00.000+07:00",
                "stale": True,
                "error": "timeout",
            },
        },
        "vi",
        now=now,
    )
    rows = {(group.title, row.label): (row.value, row.tone) for group in groups for row in group.rows}
    assert rows[("Gửi sự kiện lên hệ thống", "Sự kiện chờ gửi")] == ("Không gửi (deliver = false)", "")
    assert rows[("Danh mục thủ tục", "Đồng bộ lần cuối")] == ("Chưa đồng bộ lần nào", "warn")
    assert rows[("Danh mục thủ tục", "Lỗi gần nhất")] == ("Lỗi đồng bộ: HTTP 503", "error")
    assert rows[("Bảng kết quả", "Hồ sơ có kết quả chờ trả")] == ("12", "")
    assert rows[("Bảng kết quả", "Cập nhật lần cuối")] == (
        "07:55 06/01/2025 (5 phút trước) — chưa cập nhật được",
        "warn",
    )


def test_ages_read_like_people_say_them() -> None:
    assert human_age(None) == "—"
    assert human_age(12.4) == "12 giây"
    assert human_age(185) == "3 phút"
    assert human_age(2 * 3600 + 5 * 60) == "2 giờ 5 phút"
    assert human_age(3 * 86400 + 4 * 3600) == "3 ngày 4 giờ"
    assert human_age(185, "en") == "3 min"
