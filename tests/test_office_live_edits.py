"""What the head and the officers change while the office runs, on a real hub process (issue 15):

- why a citizen was called out of turn ("gọi trước vì ưu tiên", the 1-priority-after-N rule, "gọi
  theo số") is still on the officer's console after the hub is killed with SIGKILL;
- the reports name a priority group the head added by the name she gave it;
- a kiosk the head adds gets its printer's readiness (retained `devices/{kiosk}/printer`) at once,
  and loses it when its printer is taken away — no hub restart;
- a result-return service set up live, on a site that had none at start, opens the result desk at
  its counter: a result is handed over there, and still is after a restart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.admin_site import AdminSite
from tests.support.hub import site_config
from tests.support.mqtt import Observer

ROOT = "motcua/v1/test"
CODE = "000.00.06.H56-231027-0361"


class Site(AdminSite):
    def act(self, counter: str, action: str, **body: Any) -> dict[str, Any]:
        return dict(self.ok("POST", f"/api/v1/counters/{counter}/{action}", user="admin", json=body))

    def issue(self, service_id: str, **body: Any) -> str:
        response = requests.post(
            self.base + "/api/v1/tickets", json={"service_id": service_id, **body}, timeout=15
        )
        assert response.status_code == 201, response.text
        return str(response.json()["number"])

    def serving(self, counter: str) -> dict[str, Any]:
        view = self.ok("GET", f"/api/v1/counters/{counter}", user="admin")
        assert view["serving"] is not None
        return dict(view["serving"])


@pytest.fixture
def make_site(tmp_path: Path, broker: Any) -> Iterator[Any]:
    started: list[Site] = []

    def make(**changes: Any) -> Site:
        config = site_config(tmp_path, broker.port, central={"adapter": "none"})
        for change in changes.values():
            change(config)
        site = Site(tmp_path, broker.port, config)
        site.start()
        started.append(site)
        return site

    yield make
    for site in started:
        site.stop()


def interleave_ho_tich(config: dict[str, Any]) -> None:
    for service in config["services"]:
        if service["id"] == "ho-tich":
            service.update(priority_rule="interleave", interleave_every=2)


def test_why_a_ticket_jumped_the_queue_survives_kill_9(make_site: Any) -> None:
    site = make_site(rule=interleave_ho_tich)
    first, second = site.issue("dat-dai"), site.issue("dat-dai")
    elderly = site.issue("dat-dai", priority_group="elderly")
    h1, _h2 = site.issue("ho-tich"), site.issue("ho-tich")
    site.issue("ho-tich", priority_group="disabled")
    for counter in ("1", "2", "3"):
        site.act(counter, "open")
    # Counter 1 (strict): the elderly citizen jumps the two who came first.
    assert site.act("1", "call-next")["ticket"]["number"] == elderly
    # Counter 2: the citizen who stepped out and came back is called by number.
    assert site.act("2", "call-number", number=second)["ticket"]["number"] == second
    # Counter 3 (1 priority after 2 ordinary): an ordinary citizen goes first while a priority waits.
    assert site.act("3", "call-next")["ticket"]["number"] == h1

    site.kill_and_start()

    reasons = {c: site.serving(c)["call_reason"] for c in ("1", "2", "3")}
    assert reasons == {"1": "priority", "2": "number", "3": "interleave"}
    assert site.serving("1")["priority_group"] == "elderly"
    # The displays' retained state carries it too (the console of another officer reads that).
    with Observer(site.broker_port, f"{ROOT}/queue/state") as observer:
        state = observer.wait_for(lambda m: m.retain).json()
    shown = {c["id"]: (c["serving"] or {}).get("call_reason") for c in state["counters"]}
    assert (shown["1"], shown["2"], shown["3"]) == ("priority", "number", "interleave")
    # The next call in issue order has no reason to show: the old one does not stick.
    assert site.act("1", "call-next")["ticket"]["number"] == first
    site.kill_and_start()
    assert site.serving("1")["number"] == first and site.serving("1")["call_reason"] is None


def test_reports_name_a_priority_group_the_head_added(make_site: Any) -> None:
    site = make_site()
    site.ok(
        "POST",
        "/api/v1/admin/priority_groups",
        json={"id": "veteran", "name": "Cựu chiến binh", "name_en": "Veteran", "position": 0},
    )
    site.issue("dat-dai", priority_group="veteran")
    site.issue("dat-dai", priority_group="elderly")
    site.act("1", "open")
    site.act("1", "call-next")
    today = date.today().isoformat()
    query = f"/api/v1/reports?from={today}&to={today}&by=service"
    groups = site.ok("GET", query)["priority_groups"]
    # By the head's name, in her order (the added group first), never by its id.
    assert [(g["group"], g["name"]) for g in groups] == [
        ("veteran", "Cựu chiến binh"),
        ("elderly", "Người cao tuổi"),
    ]
    english = site.ok("GET", query + "&lang=en")["priority_groups"]
    assert english[0]["name"] == "Veteran"
    page = site.req("GET", f"/reports?from={today}&to={today}&by=service").text
    assert "Cựu chiến binh" in page
    # Renamed later: the report follows the live name.
    site.ok("PUT", "/api/v1/admin/priority_groups/veteran", json={"name": "Người có công"})
    assert site.ok("GET", query)["priority_groups"][0]["name"] == "Người có công"


def test_a_kiosk_added_live_hears_of_its_printer(make_site: Any) -> None:
    site = make_site()
    topic = f"{ROOT}/devices/+/printer"
    with Observer(site.broker_port, topic) as observer:
        # A ready printer, as its daemon announces it (retained state and health).
        observer.publish(
            f"{ROOT}/devices/printer-7/state", json.dumps({"online": True}).encode(), retain=True
        )
        health = {"online": True, "ready": True, "paper": "ok"}
        observer.publish(f"{ROOT}/devices/printer-7/health", json.dumps(health).encode(), retain=True)

        def word(kiosk: str, after: int) -> dict[str, Any]:
            seen = observer.wait_for(lambda m: m.topic == f"{ROOT}/devices/{kiosk}/printer", after=after)
            return dict(seen.json()) if seen.payload else {}

        seen = len(observer.messages)
        site.ok(
            "POST",
            "/api/v1/admin/kiosks",
            json={"id": "kiosk-7", "name": "Ki-ốt tầng 2", "printer": "printer-7"},
        )
        told = word("kiosk-7", seen)
        assert (told["printer"], told["ready"], told["reason"]) == ("printer-7", True, "ok")

        # A kiosk whose printer was never heard of is told its printer is offline.
        seen = len(observer.messages)
        site.ok("POST", "/api/v1/admin/kiosks", json={"id": "kiosk-8", "printer": "printer-8"})
        told = word("kiosk-8", seen)
        assert (told["printer"], told["ready"], told["reason"]) == ("printer-8", False, "offline")

        # Moved to another printer: the kiosk hears of that one.
        seen = len(observer.messages)
        site.ok("PUT", "/api/v1/admin/kiosks/kiosk-7", json={"printer": "printer-8"})
        assert word("kiosk-7", seen)["reason"] == "offline"

        # That printer comes online: both kiosks added live hear of it, as the TOML's kiosks do.
        seen = len(observer.messages)
        observer.publish(
            f"{ROOT}/devices/printer-8/state", json.dumps({"online": True}).encode(), retain=True
        )
        observer.publish(f"{ROOT}/devices/printer-8/health", json.dumps(health).encode(), retain=True)
        for kiosk in ("kiosk-7", "kiosk-8"):
            observer.wait_for(
                lambda m, k=kiosk: m.topic.endswith(f"/{k}/printer") and m.json()["ready"] is True, after=seen
            )

        # The printer taken away: the retained word is cleared (the kiosk then prints nothing).
        seen = len(observer.messages)
        site.ok("PUT", "/api/v1/admin/kiosks/kiosk-8", json={"printer": None})
        assert word("kiosk-8", seen) == {}

    # What a kiosk starting now reads, retained.
    with Observer(site.broker_port, f"{ROOT}/devices/kiosk-7/printer") as late:
        told = late.wait_for(lambda m: m.retain).json()
        assert (told["printer"], told["ready"]) == ("printer-8", True)


def without_result_return(config: dict[str, Any]) -> None:
    config["services"] = [s for s in config["services"] if s["id"] != "tra-ket-qua"]
    for counter in config["counters"]:
        counter["services"] = [s for s in counter["services"] if s != "tra-ket-qua"]
    config.pop("result_return", None)


def test_a_result_desk_opens_when_the_head_sets_up_result_return_live(make_site: Any) -> None:
    site = make_site(plain=without_result_return)

    def desk(counter: str) -> requests.Response:
        return site.req("GET", f"/api/v1/results/counter/{counter}", user="canbo5")

    assert desk("6").status_code == 404  # no service returns results yet
    site.ok(
        "POST",
        "/api/v1/admin/services",
        json={"id": "nhan-ket-qua", "name": "Nhận kết quả", "prefix": "K", "first": 1, "last": 999},
    )
    site.ok("PUT", "/api/v1/admin/counters/6", json={"services": ["nhan-ket-qua", "ho-tich"]})
    site.ok(
        "PUT", "/api/v1/admin/settings/result_return", json={"service": "nhan-ket-qua", "counters": ["6"]}
    )
    assert desk("6").status_code == 200 and desk("6").json()["service_id"] == "nhan-ket-qua"

    # A citizen comes for a result: called, linked to the dossier, handed over.
    number = site.issue("nhan-ket-qua")
    site.act("6", "open")
    assert site.act("6", "call-next")["ticket"]["number"] == number
    linked = site.ok("POST", "/api/v1/results/counter/6/link", user="canbo5", json={"code": CODE})
    assert linked["dossier_code"] == CODE
    returned = site.ok("POST", "/api/v1/results/counter/6/returned", user="canbo5", json={})
    assert returned["fresh"] is True and returned["returned"]["dossier_code"] == CODE

    site.restart()
    view = desk("6").json()
    assert view["service_id"] == "nhan-ket-qua" and view["code"] == CODE
    assert view["returned"]["ticket_number"] == number
    again = site.ok("POST", "/api/v1/results/counter/6/returned", user="canbo5", json={})
    assert again["fresh"] is False  # handed over once, whatever the restarts
