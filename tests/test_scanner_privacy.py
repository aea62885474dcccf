"""Citizen ID cards and receipt proofs at the scanner, against the shipped broker configuration
(dynamic security, accounts as `motcua enroll` makes them): a CCCD's QR code fed to a real
`python -m barcode_reader` reaches the paired kiosk only as "an ID card" with a masked number, is in no
message on the broker (an administrator subscribed to everything sees none of it), in no log line and
in nothing retained; a receipt's proof goes to the paired kiosk alone. Scans are not queued for long
while the broker is out of reach."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link, Message
from hub.fleet.accounts import Account, DynsecAccounts
from hub.fleet.broker_setup import SecureBroker
from hub.fleet.roles import Place, device_acls, starter_config
from kiosk.config import KioskConfig
from kiosk.controller import KioskController
from kiosk.views import CardBody, DossierBody
from tests.support.mqtt import wait_until

ROOT = Path(__file__).resolve().parent.parent
SITE = "hcc-test"
TOPIC = f"motcua/v1/{SITE}"
FAST = {"keepalive": 10, "reconnect_min": 0.05, "reconnect_max": 0.3}
ID_NUMBER, OLD_ID, NAME = "079092012345", "271234567", "Nguyễn Văn An"
ADDRESS = "12 Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh"
CCCD = f"{ID_NUMBER}|{OLD_ID}|{NAME}|01011992|Nam|{ADDRESS}|15082021"
PERSONAL = (ID_NUMBER, OLD_ID, NAME, "Lê Lợi", "01011992", "092012345")
PROOF = "ABCDEFGHIJKLMNOP"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    def __call__(self, message: Message) -> None:
        with self._lock:
            self.messages.append(message)

    def texts(self) -> list[tuple[str, str, bool]]:
        with self._lock:
            return [(m.topic, m.payload.decode("utf-8", "replace"), m.retain) for m in self.messages]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[SecureBroker, Link, dict[str, MqttSettings]]]:
    """The secured broker, the hub's (administrator's) link, and enrolled devices' MQTT settings."""
    broker = SecureBroker(site=SITE, data_dir=tmp_path / "broker").start()
    hub = Link(
        MqttSettings(port=broker.port, username="hub", password=broker.hub_password, **FAST),
        site=SITE,
        device_id="hub",
        role="hub",
    )
    hub.start()
    assert hub.wait_connected(5)
    accounts = DynsecAccounts(hub)
    devices = {}
    for device_id, role, place in (
        ("scanner-1", "scanner", "kiosk:kiosk-1"),
        ("kiosk-1", "kiosk", "kiosk:kiosk-1"),
        ("kiosk-2", "kiosk", "kiosk:kiosk-2"),
        ("counter-1-led", "led", "counter:1"),
    ):
        password = secrets.token_urlsafe(12)
        acls = device_acls(hub.topics, device_id, role, Place.parse(place))
        accounts.provision(Account(device_id, password, f"{SITE}-{device_id}", tuple(acls)))
        devices[device_id] = MqttSettings(port=broker.port, username=device_id, password=password, **FAST)
    try:
        yield broker, hub, devices
    finally:
        hub.stop()
        broker.stop()


def write_scanner_config(tmp_path: Path, settings: MqttSettings, fifo: Path) -> Path:
    # The [scan] section enrolment writes for a scanner at kiosk:kiosk-1.
    scan = starter_config("scanner", Place.parse("kiosk:kiosk-1"))["scan"]
    path = tmp_path / "scanner.toml"
    path.write_text(
        f'device_id = "scanner-1"\nsite = "{SITE}"\nrole = "scanner"\n\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {settings.port}\nusername = "{settings.username}"\n'
        f'password = "{settings.password}"\nreconnect_min = 0.05\nreconnect_max = 0.3\n\n'
        f'[source]\ntype = "simulated"\npath = "{fifo}"\nretry_interval = 0.1\n\n'
        f'[scan]\nkiosk = "{scan["kiosk"]}"\n',
        encoding="utf-8",
    )
    return path


def kiosk(device_id: str, settings: MqttSettings) -> KioskController:
    config = KioskConfig(
        device_id=device_id,
        site=SITE,
        mqtt=settings,
        kiosk={"scanners": ["scanner-1"]},
        opening_hours={"lock_outside": False},
    )
    controller = KioskController(config)
    controller.start()
    wait_until(lambda: controller.link.connected, 10)
    return controller


def feed(fifo: Path, text: str) -> None:
    with fifo.open("w", encoding="utf-8") as pipe:
        pipe.write(text + "\n")


