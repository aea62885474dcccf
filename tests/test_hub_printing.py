"""The hub, the printer daemon and a fake network printer together: a kiosk's ticket prints on the
kiosk's printer, the reply tells the kiosk whether to count on paper, and an empty printer makes it
say `unavailable` and sends no job: a ticket told "unavailable" never prints later."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomli_w
import zxingcpp

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient
from tests.support.fake_printer import FakeNetworkPrinter
from tests.support.hub import ROOT, running_hub, site_config, write_config
from tests.support.mqtt import Observer

pytestmark = pytest.mark.slow
SITE = "printing"


def start_printer(tmp_path: Path, broker: PrivateBroker, fake: FakeNetworkPrinter) -> subprocess.Popen[bytes]:
    config = {
        "device_id": "printer-1",
        "site": SITE,
        "role": "printer",
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "reconnect_min": 0.05, "reconnect_max": 0.5},
        "state_dir": str(tmp_path / "printer-state"),
        "printer": {"dots": 576, "backend": {"type": "network", "host": "127.0.0.1", "port": fake.port}},
        "jobs": {"status_interval_s": 0.2, "deadline_s": 60},
    }
    path = tmp_path / "printer.toml"
    path.write_text(tomli_w.dumps(config), encoding="utf-8")
    return subprocess.Popen([sys.executable, "-m", "ticket_printer", "-c", str(path)], cwd=ROOT)


def issue_until(
    client: RpcClient,
    expected: str,
    issued: list[str],
    told: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> dict[str, object]:
    """The hub learns the printer's health asynchronously: ask until it has caught up."""
    deadline = time.monotonic() + timeout
    while True:
        result = client.call("ticket.issue", {"service_id": "ho-tich"})
        issued.append(result["ticket"]["token"])  # type: ignore[index]
        if told is not None:
            told[result["ticket"]["token"]] = result["print"]  # type: ignore[index]
        if result["print"] == expected or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_kiosk_ticket_prints_on_its_printer_and_reply_follows_paper(
    broker: PrivateBroker, tmp_path: Path
) -> None:
    config = site_config(tmp_path, broker.port, site=SITE)
    config["hub"]["public_url"] = "http://hub.local:8080"
    with (
        FakeNetworkPrinter(paper="ok") as fake,
        running_hub(write_config(tmp_path, config)),
        Observer(broker.port, f"motcua/v1/{SITE}/print/printer-1/results") as results,
        Observer(broker.port, f"motcua/v1/{SITE}/devices/printer-1/state") as state,
    ):
        printer = start_printer(tmp_path, broker, fake)
        try:
            # Jobs are kept for the printer by its persistent session, which exists from its first
            # connection on: wait for that (before it, the hub rightly answers "unavailable").
            state.wait_for(lambda m: m.json()["online"] is True, timeout=20)
            settings = MqttSettings(port=broker.port, reconnect_min=0.05)
            with Link(settings, site=SITE, device_id="kiosk-1", role="kiosk") as link:
                assert link.wait_connected(5)
                client = RpcClient(link, default_timeout=10)
                issued: list[str] = []
                told: dict[str, str] = {}
                first = issue_until(client, "queued", issued, told)
                assert first["print"] == "queued"
                ticket = first["ticket"]
                assert isinstance(ticket, dict)
                pages = fake.wait_for_pages(1, timeout=15)
                assert pages, "nothing reached the printer"
                # The printed ticket carries the citizen's own page in its QR code.
                codes = {r.text for r in zxingcpp.read_barcodes(pages[-1].image.convert("L"))}
                assert any(code.endswith(f"/t/{ticket['token']}") for code in codes), codes
                done = results.wait_for(lambda m: m.json()["job_id"] == f"ticket-{ticket['id']}", timeout=15)
                assert done.json()["status"] == "printed"

                # Paper runs out: the next citizen is told not to count on a paper ticket...
                fake.state.paper = "out"
                empty = issue_until(client, "unavailable", issued, told)
                assert empty["print"] == "unavailable"
                printed_before = len(fake.pages)
                time.sleep(0.5)
                assert len(fake.pages) == printed_before  # ...and nothing prints on an empty roll
                # Paper back: what was told "queued" prints once; what was told "unavailable" never.
                fake.state.paper = "ok"
                queued = [token for token, status in told.items() if status == "queued"]
                fake.wait_for_pages(len(queued), timeout=20)
                time.sleep(1.0)
                tokens = [
                    next(r.text for r in zxingcpp.read_barcodes(p.image.convert("L"))).rsplit("/", 1)[-1]
                    for p in fake.pages
                ]
                assert sorted(tokens) == sorted(queued)
        finally:
            printer.terminate()
            printer.wait(10)
