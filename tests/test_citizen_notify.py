"""Messages to citizens about their ticket through the contract, against the gateway simulator:
one "còn N người nữa", one "mời bạn đến quầy X", one no-show advice — exactly once, across a
`kill -9` of the hub; opt-out honoured; Vietnamese mobile numbers validated; Zalo and Web Push."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from appliance.broker import PrivateBroker
from hub.bookings.identity import IdentityError, normalise_phone
from hub.citizen_notify import rules
from hub.notify_sim import NotifySimServer
from hub.notify_sim import running as notify_sim
from tests.support.hub import HubProcess, site_config, write_config

PHONE = "0912345678"


@pytest.fixture
def gateway() -> Iterator[NotifySimServer]:
    with notify_sim() as server:
        yield server


def messages(gateway: NotifySimServer, phone: str = PHONE) -> list[dict[str, Any]]:
    return requests.get(f"{gateway.url}/messages", params={"phone": phone}, timeout=5).json()


def wait_for(
    gateway: NotifySimServer, count: int, phone: str = PHONE, timeout: float = 15
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = messages(gateway, phone)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    return messages(gateway, phone)


def hub_with_notify(tmp_path: Path, broker: PrivateBroker, gateway: NotifySimServer, **notify: Any) -> Path:
    table = {"near_ahead": 3, "sms": {"url": f"{gateway.url}/sms", "brandname": "MOTCUA"}, **notify}
    config = site_config(tmp_path, broker.port, citizen_notify=table)
    config["hub"]["clock_check"] = "off"
    config["opening_hours"] = {"refuse_tickets_outside": False}
    return write_config(tmp_path, config)


class Site:
    """The hub's HTTP API as a phone and an officer use it."""

    def __init__(self, hub: HubProcess, url: str) -> None:
        self.hub = hub
        self.url = url
        self.session = requests.Session()
        password = hub.passwords()["admin"]
        self.session.auth = ("admin", password)

    def take(self, phone: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"service_id": "dat-dai"}
        if phone:
            body["phone"] = phone
        reply = requests.post(f"{self.url}/api/v1/tickets", json=body, timeout=10)
        assert reply.status_code == 201, reply.text
        return reply.json()

    def act(self, action: str, **body: Any) -> dict[str, Any]:
        reply = self.session.post(f"{self.url}/api/v1/counters/1/{action}", json=body, timeout=10)
        assert reply.status_code == 200, reply.text
        return reply.json()


def start(config: Path) -> tuple[HubProcess, Site]:
    import tomllib

    hub = HubProcess(config, web=True).start()
    return hub, Site(hub, tomllib.loads(config.read_text())["hub"]["public_url"])


def test_each_message_exactly_once_across_kill_9(
    tmp_path: Path, broker: PrivateBroker, gateway: NotifySimServer
) -> None:
    config = hub_with_notify(tmp_path, broker, gateway)
    hub, site = start(config)
    passwords = hub.passwords()
    try:
        for _ in range(5):
            site.take()
        mine = site.take(PHONE)  # 5 people ahead: nothing yet
        assert mine["ahead"] == 5 and "phone" not in mine
        site.act("open")
        site.act("call-next")  # 4 ahead
        time.sleep(0.5)
        assert messages(gateway) == []
        site.act("call-next")  # 3 ahead: "còn 3 người nữa"
        near = wait_for(gateway, 1)
        assert [m["text"] for m in near] == [
            f"Số {mine['number']}: còn 3 người nữa đến lượt bạn. Xin có mặt gần quầy."
        ]
    finally:
        hub.kill()  # kill -9: no goodbye
    hub = HubProcess(config, web=True).start()
    site = _site_with(hub, config, passwords)
    try:
        site.act("call-next")  # 2 ahead: no second "near"
        site.act("call-next")
        site.act("call-next")
        called = site.act("call-next")
        assert called["ticket"]["number"] == mine["number"]
        site.act("recall")  # called again: no second "mời bạn"
        found = wait_for(gateway, 2)
        hub.kill()
        hub = HubProcess(config, web=True).start()
        site = _site_with(hub, config, passwords)
        site.act("skip")  # vắng mặt
        found = wait_for(gateway, 3)
        time.sleep(1.0)  # anything sent twice would have arrived by now
        found = messages(gateway)
        texts = [m["text"] for m in found]
        assert texts[1] == f"Mời số {mine['number']} đến quầy 1."
        assert texts[2].startswith(
            f"Số {mine['number']} đã được gọi nhưng bạn vắng mặt. Hãy đến quầy 1 trong 15 phút"
        )
        assert len(found) == 3
        stats = requests.get(f"{gateway.url}/admin/stats", timeout=5).json()
        assert stats["messages"] == 3
        # The ticket page says the same to the citizen.
        page = requests.get(f"{site.url}/t/{mine['token']}", timeout=10).text
        assert "Hãy đến quầy 1 trong 15 phút để được phục vụ lại, hoặc lấy số mới." in page
    finally:
        hub.stop()