def test_an_id_card_reaches_only_its_kiosk_masked_and_is_never_logged(
    site: tuple[SecureBroker, Link, dict[str, MqttSettings]], tmp_path: Path
) -> None:
    _broker, hub, devices = site
    everything = Inbox()  # the administrator sees every message of the site
    hub.subscribe(f"{TOPIC}/#", everything)
    # A neighbouring kiosk and a counter's LED unit try to read every scan.
    snooped = Inbox()
    kiosk_2 = Link(devices["kiosk-2"], site=SITE, device_id="kiosk-2", role="kiosk")
    led = Link(devices["counter-1-led"], site=SITE, device_id="counter-1-led", role="led")
    for link in (kiosk_2, led):
        for pattern in (
            f"{TOPIC}/#",
            f"{TOPIC}/scans/#",
            f"{TOPIC}/scans/+/+",
            f"{TOPIC}/scans/scanner-1/kiosk-1",
        ):
            link.subscribe(pattern, snooped)
        link.start()
    kiosk_1 = kiosk("kiosk-1", devices["kiosk-1"])
    fifo = tmp_path / "scanner-1.fifo"
    log_path = tmp_path / "scanner.log"
    with log_path.open("w", encoding="utf-8") as log_file:
        scanner = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "barcode_reader",
                "-c",
                str(write_scanner_config(tmp_path, devices["scanner-1"], fifo)),
            ],
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert kiosk_2.wait_connected(5) and led.wait_connected(5)

            def attached() -> bool:
                return any(
                    topic.endswith("scanner-1/health") and json.loads(body).get("scanner") == "attached"
                    for topic, body, _ in everything.texts()
                )

            wait_until(attached, 15)
            feed(fifo, CCCD)
            # Consent is asked first; the kiosk knows the masked number and the holder's age only.
            body = kiosk_1.wait_for(lambda view: view.screen == "card", 10).body
            assert isinstance(body, CardBody) and "*********345" in body.text
            assert kiosk_1.model.card is not None and kiosk_1.model.card.age is not None
            kiosk_1.tap("open", "dossier")
            # Where a receipt was expected, an ID card is refused and forgotten.
            feed(fifo, CCCD.replace(ID_NUMBER, ID_NUMBER[:-3] + "399"))
            body = kiosk_1.wait_for(
                lambda view: view.screen == "dossier" and view.body.notice is not None, 10
            ).body
            assert isinstance(body, DossierBody) and body.notice is not None
            assert body.notice.text == "Đây là thẻ căn cước. Xin quét mã QR trên giấy tiếp nhận hồ sơ."
            assert body.input == ""

            # A receipt's QR code: its proof goes to kiosk-1 alone.
            feed(fifo, f"000.00.06.H56-231027-0361/{PROOF}")
            wait_until(lambda: any(PROOF in body for _, body, _ in everything.texts()), 10)
            time.sleep(0.5)  # whatever else would arrive, arrives
        finally:
            scanner.send_signal(signal.SIGTERM)
            scanner.wait(10)
            kiosk_1.stop()
            kiosk_2.stop()
            led.stop()

    seen = everything.texts()
    scans = [(topic, json.loads(body)) for topic, body, _ in seen if "/scans/" in topic]
    card = [scan for topic, scan in scans if scan["kind"] == "id_card"]
    assert [(topic, scan["code"]) for topic, scan in scans if scan["kind"] == "id_card"] == [
        (f"{TOPIC}/scans/scanner-1/kiosk-1", "*********345"),
        (f"{TOPIC}/scans/scanner-1/kiosk-1", "*********399"),
    ]
    assert (
        set(card[0]) <= {"v", "code", "kind", "symbology", "ts", "text", "source", "age"}
        and card[0]["text"] == "*********345"
        and isinstance(card[0]["age"], int)
    )
    with_proof = [topic for topic, scan in scans if scan.get("proof") == PROOF]
    assert with_proof == [f"{TOPIC}/scans/scanner-1/kiosk-1"]
    # Nothing personal anywhere on the broker (health included), nothing retained.
    leaks = [(topic, word) for topic, body, _ in seen for word in PERSONAL if word in body]
    assert leaks == []
    assert not any(retained for topic, _, retained in seen if "/scans/" in topic)
    # Neither the other kiosk nor the LED unit got any scan.
    assert [topic for topic, _, _ in snooped.texts() if "/scans/" in topic] == []
    # Nor the scanner's log.
    log_text = log_path.read_text(encoding="utf-8")
    assert "id_card" in log_text  # it did log the scan, without its content
    assert [word for word in (*PERSONAL, PROOF) if word in log_text] == []


def test_scans_made_while_the_broker_is_out_of_reach_are_not_delivered_late(tmp_path: Path) -> None:
    from barcode_reader.config import ScannerConfig
    from barcode_reader.daemon import ScannerDaemon

    broker = PrivateBroker(data_dir=tmp_path / "broker", persistence=True).start()
    settings = MqttSettings(port=broker.port, **FAST)
    fifo = tmp_path / "scanner-1.fifo"
    config = ScannerConfig.model_validate(
        {
            "device_id": "scanner-1",
            "site": SITE,
            "mqtt": settings.model_dump(),
            "source": {"type": "simulated", "path": str(fifo), "retry_interval": 0.1},
            "scan": {"expiry_s": 1, "dedupe_window": 0},
        }
    )
    received = Inbox()
    watcher = Link(settings, site=SITE, device_id="kiosk-1", role="kiosk")
    watcher.subscribe(f"{TOPIC}/scans/scanner-1", received)
    daemon = ScannerDaemon(config, Link(config.mqtt, site=SITE, device_id="scanner-1", role="scanner"))
    try:
        with watcher:
            daemon.start()
            assert watcher.wait_connected(5) and daemon.link.wait_connected(5)
            wait_until(lambda: daemon.service.health()["scanner"] == "attached", 10)
            feed(fifo, "000.00.06.H56-231027-0361")
            wait_until(lambda: len(received.messages) == 1, 5)
            assert received.messages[0].properties is not None
            assert received.messages[0].properties.MessageExpiryInterval <= 1

            broker.stop()
            wait_until(lambda: not daemon.link.connected, 10)
            time.sleep(1.5)  # longer than [scan] expiry_s: the citizen has gone
            feed(fifo, "000.00.06.H56-231027-0362")
            wait_until(lambda: daemon.sink.dropped == 1, 5)
            broker.restart()
            assert daemon.link.wait_connected(10) and watcher.wait_connected(10)
            feed(fifo, "000.00.06.H56-231027-0363")
            wait_until(lambda: len(received.messages) == 2, 5)
            time.sleep(0.3)
            codes = [json.loads(m.payload)["code"] for m in received.messages]
            assert codes == ["000.00.06.H56-231027-0361", "000.00.06.H56-231027-0363"]
    finally:
        daemon.stop()
        broker.stop()
