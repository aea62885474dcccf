"""The ID card's chip read at the kiosk (issue 17): the simulated reader behind the same interface as
the QR, consent first; then, against a real hub process, Mosquitto and the central simulator, the
holder's own dossiers with their names in full and today's booking made with the card's number
checked in with elderly priority. The full number travels only in the kiosk's RPC to the hub (and
the hub's request to central): never in another MQTT message, never retained, never in the hub's
log; the names only in the reply to that kiosk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.timeutil import SITE_TZ
from hub.central_sim import SimServer, SimState
from kiosk.card_reader import CardReaderUnavailable, ChipLocked, PcscCardReader, SimulatedCardReader
from kiosk.config import KioskConfig
from kiosk.controller import KioskController
from kiosk.views import CardBody, TicketBody
from tests.support.hub import HubProcess, site_config, write_config
from tests.support.mqtt import Observer
from tests.test_kiosk_citizens import make_model
from tests.test_kiosk_model import Clock

SITE = "test"
TOPIC = f"motcua/v1/{SITE}"


def carries(payload: bytes, text: str) -> bool:
    """In the bytes as UTF-8 or as JSON's \\u escapes."""
    return text.encode() in payload or json.dumps(text)[1:-1].encode() in payload


def test_a_chip_read_asks_consent_offers_more_and_forgets_the_number() -> None:
    model = make_model(Clock(), elderly_age=75)
    reader = SimulatedCardReader(today=lambda: date(2026, 12, 6))
    reader.start(model.read_card)
    read = reader.present("001049012345", date(1949, 5, 2))
    assert "001049012345" not in repr(read) and read.masked == "*********345" and read.age == 77
    body = model.view().body
    assert isinstance(body, CardBody) and body.text.startswith("Ki-ốt vừa đọc chip thẻ căn cước *********345")
    assert "001049012345" not in repr(model.card)
    model.tap("consent", "no")
    assert model.screen == "home" and model.card is None

    reader.present("001049012345", date(1949, 5, 2))
    assert model.tap("mine") == []  # nothing leaves the kiosk before "Đồng ý"
    model.tap("consent", "yes")
    body = model.view().body
    assert isinstance(body, CardBody)
    assert [b.label for b in body.choices] == ["Lấy số thứ tự", "Lịch hẹn hôm nay", "Hồ sơ của tôi"]
    [mine] = model.tap("mine")
    assert (mine.method, dict(mine.params)) == ("dossier.mine", {"id_no": "001049012345", "lang": "vi"})
    [check_in] = model.tap("card_check_in")
    assert check_in.method == "booking.check_in"
    assert dict(check_in.params) == {"id_no": "001049012345", "priority_group": "elderly", "lang": "vi"}
    model.tap("home")
    assert model.card is None

    # The printed QR through the same reader is refused like any garbage, accepted when whole.
    with pytest.raises(ValueError):
        reader.present_qr("001049012345|||")


def test_the_voice_says_the_dossiers_without_the_name() -> None:
    model = make_model(Clock())
    reader = SimulatedCardReader(today=lambda: date(2026, 12, 6))
    reader.start(model.read_card)
    model.tap("assist")
    reader.present("001049012345", date(1949, 5, 2))
    model.tap("consent", "yes")
    model.tap("consent", "yes")
    model.tap("mine")
    [call] = model.tap("mine")
    model.take_speech(model.view())
    dossier = {
        "code": "000.00.16.H19-261204-0004",
        "procedure": "Gia hạn giấy phép xây dựng",
        "applicant_name": "Huỳnh Hữu Việt",
        "status_label": "Đang xử lý",
    }
    model.reply(call, {"dossiers": [dossier], "count": 1}, None)
    body = model.view().body
    assert isinstance(body, CardBody)
    assert body.dossiers == (
        "000.00.16.H19-261204-0004 · Gia hạn giấy phép xây dựng · Huỳnh Hữu Việt · Đang xử lý",
    )
    said = " ".join(text for text, _ in model.take_speech(model.view()))
    assert "Gia hạn giấy phép xây dựng: Đang xử lý" in said and "Huỳnh" not in said


def test_the_pcsc_driver_says_why_it_cannot_work_here() -> None:
    with pytest.raises(CardReaderUnavailable, match=r"pyscard|reader|PC/SC"):
        PcscCardReader().start(lambda read: None)


class FakeChip:
    """A PC/SC connection answering SELECT of the eMRTD application with `status`."""

    def __init__(self, status: tuple[int, int]) -> None:
        self.status = status
        self.sent: list[list[int]] = []

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
        self.sent.append(apdu)
        return [], *self.status


def test_the_pcsc_driver_selects_the_chip_and_says_what_it_cannot_do_yet() -> None:
    reader = PcscCardReader()
    chip = FakeChip((0x90, 0x00))
    with pytest.raises(ChipLocked, match="MRZ"):
        reader.read_chip(chip)
    assert bytes(chip.sent[0][5:]).hex().upper() == "A0000002471001"
    with pytest.raises(ChipLocked, match="not an ID card chip"):
        reader.read_chip(FakeChip((0x6A, 0x82)))


@pytest.fixture
def central() -> Iterator[SimServer]:
    server = SimServer(SimState(seed=11)).start()
    try:
        yield server
    finally:
        server.stop()


