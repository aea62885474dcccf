""" "In phiếu tiếp nhận" at the officer console: the web side on a real QueueService with a recording
printer function, the whole path through a real hub (`python -m hub` on a real Mosquitto, the central
simulator behind it) down to the print job on MQTT, and the console in headless Chromium — typing a
code and pressing Enter, and a keyboard-wedge scanner's burst that must not trigger the shortcuts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from appliance.broker import PrivateBroker
from appliance.rpc import RpcError
from hub.central_sim import SimServer, SimState
from hub.service import QueueService
from hub.web import create_app, serve
from tests.support import browser as chromium_support
from tests.support.hub import ROOT, HubProcess, site_config, write_config
from tests.support.mqtt import Observer, wait_until
from tests.test_hub_web import FAST_HASH, PASSWORD, basic, login, make_site

OUT = ROOT / "out"
SITE = "test"
CODE = "000.00.16.H19-261125-0001"
OFFICER_NAME = "Nguyễn Thị Lan"  # canbo1 in hub/sample_site.toml: counters 1 (with a printer) and 2


@dataclass
class RecordingPrinter:
    """Stands in for Hub.print_dossier_receipt: records each call, answers like the hub does, and
    refuses with the hub's own RpcError when told to."""

    status: str = "queued"
    refuse: str | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, counter_id: str, code: str, *, officer: str, language: str = "vi") -> dict[str, Any]:
        self.calls.append({"counter_id": counter_id, "code": code, "officer": officer, "language": language})
        if self.refuse is not None:
            raise RpcError.from_key(self.refuse, language, dossier=code, counter=counter_id, reason="")
        return {
            "job_id": f"receipt-{code}-1",
            "printer": "printer-counter-1",
            "print": self.status,
            "dossier_code": code,
        }


@pytest.fixture
def service(tmp_path: Path) -> Iterator[QueueService]:
    running = QueueService(make_site(tmp_path), tmp_path / "hub.db")
    yield running
    running.close()


@pytest.fixture
def printer() -> RecordingPrinter:
    return RecordingPrinter()


@pytest.fixture
def app(service: QueueService, printer: RecordingPrinter) -> Flask:
    return create_app(service, broker_connected=lambda: True, print_receipt=printer)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def post_receipt(
    client: FlaskClient, counter_id: str, body: Any, csrf: str | None = None, **kwargs: Any
) -> Any:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    headers.update(kwargs.pop("headers", {}))
    return client.post(f"/api/v1/counters/{counter_id}/receipt", json=body, headers=headers, **kwargs)


# -- the web side, with a recording printer function --------------------------------------------


def test_the_console_offers_receipts_only_at_a_counter_with_a_printer(client: FlaskClient) -> None:
    login(client, "canbo1")
    with_printer = client.get("/counter/1").text
    assert 'id="receipt-panel"' in with_printer and "In phiếu tiếp nhận" in with_printer
    assert 'id="receipt-code"' in with_printer and "autofocus" not in with_printer
    config = json.loads(with_printer.split('id="console-config">')[1].split("</script>")[0])
    assert config["receipt_url"] == "/api/v1/counters/1/receipt"
    assert config["texts"]["receipt_sent"] == "Đã gửi phiếu tiếp nhận hồ sơ {code} tới máy in"

    without = client.get("/counter/2").text  # counter 2 has no printer in the sample site
    assert 'id="receipt-panel"' not in without and "receipt_url" not in without


def test_an_officer_prints_a_receipt_for_a_dossier(client: FlaskClient, printer: RecordingPrinter) -> None:
    csrf = login(client, "canbo1")
    reply = post_receipt(client, "1", {"code": f"  {CODE}\n"}, csrf)
    assert reply.status_code == 200, reply.text
    assert reply.get_json() == {
        "ok": True,
        "job_id": f"receipt-{CODE}-1",
        "printer": "printer-counter-1",
        "print": "queued",
        "dossier_code": CODE,
    }
    # The officer's full name goes on the receipt; the code is trimmed (a scanner may add a newline).
    assert printer.calls == [{"counter_id": "1", "code": CODE, "officer": OFFICER_NAME, "language": "vi"}]

    english = post_receipt(client, "1", {"code": CODE}, csrf, query_string={"lang": "en"})
    assert english.status_code == 200 and printer.calls[-1]["language"] == "en"


