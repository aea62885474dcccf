"""Online booking and check-in through the contract: slots, limits, cancel, check-in fairness,
the kiosk's `booking.check_in` over MQTT and the phone's check-in over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient, RpcError
from appliance.timeutil import SITE_TZ
from hub.bookings.config import load_booking_settings
from hub.bookings.runtime import BookingService
from hub.service import QueueService
from hub.site import HubConfig
from hub.web import create_app
from hub.web.booking import install_booking
from tests.support.hub import HubProcess, site_config, write_config

PHONE = "0912345678"


class Clock:
    """The hub's wall clock, moved by the test (the queue and bookings read the same one)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def booking_table(**extra: Any) -> dict[str, Any]:
    return {
        "phone_otp": False,
        "grace_minutes": 15,
        "services": {
            "dat-dai": {"slots": ["08:00", "08:30", "09:00"], "capacity": 2},
            "ho-tich": {"start": "08:00", "end": "10:00", "every_minutes": 60, "capacity": 1},
        },
        **extra,
    }


@pytest.fixture
def clock() -> Clock:
    # A Monday 07:00 in the site's time zone: every slot of the day is still ahead.
    return Clock(datetime(2026, 12, 7, 7, 0, tzinfo=SITE_TZ))


def make(tmp_path: Path, clock: Clock, **extra: Any) -> tuple[QueueService, BookingService, Flask]:
    config = site_config(tmp_path, 1883, booking=booking_table(**extra))
    config["hub"]["clock_check"] = "off"
    site = HubConfig.model_validate(config)
    service = QueueService(site, tmp_path / "hub.db", clock=clock)
    settings = load_booking_settings(site.booking, [s.id for s in site.services])
    assert settings is not None
    bookings = BookingService(settings, service)
    app = create_app(service, broker_connected=lambda: True)
    install_booking(app, bookings)
    return service, bookings, app


@pytest.fixture
def site(tmp_path: Path, clock: Clock) -> Iterator[tuple[QueueService, BookingService, FlaskClient]]:
    service, bookings, app = make(tmp_path, clock)
    yield service, bookings, app.test_client()
    bookings.close()
    service.close()


def book(client: FlaskClient, status: int = 201, **body: Any) -> dict[str, Any]:
    reply = client.post("/api/v1/bookings", json={"service_id": "dat-dai", "date": "2026-12-08",
                                                 "slot": "08:00", "phone": PHONE, **body})  # fmt: skip
    assert reply.status_code == status, reply.text
    return reply.get_json()


def test_slots_show_free_places_and_fill_up(site: Any) -> None:
    _, _, client = site
    slots = client.get("/api/v1/bookings/slots?service_id=dat-dai&date=2026-12-08").get_json()
    assert slots == [{"slot": "08:00", "free": 2}, {"slot": "08:30", "free": 2}, {"slot": "09:00", "free": 2}]
    generated = client.get("/api/v1/bookings/slots?service_id=ho-tich&date=2026-12-08").get_json()
    assert [s["slot"] for s in generated] == ["08:00", "09:00"]

    first = book(client)
    assert set(first) >= {"code", "date", "slot", "qr_url"} and first["slot"] == "08:00"
    book(client, phone="0987654321")
    slots = client.get("/api/v1/bookings/slots?service_id=dat-dai&date=2026-12-08").get_json()
    assert slots[0] == {"slot": "08:00", "free": 0}
    full = book(client, 409, phone="0912000111")
    assert full["error"]["code"] == "slot_full" and "08:00" in full["error"]["message"]


def test_two_bookings_a_day_per_person_then_booking_limit(site: Any) -> None:
    _, _, client = site
    book(client, slot="08:00")
    book(client, slot="08:30", phone="+84 912 345 678")  # the same phone written otherwise
    refused = book(client, 409, slot="09:00")
    assert refused["error"]["code"] == "booking_limit"
    assert refused["error"]["message"] == "Mỗi người chỉ được đặt tối đa 2 lịch trong một ngày."
    # By ID card number the same: counted by its hash.
    book(client, slot="09:00", phone=None, id_no="001099012345")
    book(client, slot="08:30", phone=None, id_no="001099012345")
    assert (
        book(client, 409, slot="09:00", phone=None, id_no="001099012345")["error"]["code"] == "booking_limit"
    )
    # Another day is another day.
    book(client, date="2026-12-09")


def test_days_are_today_plus_six_and_bad_identities_are_refused(site: Any) -> None:
    _, _, client = site
    assert book(client, 409, date="2026-12-14")["error"]["code"] == "booking_day_closed"
    book(client, date="2026-12-13")
    assert book(client, 400, phone="024 3825 3536")["error"]["code"] == "bad_phone"  # a landline
    assert book(client, 400, phone=None, id_no="12345")["error"]["code"] == "bad_id_no"
    assert book(client, 409, slot="08:10")["error"]["code"] == "booking_no_slot"
    days = client.get("/api/v1/bookings/services").get_json()["days"]
    assert days[0] == "2026-12-07" and days[-1] == "2026-12-13"


