"""Issue 13, the hub's MQTT side, tried as an attacker holding one device's broker password would:
a real Mosquitto running the shipped configuration (dynamic security), a real hub with its fleet,
devices enrolled with real per-device accounts.

- one kiosk flooding `ticket.issue` cannot silence the site: the counter keeps being answered, the
  queue state keeps being published, the kiosk is refused `rate_limited` and takes a handful of
  numbers, the fleet names it, and the broker never drops the hub's messages;
- a request whose Response Topic names another device's topic is dropped, not answered there;
- a rating belongs to the ticket's token or to the counter that served it; reinstating obeys the
  counter rule.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance import publishing as publishing_module
from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient, RpcError
from hub.daemon import Hub
from hub.fleet import FleetRuntime
from hub.fleet.broker_setup import SecureBroker
from hub.site import HubConfig
from hub.web.app import create_app, serve
from tests.support.hub import ROOT, site_config
from tests.support.mqtt import wait_until
from tests.test_fleet_page import FAST_HASH, login

SITE = "t"
FAST = {"keepalive": 10, "reconnect_min": 0.05, "reconnect_max": 0.3}


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    with SecureBroker(site=SITE, data_dir=tmp_path_factory.mktemp("broker")) as broker:
        yield broker


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, secure: SecureBroker) -> Iterator[Hub]:
    tmp = tmp_path_factory.mktemp("hub")
    raw = site_config(tmp, secure.port, site=SITE)
    raw["mqtt"].update(username=secure.hub_user, password=secure.hub_password)
    raw["fleet"] = {"security": "dynsec", "watch_interval_s": 60, "flood_suspend_s": 3}
    for officer in raw["officers"]:
        officer["password_hash"] = FAST_HASH
    running = Hub(HubConfig.model_validate(raw))
    running.start(web=False)
    assert running.link.wait_connected(5)
    try:
        yield running
    finally:
        running.stop()


def enrolled(fleet: FleetRuntime, role: str, place: str, device_id: str | None = None) -> dict[str, Any]:
    code = fleet.add_device(role, place, device_id=device_id).code
    return fleet.enrol(code, hub_host="127.0.0.1:8080", remote="127.0.0.1")


def device_link(enrolment: dict[str, Any]) -> Link:
    settings = MqttSettings(**{**enrolment["mqtt"], **FAST})
    return Link(settings, site=SITE, device_id=enrolment["device_id"], role=enrolment["role"])


class RawDevice:
    """A device's credentials in a plain paho client: it can set any Response Topic it likes."""

    def __init__(self, port: int, enrolment: dict[str, Any], *subscriptions: str) -> None:
        self.device_id = enrolment["device_id"]
        self.seen: list[tuple[str, bytes, bytes | None]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{SITE}-{self.device_id}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.username_pw_set(enrolment["mqtt"]["username"], enrolment["mqtt"]["password"])
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if subscriptions:
            self.client.subscribe([(topic, 1) for topic in subscriptions])
            assert self._subscribed.wait(5)

    def _on_message(self, client: Client, userdata: object, message: MQTTMessage) -> None:
        with self._lock:
            correlation = getattr(message.properties, "CorrelationData", None)
            self.seen.append((message.topic, bytes(message.payload), correlation))

    def messages(self) -> list[tuple[str, bytes, bytes | None]]:
        with self._lock:
            return list(self.seen)

    def request(self, method: str, params: dict[str, Any], response_topic: str, correlation: bytes) -> None:
        properties = Properties(PacketTypes.PUBLISH)
        properties.ResponseTopic = response_topic
        properties.CorrelationData = correlation
        topic = f"motcua/v1/{SITE}/rpc/{self.device_id}/{method}"
        payload = json.dumps({"v": 1, **params})
        self.client.publish(topic, payload, qos=1, properties=properties).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def flood(
    port: int, kiosk: dict[str, Any], seconds: float, response_topic: str | None = None
) -> subprocess.Popen[str]:
    aimed = ["--response-topic", response_topic] if response_topic else []
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.flood",
            "--port",
            str(port),
            "--site",
            SITE,
            "--device",
            kiosk["device_id"],
            # `=`: a generated password may start with "-", which argparse takes for an option.
            f"--username={kiosk['mqtt']['username']}",
            f"--password={kiosk['mqtt']['password']}",
            "--method",
            "ticket.issue",
            "--params",
            json.dumps({"service_id": "dat-dai"}),
            "--seconds",
            str(seconds),
            *aimed,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def issued_by(hub: Hub, device_id: str) -> int:
    return sum(1 for ticket in hub.service.engine.tickets.values() if ticket.issued_by == device_id)


# --------------------------------------------------------------------------- item 1: the flood


def test_one_flooding_kiosk_does_not_silence_the_site(hub: Hub, secure: SecureBroker) -> None:
    fleet = hub.fleet
    kiosk = enrolled(fleet, "kiosk", "kiosk:kiosk-1")
    led = enrolled(fleet, "led", "counter:1")
    display = enrolled(fleet, "display", "hall")
    for _ in range(40):  # people already waiting at counter 1's services
        hub.service.call("ticket.issue", {"service_id": "dat-dai"}, caller_id="test")
    states: list[int] = []
    with device_link(display) as hall, device_link(led) as counter, RpcClient(counter) as keypad:
        hall.subscribe(hub.topics.queue_state, lambda m: states.append(int(m.json()["seq"])))
        assert hall.wait_connected(5) and counter.wait_connected(5)
        wait_until(lambda: bool(states))
        flooder = flood(secure.port, kiosk, seconds=6.0)
        time.sleep(0.3)  # the flood is on
        answered: list[float] = []
        failures: list[str] = []
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            seen_before = len(states)
            started = time.perf_counter()
            try:
                keypad.call("counter.call_next", {"counter_id": "1"}, timeout=3.0)
                answered.append(time.perf_counter() - started)
            except RpcError as error:
                failures.append(error.code)
                continue
            # The hall display hears of every call: the hub keeps publishing through the flood.
            wait_until(lambda n=seen_before: len(states) > n, timeout=3.0)
            time.sleep(0.2)
        out, _ = flooder.communicate(timeout=30)
    report = json.loads(out.strip().splitlines()[-1])

    assert not failures, f"counter calls failed during the flood: {failures}"
    assert len(answered) >= 5, answered
    # It was a flood: far more than a kiosk's burst, until the broker cut it off.
    assert report["sent"] > 50, report
    # Told "too fast", or cut off by the broker before any answer could reach it (a fast hub
    # suspends it within tens of milliseconds); the refusal itself is asserted in the next test.
    assert report["replies"].get("rate_limited", 0) >= 1 or report["disconnected"], report
    # A person's pace: the burst and what trickles in, not hundreds of numbers.
    assert issued_by(hub, kiosk["device_id"]) <= 12
    land = next(s for s in hub.service.stats()["services"] if s["id"] == "dat-dai")
    assert land["issued"] <= 40 + 12  # 999 numbers a day: nowhere near exhausted
    # The technician sees who it is; the broker never had to drop the hub's messages.
    alerts = [alert for alert in fleet.alerts() if alert.key == "fleet_alert_flooding"]
    assert [alert.device_id for alert in alerts] == [kiosk["device_id"]]
    assert kiosk["device_id"] in alerts[0].text("vi") and "dồn dập" in alerts[0].text("vi")
    page = create_app(hub.service, broker_connected=hub.mqtt_healthy, fleet=fleet).test_client()
    login(page)
    shown = page.get("/devices").text
    assert f"Thiết bị {kiosk['device_id']} gửi yêu cầu dồn dập (ticket.issue)" in shown
    log = secure.log_path.read_text(encoding="utf-8")
    assert f"dropped for client {SITE}-hub" not in log, log[-2000:]
    assert hub.link.publishing().healthy


def test_the_kiosk_comes_back_after_its_suspension_at_a_human_pace(hub: Hub) -> None:
    kiosk = enrolled(hub.fleet, "kiosk", "kiosk:kiosk-2")
    with device_link(kiosk) as link, RpcClient(link) as rpc:
        assert link.wait_connected(5)
        for _ in range(10):  # the burst: a queue of families at the kiosk
            assert rpc.call("ticket.issue", {"service_id": "ho-tich"})["ticket"]["status"] == "waiting"
        with pytest.raises(RpcError) as refused:
            rpc.call("ticket.issue", {"service_id": "ho-tich"})
        assert refused.value.code == "rate_limited"
        assert "quá nhanh" in refused.value.message and "too fast" in refused.value.message_en


# --------------------------------------------------------------------------- item 2: reply topics


def test_replies_go_only_to_the_callers_own_reply_topic(hub: Hub, secure: SecureBroker) -> None:
    fleet = hub.fleet
    kiosk = enrolled(fleet, "kiosk", "kiosk:kiosk-3")
    printer = enrolled(fleet, "printer", "kiosk:kiosk-3", device_id="printer-3")
    led = enrolled(fleet, "led", "counter:2")
    root = hub.topics.root
    targets = [
        f"{root}/devices/{printer['device_id']}/state",
        f"{root}/print/{printer['device_id']}/jobs",
        f"{root}/queue/state",
        f"{root}/devices/{led['device_id']}/commands",
        f"{root}/devices/{kiosk['device_id']}/replies/../x",
    ]
    watcher = RawDevice(secure.port, printer, f"{root}/#")
    led_watch = RawDevice(secure.port, led, f"{root}/devices/{led['device_id']}/commands")
    attacker = RawDevice(secure.port, kiosk, f"{root}/devices/{kiosk['device_id']}/replies")
    try:
        before = issued_by(hub, kiosk["device_id"])
        for index, target in enumerate(targets):
            attacker.request("ticket.issue", {"service_id": "dat-dai"}, target, f"evil-{index}".encode())
        # The same connection in order: when this answer is back, the hub has had the others.
        own = f"{root}/devices/{kiosk['device_id']}/replies"
        attacker.request("ticket.issue", {"service_id": "dat-dai"}, own, b"honest")
        wait_until(lambda: any(c == b"honest" for _, _, c in attacker.messages()))
        time.sleep(0.2)
        evil = [m for m in watcher.messages() + led_watch.messages() if (m[2] or b"").startswith(b"evil")]
        assert evil == []
        assert [c for _, _, c in attacker.messages()] == [b"honest"]
        assert issued_by(hub, kiosk["device_id"]) == before + 1
        assert hub.rpc.dropped_foreign_reply >= len(targets)
    finally:
        for client in (watcher, led_watch, attacker):
            client.close()


def test_a_flood_aimed_at_another_devices_topic_is_cut_off_too(hub: Hub, secure: SecureBroker) -> None:
    kiosk = enrolled(hub.fleet, "kiosk", "kiosk:kiosk-5")
    printer = enrolled(hub.fleet, "printer", "kiosk:kiosk-5", device_id="printer-5")
    jobs = f"{hub.topics.root}/print/{printer['device_id']}/jobs"
    watcher = RawDevice(secure.port, printer, jobs)
    try:
        out, _ = flood(secure.port, kiosk, seconds=3.0, response_topic=jobs).communicate(timeout=30)
        report = json.loads(out.strip().splitlines()[-1])
        assert report["disconnected"], report  # suspended by the broker, not merely ignored
        assert issued_by(hub, kiosk["device_id"]) == 0
        assert watcher.messages() == []
        assert kiosk["device_id"] in {
            a.device_id for a in hub.fleet.alerts() if a.key == "fleet_alert_flooding"
        }
    finally:
        watcher.close()


# --------------------------------------------------------------------------- item 10: ratings


def test_a_kiosk_rates_only_with_the_tickets_token(hub: Hub) -> None:
    kiosk = enrolled(hub.fleet, "kiosk", "kiosk:kiosk-4")
    someone_else = hub.service.call("ticket.issue", {"service_id": "ho-tich"}, caller_id="web")["ticket"]
    with device_link(kiosk) as link, RpcClient(link) as rpc:
        assert link.wait_connected(5)
        mine = rpc.call("ticket.issue", {"service_id": "ho-tich"})["ticket"]
        for _ in range(50):  # served at counter 3, as the citizen was
            called = hub.service.call("counter.call_next", {"counter_id": "3"}, caller_id="test")
            if called["ticket"]["id"] == mine["id"]:
                break
        with pytest.raises(RpcError) as bare:
            rpc.call("rating.submit", {"ticket_id": someone_else["id"], "score": 1})
        assert bare.value.code == "forbidden"
        with pytest.raises(RpcError) as wrong:
            rpc.call("rating.submit", {"ticket_id": someone_else["id"], "score": 1, "token": mine["token"]})
        assert wrong.value.code == "forbidden"
        rated = rpc.call("rating.submit", {"ticket_id": mine["number"], "score": 3, "token": mine["token"]})
        assert rated["score"] == 3
    assert hub.service.engine.tickets[someone_else["id"]].rating is None


def test_a_counter_unit_rates_and_reinstates_only_its_own_counters_tickets(hub: Hub) -> None:
    led1 = enrolled(hub.fleet, "led", "counter:1", device_id="led-rate-1")
    led2 = enrolled(hub.fleet, "led", "counter:3", device_id="led-rate-3")
    with (
        device_link(led1) as link1,
        RpcClient(link1) as counter1,
        device_link(led2) as link2,
        RpcClient(link2) as counter2,
    ):
        assert link1.wait_connected(5) and link2.wait_connected(5)
        hub.service.call("ticket.issue", {"service_id": "dat-dai"}, caller_id="test")
        served = counter1.call("counter.call_next", {"counter_id": "1"})["ticket"]
        with pytest.raises(RpcError) as other_counter:
            counter2.call("rating.submit", {"ticket_id": served["id"], "score": 1})
        assert other_counter.value.code == "forbidden"
        assert counter1.call("rating.submit", {"ticket_id": served["id"], "score": 2})["score"] == 2

        counter1.call("counter.skip", {"counter_id": "1"})
        with pytest.raises(RpcError) as not_yours:
            counter2.call("ticket.reinstate", {"ticket_id": served["id"]})
        assert not_yours.value.code == "forbidden"
        assert counter1.call("ticket.reinstate", {"ticket_id": served["id"]})["ticket"]["status"] == "waiting"


# --------------------------------------------------------------------------- a hub that cannot publish


def test_healthz_and_the_watchdog_report_a_hub_that_cannot_publish(
    broker: PrivateBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publishing_module, "PUBLISH_STALL_S", 0.5)
    raw = site_config(tmp_path, broker.port, site=SITE)
    hub = Hub(HubConfig.model_validate(raw))
    hub.start(web=False)
    server = serve(
        create_app(hub.service, broker_connected=hub.mqtt_healthy, fleet=hub.fleet), "127.0.0.1", 0
    )

    def healthz() -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    try:
        assert hub.link.wait_connected(5)
        assert healthz()[0] == 200
        assert broker._process is not None
        broker._process.send_signal(signal.SIGSTOP)  # connected, but nothing is acknowledged
        try:
            hub.service.call("ticket.issue", {"service_id": "dat-dai"}, caller_id="test")
            wait_until(lambda: healthz()[0] == 503, timeout=5)
            _, body = healthz()
            assert body["publishing"]["ok"] is False and body["publishing"]["backlog"] >= 1
            assert body["broker_connected"] is True  # the TCP link looks fine: that is the trap
            assert hub.notifier._check() is False  # the watchdog withholds its pings
            assert any(a.key == "fleet_alert_hub_cannot_publish" for a in hub.fleet.alerts())
        finally:
            broker._process.send_signal(signal.SIGCONT)
        wait_until(lambda: healthz()[0] == 200, timeout=10)
    finally:
        server.shutdown()
        hub.stop()
