"""The head of office sets, on a real hub process over HTTP, what used to need a technician and the
TOML: the priority groups (names, order, whether a paper is asked), each kiosk's services in order,
and the result-return counter. Each edit is refused by the TOML's own rules when wrong, reaches the
kiosks through the retained `queue/state` within a second, survives a restart and is in the audit log.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient
from kiosk.config import KioskConfig
from kiosk.model import KioskModel
from kiosk.views import ServicesBody
from tests.support.admin_site import AdminSite
from tests.support.hub import site_config
from tests.support.mqtt import Observer

STATE = "motcua/v1/test/queue/state"


class Site(AdminSite):
    def __init__(self, tmp: Path, broker_port: int) -> None:
        super().__init__(tmp, broker_port, site_config(tmp, broker_port, central={"adapter": "none"}))

    def refused(self, method: str, path: str, **kwargs: Any) -> str:
        response = self.req(method, path, headers={"Accept-Language": "vi"}, **kwargs)
        assert response.status_code == 400, response.text
        return str(response.json()["error"]["message"])

    def audit(self) -> list[tuple[str, str, str]]:
        entries = self.ok("GET", "/api/v1/admin/audit")["entries"]
        return [(e["kind"], e["object_id"], e["action"]) for e in entries]

    def issue(self, **body: Any) -> requests.Response:
        return requests.post(
            self.base + "/api/v1/tickets", json={"service_id": "dat-dai", **body}, timeout=15
        )


@pytest.fixture
def site(tmp_path: Path, broker: Any) -> Iterator[Site]:
    with Site(tmp_path, broker.port) as running:
        yield running


def live_within_a_second(site: Site, change: Any, seen: Any) -> dict[str, Any]:
    """Make `change`, then the first retained-state message for which `seen` holds (within 1 s)."""
    with Observer(site.broker_port, STATE) as observer:
        observer.wait_for(lambda m: m.retain)
        after = len(observer.messages)
        started = time.monotonic()
        change()
        state = observer.wait_for(lambda m: seen(m.json()), timeout=1.0, after=after).json()
        assert time.monotonic() - started < 1.0
    return dict(state)


def kiosk_sees(state: dict[str, Any]) -> KioskModel:
    kiosk = KioskModel(KioskConfig(device_id="kiosk-1", site="test"))
    kiosk.apply_state(state)
    return kiosk


def test_priority_groups_are_renamed_reordered_added_and_removed_live(site: Site) -> None:
    groups = site.ok("GET", "/api/v1/admin/priority_groups")["priority_groups"]
    assert [g["id"] for g in groups] == ["elderly", "disabled", "pregnant", "merit", "child"]

    # A group without a name, or with an id the wire cannot carry, is refused as the TOML would be.
    assert "name" in site.refused("POST", "/api/v1/admin/priority_groups", json={"id": "veteran", "name": ""})
    assert "id" in site.refused("POST", "/api/v1/admin/priority_groups", json={"id": "Cựu binh", "name": "X"})

    def change() -> None:
        site.ok(
            "POST",
            "/api/v1/admin/priority_groups",
            json={
                "id": "veteran",
                "name": "Cựu chiến binh",
                "name_en": "Veteran",
                "proof": True,
                "position": 1,
            },
        )

    state = live_within_a_second(site, change, lambda s: "veteran" in [g["id"] for g in s["priority_groups"]])
    assert [g["id"] for g in state["priority_groups"]][:3] == ["elderly", "veteran", "disabled"]
    # The kiosk offers it, in that place, by the name the head gave.
    kiosk = kiosk_sees(state)
    kiosk.screen = "services"
    body = kiosk.view().body
    assert isinstance(body, ServicesBody)
    chips = [(b.arg, b.label) for b in body.priorities]
    assert chips[1:3] == [("elderly", "Người cao tuổi"), ("veteran", "Cựu chiến binh")]
    assert site.issue(priority_group="veteran").status_code == 201

    site.ok(
        "PUT", "/api/v1/admin/priority_groups/child", json={"position": 0, "name": "Người đi cùng trẻ nhỏ"}
    )
    site.ok("DELETE", "/api/v1/admin/priority_groups/pregnant")
    refused = site.issue(priority_group="pregnant")
    assert refused.status_code == 400 and "veteran" in refused.text

    site.restart()
    groups = site.ok("GET", "/api/v1/admin/priority_groups")["priority_groups"]
    assert [g["id"] for g in groups] == ["child", "elderly", "veteran", "disabled", "merit"]
    assert groups[0]["name"] == "Người đi cùng trẻ nhỏ" and groups[2]["proof"] is True
    assert site.audit()[:3] == [
        ("priority_groups", "pregnant", "delete"),
        ("priority_groups", "child", "update"),
        ("priority_groups", "veteran", "create"),
    ]


def test_a_kiosk_offers_the_services_the_head_picks_in_her_order(site: Site) -> None:
    assert "thue" in site.refused(
        "PUT", "/api/v1/admin/kiosks/kiosk-1", json={"services": ["ho-tich", "thue"]}
    )
    site.ok(
        "POST", "/api/v1/admin/services", json={"id": "thue", "name": "Thuế", "first": 8001, "last": 8999}
    )

    def change() -> None:
        site.ok(
            "PUT", "/api/v1/admin/kiosks/kiosk-1", json={"services": ["ho-tich", "dat-dai", "tra-ket-qua"]}
        )

    state = live_within_a_second(site, change, lambda s: "kiosk-1" in s["kiosks"])
    kiosk = kiosk_sees(state)
    assert [s.id for s in kiosk.services] == ["ho-tich", "dat-dai", "tra-ket-qua"]
    # Another kiosk, not in the site's list, still offers every service.
    other = KioskModel(KioskConfig(device_id="kiosk-9", site="test"))
    other.apply_state(state)
    assert len(other.services) == 8

    # A service a kiosk offers cannot vanish from under it.
    site.ok(
        "PUT",
        "/api/v1/admin/kiosks/kiosk-1",
        json={"services": ["ho-tich", "dat-dai", "tra-ket-qua", "thue"]},
    )
    refused = site.req("DELETE", "/api/v1/admin/services/thue")
    assert refused.status_code == 409 and "kiosk-1" in refused.json()["error"]["message"]
    site.ok(
        "POST",
        "/api/v1/admin/kiosks",
        json={"id": "kiosk-2", "name": "Ki-ốt tầng 2", "services": ["xay-dung"]},
    )

    site.restart()
    kiosks = {k["id"]: k for k in site.ok("GET", "/api/v1/admin/kiosks")["kiosks"]}
    assert kiosks["kiosk-1"]["services"] == ["ho-tich", "dat-dai", "tra-ket-qua", "thue"]
    assert kiosks["kiosk-2"]["services"] == ["xay-dung"]
    queue = requests.get(site.base + "/api/v1/queue", timeout=15).json()
    assert queue["kiosks"]["kiosk-2"] == {"services": ["xay-dung"]}
    assert site.audit()[:4] == [
        ("kiosks", "kiosk-2", "create"),
        ("kiosks", "kiosk-1", "update"),
        ("kiosks", "kiosk-1", "update"),
        ("services", "thue", "create"),
    ]
    entry = site.ok("GET", "/api/v1/admin/audit")["entries"][2]
    assert entry["before"]["services"] == [] and entry["after"]["services"][0] == "ho-tich"


def test_the_result_return_counter_moves_live(site: Site) -> None:
    def desk(counter: str) -> int:
        return site.req("GET", f"/api/v1/results/counter/{counter}", user="admin").status_code

    assert (desk("6"), desk("2")) == (200, 404)  # counter 6 serves "Trả kết quả"
    # Only a counter that serves the result-return service can hand results over.
    message = site.refused(
        "PUT", "/api/v1/admin/settings/result_return", json={"service": "tra-ket-qua", "counters": ["2"]}
    )
    assert "do not serve" in message
    site.ok("PUT", "/api/v1/admin/counters/2", json={"services": ["dat-dai", "xay-dung", "tra-ket-qua"]})
    site.ok("PUT", "/api/v1/admin/settings/result_return", json={"service": "tra-ket-qua", "counters": ["2"]})
    assert (desk("6"), desk("2")) == (404, 200)

    site.restart()
    assert site.ok("GET", "/api/v1/admin/settings/result_return") == {
        "service": "tra-ket-qua",
        "counters": ["2"],
    }
    assert (desk("6"), desk("2")) == (404, 200)
    entries = site.ok("GET", "/api/v1/admin/audit")["entries"]
    assert (entries[0]["kind"], entries[0]["object_id"]) == ("settings", "result_return")
    assert entries[0]["before"]["counters"] == [] and entries[0]["after"]["counters"] == ["2"]
    assert entries[0]["username"] == "truongbp"


def test_the_printed_ticket_names_a_new_group_and_carries_the_new_footer(site: Site) -> None:
    site.ok("POST", "/api/v1/admin/priority_groups", json={"id": "veteran", "name": "Cựu chiến binh"})
    site.ok("PUT", "/api/v1/admin/settings/place", json={"ticket_footer": "Hẹn gặp lại!"})
    root = "motcua/v1/test"
    with Observer(site.broker_port, f"{root}/print/printer-1/jobs") as jobs:
        # A ready printer, as its daemon would announce it (retained state and health).
        jobs.publish(f"{root}/devices/printer-1/state", json.dumps({"online": True}).encode(), retain=True)
        health = {"online": True, "ready": True, "paper": "ok"}
        jobs.publish(f"{root}/devices/printer-1/health", json.dumps(health).encode(), retain=True)
        settings = MqttSettings(port=site.broker_port, reconnect_min=0.05)
        with Link(settings, site="test", device_id="kiosk-1", role="kiosk") as link:
            assert link.wait_connected(5)
            client = RpcClient(link, default_timeout=10)
            deadline = time.monotonic() + 10
            while True:  # the hub hears of the printer asynchronously
                reply = client.call("ticket.issue", {"service_id": "ho-tich", "priority_group": "veteran"})
                if reply["print"] == "queued" or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        assert reply["print"] == "queued"
        job = jobs.wait_for(lambda m: m.json()["ticket"]["id"] == reply["ticket"]["id"]).json()
    assert job["ticket"]["priority_group"] == "Cựu chiến binh"
    assert job["footer"] == "Hẹn gặp lại!"