def test_receipts_follow_the_rules_of_the_other_counter_actions(
    client: FlaskClient, printer: RecordingPrinter
) -> None:
    anonymous = post_receipt(client, "1", {"code": CODE})
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "login_required"

    csrf = login(client, "canbo1")
    forged = post_receipt(client, "1", {"code": CODE})  # cookie session, no CSRF token
    assert forged.status_code == 403 and forged.get_json()["error"]["code"] == "csrf_failed"
    elsewhere = post_receipt(client, "3", {"code": CODE}, csrf)
    assert elsewhere.status_code == 403 and elsewhere.get_json()["error"]["code"] == "not_your_counter"

    no_printer = post_receipt(client, "2", {"code": CODE}, csrf)
    assert no_printer.status_code == 409
    assert no_printer.get_json()["error"] == {"code": "no_printer", "message": "Quầy 2 chưa có máy in."}

    empty = post_receipt(client, "1", {"code": "   "}, csrf)
    assert empty.status_code == 400
    assert empty.get_json()["error"]["message"] == "Mã hồ sơ không hợp lệ. Chưa nhập mã hồ sơ."
    wrong_type = post_receipt(client, "1", {"code": 12345}, csrf)
    assert wrong_type.status_code == 400 and wrong_type.get_json()["error"]["code"] == "bad_request"
    assert printer.calls == []  # nothing refused above reached the printer

    # Scripts use HTTP Basic without a token; an unknown counter is a 404 even for the admin.
    assert post_receipt(client, "1", {"code": CODE}, headers=basic("canbo1")).status_code == 200
    unknown = post_receipt(client, "99", {"code": CODE}, headers=basic("admin"))
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "unknown_counter"


@pytest.mark.parametrize(
    ("code", "status", "words"),
    [
        ("central_dossier_not_found", 404, f"Không tìm thấy hồ sơ {CODE}"),
        ("central_unavailable", 503, "Chưa kết nối được hệ thống quản lý hồ sơ"),
        ("central_not_configured", 501, "chưa kết nối hệ thống quản lý hồ sơ"),
        ("no_printer", 409, "chưa có máy in"),
    ],
)
def test_the_hubs_refusals_keep_their_words_and_status(
    client: FlaskClient, printer: RecordingPrinter, code: str, status: int, words: str
) -> None:
    csrf = login(client, "canbo1")
    printer.refuse = code
    reply = post_receipt(client, "1", {"code": CODE}, csrf)
    assert reply.status_code == status
    error = reply.get_json()["error"]
    assert error["code"] == code and words in error["message"]


def test_without_the_hubs_printing_the_answer_is_501_in_vietnamese(service: QueueService) -> None:
    client = create_app(service, broker_connected=lambda: True).test_client()
    csrf = login(client, "canbo1")
    assert 'id="receipt-panel"' not in client.get("/counter/1").text
    reply = post_receipt(client, "1", {"code": CODE}, csrf)
    assert reply.status_code == 501
    assert reply.get_json()["error"]["message"] == "Chức năng in phiếu tiếp nhận chưa có ở điểm này."


def test_the_receipt_form_works_without_javascript(client: FlaskClient, printer: RecordingPrinter) -> None:
    csrf = login(client, "canbo1")
    form = {"code": CODE, "csrf_token": csrf}
    sent = client.post("/counter/1/receipt", data=form, follow_redirects=True)
    assert sent.request.path == "/counter/1"
    assert f"Đã gửi phiếu tiếp nhận hồ sơ {CODE} tới máy in" in sent.text

    printer.status = "unavailable"
    waiting = client.post("/counter/1/receipt", data=form, follow_redirects=True)
    assert "Máy in chưa sẵn sàng" in waiting.text and 'class="banner warn"' in waiting.text

    printer.refuse = "central_dossier_not_found"
    refused = client.post("/counter/1/receipt", data=form, follow_redirects=True)
    assert f"Không tìm thấy hồ sơ {CODE}" in refused.text and 'class="banner error"' in refused.text
    assert len(printer.calls) == 3
    assert client.post("/counter/1/receipt", data={"code": CODE}).status_code == 403  # CSRF for forms too