def test_the_holder_sees_their_own_dossiers_and_checks_in_by_card(
    tmp_path: Path, broker: PrivateBroker, mqtt_settings: MqttSettings, central: SimServer
) -> None:
    now = datetime.now(SITE_TZ)
    if not (0, 10) <= (now.hour, now.minute) <= (23, 50):
        pytest.skip("too close to the day's rollover")
    rows = central.state.dossiers
    holder = rows[0]
    id_no, name = holder["applicantIdNo"], holder["applicantName"]
    theirs = {row["dossierNo"] for row in rows if row["applicantIdNo"] == id_no}
    slot = (now - timedelta(minutes=5)).strftime("%H:%M")
    table = {"phone_otp": False, "elderly_age": 70, "services": {"dat-dai": {"slots": [slot], "capacity": 5}}}
    config = site_config(tmp_path, broker.port, site=SITE, booking=table)
    config["hub"]["clock_check"] = "off"
    config["central"] = {"adapter": "opencps", "base_url": central.url, "deliver": False}
    hub = HubProcess(write_config(tmp_path, config), web=True).start()
    reader = SimulatedCardReader()
    kiosk: KioskController | None = None
    try:
        base = str(config["hub"]["public_url"])
        body = {"service_id": "dat-dai", "slot": slot, "date": now.date().isoformat(), "id_no": id_no}
        made = requests.post(f"{base}/api/v1/bookings", json=body, timeout=10)
        assert made.status_code == 201, made.text
        with Observer(broker.port, "#") as everything:
            kiosk = KioskController(
                KioskConfig(
                    device_id="kiosk-1",
                    site=SITE,
                    mqtt=mqtt_settings,
                    public_url=base,
                    kiosk={"scanners": ["scanner-1"], "rpc_timeout_s": 10, "voice": False},
                    opening_hours={"lock_outside": False},
                ),
                card_reader=reader,
            )
            kiosk.start()
            kiosk.wait_for(lambda v: kiosk.online and v.overlay is None and bool(v.header.site), 15)
            reader.present(id_no, date(1950, 3, 1))
            kiosk.wait_for(lambda v: v.screen == "card", 10)
            kiosk.tap("consent", "yes")
            kiosk.tap("mine")
            view = kiosk.wait_for(lambda v: v.screen == "card" and bool(v.body.dossiers), 15)  # type: ignore[union-attr]
            assert isinstance(view.body, CardBody)
            shown = view.body.dossiers
            assert {line.split(" · ")[0] for line in shown} <= theirs and len(shown) == min(len(theirs), 6)
            assert all(f" · {name} · " in line for line in shown)  # the holder's own name, in full
            kiosk.tap("card_check_in")
            ticket = kiosk.wait_for(lambda v: v.screen == "ticket", 15).body
            assert isinstance(ticket, TicketBody) and ticket.priority == "Ưu tiên: Người cao tuổi"
            kiosk.tap("done")
            assert kiosk.model.card is None
            # Another card, no booking made with it today: said on the card's screen.
            reader.present("001049000001", date(1949, 1, 1))
            kiosk.wait_for(lambda v: v.screen == "card", 10)
            kiosk.tap("consent", "yes")
            kiosk.tap("card_check_in")
            refused = kiosk.wait_for(
                lambda v: v.screen == "card" and v.body.notice is not None and v.body.notice.kind == "error",  # type: ignore[union-attr]
                15,
            ).body
            assert isinstance(refused, CardBody) and refused.notice is not None
            assert refused.notice.text == "Không có lịch hẹn hôm nay đặt bằng số căn cước này."
            kiosk.tap("home")
            reply_topic = kiosk.rpc.reply_topic
            seen: list[Any] = list(everything.messages)
        state = requests.get(f"{base}/api/v1/bookings/{made.json()['code']}", timeout=10).json()
        assert state["status"] == "checked_in"
    finally:
        if kiosk is not None:
            kiosk.stop()
        assert hub.stop() == 0, "".join(hub.output)
    with_number = {m.topic for m in seen if carries(m.payload, id_no)}
    assert with_number and all(t.startswith(f"{TOPIC}/rpc/kiosk-1/") for t in with_number), with_number
    with_name = {m.topic for m in seen if carries(m.payload, name)}
    assert with_name == {reply_topic}, with_name
    assert not any(m.retain for m in seen if carries(m.payload, id_no) or carries(m.payload, name))
    log = "".join(hub.output)
    assert id_no not in log and name not in log


def test_both_adapters_list_only_the_holders_dossiers(central: SimServer) -> None:
    from hub.central.config import load_central_config
    from hub.central.opencps import OpenCpsAdapter
    from hub.central.webhook import WebhookAdapter

    id_no = central.state.dossiers[0]["applicantIdNo"]
    theirs = {row["dossierNo"] for row in central.state.dossiers if row["applicantIdNo"] == id_no}
    opencps = OpenCpsAdapter(load_central_config({"adapter": "opencps", "base_url": central.url}), site="t")
    webhook = WebhookAdapter(
        load_central_config(
            {
                "adapter": "webhook",
                "base_url": f"{central.url}/webhook/events",
                "lookup_url": f"{central.url}/webhook/dossiers",
                "webhook_secret": "s" * 32,
            }
        ),
        site="t",
    )
    try:
        for adapter in (opencps, webhook):
            found = adapter.dossiers_of_applicant(id_no, limit=50)
            assert {d.dossier_no for d in found} == theirs, adapter.name
            assert adapter.dossiers_of_applicant("001000000000") == []
    finally:
        opencps.close()
        webhook.close()
