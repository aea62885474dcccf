"""The hub's web application through Flask's test client, on a real QueueService and SQLite file:
the HTTP API, login, CSRF, counter assignment, error codes, pages, metrics and security headers."""

from __future__ import annotations

import base64
import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.security import generate_password_hash

from hub.service import QueueService
from hub.site import HubConfig
from hub.web import create_app, one_time_passwords
from hub.web.auth import LoginLimiter, UserStore
from hub.web.texts import TEXTS, text
from tests.support.hub import site_config

PASSWORD = "mat-khau-thu-nghiem"
# A cheap hash keeps the tests fast; production hashes are scrypt (checked in test_user_store).
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def make_site(tmp_path: Path, *, hashes: bool = True) -> HubConfig:
    config = site_config(tmp_path, 1883)
    if hashes:
        for officer in config["officers"]:
            officer["password_hash"] = FAST_HASH
    return HubConfig.model_validate(config)


class LinkState:
    connected = True


@pytest.fixture
def service(tmp_path: Path) -> Iterator[QueueService]:
    running = QueueService(make_site(tmp_path), tmp_path / "hub.db")
    yield running
    running.close()


@pytest.fixture
def link() -> LinkState:
    """Stands in for the hub's MQTT link: these tests need only its connected flag."""
    return LinkState()


