"""The kiosk's controller against real parts: Mosquitto (fixture `broker`), the hub (`python -m hub`, or the
same Hub in-process with `attach_central` until hub/daemon.py wires the central system), the central
simulator (`python -m hub.central_sim`) and a fake printer/scanner publishing what the real ones do.

What a citizen would notice: one number per tap (also for a double tap), the printer's progress, the
reconnecting screen within 3 s of losing the broker or the hub and its going away by itself, scans
switching to "Tra cứu hồ sơ" from anywhere, lookups, procedure search without diacritics, ratings.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from appliance import dossier_code
from appliance.broker import PrivateBroker, find_free_port
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient
from appliance.timeutil import SITE_TZ, iso
from hub.central.lookup import receipt_proof_for
from kiosk.config import KioskConfig
from kiosk.controller import KioskController
from kiosk.views import DossierBody, ProcedureBody, ProceduresBody, RatingBody, TicketBody, ViewState
from tests.support.hub import ROOT, HubProcess, site_config, write_config
from tests.support.mqtt import Observer, wait_until

SITE = "test"
TOPIC = f"motcua/v1/{SITE}"
WIRED = "attach_central" in (ROOT / "hub" / "daemon.py").read_text(encoding="utf-8")


# ---------------------------------------------------------------------- real parts


@pytest.fixture(scope="module")
def central_url() -> Iterator[str]:
    """The central one-door simulator (OpenCPS flavour) with its seeded dossiers and catalogue."""
    port = find_free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.central_sim", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("Central simulator ready"), line
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


class SiteHub:
    """The hub as a process once the daemon wires central; until then the same Hub in-process."""

    def __init__(self, tmp: Path, config: dict[str, Any]) -> None:
        self.tmp = tmp
        self.config = config
        self.process: HubProcess | None = None
        self.hub: Any = None
        self.central: Any = None

    @property
    def public_url(self) -> str:
        return str(self.config["hub"]["public_url"])

    def start(self) -> SiteHub:
        if WIRED or not self.config.get("central"):
            self.process = HubProcess(write_config(self.tmp, self.config), web=True).start()
            return self
        from hub.central import attach_central
        from hub.daemon import Hub
        from hub.site import HubConfig

        self.hub = Hub(HubConfig.model_validate(self.config))
        self.hub.start(web=True)
        self.central = attach_central(self.hub)
        return self

    def kill(self) -> None:
        """kill -9 for the process (its last will tells everyone); the in-process hub just stops."""
        if self.process is not None:
            self.process.kill()
            self.process = None
        self.stop()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        if self.central is not None:
            self.central.stop()
            self.central = None
        if self.hub is not None:
            self.hub.stop()
            self.hub = None


def hub_config(tmp: Path, broker: PrivateBroker, central_url: str | None) -> dict[str, Any]:
    config = site_config(tmp, broker.port, site=SITE)
    if central_url:
        config["central"] = {
            "adapter": "opencps",
            "base_url": central_url,
            "deliver": False,
            "cache_fresh_s": 0,
        }
    return config


@pytest.fixture
def hub(tmp_path: Path, broker: PrivateBroker, central_url: str) -> Iterator[SiteHub]:
    site = SiteHub(tmp_path, hub_config(tmp_path, broker, central_url)).start()
    yield site
    site.stop()


def make_kiosk(site: SiteHub, settings: MqttSettings, **kiosk: Any) -> KioskController:
    config = KioskConfig(
        device_id="kiosk-1",  # listed under [[kiosks]] in the sample site: printer-1, trusted scans
        site=SITE,
        mqtt=settings,
        public_url=site.public_url,
        kiosk={"scanners": ["scanner-1"], "print_wait_s": 30, "rpc_timeout_s": 5, **kiosk},
        opening_hours={"lock_outside": False},
    )
    controller = KioskController(config)
    controller.start()
    controller.wait_for(
        lambda view: controller.online and view.overlay is None and bool(view.header.site), 15
    )
    return controller


@pytest.fixture
def kiosk(hub: SiteHub, mqtt_settings: MqttSettings) -> Iterator[KioskController]:
    controller = make_kiosk(hub, mqtt_settings)
    yield controller
    controller.stop()


@pytest.fixture
def officer(mqtt_settings: MqttSettings, hub: SiteHub) -> Iterator[RpcClient]:
    with Link(mqtt_settings, site=SITE, device_id="counter-1", role="led") as link:
        assert link.wait_connected(5)
        yield RpcClient(link, default_timeout=10)


def on_screen(screen: str, check: Callable[[Any], bool] = lambda body: True) -> Callable[[ViewState], bool]:
    return lambda view: view.overlay is None and view.screen == screen and check(view.body)


def type_text(kiosk: KioskController, text: str) -> None:
    for char in text:
        kiosk.tap("key", char)


def ticket_shown(kiosk: KioskController) -> TicketBody:
    body = kiosk.wait_for(on_screen("ticket")).body
    assert isinstance(body, TicketBody)
    return body


# ---------------------------------------------------------------------- taking a number


def test_a_double_tap_issues_one_ticket_and_shows_it_large(
    broker: PrivateBroker, kiosk: KioskController
) -> None:
    kiosk.tap("open", "services")
    services = kiosk.wait_for(on_screen("services", lambda body: len(body.services) == 7)).body
    assert [tile.label for tile in services.services][:2] == ["Đất đai", "Hộ tịch"]
    assert services.services[0].detail == "Không có người chờ"
    with Observer(broker.port, f"{TOPIC}/queue/#") as queue:
        kiosk.tap("issue", "dat-dai")
        kiosk.tap("issue", "dat-dai")  # the finger bounced
        ticket = ticket_shown(kiosk)
        assert (ticket.number, ticket.service) == ("1001", "Đất đai")
        assert ticket.ahead == "Không có ai chờ trước quý khách"
        token = ticket.qr_url.rsplit("/t/", 1)[1]
        assert ticket.qr_url == f"{kiosk.config.public_url}/t/{token}" and len(token) >= 16
        # The printer is not online: the citizen is told at once and the number stays up for a photo.
        assert ticket.print_text.startswith("Máy in đang tạm ngừng")
        assert ticket.closes == "Màn hình tự đóng sau 60 giây"

        # A later tap from someone else gets the next number; the bounce never made one.
        kiosk.tap("done")
        kiosk.tap("open", "services")
        kiosk.wait_for(on_screen("services", lambda body: "Đang chờ: 1 người" in body.services[0].detail))
        kiosk.tap("priority", "elderly")
        kiosk.tap("issue", "dat-dai")
        second = ticket_shown(kiosk)
        assert second.number == "1002" and second.priority == "Ưu tiên: Người cao tuổi"
        state = queue.wait_for(lambda m: m.topic.endswith("queue/state") and m.json()["seq"] >= 2).json()
    issued = [m.json() for m in queue.messages if m.topic.endswith("queue/events")]
    assert [e["ticket"]["number"] for e in issued] == ["1001", "1002"]
    assert issued[1]["ticket"]["priority_group"] == "elderly"
    assert next(s for s in state["services"] if s["id"] == "dat-dai")["waiting"] == 2


def test_printing_is_followed_until_the_printer_answers(broker: PrivateBroker, hub: SiteHub) -> None:
    with Observer(broker.port, f"{TOPIC}/print/printer-1/jobs") as printer:
        # A healthy printer-1 announces itself (retained, as the printer daemon does) before the kiosk starts.
        printer.publish(
            f"{TOPIC}/devices/printer-1/state", b'{"v":1,"online":true,"role":"printer"}', retain=True
        )
        printer.publish(
            f"{TOPIC}/devices/printer-1/health", b'{"v":1,"online":true,"paper":"ok"}', retain=True
        )
        kiosk = make_kiosk(
            hub,
            MqttSettings(port=broker.port, reconnect_min=0.05, reconnect_max=0.5),
            ticket_screen_s=20,
            ticket_screen_no_print_s=90,
        )
        try:
            kiosk.tap("open", "services")
            kiosk.wait_for(on_screen("services", lambda body: body.services))
            kiosk.tap("issue", "ho-tich")
            ticket = ticket_shown(kiosk)
            assert ticket.number == "2001" and ticket.print_text == "Đang in phiếu…"
            job = printer.wait_for(lambda m: m.topic.endswith("/jobs")).json()
            assert job["job_id"] == f"ticket-{job['ticket']['id']}" and job["ticket"]["number"] == "2001"
            assert job["ticket_url"] == ticket.qr_url

            printer.publish(
                f"{TOPIC}/print/printer-1/results",
                json.dumps({"v": 1, "job_id": job["job_id"], "status": "printed"}),
            )
            printed = kiosk.wait_for(on_screen("ticket", lambda body: body.print_kind == "ok")).body
            assert printed.print_text == "Đã in phiếu. Xin nhận phiếu ở khe bên dưới."
            assert printed.closes in ("Màn hình tự đóng sau 20 giây", "Màn hình tự đóng sau 19 giây")

            kiosk.tap("done")
            kiosk.tap("open", "services")
            kiosk.tap("issue", "ho-tich")
            assert ticket_shown(kiosk).number == "2002"
            job = printer.wait_for(lambda m: m.json()["ticket"]["number"] == "2002").json()
            failure = {
                "v": 1,
                "job_id": job["job_id"],
                "status": "failed",
                "error": {"code": "print_out_of_paper", "message": "Máy in printer-1 hết giấy."},
            }
            printer.publish(f"{TOPIC}/print/printer-1/results", json.dumps(failure, ensure_ascii=False))
            failed = kiosk.wait_for(on_screen("ticket", lambda body: body.print_kind == "warn")).body
            assert failed.print_text.startswith("Máy in không in được phiếu. Xin chụp ảnh màn hình")
            assert failed.number == "2002" and failed.closes == "Màn hình tự đóng sau 90 giây"

            # A result for someone else's ticket changes nothing here.
            printer.publish(
                f"{TOPIC}/print/printer-1/results", b'{"v":1,"job_id":"ticket-x","status":"printed"}'
            )
            assert kiosk.view().body.print_kind == "warn"  # type: ignore[union-attr]
        finally:
            kiosk.stop()


# ---------------------------------------------------------------------- outages


def test_losing_the_broker_shows_reconnecting_within_3_s_and_recovers(
    broker: PrivateBroker, kiosk: KioskController
) -> None:
    kiosk.tap("open", "services")
    kiosk.wait_for(on_screen("services"))
    lost = time.monotonic()
    broker.stop()
    view = kiosk.wait_for(lambda v: v.overlay is not None, timeout=3.0)
    assert time.monotonic() - lost < 3.0
    assert view.overlay is not None and view.overlay.title == "Hệ thống đang kết nối lại"
    assert view.texts() == [
        "Hệ thống đang kết nối lại",
        "Xin quý khách chờ trong giây lát. Ki-ốt sẽ tự hoạt động trở lại.",
    ]
    kiosk.tap("issue", "dat-dai")  # touches under the reconnecting screen do nothing
    assert kiosk.view().overlay is not None and kiosk.model.issue is None

    broker.restart()
    kiosk.wait_for(lambda v: v.overlay is None, timeout=15)
    kiosk.tap("issue", "dat-dai")
    assert ticket_shown(kiosk).number == "1001"


def test_a_dead_hub_shows_reconnecting_and_a_restarted_one_is_used_again(
    hub: SiteHub, kiosk: KioskController
) -> None:
    hub.kill()
    view = kiosk.wait_for(lambda v: v.overlay is not None, timeout=3.0)
    assert view.overlay is not None and view.overlay.kind == "reconnecting"
    hub.start()
    kiosk.wait_for(lambda v: v.overlay is None, timeout=15)
    kiosk.tap("open", "services")
    kiosk.wait_for(on_screen("services", lambda body: body.services))
    kiosk.tap("issue", "chung-thuc")
    assert ticket_shown(kiosk).number == "3001"


# ---------------------------------------------------------------------- dossiers


def dossiers(central_url: str, status: str) -> list[dict[str, Any]]:
    return list(requests.get(f"{central_url}/admin/dossiers?status={status}", timeout=5).json()["data"])


def publish_scan(
    broker: PrivateBroker,
    device: str,
    kind: str,
    code: str,
    text: str | None = None,
    *,
    proof: str | None = None,
    made: datetime | None = None,
) -> None:
    """What the scanner publishes: on scans/{scanner}, or with a receipt's proof only to kiosk-1."""
    scan: dict[str, Any] = {
        "v": 1,
        "code": code,
        "kind": kind,
        "symbology": "qr",
        "text": text or code,
        "ts": iso(made or datetime.now(SITE_TZ)),
    }
    topic = f"{TOPIC}/scans/{device}"
    if proof is not None:
        scan["proof"] = proof
        topic += "/kiosk-1"
    with Observer(broker.port) as scanner:
        scanner.publish(topic, json.dumps(scan))


