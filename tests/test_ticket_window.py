"""A ticket prints only while its citizen can still be at the kiosk, never after being told it will not
(issue 14.1). Real Mosquitto, the hub process, the printer daemon process and a fake network printer
that runs out of paper; the kiosk's controller shows the printer's state before a number is taken.

What a citizen would notice: the kiosk says "out of paper, your number will be on screen" before the
tap; a number told "will not print" never comes out of the slot later (for the next person); a job that
waited at the printer past the window is cancelled and reported `expired`; with paper, tickets print.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import zxingcpp

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from kiosk.config import KioskConfig
from kiosk.controller import KioskController
from kiosk.views import ServicesBody, TicketBody
from tests.support.fake_printer import FakeNetworkPrinter
from tests.support.hub import ROOT, running_hub, site_config, write_config
from tests.support.mqtt import Observer
from tests.support.print_jobs import ticket_job

pytestmark = pytest.mark.slow
SITE = "window"
TOPIC = f"motcua/v1/{SITE}"
WINDOW_S = 3.0


def start_printer(tmp_path: Path, broker: PrivateBroker, fake: FakeNetworkPrinter) -> subprocess.Popen[bytes]:
    config = {
        "device_id": "printer-1",
        "site": SITE,
        "role": "printer",
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "reconnect_min": 0.05, "reconnect_max": 0.5},
        "state_dir": str(tmp_path / "printer-state"),
        "printer": {"dots": 576, "backend": {"type": "network", "host": "127.0.0.1", "port": fake.port}},
        # The printer's own general deadline stays long: the ticket's window must be what acts.
        "jobs": {"status_interval_s": 0.2, "deadline_s": 300},
    }
    path = tmp_path / "printer.toml"
    path.write_text(tomli_w.dumps(config), encoding="utf-8")
    return subprocess.Popen([sys.executable, "-m", "ticket_printer", "-c", str(path)], cwd=ROOT)


@pytest.fixture
def site(broker: PrivateBroker, tmp_path: Path) -> Iterator[FakeNetworkPrinter]:
    config = site_config(tmp_path, broker.port, site=SITE, printing={"ticket_window_s": WINDOW_S})
    with FakeNetworkPrinter(paper="ok") as fake, running_hub(write_config(tmp_path, config)):
        printer = start_printer(tmp_path, broker, fake)
        try:
            yield fake
        finally:
            printer.terminate()
            printer.wait(10)


@pytest.fixture
def kiosk(site: FakeNetworkPrinter, mqtt_settings: MqttSettings) -> Iterator[KioskController]:
    config = KioskConfig(
        device_id="kiosk-1",  # the sample site's kiosk with printer-1
        site=SITE,
        mqtt=mqtt_settings,
        kiosk={"print_wait_s": 5, "rpc_timeout_s": 5},
        opening_hours={"lock_outside": False},
    )
    controller = KioskController(config)
    controller.start()
    controller.wait_for(lambda view: controller.online and bool(view.header.site), 15)
    yield controller
    controller.stop()


def tokens_printed(fake: FakeNetworkPrinter) -> list[str]:
    """The ticket token in each printed page's QR code, in print order."""
    tokens = []
    for page in fake.pages:
        codes = [r.text for r in zxingcpp.read_barcodes(page.image.convert("L"))]
        tokens += [code.rsplit("/t/", 1)[-1] for code in codes if "/t/" in code]
    return tokens


def take_number(kiosk: KioskController, service: str = "ho-tich") -> TicketBody:
    kiosk.tap("issue", service)
    view = kiosk.wait_for(lambda v: v.screen == "ticket", 10)
    body = view.body
    assert isinstance(body, TicketBody)
    return body