def _site_with(hub: HubProcess, config: Path, passwords: dict[str, str]) -> Site:
    import tomllib

    site = Site.__new__(Site)
    site.hub = hub
    site.url = tomllib.loads(config.read_text())["hub"]["public_url"]
    site.session = requests.Session()
    site.session.auth = ("admin", passwords["admin"])
    return site


def test_a_message_pending_when_the_hub_dies_is_sent_once_after_restart(
    tmp_path: Path, broker: PrivateBroker, gateway: NotifySimServer
) -> None:
    config = hub_with_notify(tmp_path, broker, gateway, retry_min_s=30)
    hub, site = start(config)
    passwords = hub.passwords()
    try:
        site.take()
        mine = site.take(PHONE)  # 1 ahead: "còn 1 người nữa" at once
        assert wait_for(gateway, 1)[0]["text"].startswith(f"Số {mine['number']}: còn 1 người")
        site.act("open")
        requests.post(f"{gateway.url}/admin/faults", json={"fail": 1}, timeout=5)
        site.act("call-next")
        site.act("call-next")  # mine is called; the gateway is down for the first try (retry in 30 s)
        time.sleep(1.0)
        assert len(messages(gateway)) == 1
    finally:
        hub.kill()
    hub = HubProcess(config, web=True).start()
    try:
        found = wait_for(gateway, 2)
        time.sleep(0.5)
        assert [m["text"] for m in messages(gateway)][1:] == [f"Mời số {mine['number']} đến quầy 1."]
        _site_with(hub, config, passwords)
    finally:
        hub.stop()
    assert found


def test_opt_out_and_phone_from_the_ticket_page(
    tmp_path: Path, broker: PrivateBroker, gateway: NotifySimServer
) -> None:
    config = hub_with_notify(tmp_path, broker, gateway)
    hub, site = start(config)
    try:
        for _ in range(4):
            site.take()
        quiet = site.take("0987 654 321")  # 4 ahead: nothing yet
        later = site.take()  # 5 ahead
        # A phone given on the ticket page of a ticket taken without one.
        url = f"{site.url}/api/v1/tickets/{later['token']}/notifications"
        assert requests.post(url, json={"phone": "02438253536"}, timeout=5).status_code == 400  # landline
        assert requests.post(url, json={"phone": PHONE}, timeout=5).status_code == 201
        off = requests.delete(f"{site.url}/api/v1/tickets/{quiet['token']}/notifications", timeout=5)
        assert off.status_code == 200
        site.act("open")
        site.act("call-next")
        site.act("call-next")  # quiet: 2 ahead, later: 3 ahead
        found = wait_for(gateway, 1)
        site.act("call-next")
        site.act("call-next")
        site.act("call-next")  # quiet called
        time.sleep(1.0)
        assert messages(gateway, "0987654321") == []  # opted out: nothing at all
        assert [m["text"] for m in messages(gateway)] == [
            f"Số {later['number']}: còn 3 người nữa đến lượt bạn. Xin có mặt gần quầy."
        ]
        bad = requests.post(
            f"{site.url}/api/v1/tickets", json={"service_id": "dat-dai", "phone": "12345"}, timeout=5
        )
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_phone"
        assert "không hợp lệ" in bad.json()["error"]["message"] and found
    finally:
        hub.stop()