def receipt_proof(hub: SiteHub, code: str) -> str:
    """The proof the hub prints in the QR code of `code`'s receipt (its site secret, in its database)."""
    with sqlite3.connect(hub.config["hub"]["db"]) as db:
        (key,) = db.execute("SELECT key FROM receipt_key").fetchone()
    return receipt_proof_for(key, dossier_code.parse(code).canonical)


def test_a_scan_from_the_bound_scanner_opens_the_dossier_from_anywhere(
    broker: PrivateBroker, hub: SiteHub, kiosk: KioskController, central_url: str
) -> None:
    dossier = dossiers(central_url, "processing")[0]
    code = dossier["dossierNo"]
    kiosk.tap("open", "rating")
    kiosk.wait_for(on_screen("rating"))
    # The bare code (as on the public results board) shows the masked name.
    publish_scan(broker, "scanner-1", "dossier_code", code)
    view = kiosk.wait_for(on_screen("dossier", lambda body: body.result is not None), timeout=10)
    assert isinstance(view.body, DossierBody) and view.body.result is not None
    first, *others = dossier["applicantName"].split()
    masked = " ".join([first, *(word[0] + "**" for word in others)])
    assert {row.label: row.value for row in view.body.result.rows}["Người nộp"] == masked
    kiosk.tap("open", "rating")
    kiosk.wait_for(on_screen("rating"))
    proof = receipt_proof(hub, code)
    publish_scan(broker, "scanner-9", "dossier_code", code, proof=proof)  # another kiosk's scanner
    # A scan made 20 s ago (delivered late after a broker outage): the citizen has left, ignored.
    publish_scan(
        broker,
        "scanner-1",
        "dossier_code",
        code,
        proof=proof,
        made=datetime.now(SITE_TZ) - timedelta(seconds=20),
    )
    time.sleep(0.5)
    assert kiosk.view().screen == "rating"
    # The receipt's QR code, scanned now: its proof is what shows the name.
    publish_scan(broker, "scanner-1", "dossier_code", code, proof=proof)
    view = kiosk.wait_for(on_screen("dossier", lambda body: body.result is not None), timeout=10)
    body = view.body
    assert isinstance(body, DossierBody) and body.result is not None
    rows = {row.label: row.value for row in body.result.rows}
    assert rows["Thủ tục"] == dossier["serviceName"]
    assert rows["Tình trạng"] == "Đang xử lý"
    # Holding the receipt proves it is yours: the name in full.
    assert rows["Người nộp"] == dossier["applicantName"]
    assert rows["Ngày hẹn trả kết quả"].endswith(f"ngày {dossier['dueDate'][:10]}")
    assert body.input == dossier_code.parse(dossier["dossierNo"]).canonical

    publish_scan(broker, "scanner-1", "unknown", "HELLO WORLD")
    body = kiosk.wait_for(on_screen("dossier", lambda b: b.notice is not None)).body
    assert isinstance(body, DossierBody) and body.notice is not None
    assert (
        body.notice.text
        == "Mã hồ sơ “HELLO WORLD” có ký tự không hợp lệ “ ”: chỉ dùng chữ, số, dấu chấm và gạch ngang."
    )