def test_no_ticket_prints_after_the_citizen_was_told_it_will_not(
    broker: PrivateBroker, site: FakeNetworkPrinter, kiosk: KioskController
) -> None:
    fake = site
    with (
        Observer(broker.port, f"{TOPIC}/print/printer-1/#", f"{TOPIC}/devices/kiosk-1/printer") as seen,
    ):
        ready = seen.wait_for(lambda m: m.topic.endswith("/kiosk-1/printer") and m.json()["ready"], 20)
        assert ready.retain or ready.json()["printer"] == "printer-1"
        kiosk.tap("open", "services")
        kiosk.wait_for(lambda v: isinstance(v.body, ServicesBody) and v.body.notice is None, 5)

        # With paper: the number prints, in the window, with the citizen's page in its QR code.
        first = take_number(kiosk)
        assert first.print_text == "Đang in phiếu…"
        kiosk.wait_for(lambda v: isinstance(v.body, TicketBody) and v.body.print_kind == "ok", 15)
        assert len(tokens_printed(fake)) == 1
        kiosk.tap("done")

        # The roll runs out: before anyone taps, the services screen says where the number will be.
        fake.state.paper = "out"
        kiosk.tap("open", "services")
        warned = kiosk.wait_for(lambda v: isinstance(v.body, ServicesBody) and v.body.notice is not None, 10)
        assert isinstance(warned.body, ServicesBody) and warned.body.notice is not None
        assert warned.body.notice.text.startswith("Máy in hết giấy: số của quý khách sẽ hiện trên màn hình")
        jobs_before = sum(1 for m in seen.messages if m.topic.endswith("/jobs"))
        told_unavailable = []
        for _ in range(3):
            body = take_number(kiosk)
            assert body.print_text.startswith("Máy in đang tạm ngừng"), body.print_text
            assert body.qr_url.endswith("/t/" + body.qr_url.rsplit("/t/", 1)[-1])
            told_unavailable.append(body.qr_url.rsplit("/t/", 1)[-1])
            kiosk.tap("done")
            kiosk.tap("open", "services")
        # Nothing was sent for them: no job can come out later.
        assert sum(1 for m in seen.messages if m.topic.endswith("/jobs")) == jobs_before

        # A job that reached the printer while it was empty (the hub's view lagged behind the paper)
        # is cancelled once its window has passed, even with the printer's 300 s deadline.
        lagging = ticket_job("ticket-lagging", number="9999", token="lagging-token")
        lagging["valid_for_s"] = WINDOW_S
        seen.publish(f"{TOPIC}/print/printer-1/jobs", json.dumps(lagging, ensure_ascii=False))
        expired = seen.wait_for(
            lambda m: m.topic.endswith("/results") and m.json()["job_id"] == "ticket-lagging", WINDOW_S + 5
        ).json()
        assert expired["status"] == "expired"
        assert expired["error"]["code"] == "print_expired"

        # Paper comes back well after the window: nothing prints for anyone told "will not print".
        time.sleep(WINDOW_S + 1)
        since = len(seen.messages)
        fake.state.paper = "ok"
        seen.wait_for(lambda m: m.topic.endswith("/kiosk-1/printer") and m.json()["ready"], 10, after=since)
        kiosk.wait_for(lambda v: isinstance(v.body, ServicesBody) and v.body.notice is None, 10)
        time.sleep(1.0)
        assert len(tokens_printed(fake)) == 1, "a ticket printed after the citizen was told it would not"

        # Ready again: a ticket issued now prints, and only it.
        again = take_number(kiosk)
        assert again.print_text == "Đang in phiếu…"
        kiosk.wait_for(lambda v: isinstance(v.body, TicketBody) and v.body.print_kind == "ok", 15)
        printed = tokens_printed(fake)
        assert len(printed) == 2
        assert not set(printed) & {*told_unavailable, "lagging-token"}


def test_the_broker_counts_down_a_waiting_jobs_window(broker: PrivateBroker, tmp_path: Path) -> None:
    """The printer was away: the job waited in its session while the broker counted its Message
    Expiry Interval down, so the printer has only what is left, not the whole `valid_for_s`: the job
    ends about `valid_for_s` after it was sent, not that long after the printer came back. A wrong
    `print_by` (the hub's clock says 2099) changes nothing: the printer counts from its own receipt."""
    valid_for = 6
    with FakeNetworkPrinter(paper="out") as fake:
        printer = start_printer(tmp_path, broker, fake)
        with Observer(
            broker.port, f"{TOPIC}/print/printer-1/results", f"{TOPIC}/devices/printer-1/state"
        ) as seen:
            seen.wait_for(lambda m: m.topic.endswith("/state") and m.json()["online"] is True, 20)
            printer.terminate()
            printer.wait(10)
            job: dict[str, Any] = ticket_job("ticket-held", number="1234", token="held-token")
            job["valid_for_s"] = valid_for
            job["print_by"] = "2099-01-01T00:00:00+07:00"
            after = len(seen.messages)
            sent = time.monotonic()
            seen.client.publish(
                f"{TOPIC}/print/printer-1/jobs",
                json.dumps(job, ensure_ascii=False),
                qos=1,
                properties=_expiry(valid_for),
            ).wait_for_publish(5)
            time.sleep(4.0)  # the job waits at the broker; 2 s of its window are left
            printer = start_printer(tmp_path, broker, fake)
            try:
                try:
                    result = seen.wait_for(lambda m: m.topic.endswith("/results"), 15, after=after).json()
                except AssertionError:
                    result = None  # a slow start: the broker dropped the job before the printer took it
                ended = time.monotonic() - sent
                if result is not None:
                    assert result["job_id"] == "ticket-held" and result["status"] == "expired"
                    # Without the countdown it would end 4 s + start-up + 6 s after it was sent.
                    assert ended < valid_for + 2.5, f"expired {ended:.1f} s after it was sent"
                fake.state.paper = "ok"
                time.sleep(1.0)
                assert tokens_printed(fake) == []
            finally:
                printer.terminate()
                printer.wait(10)


