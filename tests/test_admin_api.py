"""The administration API on a real hub process over HTTP: every change applies live (the queue,
the retained `queue/state`, issuing at once), survives a hub restart and is in the audit log.

Who may change the site: an administrator or the head of office; not a counter officer, not
anonymous; a head cannot make an administrator.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.site import load_hub_config
from tests.support.admin_site import AdminSite
from tests.support.hub import ROOT, site_config
from tests.support.mqtt import Observer


class Site(AdminSite):
    """The sample site with its head of office; requests are the administrator's unless told."""

    def __init__(self, tmp: Path, broker_port: int) -> None:
        super().__init__(tmp, broker_port, site_config(tmp, broker_port))

    def req(self, method: str, path: str, user: str | None = "admin", **kwargs: Any) -> requests.Response:
        return super().req(method, path, user, **kwargs)

    def issue(self, service_id: str) -> requests.Response:
        return requests.post(self.base + "/api/v1/tickets", json={"service_id": service_id}, timeout=15)

    def audit(self) -> list[dict[str, Any]]:
        response = self.req("GET", "/api/v1/admin/audit")
        assert response.status_code == 200, response.text
        return list(response.json()["entries"])


@pytest.fixture
def site(tmp_path: Path, broker: Any) -> Iterator[Site]:
    with Site(tmp_path, broker.port) as running:
        yield running


THUE = {
    "id": "thue",
    "name": "Thuế",
    "name_en": "Tax",
    "first": 8001,
    "last": 8999,
    "default_service_minutes": 4,
}