def test_typed_codes_are_checked_masked_and_overdue_is_red(kiosk: KioskController, central_url: str) -> None:
    now = datetime.now(SITE_TZ)

    def overdue(d: dict[str, Any]) -> bool:
        return datetime.strptime(d["dueDate"], "%d/%m/%Y %H:%M:%S").replace(tzinfo=SITE_TZ) < now

    late = next(
        d
        for status in ("processing", "waiting", "receiving")
        for d in dossiers(central_url, status)
        if overdue(d)
    )
    kiosk.tap("open", "dossier")
    type_text(kiosk, "12345")
    kiosk.tap("submit")
    body = kiosk.view().body
    assert isinstance(body, DossierBody) and body.notice is not None
    # Checked on the kiosk (appliance.dossier_code), never sent: the hub's message would differ.
    assert body.notice.text == "“12345” không phải mã hồ sơ. Mã hồ sơ có dạng 000.00.06.H56-231027-0361."

    kiosk.tap("clear")
    type_text(kiosk, late["dossierNo"].lower())
    kiosk.tap("submit")
    body = kiosk.wait_for(
        on_screen("dossier", lambda b: b.result is not None or b.notice is not None), 10
    ).body
    assert isinstance(body, DossierBody) and body.result is not None, body
    rows = {row.label: row for row in body.result.rows}
    first, *others = late["applicantName"].split()
    assert rows["Người nộp"].value == " ".join([first, *(word[0] + "**" for word in others)])
    assert rows["Ngày hẹn trả kết quả"].alarm
    red = [row.value for row in body.result.rows if row.alarm and not row.label]
    assert len(red) == 1 and red[0].startswith(("Quá hạn", "Đã quá hạn"))
    assert [note.text for note in body.result.notes] == [
        "Tên người nộp được che một phần để bảo vệ thông tin cá nhân."
    ]

    kiosk.tap("clear")
    type_text(kiosk, "000.00.16.H19-200101-9999")
    kiosk.tap("submit")
    body = kiosk.wait_for(on_screen("dossier", lambda b: b.notice is not None), 10).body
    assert isinstance(body, DossierBody) and body.notice is not None
    assert body.notice.text.startswith("Không tìm thấy hồ sơ 000.00.16.H19-200101-9999.")