# -- the whole path: a real hub, a real broker, the central simulator ---------------------------


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer(SimState(seed=7)).start()
    yield server
    server.stop()


@pytest.fixture
def hub_url(tmp_path: Path, broker: PrivateBroker, sim: SimServer) -> Iterator[str]:
    """A real hub (`python -m hub`, web on) whose `[central]` is the simulator; yields its web URL."""
    config = site_config(
        tmp_path,
        broker.port,
        site=SITE,
        central={"adapter": "opencps", "base_url": sim.url, "agency_code": "000.00.16.H19"},
    )
    for officer in config["officers"]:
        officer["password_hash"] = FAST_HASH
    running = HubProcess(write_config(tmp_path, config), web=True).start()
    yield f"http://127.0.0.1:{config['hub']['http_port']}"
    assert running.stop() == 0


def receipt(base: str, counter_id: str, code: str) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/counters/{counter_id}/receipt",
        json={"code": code},
        auth=("canbo1", PASSWORD),
        timeout=10,
    )


def test_a_receipt_reaches_the_counters_printer_with_the_dossier_from_central(
    hub_url: str, broker: PrivateBroker, sim: SimServer
) -> None:
    dossier = next(row for row in sim.state.dossiers if row["dossierStatus"] == "processing")
    code = dossier["dossierNo"]
    with Observer(broker.port, f"motcua/v1/{SITE}/print/printer-counter-1/jobs") as observer:
        reply = receipt(hub_url, "1", code)
        assert reply.status_code == 200, reply.text
        answer = reply.json()
        # No printer has said it is ready: the job waits on the broker and the officer is told so.
        assert answer["ok"] is True and answer["printer"] == "printer-counter-1"
        assert answer["print"] == "unavailable" and answer["dossier_code"] == code

        job = observer.wait_for(lambda seen: seen.json().get("job_id") == answer["job_id"]).json()
        assert job["kind"] == "receipt"
        printed = job["receipt"]
        assert printed["dossier_code"] == code
        assert printed["applicant"]["name"] == dossier["applicantName"]  # the officer's copy: not masked
        assert printed["procedure"] == dossier["serviceName"]
        assert printed["officer"] == OFFICER_NAME

        # The printer comes online and reports ready: the next receipt is queued for it.
        observer.publish(
            f"motcua/v1/{SITE}/devices/printer-counter-1/state",
            json.dumps({"v": 1, "online": True, "role": "printer"}),
            retain=True,
        )
        observer.publish(
            f"motcua/v1/{SITE}/devices/printer-counter-1/health",
            json.dumps({"v": 1, "ready": True, "paper": "ok", "online": True}),
            retain=True,
        )
        wait_until(lambda: receipt(hub_url, "1", code).json()["print"] == "queued", timeout=5, interval=0.1)

    unknown = receipt(hub_url, "1", "000.00.16.H19-250101-9999")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "central_dossier_not_found"
    assert "Không tìm thấy hồ sơ" in unknown.json()["error"]["message"]
    malformed = receipt(hub_url, "1", "HS-123")
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "central_code_invalid"
    elsewhere = receipt(hub_url, "2", code)
    assert elsewhere.status_code == 409 and elsewhere.json()["error"]["code"] == "no_printer"


# -- the console in headless Chromium -----------------------------------------------------------

# A keyboard-wedge scanner as the browser sees it: one trusted-looking key after another within a
# millisecond, ending with Enter, while the focus is on the page (not in the field).
SCANNER_BURST = """
const code = arguments[0];
for (const key of code.split("").concat(["Enter"])) {
  for (const type of ["keydown", "keyup"]) {
    document.body.dispatchEvent(new KeyboardEvent(type, {key: key, bubbles: true, cancelable: true}));
  }
}
"""