def test_a_created_service_is_live_within_a_second_survives_a_restart_and_is_audited(
    site: Site, tmp_path: Path
) -> None:
    with Observer(site.broker_port, "motcua/v1/test/queue/state") as observer:
        observer.wait_for(lambda m: m.retain)
        started = time.monotonic()
        created = site.req("POST", "/api/v1/admin/services", json=THUE)
        assert created.status_code == 201, created.text
        assert created.json()["item"]["name"] == "Thuế"
        queue = site.req("GET", "/api/v1/queue", user=None).json()
        assert "thue" in [s["id"] for s in queue["services"]]
        observer.wait_for(lambda m: "thue" in [s["id"] for s in m.json()["services"]], timeout=1.0)
        assert time.monotonic() - started < 1.0
    ticket = site.issue("thue")
    assert ticket.status_code == 201, ticket.text
    assert ticket.json()["number"] == "8001"

    # Assign it to counter 1 and call it there.
    counter = site.req("PUT", "/api/v1/admin/counters/1", json={"services": ["dat-dai", "thue"]})
    assert counter.status_code == 200, counter.text
    assert site.req("POST", "/api/v1/counters/1/open", json={}).status_code == 200
    called = site.req("POST", "/api/v1/counters/1/call-next", json={})
    assert called.status_code == 200, called.text
    assert called.json()["ticket"]["number"] == "8001"

    entries = site.audit()
    assert [(e["kind"], e["object_id"], e["action"]) for e in entries[:2]] == [
        ("counters", "1", "update"),
        ("services", "thue", "create"),
    ]
    assert entries[0]["username"] == "admin"
    assert entries[0]["before"]["services"] == ["dat-dai"]
    assert entries[0]["after"]["services"] == ["dat-dai", "thue"]
    assert entries[1]["before"] is None and entries[1]["after"]["first"] == 8001

    site.restart()
    services = site.req("GET", "/api/v1/admin/services").json()["services"]
    assert "thue" in [s["id"] for s in services]
    assert site.req("GET", "/api/v1/admin/counters/1").json()["services"] == ["dat-dai", "thue"]
    assert site.issue("thue").json()["number"] == "8002"
    assert len(site.audit()) == 2

    # The live site written back out as TOML starts a hub: a site can be rebuilt from the file.
    exported = tmp_path / "exported.toml"
    subprocess.run(
        [sys.executable, "-m", "hub", "-c", str(site.config_path), "--export-site", str(exported)],
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    rebuilt = load_hub_config(exported)
    assert [c.services for c in rebuilt.counters if c.id == "1"] == [["dat-dai", "thue"]]
    assert "thue" in [s.id for s in rebuilt.services]


def test_the_head_widens_a_full_number_block_live(site: Site) -> None:
    small = {"id": "tiny", "name": "Thử", "prefix": "X", "first": 1, "last": 2, "digits": 3}
    assert site.req("POST", "/api/v1/admin/services", user="truongbp", json=small).status_code == 201
    assert [site.issue("tiny").json()["number"] for _ in range(2)] == ["X001", "X002"]
    full = site.issue("tiny")
    assert full.status_code == 409 and full.json()["error"]["code"] == "service_full"

    widened = site.req("PUT", "/api/v1/admin/services/tiny", user="truongbp", json={"last": 5})
    assert widened.status_code == 200, widened.text
    assert site.issue("tiny").json()["number"] == "X003"

    # Numbers were issued today: the format stays, the block cannot shrink below what was used.
    moved = site.req("PUT", "/api/v1/admin/services/tiny", user="truongbp", json={"first": 100, "last": 200})
    assert moved.status_code == 409 and moved.json()["error"]["code"] == "admin_numbers_in_use"
    shrunk = site.req("PUT", "/api/v1/admin/services/tiny", user="truongbp", json={"last": 2})
    assert shrunk.status_code == 409 and shrunk.json()["error"]["code"] == "admin_block_too_small"
    assert "X003" in shrunk.json()["error"]["message"]
    # The TOML's rules: an overlapping block is refused with the reason.
    overlap = site.req(
        "POST", "/api/v1/admin/services", json={"id": "chong", "name": "Chồng", "first": 1500, "last": 1600}
    )
    assert overlap.status_code == 400 and "overlapping" in overlap.json()["error"]["message"]

    site.restart()
    assert site.req("GET", "/api/v1/admin/services/tiny").json()["last"] == 5
    assert site.issue("tiny").json()["number"] == "X004"
    audit = site.audit()
    widen = next(e for e in audit if e["object_id"] == "tiny" and e["action"] == "update")
    assert (widen["username"], widen["before"]["last"], widen["after"]["last"]) == ("truongbp", 2, 5)
    assert len([e for e in audit if e["action"] == "update"]) == 1  # refused edits are not logged


def test_only_administrators_and_heads_change_the_site(site: Site) -> None:
    assert site.req("GET", "/api/v1/admin/services", user=None).status_code == 401
    refused = site.req("POST", "/api/v1/admin/services", user="canbo1", json=THUE)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"].startswith("Chỉ quản trị viên hoặc trưởng bộ phận")
    assert site.req("GET", "/api/v1/admin/services", user="truongbp").status_code == 200
    made_admin = site.req(
        "POST",
        "/api/v1/admin/officers",
        user="truongbp",
        json={"username": "boss", "name": "X", "admin": True},
    )
    assert made_admin.status_code == 403
    assert site.req("GET", "/api/v1/admin/officers/boss").status_code == 404
    busy = site.req("DELETE", "/api/v1/admin/services/dat-dai")
    assert busy.status_code == 409 and "quầy" in busy.json()["error"]["message"]


def _session_login(site: Site, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(site.base + "/login", timeout=15).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    answer = session.post(
        site.base + "/login",
        data={"csrf_token": token.group(1), "username": username, "password": password},
        timeout=15,
    )
    assert answer.status_code == 200, answer.text[:300]
    return session


def test_officers_created_reset_and_disabled_live(site: Site) -> None:
    created = site.req(
        "POST",
        "/api/v1/admin/officers",
        user="truongbp",
        json={"username": "canbo9", "name": "Võ Văn Chín", "counters": ["3"]},
    )
    assert created.status_code == 201, created.text
    password = created.json()["password"]
    assert "password_hash" not in created.json()["item"]
    # The new officer logs in and acts for their counter only.
    auth = ("canbo9", password)
    assert (
        requests.post(site.base + "/api/v1/counters/3/open", auth=auth, json={}, timeout=15).status_code
        == 200
    )
    assert (
        requests.post(site.base + "/api/v1/counters/1/open", auth=auth, json={}, timeout=15).status_code
        == 403
    )

    reset = site.req("POST", "/api/v1/admin/officers/canbo9/reset-password", user="truongbp")
    assert reset.status_code == 200
    new_password = reset.json()["password"]
    assert requests.get(site.base + "/api/v1/counters/3", auth=auth, timeout=15).status_code == 401
    browser = _session_login(site, "canbo9", new_password)
    assert browser.get(site.base + "/api/v1/counters/3", timeout=15).status_code == 200

    disabled = site.req("PUT", "/api/v1/admin/officers/canbo9", user="truongbp", json={"disabled": True})
    assert disabled.status_code == 200, disabled.text
    # Their open session ends at once, and they cannot log in again.
    assert browser.get(site.base + "/api/v1/counters/3", timeout=15).status_code == 401
    assert (
        requests.get(site.base + "/api/v1/counters/3", auth=("canbo9", new_password), timeout=15).status_code
        == 401
    )

    site.restart()
    officer = site.req("GET", "/api/v1/admin/officers/canbo9").json()
    assert officer["disabled"] is True and officer["counters"] == ["3"]
    assert (
        requests.get(site.base + "/api/v1/counters/3", auth=("canbo9", new_password), timeout=15).status_code
        == 401
    )
    actions = [(e["object_id"], e["action"]) for e in site.audit()]
    assert actions[:3] == [("canbo9", "update"), ("canbo9", "reset_password"), ("canbo9", "create")]


def test_hall_message_and_ticket_footer_are_live(site: Site) -> None:
    with Observer(site.broker_port, "motcua/v1/test/queue/state") as observer:
        changed = site.req(
            "PUT",
            "/api/v1/admin/settings/place",
            json={"hall_message": "Chiều nay nghỉ họp từ 16:00", "ticket_footer": "Cảm ơn!"},
        )
        assert changed.status_code == 200, changed.text
        observer.wait_for(lambda m: m.json().get("message") == "Chiều nay nghỉ họp từ 16:00", timeout=1.0)
    site.restart()
    assert site.req("GET", "/api/v1/admin/settings/place").json()["ticket_footer"] == "Cảm ơn!"
    entry = site.audit()[0]
    assert (entry["kind"], entry["object_id"], entry["after"]["hall_message"]) == (
        "settings",
        "place",
        "Chiều nay nghỉ họp từ 16:00",
    )