def test_id_number_is_stored_only_hashed(site: Any, tmp_path: Path) -> None:
    _, bookings, client = site
    book(client, phone=None, id_no="001099012345")
    dump = "\n".join(bookings.store.conn.iterdump())
    assert "001099012345" not in dump


def test_cancel_frees_the_place_and_the_page_shows_it(site: Any) -> None:
    _, _, client = site
    booking = book(client)
    page = client.get(f"/b/{booking['code']}")
    assert page.status_code == 200 and "Huỷ lịch" in page.text and booking["code_display"] in page.text
    assert client.get(booking["qr_url"]).mimetype == "image/svg+xml"
    cancelled = client.delete(f"/api/v1/bookings/{booking['code']}")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    slots = client.get("/api/v1/bookings/slots?service_id=dat-dai&date=2026-12-08").get_json()
    assert slots[0]["free"] == 2
    assert "Đã huỷ" in client.get(f"/b/{booking['code']}").text
    assert client.post(f"/api/v1/bookings/{booking['code']}/check-in", json={}).status_code == 409
    assert client.delete("/api/v1/bookings/ZZZZZZZZ").status_code == 404


def walk_in(client: FlaskClient, service_id: str = "dat-dai") -> dict[str, Any]:
    reply = client.post("/api/v1/tickets", json={"service_id": service_id})
    assert reply.status_code == 201, reply.text
    return reply.get_json()


def call_order(service: QueueService, count: int) -> list[str]:
    service.call("counter.open", {"counter_id": "1"}, caller_id="test")
    return [
        service.call("counter.call_next", {"counter_id": "1"}, caller_id="test")["ticket"]["number"]
        for _ in range(count)
    ]


def test_on_time_check_in_goes_ahead_of_walk_ins_who_came_after_the_slot(site: Any, clock: Clock) -> None:
    service, _, client = site
    clock.now = datetime(2026, 12, 7, 7, 0, tzinfo=SITE_TZ)
    booking = book(client, date="2026-12-07", slot="08:00")
    clock.now = datetime(2026, 12, 7, 7, 50, tzinfo=SITE_TZ)
    before = walk_in(client)  # came before the slot: stays ahead
    clock.now = datetime(2026, 12, 7, 8, 5, tzinfo=SITE_TZ)
    after = [walk_in(client), walk_in(client)]
    clock.now = datetime(2026, 12, 7, 8, 10, tzinfo=SITE_TZ)
    checked = client.post(f"/api/v1/bookings/{booking['code']}/check-in", json={})
    assert checked.status_code == 200, checked.text
    result = checked.get_json()
    assert result["arrival"] == "on_time" and result["ticket"]["ahead"] == 1
    assert result["ticket"]["url"].startswith("/t/")
    again = client.post(f"/api/v1/bookings/{booking['code']}/check-in", json={}).get_json()
    assert again["ticket"]["number"] == result["ticket"]["number"]  # never two tickets
    order = call_order(service, 4)
    assert order == [before["number"], result["ticket"]["number"], after[0]["number"], after[1]["number"]]


def test_late_beyond_grace_is_a_walk_in_and_the_slot_is_freed(site: Any, clock: Clock) -> None:
    service, _, client = site
    booking = book(client, date="2026-12-07", slot="08:00")
    clock.now = datetime(2026, 12, 7, 8, 16, tzinfo=SITE_TZ)
    assert client.get(f"/api/v1/bookings/{booking['code']}").get_json()["status"] == "no_show"
    # The 08:00 slot is gone from today's list: past its grace period.
    slots = client.get("/api/v1/bookings/slots?service_id=dat-dai&date=2026-12-07").get_json()
    assert [s["slot"] for s in slots] == ["08:30", "09:00"]
    clock.now = datetime(2026, 12, 7, 8, 20, tzinfo=SITE_TZ)
    first = walk_in(client)
    clock.now = datetime(2026, 12, 7, 8, 40, tzinfo=SITE_TZ)
    late = client.post(f"/api/v1/bookings/{booking['code']}/check-in", json={}).get_json()
    assert late["arrival"] == "late" and late["ticket"]["ahead"] == 1
    assert call_order(service, 2) == [first["number"], late["ticket"]["number"]]


def test_front_rule_puts_an_on_time_booking_ahead_of_every_walk_in(tmp_path: Path, clock: Clock) -> None:
    service, bookings, app = make(tmp_path, clock, placement="front")
    client = app.test_client()
    try:
        booking = book(client, date="2026-12-07", slot="08:00")
        clock.now = datetime(2026, 12, 7, 7, 40, tzinfo=SITE_TZ)
        early_walk_in = walk_in(client)
        clock.now = datetime(2026, 12, 7, 8, 1, tzinfo=SITE_TZ)
        result = client.post(f"/api/v1/bookings/{booking['code']}/check-in", json={}).get_json()
        assert result["ticket"]["ahead"] == 0
        assert call_order(service, 2) == [result["ticket"]["number"], early_walk_in["number"]]
    finally:
        bookings.close()
        service.close()