def test_without_a_central_system_the_kiosk_says_so_calmly(
    tmp_path: Path, broker: PrivateBroker, mqtt_settings: MqttSettings
) -> None:
    site = SiteHub(tmp_path, hub_config(tmp_path, broker, None)).start()
    kiosk = make_kiosk(site, mqtt_settings)
    try:
        kiosk.tap("open", "dossier")
        type_text(kiosk, "000.00.06.H56-231027-0361")
        kiosk.tap("submit")
        body = kiosk.wait_for(on_screen("dossier", lambda b: b.notice is not None), 10).body
        assert isinstance(body, DossierBody) and body.notice is not None
        assert body.notice.text == "Ki-ốt chưa tra cứu được hồ sơ lúc này. Xin quý khách hỏi cán bộ tại quầy."
        assert "dossier.lookup" not in " ".join(kiosk.view().texts())
    finally:
        kiosk.stop()
        site.stop()


# ---------------------------------------------------------------------- procedures


def test_procedures_are_found_without_diacritics_and_a_number_taken_from_them(kiosk: KioskController) -> None:
    wait_until(lambda: kiosk.rpc.call("procedure.search", {"query": "khai sinh"})["count"] > 0, timeout=20)
    kiosk.tap("open", "procedures")
    type_text(kiosk, "dang ky khai sinh")
    body = kiosk.wait_for(on_screen("procedures", lambda b: b.results and b.summary), 10).body
    assert isinstance(body, ProceduresBody)
    assert body.results[0].label == "Đăng ký khai sinh" and body.input == "dang ky khai sinh"
    kiosk.tap("procedure", "0")
    detail = kiosk.wait_for(on_screen("procedure")).body
    assert isinstance(detail, ProcedureBody)
    facts = {row.label: row.value for row in detail.rows}
    assert facts["Lệ phí"] == "Miễn lệ phí" and facts["Thời gian giải quyết"] == "Ngay trong ngày làm việc"
    assert "Giấy chứng sinh (1 bản, bản chính)" in detail.papers
    assert detail.take is not None and detail.take.label == "Lấy số: Hộ tịch"
    kiosk.tap("take", detail.take.arg)
    ticket = ticket_shown(kiosk)
    assert (ticket.number, ticket.service) == ("2001", "Hộ tịch")


