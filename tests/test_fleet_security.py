"""Per-device security end to end, against a real Mosquitto running the shipped site configuration
(dynamic-security plugin, no anonymous access) and a real hub in this process:

- enrolment: code made by the hub → `motcua enroll --hub URL --code CODE` writes a TOML the role's
  own model accepts, and the device connects with it; a used or expired code is refused in words;
- a kiosk's credentials cannot call counter methods, nor speak for another device (the message
  never takes effect); a counter unit acts only for its own counter;
- a revoked device is disconnected at once and cannot connect again.
"""

from __future__ import annotations

import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.config import MqttSettings, load
from appliance.mqtt import Link
from appliance.rpc import RpcClient, RpcError, RpcTimeout
from appliance.timeutil import now
from hub.daemon import Hub
from hub.fleet import FleetRuntime
from hub.fleet.accounts import DynsecAccounts, role_name
from hub.fleet.broker_setup import SecureBroker
from hub.site import HubConfig
from hub.web.app import create_app, serve
from tests.support.hub import site_config
from tests.support.mqtt import wait_until

SITE = "t"
FAST = {"keepalive": 10, "reconnect_min": 0.05, "reconnect_max": 0.3}


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    with SecureBroker(site=SITE, data_dir=tmp_path_factory.mktemp("broker")) as broker:
        yield broker


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, secure: SecureBroker
) -> Iterator[tuple[Hub, FleetRuntime, str]]:
    tmp = tmp_path_factory.mktemp("hub")
    raw = site_config(tmp, secure.port, site=SITE)
    raw["mqtt"].update(username=secure.hub_user, password=secure.hub_password)
    raw["fleet"] = {"security": "dynsec", "watch_interval_s": 60}
    hub = Hub(HubConfig.model_validate(raw))
    fleet = hub.fleet
    hub.start(web=False)
    assert hub.link.wait_connected(5)
    server = serve(
        create_app(hub.service, broker_connected=lambda: hub.link.connected, fleet=fleet), "127.0.0.1", 0
    )
    try:
        yield hub, fleet, server.url
    finally:
        server.shutdown()
        hub.stop()


def device_link(settings: dict[str, Any], device_id: str, role: str) -> Link:
    return Link(MqttSettings(**{**settings, **FAST}), site=SITE, device_id=device_id, role=role)


def enrolled(fleet: FleetRuntime, role: str, place: str, device_id: str | None = None) -> dict[str, Any]:
    """Enrol a device directly (the HTTP path has its own test) and return the hub's answer."""
    code = fleet.add_device(role, place, device_id=device_id).code
    return fleet.enrol(code, hub_host="127.0.0.1:8080", remote="127.0.0.1")