def test_check_in_from_the_phone_only_inside_the_site_and_not_too_early(site: Any, clock: Clock) -> None:
    _, _, client = site
    booking = book(client, date="2026-12-07", slot="09:00")
    clock.now = datetime(2026, 12, 7, 7, 30, tzinfo=SITE_TZ)
    early = client.post(f"/api/v1/bookings/{booking['code']}/check-in", json={})
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "booking_too_early"
    outside = client.post(f"/api/v1/bookings/{booking['code']}/check-in", json={},
                          environ_base={"REMOTE_ADDR": "203.113.1.9"})  # fmt: skip
    assert outside.status_code == 403 and outside.get_json()["error"]["code"] == "check_in_not_here"
    tomorrow = book(client, date="2026-12-08", slot="09:00", phone="0987654321")
    refused = client.post(f"/api/v1/bookings/{tomorrow['code']}/check-in", json={})
    assert refused.get_json()["error"]["code"] == "booking_not_today"


def test_public_booking_posts_follow_the_public_post_rules(site: Any) -> None:
    _, _, client = site
    form = client.post("/api/v1/bookings", data="service_id=dat-dai", content_type="text/plain")
    assert form.status_code == 415
    foreign = client.post("/api/v1/bookings", json={"service_id": "dat-dai"},
                          headers={"Origin": "https://evil.example"})  # fmt: skip
    assert foreign.status_code == 403


def test_phone_booking_needs_the_one_time_code_sent_by_sms(tmp_path: Path, clock: Clock) -> None:
    sent: list[tuple[str, str]] = []
    service, bookings, app = make(tmp_path, clock, phone_otp=True)
    bookings.otp_sender = lambda phone, text: sent.append((phone, text))
    client = app.test_client()
    try:
        assert book(client, 401)["error"]["code"] == "otp_required"
        assert client.post("/api/v1/bookings/otp", json={"phone": PHONE}).status_code == 202
        phone, words = sent[-1]
        code = words.split(": ")[1][:6]
        assert phone == "+84912345678" and code.isdigit()
        assert (
            book(client, 403, otp="000000" if code != "000000" else "111111")["error"]["code"] == "otp_wrong"
        )
        book(client, otp=code)
    finally:
        bookings.close()
        service.close()


# -- the kiosk over MQTT, on a real hub ---------------------------------------------------------


def test_kiosk_checks_in_a_booking_over_mqtt(tmp_path: Path, broker: PrivateBroker,
                                            mqtt_settings: MqttSettings) -> None:  # fmt: skip
    now = datetime.now(SITE_TZ)
    slot = (now - timedelta(minutes=5)).strftime("%H:%M")
    if now.hour == 0 and now.minute < 10:
        pytest.skip("too close to the day's rollover")
    table = {"phone_otp": False, "services": {"dat-dai": {"slots": [slot], "capacity": 3}}}
    config = site_config(tmp_path, broker.port, site="test", booking=table)
    config["hub"]["clock_check"] = "off"
    # The sample site's service day starts at 03:00: a booking for the calendar day is "today" only
    # once the service day is the calendar day, so this site's day starts at midnight.
    config["place"]["day_rollover"] = "00:00"
    hub = HubProcess(write_config(tmp_path, config), web=True).start()
    try:
        base = config["hub"]["public_url"]
        body = {
            "service_id": "dat-dai",
            "slot": slot,
            "date": now.date().isoformat(),
            "id_no": "001099012345",
        }
        made = requests.post(f"{base}/api/v1/bookings", json=body, timeout=10)
        assert made.status_code == 201, made.text
        code = made.json()["code"]
        with Link(mqtt_settings, site="test", device_id="kiosk-9", role="kiosk") as link:
            assert link.wait_connected(5)
            rpc = RpcClient(link, default_timeout=10)
            # Typed at the kiosk with a dash and in lower case, or scanned from the QR: the same.
            typed = f"{code[:4].lower()}-{code[4:]}"
            result = rpc.call("booking.check_in", {"code": typed})
            assert result["ticket"]["number"] == "1001" and result["arrival"] == "on_time"
            again = rpc.call("booking.check_in", {"code": f"MCBK:{code}"})
            assert again["ticket"]["number"] == "1001"
            with pytest.raises(RpcError) as refused:
                rpc.call("booking.check_in", {"code": "ABCD-EFGH"})
            assert refused.value.code == "booking_not_found"
        status = requests.get(f"{base}/api/v1/bookings/{code}", timeout=10).json()
        assert status["status"] == "checked_in" and status["ticket_url"].startswith("/t/")
    finally:
        assert hub.stop() == 0, "".join(hub.output)
