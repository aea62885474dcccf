"""The kiosk's rules on their own (kiosk/model.py), with clocks the test moves: retries that never issue a
second ticket, timers (idle, ticket screen, printer silence, reconnect grace), the lock outside opening
hours, and what a dossier or a procedure looks like on screen. The same model runs against a real hub
in tests/test_kiosk_flows.py."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.i18n import MESSAGES
from appliance.rpc import RpcError, RpcTimeout
from appliance.timeutil import SITE_TZ
from kiosk.config import KioskConfig
from kiosk.model import Call, KioskModel
from kiosk.texts import describe_hours, format_wait
from kiosk.views import DossierBody, ProcedureBody, RatingBody, ServicesBody, TicketBody

STATE = {
    "v": 1,
    "seq": 7,
    "site": {"id": "demo", "name": "Bộ phận Một cửa UBND huyện Long Thành"},
    "services": [
        {"id": "dat-dai", "name": "Đất đai", "name_en": "Land", "waiting": 4, "estimated_wait_s": 1290},
        {"id": "ho-tich", "name": "Hộ tịch", "name_en": "Civil status", "waiting": 0, "estimated_wait_s": 0},
        {
            "id": "tra-ket-qua",
            "name": "Trả kết quả",
            "waiting": 1,
            "estimated_wait_s": 30,
            "last_number": "T004",
        },
    ],
    "counters": [
        {"id": "1", "name": "1", "services": ["dat-dai"], "open": True},
        {"id": "6", "name": "6", "services": ["tra-ket-qua", "ho-tich"], "open": False},
    ],
}
TUESDAY_9AM = datetime(2026, 11, 24, 9, 0, tzinfo=SITE_TZ)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.wall = TUESDAY_9AM

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make(clock: Clock, **kiosk: Any) -> KioskModel:
    config = KioskConfig(
        device_id="kiosk-1",
        site="demo",
        public_url="https://hcc.example.vn",
        kiosk={"scanners": ["scanner-1"], **kiosk},
        opening_hours={
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "periods": [{"start": "07:30", "end": "17:00"}],
        },
    )
    ids = iter(f"req-{n}" for n in range(100))
    model = KioskModel(config, clock=clock, wall=lambda: clock.wall, new_request_id=lambda: next(ids))
    model.set_link(True)
    model.set_hub_online(True)
    model.apply_state(STATE)
    return model


def issued(number: str = "1005", service: str = "dat-dai", **extra: Any) -> dict[str, Any]:
    ticket = {
        "id": f"20261124-{number}",
        "number": number,
        "service_id": service,
        "service_name": "Đất đai",
        "priority_group": None,
        "token": "tok-abcdefghijklmnop",
        "ahead": 4,
        "estimated_wait_s": 1290,
        **extra,
    }
    return {"ticket": ticket, "print": "queued"}


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_services_show_queue_length_wait_and_closed_counters(clock: Clock) -> None:
    model = make(clock)
    model.tap("open", "services")
    body = model.view().body
    assert isinstance(body, ServicesBody)
    land, civil, results = body.services
    assert (land.label, land.detail, land.note) == ("Đất đai", "Đang chờ: 4 người · chờ khoảng 22 phút", "")
    assert civil.detail == "Không có người chờ" and civil.note == "Quầy đang tạm nghỉ"
    assert results.detail == "Đang chờ: 1 người · chờ khoảng dưới 1 phút"
    assert [chip.label for chip in body.priorities] == [
        "Không ưu tiên",
        "Người cao tuổi",
        "Người khuyết tật",
        "Phụ nữ mang thai",
        "Người có công",
        "Trẻ em dưới 6 tuổi",
    ]


def test_only_the_services_offered_here_in_the_configured_order(clock: Clock) -> None:
    model = make(clock, services=["tra-ket-qua", "dat-dai", "gone"])
    model.tap("open", "services")
    assert [tile.arg for tile in model.view().body.services] == ["tra-ket-qua", "dat-dai"]  # type: ignore[union-attr]


def test_a_second_tap_while_the_first_is_in_flight_asks_nothing(clock: Clock) -> None:
    model = make(clock)
    model.tap("open", "services")
    model.tap("priority", "pregnant")
    [call] = model.tap("issue", "dat-dai")
    assert call.method == "ticket.issue" and call.request_id == "req-0"
    assert dict(call.params) == {
        "service_id": "dat-dai",
        "priority": True,
        "priority_group": "pregnant",
        "lang": "vi",
    }
    assert model.tap("issue", "dat-dai") == []
    assert model.tap("issue", "ho-tich") == []
    clock.advance(0.5)
    assert model.view().body.busy == "Đang lấy số…"  # type: ignore[union-attr]


def test_an_unanswered_request_is_repeated_with_the_same_id(clock: Clock) -> None:
    """The hub may have issued the ticket and the reply got lost: asking again with the same request_id
    returns that ticket instead of issuing another one."""
    model = make(clock)
    model.tap("open", "services")
    [first] = model.tap("issue", "dat-dai")
    model.reply(first, None, RpcTimeout())
    assert model.view().body.notice.text == "Chưa thực hiện được, xin quý khách thử lại sau giây lát."  # type: ignore[union-attr]
    clock.advance(3)
    [again] = model.tap("issue", "dat-dai")
    assert again.request_id == first.request_id
    model.reply(again, None, RpcError.from_key("unavailable"))
    [other] = model.tap("issue", "ho-tich")  # a different choice is a different request
    assert other.request_id != first.request_id
    model.reply(other, issued("2001", "ho-tich"), None)
    assert model.screen == "ticket"


def test_a_refusal_is_final_and_explained(clock: Clock) -> None:
    model = make(clock)
    model.tap("open", "services")
    [call] = model.tap("issue", "dat-dai")
    model.reply(call, None, RpcError("service_closed", "Ngoài giờ làm việc. Giờ làm việc: T2–T6.", "Closed."))
    assert model.view().body.notice.text == "Ngoài giờ làm việc. Giờ làm việc: T2–T6."  # type: ignore[union-attr]
    [next_call] = model.tap("issue", "dat-dai")
    assert next_call.request_id != call.request_id


def test_ticket_screen_follows_the_printer_and_closes_by_itself(clock: Clock) -> None:
    model = make(clock, ticket_screen_s=20, ticket_screen_no_print_s=60, print_wait_s=10)
    model.tap("open", "services")
    [call] = model.tap("issue", "dat-dai")
    # The printer is quicker than the hub's reply: its result is kept until the ticket is shown.
    model.print_result({"v": 1, "job_id": "ticket-20261124-1005", "status": "printed"})
    model.reply(call, issued(), None)
    body = model.view().body
    assert isinstance(body, TicketBody)
    assert (body.number, body.ahead, body.wait) == (
        "1005",
        "Số người chờ trước: 4",
        "Thời gian chờ dự kiến: 22 phút",
    )
    assert body.print_text == "Đã in phiếu. Xin nhận phiếu ở khe bên dưới."
    assert body.qr_url == "https://hcc.example.vn/t/tok-abcdefghijklmnop"
    clock.advance(19)
    model.tick()
    assert model.screen == "ticket" and model.view().body.closes == "Màn hình tự đóng sau 1 giây"  # type: ignore[union-attr]
    clock.advance(1)
    model.tick()
    assert model.screen == "home"


def test_a_silent_printer_keeps_the_number_up_longer(clock: Clock) -> None:
    model = make(clock, ticket_screen_s=20, ticket_screen_no_print_s=60, print_wait_s=10)
    model.tap("open", "services")
    [call] = model.tap("issue", "dat-dai")
    model.reply(call, issued(), None)
    assert model.view().body.print_text == "Đang in phiếu…"  # type: ignore[union-attr]
    clock.advance(10)
    model.tick()
    body = model.view().body
    assert body.print_text.startswith("Máy in chưa phản hồi.")  # type: ignore[union-attr]
    assert body.print_kind == "warn"  # type: ignore[union-attr]
    clock.advance(55)
    model.tick()
    assert model.screen == "ticket"
    clock.advance(6)
    model.tick()
    assert model.screen == "home"


def test_idle_screens_go_home_and_forget(clock: Clock) -> None:
    model = make(clock, idle_timeout_s=30)
    model.tap("language")
    model.tap("open", "dossier")
    model.tap("key", "A")
    clock.advance(29)
    model.tick()
    assert model.screen == "dossier"
    clock.advance(1)
    model.tick()
    assert (model.screen, model.language) == ("home", "vi")
    model.tap("open", "dossier")
    assert model.view().body.input == ""  # type: ignore[union-attr]


def test_reconnecting_appears_after_the_grace_and_leaves_by_itself(clock: Clock) -> None:
    model = make(clock, reconnect_grace_s=1.0)
    model.set_link(False)
    assert model.view().overlay is None  # a blink of the network shows nothing
    clock.advance(1.0)
    overlay = model.view().overlay
    assert overlay is not None and overlay.title == "Hệ thống đang kết nối lại"
    assert model.view().buttons() == []
    model.set_link(True)
    assert model.view().overlay is not None  # the hub has not spoken yet after the reconnect
    model.set_hub_online(True)
    assert model.view().overlay is None
    model.set_hub_online(False)  # the hub's last will
    clock.advance(1.0)
    assert model.view().overlay is not None


def test_locked_outside_opening_hours_with_the_hours(clock: Clock) -> None:
    model = make(clock)
    model.tap("open", "services")
    clock.wall = datetime(2026, 11, 28, 9, 0, tzinfo=SITE_TZ)  # a Saturday
    model.tick()
    view = model.view()
    assert view.overlay is not None and view.overlay.kind == "locked"
    assert view.texts() == [
        "Ngoài giờ làm việc",
        "Giờ làm việc:",
        "Thứ Hai – Thứ Sáu: 07:30 – 17:00",
        "Xin mời quý khách quay lại trong giờ làm việc.",
    ]
    assert model.tap("open", "services") == [] and model.screen == "home"
    assert model.scan("scanner-1", {"kind": "dossier_code", "code": "000.00.06.H56-231027-0361"}) == []
    clock.wall = datetime(2026, 11, 30, 7, 30, tzinfo=SITE_TZ)  # Monday, opening time
    assert model.view().overlay is None


def test_scans_only_from_bound_scanners_and_checked_before_asking(clock: Clock) -> None:
    model = make(clock)
    assert model.scan("scanner-2", {"kind": "dossier_code", "code": "000.00.06.H56-231027-0361"}) == []
    [call] = model.scan("scanner-1", {"kind": "dossier_url", "code": "000.00.06.H56-231027-0361"})
    assert (call.method, dict(call.params)) == (
        "dossier.lookup",
        {"code": "000.00.06.H56-231027-0361", "lang": "vi"},
    )
    assert model.scan("scanner-1", {"kind": "unknown", "code": "ABC", "text": "ABC"}) == []
    body = model.view().body
    assert isinstance(body, DossierBody) and body.notice is not None
    assert body.notice.text == "“ABC” không phải mã hồ sơ. Mã hồ sơ có dạng 000.00.06.H56-231027-0361."


def test_a_late_scan_is_ignored_and_the_receipts_proof_is_passed_on(clock: Clock) -> None:
    model = make(clock, scan_max_age_s=5)
    code = "000.00.06.H56-231027-0361"
    late = {"kind": "dossier_code", "code": code, "proof": "ABCDEFGHIJKLMNOP"}
    assert model.scan("scanner-1", {**late, "ts": (clock.wall - timedelta(seconds=15)).isoformat()}) == []
    assert model.screen == "home"  # the citizen who scanned 15 s ago has left
    [call] = model.scan("scanner-1", {**late, "ts": (clock.wall - timedelta(seconds=1)).isoformat()})
    assert dict(call.params) == {"code": code, "proof": "ABCDEFGHIJKLMNOP", "lang": "vi"}
    # Typing over a scanned code drops its proof: what is typed proves nothing.
    model.reply(call, None, None)
    model.tap("key", "1")
    model.tap("backspace")
    [again] = model.tap("submit")
    assert "proof" not in again.params


def test_an_id_card_scan_asks_for_the_receipt_and_keeps_nothing(clock: Clock) -> None:
    """On "Tra cứu hồ sơ" the receipt was expected; elsewhere the card asks for consent
    (tests/test_kiosk_citizens.py)."""
    model = make(clock)
    model.tap("open", "dossier")
    assert model.scan("scanner-1", {"kind": "id_card", "code": "*********345", "text": "*********345"}) == []
    body = model.view().body
    assert isinstance(body, DossierBody) and body.input == "" and body.notice is not None
    assert body.notice.text == "Đây là thẻ căn cước. Xin quét mã QR trên giấy tiếp nhận hồ sơ."


def dossier_reply(**extra: Any) -> dict[str, Any]:
    return {
        "code": "000.00.06.H56-231027-0361",
        "procedure": "Cấp giấy chứng nhận quyền sử dụng đất",
        "applicant_name": "Nguyễn V** A**",
        "masked": True,
        "status": "processing",
        "status_label": "Đang xử lý",
        "step": "Thẩm định hồ sơ",
        "received_at": "2023-10-27T09:32:00+07:00",
        "due_at": "2023-11-03T09:00:00+07:00",
        "overdue": True,
        "overdue_days": 3,
        "stale": True,
        "fetched_at": "2023-11-06T14:02:00+07:00",
        **extra,
    }


def test_a_dossier_in_plain_vietnamese_overdue_in_red_and_stale_noted(clock: Clock) -> None:
    model = make(clock)
    model.tap("open", "dossier")
    for char in "000.00.06.H56.231027.0361":
        model.tap("key", char)
    [call] = model.tap("submit")
    assert call.params["code"] == "000.00.06.H56-231027-0361" and "proof" not in call.params
    assert model.tap("submit") == []  # still waiting for the first answer
    model.reply(call, dossier_reply(), None)
    body = model.view().body
    assert isinstance(body, DossierBody) and body.result is not None
    assert body.input == "000.00.06.H56-231027-0361"
    assert [(row.label, row.value, row.alarm) for row in body.result.rows] == [
        ("Thủ tục", "Cấp giấy chứng nhận quyền sử dụng đất", False),
        ("Người nộp", "Nguyễn V** A**", False),
        ("Tình trạng", "Đang xử lý", False),
        ("Đang ở bước", "Thẩm định hồ sơ", False),
        ("Ngày tiếp nhận", "27/10/2023", False),
        ("Ngày hẹn trả kết quả", "09:00, ngày 03/11/2023", True),
        ("", "Quá hạn 3 ngày", True),
    ]
    assert [note.text for note in body.result.notes] == [
        "Hệ thống hồ sơ đang tạm gián đoạn: thông tin cập nhật lúc 14:02, ngày 06/11/2023.",
        "Tên người nộp được che một phần để bảo vệ thông tin cá nhân.",
    ]


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("not_implemented", "Ki-ốt chưa tra cứu được hồ sơ lúc này. Xin quý khách hỏi cán bộ tại quầy."),
        (
            "central_not_configured",
            "Ki-ốt chưa tra cứu được hồ sơ lúc này. Xin quý khách hỏi cán bộ tại quầy.",
        ),
        ("timeout", "Chưa thực hiện được, xin quý khách thử lại sau giây lát."),
        ("internal", "Chưa thực hiện được, xin quý khách thử lại sau giây lát."),
        ("central_unavailable", "Chưa kết nối được hệ thống quản lý hồ sơ. Xin thử lại sau ít phút."),
    ],
)
def test_lookup_failures_are_calm_sentences(clock: Clock, code: str, text: str) -> None:
    model = make(clock)
    [call] = model.scan("scanner-1", {"kind": "dossier_code", "code": "000.00.06.H56-231027-0361"})
    model.reply(call, None, RpcError.from_key(code, method="dossier.lookup"))
    assert model.view().body.notice.text == text  # type: ignore[union-attr]


def test_a_reply_for_a_citizen_who_left_is_dropped(clock: Clock) -> None:
    model = make(clock)
    [call] = model.scan("scanner-1", {"kind": "dossier_code", "code": "000.00.06.H56-231027-0361"})
    model.tap("home")
    model.tap("open", "dossier")
    model.reply(call, dossier_reply(), None)
    assert model.view().body.result is None  # type: ignore[union-attr]


def test_a_procedure_points_to_its_service(clock: Clock) -> None:
    model = make(clock, procedure_services={"DD": "dat-dai"})
    model.tap("open", "procedures")
    assert model.tap("key", "k") == []  # one letter is not a search yet
    [call] = model.tap("key", "s")
    assert dict(call.params) == {"query": "ks", "limit": 20, "lang": "vi"}
    procedures = [
        {
            "code": "HT-001",
            "name": "Đăng ký khai sinh",
            "field_code": "HT",
            "field_name": "Hộ tịch",
            "fee": "Miễn lệ phí",
            "processing_time": "Ngay trong ngày làm việc",
            "papers": [{"name": "Giấy chứng sinh", "count": 1, "note": "bản chính"}],
        },
        {
            "code": "DD-009",
            "name": "Đăng ký biến động đất đai",
            "field_code": "DD",
            "field_name": "Lĩnh vực khác",
        },
        {"code": "XX-1", "name": "Cấp phép nuôi ong", "field_code": "NN", "field_name": "Nông nghiệp"},
    ]
    model.reply(call, {"results": procedures, "count": 3}, None)
    assert model.view().body.summary == "Tìm thấy 3 thủ tục"  # type: ignore[union-attr]
    takes = []
    for index in range(3):
        model.tap("procedure", str(index))
        body = model.view().body
        assert isinstance(body, ProcedureBody)
        takes.append(body.take.arg if body.take else body.note)
        model.tap("back")
    assert takes == ["ho-tich", "dat-dai", "Xin hỏi cán bộ hướng dẫn để chọn đúng quầy."]


def test_rating_keypad_and_five_levels(clock: Clock) -> None:
    model = make(clock, rating_scale=5)
    model.tap("open", "rating")
    body = model.view().body
    assert isinstance(body, RatingBody)
    assert [key.arg for key in body.keypad.rows[-2]] == ["T", "0"]  # letters of today's numbers
    assert [score.arg for score in body.scores] == ["5", "4", "3", "2", "1"]
    assert body.scores[2].label == "Bình thường"
    for key in "t004":
        model.tap("key", key.upper())
    [call] = model.tap("rate", "4")
    assert dict(call.params) == {"ticket_id": "T004", "score": 4, "lang": "vi"}
    model.reply(call, {"ticket": {}, "score": 4}, None)
    clock.advance(6)
    model.tick()
    assert model.screen == "home"


def test_requests_carry_the_language_and_english_texts_exist(clock: Clock) -> None:
    model = make(clock)
    model.tap("language")
    model.tap("open", "services")
    [call] = model.tap("issue", "dat-dai")
    assert isinstance(call, Call) and call.params["lang"] == "en"
    assert model.view().body.services[0].detail == "Waiting: 4 · about 22 min"  # type: ignore[union-attr]


def test_texts() -> None:
    assert format_wait(3900, "vi") == "1 giờ 05 phút" and format_wait(59, "vi") == "dưới 1 phút"
    config = KioskConfig(device_id="k", site="s", opening_hours={"days": ["mon", "tue", "wed", "sat", "sun"]})
    assert describe_hours(config.opening_hours, "vi") == (
        "Thứ Hai – Thứ Tư, Thứ Bảy, Chủ Nhật: 07:30 – 11:30 và 13:00 – 17:00"
    )
    kiosk_keys = [key for key in MESSAGES if key.startswith("kiosk_")]
    assert len(kiosk_keys) > 100
    for key in kiosk_keys:
        vi, en = MESSAGES[key]
        assert unicodedata.normalize("NFC", vi) == vi and en, key


def test_the_command_line_checks_a_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kiosk.cli import main

    sample = Path(__file__).resolve().parents[1] / "kiosk" / "sample_kiosk.toml"
    assert main(["--check", "-c", str(sample)]) == 0
    assert "kiosk-1 at site demo, portrait, scanners scanner-1" in capsys.readouterr().out
    bad = tmp_path / "kiosk.toml"
    bad.write_text(
        sample.read_text(encoding="utf-8").replace("rating_scale = 3", "rating_scale = 4"), "utf-8"
    )
    assert main(["--check", "-c", str(bad)]) == 2
    assert "kiosk.rating_scale" in capsys.readouterr().err


def test_a_rating_carries_the_token_of_a_ticket_issued_or_scanned_here(clock: Clock) -> None:
    # The hub accepts a kiosk's rating only with the ticket's token (issue 13 item 10).
    model = make(clock)
    model.tap("open", "services")
    [call] = model.tap("issue", "dat-dai")
    model.reply(call, issued("1005"), None)
    model.tap("done")
    model.tap("open", "rating")
    for key in "1005":
        model.tap("key", key)
    [rate] = model.tap("rate", "3")
    assert dict(rate.params) == {
        "ticket_id": "1005",
        "score": 3,
        "token": "tok-abcdefghijklmnop",
        "lang": "vi",
    }

    model.tap("home")
    [resolve] = model.scan("scanner-1", {"kind": "ticket", "code": "tok-other"})
    model.reply(resolve, {"number": "T004"}, None)
    [scanned] = model.tap("rate", "2")
    assert scanned.params["token"] == "tok-other" and scanned.params["ticket_id"] == "T004"