def run_enroll(url: str, code: str, out: Path) -> subprocess.CompletedProcess[str]:
    motcua = Path(sys.executable).with_name("motcua")
    return subprocess.run(
        [str(motcua), "enroll", "--hub", url, "--code", code, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_enrolment_end_to_end_writes_a_working_toml(
    site: tuple[Hub, FleetRuntime, str], tmp_path: Path
) -> None:
    _hub, fleet, url = site
    enrolment = fleet.add_device("printer", "kiosk:kiosk-1")
    assert enrolment.device.device_id == "printer-1"  # the printer the hub's [[kiosks]] names
    out = tmp_path / "etc" / "printer.toml"

    done = run_enroll(url, enrolment.code, out)
    assert done.returncode == 0, done.stderr
    assert "Đã đăng ký thiết bị printer-1" in done.stdout
    assert "sudo systemctl enable --now motcua-printer.service" in done.stdout
    assert out.stat().st_mode & 0o777 == 0o640  # it holds the broker password

    from ticket_printer.config import PrinterConfig

    config = load(out, PrinterConfig)  # the role's own model accepts it as written
    assert (config.device_id, config.site, config.role) == ("printer-1", SITE, "printer")
    assert config.mqtt.username == "printer-1" and config.mqtt.password
    assert config.printer.backend.type == "serial"
    with Link(config.mqtt.model_copy(update=FAST), site=SITE, device_id="printer-1", role="printer") as link:
        assert link.wait_connected(5), "the written credentials do not open the broker"
        wait_until(lambda: any(v.device_id == "printer-1" and v.online for v in fleet.devices()))

    again = run_enroll(url, enrolment.code, tmp_path / "second.toml")
    assert again.returncode == 1
    assert "đã được dùng" in again.stderr and "already used" in again.stderr
    assert not (tmp_path / "second.toml").exists()


def test_expired_and_mistyped_codes_are_refused_in_words(
    site: tuple[Hub, FleetRuntime, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, fleet, url = site
    code = fleet.add_device("display", "hall").code
    monkeypatch.setattr(fleet.store, "clock", lambda: now() + timedelta(hours=25))
    expired = run_enroll(url, code, tmp_path / "display.toml")
    assert expired.returncode == 1
    assert "đã hết hạn" in expired.stderr and "expired" in expired.stderr

    wrong = run_enroll(url, "AAAA-BBBB-CCCC", tmp_path / "display.toml")
    assert wrong.returncode == 1 and "không đúng" in wrong.stderr and "wrong" in wrong.stderr
    typo = run_enroll(url, "ABC", tmp_path / "display.toml")
    assert typo.returncode == 2 and "12 ký tự" in typo.stderr
    assert not (tmp_path / "display.toml").exists()


def test_a_kiosk_cannot_call_counter_methods_or_speak_for_another_device(
    site: tuple[Hub, FleetRuntime, str],
) -> None:
    hub, fleet, _ = site
    kiosk = enrolled(fleet, "kiosk", "kiosk:kiosk-2")
    with device_link(kiosk["mqtt"], kiosk["device_id"], "kiosk") as link, RpcClient(link) as rpc:
        assert link.wait_connected(5)
        issued = rpc.call("ticket.issue", {"service_id": "dat-dai"})  # its own role's method works
        assert issued["ticket"]["status"] == "waiting"
        # counter.call_next: the broker drops it (no ACL for it), the hub never sees it.
        with pytest.raises(RpcTimeout):
            rpc.call("counter.call_next", {"counter_id": "1"}, timeout=1.0)
        assert hub.service.counter_view("1")["serving"] is None

        # Speaking for another device: a retained "printer online" and a request in its name.
        link.publish_json(
            hub.topics.device_state("printer-9"), {"v": 1, "online": True, "role": "printer"}, retain=True
        )
        link.publish_json(hub.topics.rpc("counter-1-led", "counter.call_next"), {"v": 1, "counter_id": "1"})
        # Same connection, same order: once the hub has this, it would have had the two above.
        link.publish_health({"marker": "after-spoof"})
        wait_until(
            lambda: (
                (hub.devices.get(kiosk["device_id"]) or {}).get("health", {}).get("marker") == "after-spoof"
            )
        )
    assert hub.devices.get("printer-9") is None
    assert all(view.device_id != "printer-9" for view in fleet.devices())
    assert hub.service.counter_view("1")["serving"] is None


def test_a_counter_unit_acts_only_for_its_own_counter(site: tuple[Hub, FleetRuntime, str]) -> None:
    hub, fleet, _ = site
    led = enrolled(fleet, "led", "counter:3")
    assert led["config"]["counter"]["counter_id"] == "3"
    hub.service.call("ticket.issue", {"service_id": "ho-tich"}, caller_id="test")
    with device_link(led["mqtt"], led["device_id"], "led") as link, RpcClient(link) as rpc:
        assert link.wait_connected(5)
        with pytest.raises(RpcError) as refused:
            rpc.call("counter.call_next", {"counter_id": "4"})
        assert refused.value.code == "forbidden" and "quầy 3" in refused.value.message
        assert rpc.call("counter.call_next", {"counter_id": "3"})["ticket"]["counter_id"] == "3"
        with pytest.raises(RpcError) as not_its_role:
            rpc.call("ticket.issue", {"service_id": "ho-tich"}, timeout=1.0)
        assert not_its_role.value.code in ("forbidden", "timeout")


def test_a_revoked_device_is_disconnected_and_cannot_come_back(site: tuple[Hub, FleetRuntime, str]) -> None:
    _, fleet, _ = site
    scanner = enrolled(fleet, "scanner", "counter:2")
    with device_link(scanner["mqtt"], scanner["device_id"], "scanner") as link:
        assert link.wait_connected(5)
        fleet.revoke(scanner["device_id"])
        wait_until(lambda: not link.connected, timeout=5)
        assert not link.wait_connected(1.5), "a revoked device got back in"
    with device_link(scanner["mqtt"], scanner["device_id"], "scanner") as fresh:
        assert not fresh.wait_connected(1.5)
    assert all(view.device_id != scanner["device_id"] for view in fleet.devices())


def test_the_written_toml_matches_the_hubs_answer(
    site: tuple[Hub, FleetRuntime, str], tmp_path: Path
) -> None:
    _, fleet, url = site
    enrolment = fleet.add_device("led", "hall")
    out = tmp_path / "led.toml"
    assert run_enroll(url, enrolment.code, out).returncode == 0
    data = tomllib.loads(out.read_text(encoding="utf-8"))
    assert data["mode"] == "hall" and data["board"]["port"] == "/dev/motcua-board"
    assert data["mqtt"]["host"] == "127.0.0.1"  # the host the device reached the hub at


def test_a_device_enrolled_by_an_older_hub_gets_this_versions_acls(
    site: tuple[Hub, FleetRuntime, str],
) -> None:
    """A kiosk enrolled before private scans existed may read its ID card scans after a hub upgrade,
    with the password it has: the hub brings every role's ACLs up to date when it connects."""
    hub, fleet, _ = site
    kiosk = enrolled(fleet, "kiosk", "kiosk:kiosk-8")
    device_id = kiosk["device_id"]
    private = hub.topics.private_scans("+", device_id)
    accounts = fleet.accounts
    assert isinstance(accounts, DynsecAccounts)
    # What an older hub gave it: no private scans.
    accounts.execute(
        [
            {
                "command": "removeRoleACL",
                "rolename": role_name(device_id),
                "acltype": "subscribePattern",
                "topic": private,
            }
        ]
    )
    received: list[str] = []
    with device_link(kiosk["mqtt"], device_id, "kiosk") as link:
        link.subscribe(private, lambda message: received.append(message.topic))
        assert link.wait_connected(5)
        hub.link.publish_json(hub.topics.private_scans("scanner-8", device_id), {"v": 1, "kind": "id_card"})
        time.sleep(0.3)
        assert received == []
    assert fleet.refresh_acls() == 1
    assert fleet.refresh_acls() == 0  # nothing left to change
    with device_link(kiosk["mqtt"], device_id, "kiosk") as link:  # the same password still works
        link.subscribe(private, lambda message: received.append(message.topic))
        assert link.wait_connected(5)
        hub.link.publish_json(hub.topics.private_scans("scanner-8", device_id), {"v": 1, "kind": "id_card"})
        wait_until(lambda: received == [hub.topics.private_scans("scanner-8", device_id)])