@pytest.fixture
def app(service: QueueService, link: LinkState) -> Flask:
    devices = [
        {
            "id": "printer-1",
            "role": "printer",
            "online": True,
            "last_seen": "2025-01-06T07:31:02+07:00",
            "health": {"paper": "near_end", "online": True},
        },
        {"id": "kiosk-1", "role": "kiosk", "online": False, "last_seen": None, "health": None},
    ]
    return create_app(service, broker_connected=lambda: link.connected, devices=lambda: devices)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf[-_]token" (?:content|value)="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token for API calls."""
    page = client.get("/login")
    reply = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf_from(page.text)}
    )
    assert reply.status_code == 302, reply.text
    return csrf_from(client.get("/").text)


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def issue(client: FlaskClient, service_id: str = "dat-dai", **extra: Any) -> dict[str, Any]:
    reply = client.post("/api/v1/tickets", json={"service_id": service_id, **extra})
    assert reply.status_code == 201, reply.text
    return reply.get_json()


# -- public API and pages -----------------------------------------------------------------------


def test_anyone_takes_a_number_and_follows_it_without_seeing_others(client: FlaskClient) -> None:
    first = issue(client)
    second = issue(client)
    assert (first["number"], second["number"]) == ("1001", "1002")
    assert second["url"] == f"/t/{second['token']}" and len(second["token"]) >= 16

    mine = client.get(f"/api/v1/tickets/{second['token']}").get_json()
    assert mine["number"] == "1002" and mine["ahead"] == 1 and mine["status"] == "waiting"
    assert mine["estimated_wait_s"] > 0 and mine["service_name"] == "Đất đai"
    assert "token" not in mine and "id" not in mine  # nothing that opens another page

    page = client.get(second["url"])
    assert page.status_code == 200
    assert "1002" in page.text and "Đất đai" in page.text and "Số người phía trước" in page.text
    assert first["token"] not in page.text and "1001" not in page.text
    assert "Set-Cookie" not in page.headers  # a phone gets no session just for looking

    missing = client.get("/t/" + "x" * 22)
    assert missing.status_code == 404
    assert "Không tìm thấy phiếu này" in missing.text
    assert client.get("/api/v1/tickets/nope").status_code == 404


def test_public_queue_snapshot_never_carries_ticket_tokens(client: FlaskClient) -> None:
    ticket = issue(client)
    client.post("/api/v1/counters/1/call-next", headers=basic("canbo1"))
    snapshot = client.get("/api/v1/queue").get_json()
    counter = next(c for c in snapshot["counters"] if c["id"] == "1")
    assert counter["serving"]["number"] == ticket["number"]
    assert ticket["token"] not in client.get("/api/v1/queue").text
    assert ticket["token"] not in client.get("/").text


def test_bad_ticket_requests_get_json_errors_with_fitting_status(client: FlaskClient) -> None:
    def error(reply: Any, status: int) -> dict[str, Any]:
        assert reply.status_code == status, reply.text
        body = reply.get_json()
        assert body["ok"] is False and body["error"]["message"]
        return body["error"]

    post = client.post
    not_json = post("/api/v1/tickets", data="{nope", content_type="application/json")
    assert error(not_json, 400)["code"] == "bad_json"
    assert error(post("/api/v1/tickets", json=["dat-dai"]), 400)["code"] == "bad_request"
    assert error(post("/api/v1/tickets", json={}), 400)["code"] == "bad_request"
    assert (
        error(post("/api/v1/tickets", json={"service_id": "dat-dai", "priority": "yes"}), 400)["code"]
        == "bad_request"
    )
    unknown = error(post("/api/v1/tickets", json={"service_id": "bay-ra"}), 404)
    assert unknown["code"] == "unknown_service" and unknown["message"] == "Không có dịch vụ “bay-ra”."
    huge = error(post("/api/v1/tickets", json={"service_id": "x" * 70_000}), 413)
    assert huge["code"] == "payload_too_large"
    assert error(client.get("/api/v1/nothing-here"), 404)["code"] == "not_found"
    assert error(client.put("/api/v1/tickets", json={}), 405)["code"] == "method_not_allowed"
    # Nothing of that was issued.
    assert client.get("/api/v1/queue").get_json()["services"][0]["waiting"] == 0


def test_a_repeated_request_id_issues_one_ticket(client: FlaskClient) -> None:
    first = issue(client, request_id="kiosk-retry-1")
    again = issue(client, request_id="kiosk-retry-1")
    assert again["number"] == first["number"] == "1001"
    assert issue(client)["number"] == "1002"


def test_dossier_lookup_answers_501_in_vietnamese_until_the_central_link_exists(client: FlaskClient) -> None:
    reply = client.get("/api/v1/dossiers/000.00.06.H56-231027-0361")
    assert reply.status_code == 501
    error = reply.get_json()["error"]
    assert error["code"] == "not_implemented" and "chưa có" in error["message"]


def test_healthz_follows_the_broker_connection(client: FlaskClient, link: LinkState) -> None:
    reply = client.get("/healthz")
    assert reply.status_code == 200 and reply.get_json()["broker_connected"] is True
    link.connected = False
    reply = client.get("/healthz")
    assert reply.status_code == 503
    body = reply.get_json()
    assert {key: body[key] for key in ("ok", "broker_connected", "site")} == {
        "ok": False,
        "broker_connected": False,
        "site": "test",
    }


# -- officers: login, CSRF, assignment ------------------------------------------------------------


def test_counter_actions_need_a_login(client: FlaskClient) -> None:
    issue(client)
    reply = client.post("/api/v1/counters/1/call-next")
    assert reply.status_code == 401 and reply.get_json()["error"]["code"] == "login_required"
    assert "WWW-Authenticate" not in reply.headers  # a console's fetch must not pop a browser dialog
    page = client.get("/counter/1")
    assert page.status_code == 302 and page.location.startswith("/login?next=/counter/1")
    assert client.get("/api/v1/counters/1").status_code == 401
    assert client.get("/counter/1/events").status_code == 401  # a stream gets a status, not a page
    assert client.get("/api/v1/queue").get_json()["services"][0]["waiting"] == 1


def test_cookie_session_needs_the_csrf_token_for_every_change(client: FlaskClient) -> None:
    issue(client)
    token = login(client, "canbo1")
    refused = client.post("/api/v1/counters/1/call-next")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "csrf_failed"
    forged = client.post("/api/v1/counters/1/call-next", headers={"X-CSRF-Token": "x" + token[1:]})
    assert forged.status_code == 403
    assert client.get("/api/v1/queue").get_json()["counters"][0]["serving"] is None

    called = client.post("/api/v1/counters/1/call-next", headers={"X-CSRF-Token": token})
    assert called.status_code == 200 and called.get_json()["ticket"]["number"] == "1001"
    nobody = client.post("/api/v1/counters/1/call-next", headers={"X-CSRF-Token": token})
    assert nobody.status_code == 409
    assert nobody.get_json()["error"] == {"code": "no_waiting", "message": "Không còn ai chờ."}
    # Login form itself: a post without the token of the page is refused.
    assert client.post("/login", data={"username": "canbo1", "password": PASSWORD}).status_code == 403


def test_an_officer_acts_only_for_assigned_counters_and_admin_for_all(client: FlaskClient) -> None:
    issue(client, "ho-tich")
    token = login(client, "canbo1")  # counters 1 and 2
    refused = client.post("/api/v1/counters/3/call-next", headers={"X-CSRF-Token": token})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "not_your_counter"
    assert "quầy 3" in refused.get_json()["error"]["message"]
    assert client.get("/api/v1/counters/3").status_code == 403
    assert client.get("/counter/3").status_code == 403
    assert client.get("/counter/3/events").status_code == 403
    assert client.get("/admin").status_code == 403

    admin = client.post("/api/v1/counters/3/call-next", headers=basic("admin"))
    assert admin.status_code == 200 and admin.get_json()["ticket"]["number"] == "2001"
    unknown = client.post("/api/v1/counters/99/call-next", headers=basic("admin"))
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "unknown_counter"


def test_basic_auth_serves_scripts_and_wrong_credentials_are_rate_limited(app: Flask) -> None:
    client = app.test_client()
    issue(client)
    assert client.post("/api/v1/counters/1/call-next", headers=basic("canbo1")).status_code == 200
    wrong = client.post("/api/v1/counters/1/recall", headers=basic("canbo1", "doan-bua"))
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic")
    app.extensions["motcua_web"].limiter = LoginLimiter(max_failures=3, window_s=60)
    for _ in range(3):
        assert client.post("/api/v1/counters/1/recall", headers=basic("canbo1", "sai")).status_code == 401
    limited = client.post("/api/v1/counters/1/recall", headers=basic("canbo1"))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    # The login form counts the same failures for the same address.
    page = client.get("/login")
    form = {"username": "canbo1", "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    blocked = client.post("/login", data=form)
    assert blocked.status_code == 429 and "Đăng nhập sai quá nhiều lần" in blocked.text


def test_failed_form_logins_are_counted_per_address(app: Flask) -> None:
    app.extensions["motcua_web"].limiter = LoginLimiter(max_failures=2, window_s=60)
    client = app.test_client()
    csrf = csrf_from(client.get("/login").text)
    for _ in range(2):
        reply = client.post("/login", data={"username": "canbo1", "password": "sai", "csrf_token": csrf})
        assert reply.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in reply.text
    reply = client.post("/login", data={"username": "canbo1", "password": PASSWORD, "csrf_token": csrf})
    assert reply.status_code == 429
    other = app.test_client()
    csrf = csrf_from(other.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.9"}).text)
    reply = other.post(
        "/login",
        data={"username": "canbo1", "password": PASSWORD, "csrf_token": csrf},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert reply.status_code == 302


def test_every_counter_action_maps_to_the_queue(client: FlaskClient, service: QueueService) -> None:
    auth = basic("canbo1")

    def act(action: str, status: int = 200, **body: Any) -> dict[str, Any]:
        reply = client.post(f"/api/v1/counters/2/{action}", json=body, headers=auth)
        assert reply.status_code == status, (action, reply.text)
        return reply.get_json()

    for _ in range(3):
        issue(client, "xay-dung")
    assert act("close")["counter"]["open"] is False
    assert act("call-next", 409)["error"]["code"] == "counter_closed"
    act("open")
    assert act("recall", 409)["error"]["code"] == "counter_idle"
    assert act("call-next")["ticket"]["number"] == "4001"
    assert act("recall")["ticket"]["recalls"] == 1
    assert act("start")["ticket"]["status"] == "serving"
    assert act("close", 409)["error"]["code"] == "counter_busy"
    assert act("transfer", 400)["error"]["code"] == "bad_request"  # to which service?
    assert act("transfer", 404, to_service_id="bay-ra")["error"]["code"] == "unknown_service"
    moved = act("transfer", to_service_id="ho-tich")["ticket"]
    assert moved["service_id"] == "ho-tich" and moved["status"] == "waiting"
    assert act("call-next")["ticket"]["number"] == "4002"
    skipped = act("skip")["ticket"]
    assert skipped["status"] == "skipped"
    view = client.get("/api/v1/counters/2", headers=auth).get_json()
    assert [t["number"] for t in view["skipped"]] == ["4002"]
    assert view["waiting"][1] == {
        "service_id": "xay-dung",
        "name": "Xây dựng",
        "waiting": 1,
        "estimated_wait_s": view["waiting"][1]["estimated_wait_s"],
    }
    # Only a no-show of this counter's services can be reinstated from here.
    assert act("reinstate", 404, ticket_id="20990101-9999")["error"]["code"] == "unknown_ticket"
    assert act("reinstate", ticket_id=skipped["id"])["ticket"]["status"] == "waiting"
    assert act("call-next")["ticket"]["number"] == "4002"  # back at its original place
    assert act("complete")["ticket"]["status"] == "completed"
    assert act("fly", 404)["error"]["code"] == "unknown_method"
    assert service.stats()["counters"][1]["served"] == 1


def test_english_is_one_click_away_and_sticks(client: FlaskClient) -> None:
    login(client, "canbo1")
    page = client.get("/counter/1?lang=en")
    assert "Call next" in page.text and 'lang="en"' in page.text
    assert "lang=en" in page.headers["Set-Cookie"]
    assert "Call next" in client.get("/counter/1").text
    refused = client.post("/api/v1/counters/1/call-next", headers=basic("canbo1"))
    assert refused.get_json()["error"]["message"] == "No one is waiting."
    assert "Gọi số tiếp theo" in client.get("/counter/1?lang=vi").text


def test_console_page_works_without_javascript(client: FlaskClient) -> None:
    ticket = issue(client)
    login(client, "canbo1")
    page = client.get("/counter/1")
    assert page.status_code == 200
    for label in ("Gọi số tiếp theo", "Gọi lại", "Vắng mặt", "Chuyển", "Hoàn thành", "Đóng quầy"):
        assert label in page.text
    form = {"csrf_token": csrf_from(page.text), "action": "call-next"}
    done = client.post("/counter/1/do", data=form)
    assert done.status_code == 302
    page = client.get("/counter/1")
    assert f"Đã gọi số {ticket['number']}" in page.text
    assert f'id="serving-number" class="serving-number ">{ticket["number"]}' in page.text
    again = client.post("/counter/1/do", data=form, follow_redirects=True)
    assert "Không còn ai chờ." in again.text
    assert client.post("/counter/1/do", data={"action": "call-next"}).status_code == 403  # no token


def test_pages_for_admin_devices_and_stats(client: FlaskClient) -> None:
    issue(client)
    issue(client, "ho-tich")
    login(client, "admin")
    admin = client.get("/admin")
    assert admin.status_code == 200
    for shown in (
        "Đất đai",
        "Lao động – Thương binh và Xã hội",
        "Nguyễn Thị Lan",
        "canbo5",
        "Cấp lại mật khẩu",
    ):
        assert shown in admin.text
    devices = client.get("/devices")
    assert "printer-1" in devices.text and "near_end" in devices.text and "Mất kết nối" in devices.text
    stats = client.get("/stats")
    assert stats.status_code == 200 and "Thống kê trong ngày" in stats.text
    row = re.search(r"<td>Hộ tịch</td><td class=\"num\">(\d+)</td>", stats.text)
    assert row and row.group(1) == "1"
    home = client.get("/")
    assert "Quầy 1" in home.text and "Đất đai" in home.text
    missing = client.get("/counter/99")
    assert missing.status_code == 404 and "Không có quầy “99”." in missing.text
    english = client.get("/stats?lang=en")
    assert "Today&#39;s statistics" in english.text and "Civil status" in english.text


def test_admin_resets_a_password_and_the_old_session_ends(app: Flask) -> None:
    officer, admin = app.test_client(), app.test_client()
    login(officer, "canbo1")
    assert officer.get("/api/v1/counters/1").status_code == 200
    page = admin.get("/login")
    admin.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf_from(page.text)})
    token = csrf_from(admin.get("/admin").text)
    assert admin.post("/admin/officers/canbo1/reset").status_code == 403  # CSRF applies to forms too
    reset = admin.post("/admin/officers/canbo1/reset", data={"csrf_token": token})
    shown = re.search(r"Mật khẩu tạm thời mới của canbo1: ([a-z0-9-]+)", reset.text)
    assert shown, reset.text
    assert officer.get("/api/v1/counters/1").status_code == 401  # the old session is over
    assert officer.get("/api/v1/counters/1", headers=basic("canbo1", shown.group(1))).status_code == 200
    assert officer.get("/api/v1/counters/1", headers=basic("canbo1")).status_code == 401


def test_officer_changes_a_temporary_password(app: Flask) -> None:
    users: UserStore = app.extensions["motcua_web"].users
    temporary = users.create_or_reset("canbo3")
    client = app.test_client()
    login(client, "canbo3", temporary)
    page = client.get("/counter/3")
    assert "Bạn đang dùng mật khẩu tạm thời" in page.text
    token = csrf_from(page.text)
    short = client.post(
        "/password", data={"csrf_token": token, "current": temporary, "new": "ngan", "repeat": "ngan"}
    )
    assert short.status_code == 400 and "ít nhất 10 ký tự" in short.text
    done = client.post(
        "/password",
        data={
            "csrf_token": token,
            "current": temporary,
            "new": "mot-mat-khau-dai",
            "repeat": "mot-mat-khau-dai",
        },
    )
    assert done.status_code == 200 and "Đã đổi mật khẩu." in done.text
    assert client.get("/api/v1/counters/3").status_code == 200  # this session continues
    assert "mật khẩu tạm thời" not in client.get("/counter/3").text
    assert users.verify("canbo3", "mot-mat-khau-dai") is not None
    assert users.verify("canbo3", temporary) is None


def test_login_never_redirects_off_site(client: FlaskClient) -> None:
    page = client.get("/login?next=//evil.example/x")
    form = {
        "username": "canbo3",
        "password": PASSWORD,
        "next": "//evil.example/x",
        "csrf_token": csrf_from(page.text),
    }
    reply = client.post("/login", data=form)
    assert reply.status_code == 302 and reply.location == "/"


def test_metrics_count_tickets_counters_and_requests(client: FlaskClient, link: LinkState) -> None:
    for _ in range(3):
        issue(client)
    client.post("/api/v1/counters/1/call-next", headers=basic("canbo1"))
    client.post("/api/v1/counters/1/call-next", headers=basic("canbo1"))
    link.connected = False
    reply = client.get("/metrics")
    assert reply.status_code == 200 and reply.mimetype == "text/plain"
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }
    land = (("service", "dat-dai"),)
    assert samples[("motcua_tickets_issued_today", land)] == 3
    assert samples[("motcua_tickets_called_today", land)] == 2
    assert samples[("motcua_tickets_completed_today", land)] == 1
    assert samples[("motcua_tickets_waiting", land)] == 1
    assert samples[("motcua_counters_open", ())] == 6
    assert samples[("motcua_broker_connected", ())] == 0
    issued = (("endpoint", "/api/v1/tickets"), ("method", "POST"), ("status", "201"))
    assert samples[("motcua_http_requests_total", issued)] == 3


def test_security_headers_and_no_inline_script(client: FlaskClient) -> None:
    ticket = issue(client)
    login(client, "admin")
    for path in ("/", "/login", "/counter/1", ticket["url"], "/admin", "/stats", "/devices", "/api/v1/queue"):
        reply = client.get(path)
        assert reply.status_code == 200, path
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert reply.headers["Referrer-Policy"] == "no-referrer"
        policy = reply.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        for tag in re.findall(r"<script[^>]*>", reply.text):
            assert 'src="/static/' in tag or 'type="application/json"' in tag, (path, tag)
        assert " style=" not in reply.text and " on" + "click=" not in reply.text
    session_cookie = client.get_cookie("motcua_session")
    assert session_cookie is not None and session_cookie.http_only and session_cookie.same_site == "Lax"


def test_an_unexpected_failure_shows_no_traceback(
    app: Flask, service: QueueService, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    login(client, "canbo1")

    def broken(*args: object, **kwargs: object) -> dict[str, Any]:
        raise RuntimeError("disk on fire at /var/lib/motcua/hub.db")

    monkeypatch.setattr(service, "stats", broken)
    monkeypatch.setattr(service, "snapshot", broken)
    page = client.get("/stats")
    assert page.status_code == 500 and "Lỗi hệ thống, xin thử lại sau." in page.text
    api = client.get("/api/v1/queue")
    assert api.status_code == 500 and api.get_json()["error"]["code"] == "internal"
    for reply in (page, api):
        assert "Traceback" not in reply.text and "disk on fire" not in reply.text


def test_sessions_survive_a_restart_of_the_web_app(app: Flask, service: QueueService) -> None:
    client = app.test_client()
    login(client, "canbo1")
    cookie = client.get_cookie("motcua_session")
    assert cookie is not None
    restarted = create_app(service, broker_connected=lambda: True)
    other = restarted.test_client()
    other.set_cookie("motcua_session", cookie.value)
    assert other.get("/api/v1/counters/1").status_code == 200


# -- accounts -----------------------------------------------------------------------------------


def test_user_store_has_no_default_password(tmp_path: Path) -> None:
    site = make_site(tmp_path, hashes=False)
    users = UserStore(tmp_path / "hub.db")
    created = users.bootstrap(site.officers)
    assert set(created) == {"admin", "canbo1", "canbo3", "canbo5"}  # each gets its own one-time password
    assert len(set(created.values())) == 4
    for username, password in created.items():
        assert users.verify(username, password) is not None
    for guess in ("", "admin", "123456", "password"):
        assert users.verify("admin", guess) is None
    assert users.bootstrap(site.officers) == {}  # a second start creates nothing and prints nothing
    assert users.verify("canbo1", created["canbo1"]) is not None
    stored = sqlite3.connect(tmp_path / "hub.db").execute("SELECT password_hash FROM users").fetchall()
    assert all(row[0].startswith("scrypt:") for row in stored)
    assert not any(password.encode() in (tmp_path / "hub.db").read_bytes() for password in created.values())


def test_user_store_follows_the_site_configuration(tmp_path: Path) -> None:
    users = UserStore(tmp_path / "hub.db")
    config = site_config(tmp_path, 1883)
    config["officers"] = [
        {"username": "canbo1", "name": "Nguyễn Thị Lan", "counters": ["1"], "password_hash": FAST_HASH},
        {"username": "canbo2", "name": "Phạm Văn Nam", "counters": ["2"]},
    ]
    site = HubConfig.model_validate(config)
    created = users.bootstrap(site.officers)
    assert set(created) == {"canbo2", "admin"}  # the configured hash is used as is; no admin configured
    assert users.verify("canbo1", PASSWORD) is not None
    assert users.get("admin") is not None and users.get("admin").admin  # type: ignore[union-attr]
    config["officers"] = config["officers"][:1]
    config["officers"][0]["counters"] = ["1", "2"]
    users.ensure_officers(HubConfig.model_validate(config).officers)
    assert users.get("canbo2") is None  # removed from the file: the account is gone
    assert users.get("canbo1").counters == ("1", "2")  # type: ignore[union-attr]
    assert users.get("admin") is not None  # the generated admin stays


def test_create_app_reports_one_time_passwords_once(tmp_path: Path) -> None:
    service = QueueService(make_site(tmp_path, hashes=False), tmp_path / "hub.db")
    try:
        app = create_app(service, broker_connected=lambda: True)
        passwords = one_time_passwords(app)
        assert set(passwords) == {"admin", "canbo1", "canbo3", "canbo5"}
        client = app.test_client()
        reply = client.get("/api/v1/counters/1", headers=basic("canbo1", passwords["canbo1"]))
        assert reply.status_code == 200
        assert one_time_passwords(create_app(service, broker_connected=lambda: True)) == {}
    finally:
        service.close()


def test_page_words_are_vietnamese_nfc_with_english_beside() -> None:
    for key, (vi, en) in TEXTS.items():
        assert unicodedata.normalize("NFC", vi) == vi, key
        assert vi and en, key
    assert text("call_next") == "Gọi số tiếp theo" and text("call_next", "en") == "Call next"
    assert text("your_turn", counter="3") == "Đã đến lượt — mời đến quầy 3"