@pytest.mark.slow
def test_typing_or_scanning_a_code_at_the_console_prints_the_receipt(
    service: QueueService, printer: RecordingPrinter, tmp_path: Path
) -> None:
    if not chromium_support.available():
        pytest.skip("Debian chromium and chromium-driver are not installed")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    ticket = service.call("ticket.issue", {"service_id": "dat-dai"}, caller_id="kiosk-1")["ticket"]
    service.call("counter.call_next", {"counter_id": "1"}, caller_id="test")
    running = serve(create_app(service, broker_connected=lambda: True, print_receipt=printer), "127.0.0.1", 0)
    OUT.mkdir(exist_ok=True)
    try:
        with chromium_support.chromium(tmp_path / "profile", 1366, 900) as driver:
            wait = WebDriverWait(driver, 10)

            def by_id(element_id: str) -> Any:
                return driver.find_element(By.ID, element_id)

            def banner_says(words: str) -> bool:
                return bool(by_id("banner").is_displayed() and words in by_id("banner-text").text)

            driver.get(running.url + "/counter/1")
            driver.find_element(By.NAME, "username").send_keys("canbo1")
            driver.find_element(By.NAME, "password").send_keys(PASSWORD)
            driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
            wait.until(lambda d: d.current_url.endswith("/counter/1"))
            wait.until(lambda d: by_id("live").is_displayed())
            assert by_id("serving-number").text == ticket["number"]
            field = by_id("receipt-code")
            assert driver.switch_to.active_element != field  # no autofocus: the shortcuts keep working

            # Typing in the field: the H, C, N, L and V of the code are letters, not shortcuts.
            field.click()
            field.send_keys(CODE + Keys.ENTER)
            wait.until(lambda d: banner_says(f"Đã gửi phiếu tiếp nhận hồ sơ {CODE} tới máy in"))
            assert printer.calls == [
                {"counter_id": "1", "code": CODE, "officer": OFFICER_NAME, "language": "vi"}
            ]
            assert "banner ok" in (by_id("banner").get_attribute("class") or "")
            assert field.get_attribute("value") == "" and driver.switch_to.active_element != field
            assert by_id("serving-number").text == ticket["number"]
            assert service.counter_view("1")["serving"]["status"] == "called"
            driver.save_screenshot(str(OUT / "console-receipt.png"))

            # A scanner's burst while the focus is on the page goes to the receipt, not to the buttons.
            scanned = "000.00.16.H19-261125-0002"
            driver.execute_script(SCANNER_BURST, scanned)
            wait.until(lambda d: banner_says(f"Đã gửi phiếu tiếp nhận hồ sơ {scanned} tới máy in"))
            assert [call["code"] for call in printer.calls] == [CODE, scanned]
            assert service.counter_view("1")["serving"]["status"] == "called"  # H did not complete it

            # A single key is still a shortcut: H completes the citizen's visit.
            driver.find_element(By.TAG_NAME, "body").send_keys("h")
            wait.until(lambda d: by_id("serving-number").text == "—")
            assert service.counter_view("1")["serving"] is None

            # A printer that is not ready: the job waits, and the officer is told so.
            printer.status = "unavailable"
            field.send_keys(CODE + Keys.ENTER)
            wait.until(lambda d: banner_says("Máy in chưa sẵn sàng"))
            assert "banner warn" in (by_id("banner").get_attribute("class") or "")

            # A refusal: the hub's words in the red banner; the field keeps the code for a new try.
            printer.refuse = "central_dossier_not_found"
            field.send_keys(CODE + Keys.ENTER)
            wait.until(lambda d: banner_says(f"Không tìm thấy hồ sơ {CODE}"))
            assert "banner error" in (by_id("banner").get_attribute("class") or "")
            assert field.get_attribute("value") == CODE and driver.switch_to.active_element == field
            driver.save_screenshot(str(OUT / "console-receipt-refused.png"))
            severe = [
                entry
                for entry in driver.get_log("browser")
                if entry.get("level") == "SEVERE" and "/receipt" not in entry.get("message", "")
            ]  # the 404 above is logged by Chromium
            assert not severe, severe
    finally:
        running.shutdown()