# ---------------------------------------------------------------------- ratings and language


def test_rating_by_typing_or_scanning_the_ticket(
    broker: PrivateBroker, kiosk: KioskController, officer: RpcClient
) -> None:
    kiosk.tap("open", "services")
    kiosk.wait_for(on_screen("services", lambda body: body.services))
    kiosk.tap("issue", "dat-dai")
    first = ticket_shown(kiosk)
    kiosk.tap("done")
    kiosk.tap("open", "services")
    kiosk.tap("issue", "dat-dai")
    second = ticket_shown(kiosk)
    kiosk.tap("done")
    for _ in range(2):
        officer.call("counter.call_next", {"counter_id": "1"})
    officer.call("counter.complete", {"counter_id": "1"})

    kiosk.tap("open", "rating")
    kiosk.tap("rate", "3")
    body = kiosk.view().body
    assert isinstance(body, RatingBody) and body.notice is not None
    assert body.notice.text == "Xin nhập số thứ tự trên phiếu trước."
    assert [score.label for score in body.scores] == ["Rất hài lòng", "Hài lòng", "Không hài lòng"]
    with Observer(broker.port, f"{TOPIC}/queue/events") as events:
        type_text(kiosk, first.number)
        kiosk.tap("rate", "3")
        thanks = kiosk.wait_for(on_screen("rating", lambda b: b.notice and b.notice.kind == "ok")).body
        assert thanks.notice.text == "Cảm ơn quý khách đã đánh giá!"  # type: ignore[union-attr]
        rated = events.wait_for(lambda m: m.json()["type"] == "rating.submitted").json()
    assert (rated["ticket"]["number"], rated["score"]) == (first.number, 3)

    type_text(kiosk, first.number)
    kiosk.tap("rate", "1")
    again = kiosk.wait_for(on_screen("rating", lambda b: b.notice and b.notice.kind == "error")).body
    assert again.notice.text == f"Phiếu {first.number} đã được đánh giá."  # type: ignore[union-attr]

    # The second citizen scans the QR code of their ticket instead of typing.
    token = second.qr_url.rsplit("/t/", 1)[1]
    kiosk.tap("home")
    publish_scan(broker, "scanner-1", "ticket", token, second.qr_url)
    kiosk.wait_for(on_screen("rating", lambda b: b.input == second.number), 10)
    kiosk.tap("rate", "2")
    kiosk.wait_for(on_screen("rating", lambda b: b.notice and b.notice.kind == "ok"))


def test_english_on_request(kiosk: KioskController) -> None:
    kiosk.tap("language")
    view = kiosk.view()
    assert view.language == "en" and view.body.title == "Welcome"  # type: ignore[union-attr]
    kiosk.tap("open", "services")
    services = kiosk.wait_for(on_screen("services", lambda body: body.services)).body
    assert services.services[1].label == "Civil status"  # type: ignore[union-attr]
    kiosk.tap("back")
    kiosk.tap("open", "dossier")
    type_text(kiosk, "X")
    kiosk.tap("submit")
    body = kiosk.view().body
    assert (
        body.notice.text == "“X” is not a dossier code. A dossier code looks like 000.00.06.H56-231027-0361."
    )  # type: ignore[union-attr]
