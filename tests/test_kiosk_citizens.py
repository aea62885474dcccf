"""Citizens at the kiosk who booked online, carry their ID card, or need help reading (issue 17).

The rules on the model with clocks the test moves (consent, the site's age threshold, assist mode's
two touches and slower timeouts), then the kiosk's controller against real parts: Mosquitto, the hub
process with bookings, espeak-ng for the voice. What a citizen notices: the booking's QR or its typed
code gives a ticket that prints like any other; refusals say why in Vietnamese or English; the ID
card gives elderly priority only after "Đồng ý", and nothing of it outlives the visit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.timeutil import SITE_TZ, iso
from kiosk.config import KioskConfig
from kiosk.controller import KioskController
from kiosk.model import KioskModel
from kiosk.speech import Speaker, espeak
from kiosk.views import BookingBody, CardBody, HomeBody, ServicesBody, TicketBody
from queue_display.audio import WavFileSink
from tests.support.hub import HubProcess, site_config, write_config
from tests.support.mqtt import Observer
from tests.test_kiosk_model import STATE, Clock, issued

SITE = "test"
TOPIC = f"motcua/v1/{SITE}"


def make_model(clock: Clock, *, elderly_age: int | None = None, **kiosk: Any) -> KioskModel:
    config = KioskConfig(
        device_id="kiosk-1",
        site="demo",
        public_url="https://hcc.example.vn",
        kiosk={"scanners": ["scanner-1"], "voice": False, **kiosk},
        opening_hours={"lock_outside": False},
    )
    model = KioskModel(config, clock=clock, wall=lambda: clock.wall)
    model.set_link(True)
    model.set_hub_online(True)
    state = json.loads(json.dumps(STATE))
    if elderly_age is not None:
        state["site"]["elderly_age"] = elderly_age
    model.apply_state(state)
    return model


def card_scan(age: int | None) -> dict[str, Any]:
    scan: dict[str, Any] = {"v": 1, "kind": "id_card", "code": "*********345", "text": "*********345"}
    if age is not None:
        scan["age"] = age
    return scan


# ---------------------------------------------------------------------- the rules


def test_the_id_card_is_used_only_after_consent_and_forgotten_after_the_visit() -> None:
    clock = Clock()
    model = make_model(clock, elderly_age=75)
    model.scan("scanner-1", card_scan(80))
    body = model.view().body
    assert isinstance(body, CardBody) and "*********345" in body.text and "Đồng ý" not in body.text
    assert [b.label for b in body.choices] == ["Đồng ý", "Không đồng ý"]
    # Declined: home, and nothing of the card is left for a number or a check-in.
    model.tap("consent", "no")
    assert model.screen == "home" and model.card is None
    model.tap("open", "services")
    services = model.view().body
    assert isinstance(services, ServicesBody)
    assert [b.label for b in services.priorities if b.selected] == ["Không ưu tiên"]

    # Agreed: 80 is over the site's 75, so elderly is chosen for the number.
    model.scan("scanner-1", card_scan(80))
    model.tap("consent", "yes")
    agreed = model.view().body
    assert isinstance(agreed, CardBody) and agreed.notice is not None
    assert agreed.notice.text == "Quý khách được ưu tiên người cao tuổi (từ 75 tuổi)."
    model.tap("open", "services")
    services = model.view().body
    assert isinstance(services, ServicesBody)
    assert [b.label for b in services.priorities if b.selected] == ["Người cao tuổi"]
    [call] = model.tap("issue", "dat-dai")
    assert call.params["priority_group"] == "elderly"
    model.reply(call, issued(priority_group="elderly"), None)
    model.tap("done")
    assert model.card is None  # the next citizen gets nothing of it

    # 67 under a threshold of 75: read, but no priority; a card without a readable age says so.
    model.scan("scanner-1", card_scan(67))
    model.tap("consent", "yes")
    note = model.view().body.notice  # type: ignore[union-attr]
    assert note is not None and note.text.endswith("chưa thuộc diện ưu tiên người cao tuổi (từ 75 tuổi).")
    model.tap("home")
    model.scan("scanner-1", card_scan(None))
    model.tap("consent", "yes")
    note = model.view().body.notice  # type: ignore[union-attr]
    assert note is not None and note.text.startswith("Không đọc được ngày sinh")


def test_the_age_threshold_defaults_to_60() -> None:
    clock = Clock()
    model = make_model(clock)
    model.scan("scanner-1", card_scan(61))
    model.tap("consent", "yes")
    model.tap("open", "booking")
    type_code(model, "abcd2345")
    body = model.view().body
    assert isinstance(body, BookingBody) and body.input == "ABCD-2345"
    assert body.identity == "Thẻ căn cước *********345 · Người cao tuổi"
    [call] = model.tap("submit")
    assert (call.method, dict(call.params)) == (
        "booking.check_in",
        {"code": "ABCD2345", "priority_group": "elderly", "lang": "vi"},
    )


def type_code(model: KioskModel | KioskController, text: str) -> None:
    for char in text.upper():
        model.tap("key", char)


def test_a_short_code_is_refused_on_the_spot() -> None:
    model = make_model(Clock())
    model.tap("open", "booking")
    type_code(model, "ABC0I1")  # 0, I and 1 are never in a code: the keyboard has no such key
    assert model.tap("submit") == []
    body = model.view().body
    assert isinstance(body, BookingBody) and body.input == "ABC"
    assert body.notice is not None and body.notice.text.startswith("Mã đặt lịch gồm 8 chữ và số")


def test_assist_mode_speaks_a_button_first_then_works_and_waits_three_times_longer() -> None:
    clock = Clock()
    model = make_model(clock)
    home = model.view()
    assert home.header.assist is not None and home.header.assist.label == "Hỗ trợ"
    model.tap("assist")
    assert model.view().assist is True
    said = [text for text, _ in model.take_speech(model.view())]
    assert said[0].startswith("Chế độ hỗ trợ đã bật") and said[1].startswith("Xin kính chào quý khách")
    # The first touch only speaks the button; the second one opens the screen, which is read.
    assert model.tap("open", "booking") == []
    assert model.screen == "home"
    assert model.take_speech(model.view()) == [
        ("Tôi đã đặt lịch. Quét mã QR đặt lịch hoặc nhập mã để lấy số", "vi")
    ]
    model.tap("open", "booking")
    assert model.screen == "booking"
    assert model.take_speech(model.view())[0][0].startswith("Lấy số theo lịch hẹn. Quét mã QR đặt lịch")
    # Idle: 60 s is not enough to send a slow reader home; 3 × 60 s is.
    clock.advance(150)
    model.tick()
    assert model.screen == "booking"
    clock.advance(31)
    model.tick()
    assert model.screen == "home" and model.assist is False  # the next citizen starts plain


# ---------------------------------------------------------------------- real parts


class Site:
    def __init__(self, hub: HubProcess, config: dict[str, Any], slots: dict[str, str]) -> None:
        self.hub = hub
        self.base = str(config["hub"]["public_url"])
        self.slots = slots

    def book(self, slot: str, *, day: int = 0, id_no: str = "001099012345") -> str:
        body = {
            "service_id": "dat-dai",
            "slot": self.slots[slot],
            "date": (datetime.now(SITE_TZ).date() + timedelta(days=day)).isoformat(),
            "id_no": id_no,
        }
        made = requests.post(f"{self.base}/api/v1/bookings", json=body, timeout=10)
        assert made.status_code == 201, made.text
        return str(made.json()["code"])


@pytest.fixture
def site(tmp_path: Path, broker: PrivateBroker) -> Iterator[Site]:
    now = datetime.now(SITE_TZ)
    if not (0, 10) <= (now.hour, now.minute) <= (21, 0):
        pytest.skip("the slots of this test need two hours of the site's day ahead")
    slots = {
        "now": (now - timedelta(minutes=5)).strftime("%H:%M"),
        "later": (now + timedelta(minutes=150)).strftime("%H:%M"),
    }
    table = {
        "phone_otp": False,
        "early_minutes": 60,
        "elderly_age": 70,
        "services": {"dat-dai": {"slots": sorted(slots.values()), "capacity": 5}},
    }
    config = site_config(tmp_path, broker.port, site=SITE, booking=table)
    config["hub"]["clock_check"] = "off"
    hub = HubProcess(write_config(tmp_path, config), web=True).start()
    try:
        yield Site(hub, config, slots)
    finally:
        assert hub.stop() == 0, "".join(hub.output)


def make_kiosk(site: Site, settings: MqttSettings, speaker: Speaker | None = None) -> KioskController:
    config = KioskConfig(
        device_id="kiosk-1",  # listed under [[kiosks]] in the sample site, with printer-1
        site=SITE,
        mqtt=settings,
        public_url=site.base,
        kiosk={"scanners": ["scanner-1"], "rpc_timeout_s": 10, "voice": False},
        opening_hours={"lock_outside": False},
    )
    controller = KioskController(config, speaker=speaker)
    controller.start()
    controller.wait_for(
        lambda view: controller.online and view.overlay is None and bool(view.header.site), 15
    )
    return controller


def scan(broker: PrivateBroker, kind: str, code: str, *, private: bool = False, **extra: Any) -> None:
    """What the scanner publishes (an ID card only to its paired kiosk)."""
    body = {
        "v": 1,
        "code": code,
        "kind": kind,
        "symbology": "qr",
        "text": code,
        "ts": iso(datetime.now(SITE_TZ)),
    }
    topic = f"{TOPIC}/scans/scanner-1" + ("/kiosk-1" if private else "")
    with Observer(broker.port) as scanner:
        scanner.publish(topic, json.dumps({**body, **extra}))


def refusal(kiosk: KioskController) -> str:
    view = kiosk.wait_for(lambda v: v.screen == "booking" and v.body.notice is not None, 15)  # type: ignore[union-attr]
    assert isinstance(view.body, BookingBody) and view.body.notice is not None
    return view.body.notice.text


def test_a_scanned_booking_qr_checks_in_and_prints_like_any_ticket(
    site: Site, broker: PrivateBroker, mqtt_settings: MqttSettings
) -> None:
    code = site.book("now")
    kiosk = make_kiosk(site, mqtt_settings)
    try:
        with Observer(broker.port, f"{TOPIC}/print/printer-1/jobs") as printer:
            # A healthy printer-1 announces itself, as the printer daemon does.
            printer.publish(
                f"{TOPIC}/devices/printer-1/state", b'{"v":1,"online":true,"role":"printer"}', retain=True
            )
            printer.publish(
                f"{TOPIC}/devices/printer-1/health", b'{"v":1,"online":true,"paper":"ok"}', retain=True
            )
            scan(broker, "booking", code)  # barcode_reader classifies `MCBK:{code}` as a booking
            ticket = kiosk.wait_for(lambda v: v.screen == "ticket", 15).body
            assert isinstance(ticket, TicketBody)
            assert ticket.number == "1001" and ticket.service == "Đất đai"
            assert ticket.print_text == "Đang in phiếu…"
            job = printer.wait_for(lambda m: m.topic.endswith("/jobs"), 10).json()
            assert job["ticket"]["number"] == "1001" and job["ticket_url"] == ticket.qr_url
        status = requests.get(f"{site.base}/api/v1/bookings/{code}", timeout=10).json()
        assert status["status"] == "checked_in"
    finally:
        kiosk.stop()


def test_typed_codes_and_refusals_in_both_languages(
    site: Site, broker: PrivateBroker, mqtt_settings: MqttSettings
) -> None:
    tomorrow = site.book("now", day=1)
    early = site.book("later", id_no="001099054321")
    cancelled = site.book("now", id_no="001099054321")
    assert requests.delete(f"{site.base}/api/v1/bookings/{cancelled}", timeout=10).status_code == 200
    kiosk = make_kiosk(site, mqtt_settings)
    try:
        home = kiosk.view().body
        assert isinstance(home, HomeBody) and home.buttons[1].label == "Tôi đã đặt lịch"
        kiosk.tap("open", "booking")
        for code, text in (
            ("ABCD2345", "Không tìm thấy lịch hẹn với mã này."),
            (cancelled, "Lịch hẹn này đã bị huỷ."),
            (tomorrow, "Lịch hẹn này là ngày"),
            (early, f"Còn sớm: lịch hẹn lúc {site.slots['later']}"),
        ):
            kiosk.tap("clear")
            type_code(kiosk, code)
            kiosk.tap("submit")
            assert refusal(kiosk).startswith(text)
        kiosk.tap("language")
        kiosk.tap("clear")
        type_code(kiosk, tomorrow)
        kiosk.tap("submit")
        assert refusal(kiosk).startswith("This booking is for ")
    finally:
        kiosk.stop()


def test_an_id_card_with_consent_checks_in_with_elderly_priority_and_the_voice_reads_it(
    site: Site, broker: PrivateBroker, mqtt_settings: MqttSettings, tmp_path: Path
) -> None:
    code = site.book("now")
    sink = WavFileSink(tmp_path / "voice")
    speaker = Speaker(sink, espeak)  # espeak-ng for real, recorded instead of played
    kiosk = make_kiosk(site, mqtt_settings, speaker)
    try:
        assert kiosk.model.elderly_age == 70  # the site's `[booking] elderly_age`, from the hub's state
        kiosk.tap("assist")
        scan(broker, "id_card", "*********345", private=True, age=72)
        kiosk.wait_for(lambda v: v.screen == "card", 15)
        # The screen is read as it appears; the first touch of a button says it and does nothing else.
        assert speaker.wait_for(
            lambda said: any(t.startswith("Thẻ căn cước. Quý khách vừa quét") for t in said)
        )
        kiosk.tap("consent", "yes")
        assert speaker.wait_for(lambda said: said[-1] == "Đồng ý")
        assert kiosk.model.card is not None and not kiosk.model.card.consented
        kiosk.tap("consent", "yes")
        kiosk.wait_for(lambda v: getattr(v.body, "notice", None) is not None and v.screen == "card")
        for action, arg in (("open", "booking"), ("open", "booking")):
            kiosk.tap(action, arg)
        for char in code:
            kiosk.tap("key", char)
            kiosk.tap("key", char)
        kiosk.tap("submit")
        kiosk.tap("submit")
        ticket = kiosk.wait_for(lambda v: v.screen == "ticket", 15)
        assert isinstance(ticket.body, TicketBody) and ticket.body.priority == "Ưu tiên: Người cao tuổi"
        assert speaker.wait_for(lambda said: any("Người cao tuổi" in text for text in said), 20)
        assert all("001099012345" not in text for text in speaker.spoken)
        assert sink.played and all(p.audio.duration_s > 0.2 for p in sink.played)
        assert ticket.assist is True
    finally:
        kiosk.stop()
    state = requests.get(f"{site.base}/api/v1/bookings/{code}", timeout=10).json()
    assert state["status"] == "checked_in"