def test_zalo_zns_and_web_push_through_the_simulator(
    tmp_path: Path, broker: PrivateBroker, gateway: NotifySimServer
) -> None:
    config = hub_with_notify(
        tmp_path,
        broker,
        gateway,
        channel="zalo",
        zalo={
            "url": f"{gateway.url}/zalo/message/template",
            "access_token": "t",
            "templates": {"near": "1", "called": "2", "no_show": "3"},
        },
        webpush={"subject": "mailto:admin@example.gov.vn"},
    )
    hub, site = start(config)
    try:
        mine = site.take(PHONE)
        subscription = requests.post(f"{gateway.url}/push/subscribe", timeout=5).json()
        url = f"{site.url}/api/v1/tickets/{mine['token']}/notifications"
        state = requests.get(url, timeout=5).json()
        assert state["subscribed"] and len(state["vapid_public_key"]) > 80
        assert requests.post(url, json={"subscription": subscription}, timeout=5).status_code == 201
        site.act("open")
        site.act("call-next")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            everything = requests.get(f"{gateway.url}/messages", timeout=5).json()
            if len(everything) >= 2:
                break
            time.sleep(0.1)
        by_channel = {m["channel"]: m for m in everything}
        assert by_channel["zalo"]["template_id"] == "2" and by_channel["zalo"]["phone"] == PHONE
        assert by_channel["zalo"]["template_data"]["number"] == mine["number"]
        assert by_channel["webpush"]["text"] == f"Mời số {mine['number']} đến quầy 1."
        assert by_channel["webpush"]["vapid"] == "vapid"
        assert (tmp_path / "vapid_private.pem").stat().st_mode & 0o077 == 0
    finally:
        hub.stop()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0912345678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("84-386-123-456", "+84386123456"),
        ("0701234567", "+84701234567"),
    ],
)
def test_vietnamese_mobile_numbers(text: str, expected: str) -> None:
    assert normalise_phone(text) == expected


@pytest.mark.parametrize("text", ["02438253536", "091234567", "0012345678", "+14155552671", "abc", ""])
def test_not_vietnamese_mobile_numbers(text: str) -> None:
    with pytest.raises(IdentityError):
        normalise_phone(text)


def test_near_is_due_only_within_n_and_not_at_the_front() -> None:
    events = [{"type": "ticket.called", "ticket": {"id": "x", "number": "1001"}, "counter_name": "Quầy 2"}]
    due = rules.due(
        events, {"a": (3, "1004"), "b": (4, "1005"), "c": (0, "1002")}, {"a", "b", "c"}, near_ahead=3
    )
    assert [(d.ticket_id, d.kind) for d in due] == [("a", "near")]


def test_phones_and_bookings_are_purged_with_the_personal_data(tmp_path: Path) -> None:
    from datetime import date, datetime

    from appliance.timeutil import SITE_TZ
    from hub.bookings.config import BookingSettings
    from hub.bookings.runtime import BookingService
    from hub.citizen_notify.config import NotifySettings
    from hub.citizen_notify.runtime import CitizenNotify
    from hub.reports.retention import purge
    from hub.service import QueueService
    from hub.site import HubConfig
    from hub.store import connect

    config = site_config(tmp_path, 1883)
    config["hub"]["clock_check"] = "off"
    site = HubConfig.model_validate(config)
    moment = [datetime(2026, 1, 5, 8, 0, tzinfo=SITE_TZ)]
    service = QueueService(site, tmp_path / "hub.db", clock=lambda: moment[0])
    notify = CitizenNotify(NotifySettings(sms={"url": "http://127.0.0.1:9/sms"}), service)
    bookings = BookingService(
        BookingSettings(phone_otp=False, services={"dat-dai": {"slots": ["09:00"]}}), service
    )
    try:
        service.call("ticket.issue", {"service_id": "dat-dai", "phone": PHONE}, caller_id="kiosk-1")
        bookings.book({"service_id": "dat-dai", "date": "2026-01-06", "slot": "09:00", "phone": "0987654321"})
    finally:
        notify.close()
        bookings.close()
        service.close()
    conn = connect(tmp_path / "hub.db")
    dump = "\n".join(conn.iterdump())
    assert "+84912345678" in dump and "+84987654321" in dump
    purge(conn, site, days=90, today=date(2026, 4, 10))
    dump = "\n".join(conn.iterdump())
    assert "84912345678" not in dump and "84987654321" not in dump
    conn.close()