def _expiry(seconds: int) -> Any:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    properties = Properties(PacketTypes.PUBLISH)
    properties.MessageExpiryInterval = seconds
    return properties


def test_a_ticket_waiting_when_the_printer_restarts_is_not_printed(
    broker: PrivateBroker, tmp_path: Path
) -> None:
    """How long the daemon was down is unknown (its clock is monotonic, per process): a ticket that was
    waiting for paper is cancelled at start-up rather than printed for whoever stands there now."""
    with FakeNetworkPrinter(paper="out") as fake:
        printer = start_printer(tmp_path, broker, fake)
        try:
            with Observer(
                broker.port, f"{TOPIC}/print/printer-1/results", f"{TOPIC}/devices/printer-1/health"
            ) as seen:
                seen.wait_for(lambda m: m.topic.endswith("/health") and m.json().get("paper") == "out", 20)
                job = ticket_job("ticket-waiting", number="4321", token="waiting-token")
                job["valid_for_s"] = 120
                seen.publish(f"{TOPIC}/print/printer-1/jobs", json.dumps(job, ensure_ascii=False))
                seen.wait_for(lambda m: m.topic.endswith("/health") and m.json().get("pending") == 1, 10)
                printer.kill()
                printer.wait(10)
                fake.state.paper = "ok"
                printer = start_printer(tmp_path, broker, fake)
                result = seen.wait_for(lambda m: m.topic.endswith("/results"), 20).json()
                assert result["job_id"] == "ticket-waiting" and result["status"] == "expired"
                time.sleep(1.0)
                assert tokens_printed(fake) == []
        finally:
            printer.terminate()
            printer.wait(10)


def test_a_repeated_issue_is_told_what_the_first_was(
    broker: PrivateBroker, site: FakeNetworkPrinter, mqtt_settings: MqttSettings
) -> None:
    """The kiosk repeats an issue whose answer it never got (same request_id): the job went to the
    printer the first time, so within its window the answer stays `queued` even if the paper ran out
    since — `unavailable` for a job that may print (or did) would contradict the paper."""
    from appliance.mqtt import Link
    from appliance.rpc import RpcClient

    fake = site
    with (
        Observer(broker.port, f"{TOPIC}/devices/kiosk-1/printer") as seen,
        Link(mqtt_settings, site=SITE, device_id="kiosk-1", role="kiosk") as link,
    ):
        seen.wait_for(lambda m: m.json()["ready"], 20)
        assert link.wait_connected(5)
        client = RpcClient(link, default_timeout=5)
        first = client.call("ticket.issue", {"service_id": "ho-tich"}, request_id="tap-1")
        assert first["print"] == "queued" and 0 < first["print_window_s"] <= WINDOW_S
        since = len(seen.messages)
        fake.state.paper = "out"
        seen.wait_for(lambda m: m.json()["ready"] is False, 10, after=since)
        again = client.call("ticket.issue", {"service_id": "ho-tich"}, request_id="tap-1")
        assert again["ticket"]["id"] == first["ticket"]["id"]
        assert again["print"] == "queued" and again["print_window_s"] <= first["print_window_s"]
        fresh = client.call("ticket.issue", {"service_id": "ho-tich"}, request_id="tap-2")
        assert fresh["print"] == "unavailable"
