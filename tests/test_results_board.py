"""Results ready for collection, against the simulated central and a real hub (in-process, with a
real Mosquitto, SQLite and HTTP): the board follows central within one refresh and is published
retained; with central down it keeps the last list with its time; from the kiosk's ticket to the
return counter's "Đã trả kết quả", central hears of the handover exactly once."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.security import generate_password_hash

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient, RpcError
from hub.central import CentralRuntime, load_central_config
from hub.central.model import mask_name
from hub.central_sim import SimServer, SimState
from hub.daemon import Hub
from hub.site import HubConfig
from tests.support.hub import site_config
from tests.support.mqtt import Observer, wait_until

SITE = "test"
PASSWORD = "mat-khau-thu-nghiem"
REFRESH_S = 0.4
QUICK = {
    "retry_base_s": 0.05,
    "retry_max_s": 0.4,
    "breaker_failures": 3,
    "breaker_open_s": 0.2,
    "poll_interval_s": 0.2,
    "results_refresh_s": REFRESH_S,
}


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer(SimState(seed=7)).start()
    yield server
    server.stop()


def hub_config(tmp: Path, broker: PrivateBroker, sim: SimServer, **central: Any) -> HubConfig:
    config = site_config(tmp, broker.port, site=SITE)
    fast = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    for officer in config["officers"]:
        officer["password_hash"] = fast
    config["central"] = {"adapter": "opencps", "base_url": sim.url, **QUICK, **central}
    return HubConfig.model_validate(config)


@pytest.fixture
def hub(tmp_path: Path, broker: PrivateBroker, sim: SimServer) -> Iterator[Hub]:
    running = Hub(hub_config(tmp_path, broker, sim))
    running.start(web=True)
    yield running
    running.stop()


def board(hub: Hub) -> dict[str, Any]:
    payload = hub.central.results_payload()
    assert payload is not None
    return payload


def codes(payload: dict[str, Any]) -> list[str]:
    return [item["code"] for item in payload["items"]]


def sim_rows(sim: SimServer, status: str) -> list[dict[str, Any]]:
    return requests.get(f"{sim.url}/admin/dossiers", params={"status": status}, timeout=5).json()["data"]


def retained_board(broker: PrivateBroker) -> dict[str, Any]:
    with Observer(broker.port, f"motcua/v1/{SITE}/results/ready") as observer:
        return observer.wait_for(lambda seen: seen.retain).json()


def test_dossiers_becoming_ready_reach_the_board_within_one_refresh(
    hub: Hub, sim: SimServer, broker: PrivateBroker
) -> None:
    wait_until(lambda: board(hub)["fetched_at"] is not None, timeout=5)
    first = board(hub)
    assert sorted(codes(first)) == sorted(row["dossierNo"] for row in sim_rows(sim, "releasing"))
    assert not first["stale"]

    target = sim_rows(sim, "processing")[0]
    assert target["dossierNo"] not in codes(first)
    made = requests.post(f"{sim.url}/admin/ready", json={"code": target["dossierNo"]}, timeout=5).json()
    assert made == {"ready": [target["dossierNo"]]}
    wait_until(lambda: target["dossierNo"] in codes(board(hub)), timeout=REFRESH_S + 2.0)

    payload = board(hub)
    item = payload["items"][0]  # newest first
    assert item["code"] == target["dossierNo"]
    assert item["applicant_masked"] == mask_name(target["applicantName"])
    assert target["applicantName"] not in json.dumps(payload, ensure_ascii=False)
    assert item["ready_since"] >= payload["new_since"]  # highlighted as new
    assert item["uncollected_days"] == 0 and not item["overdue_collection"]
    # Older results are still there; results waiting a week or more are marked.
    assert any(i["overdue_collection"] and i["uncollected_days"] >= 7 for i in payload["items"])

    # Displays and TVs get it retained on MQTT, the same list, masked.
    wait_until(lambda: target["dossierNo"] in codes(retained_board(broker)), timeout=REFRESH_S + 2.0)
    published = retained_board(broker)
    assert published["v"] == 1 and set(published["items"][0]) >= {
        "code",
        "procedure",
        "applicant_masked",
        "ready_since",
        "uncollected_days",
        "overdue_collection",
    }
    # And the public JSON of the TV page.
    web = requests.get(f"{hub.web.url}/api/v1/results", timeout=5).json()
    assert target["dossierNo"] in codes(web)


def test_central_down_keeps_the_last_list_with_its_time(
    tmp_path: Path, broker: PrivateBroker, sim: SimServer
) -> None:
    config = hub_config(tmp_path, broker, sim)
    running = Hub(config)
    running.start(web=False)
    try:
        wait_until(lambda: board(running)["fetched_at"] is not None, timeout=5)
        before = board(running)
        sim.stop()  # central goes away
        wait_until(lambda: board(running)["stale"], timeout=REFRESH_S + 5)
        during = board(running)
        assert codes(during) == codes(before) and during["items"]
        assert during["fetched_at"] == before["fetched_at"]
        wait_until(lambda: retained_board(broker)["stale"], timeout=5)
        assert codes(retained_board(broker)) == codes(before)
    finally:
        running.stop()

    # A hub restarted during the outage still shows the list, stale, with the time it was fetched.
    restarted = CentralRuntime(load_central_config(config.central), db_path=tmp_path / "hub.db", site=SITE)
    try:
        assert restarted.results is not None
        assert not restarted.results.refresh()
        again = restarted.results_payload()
        assert again is not None
        assert again["stale"] and again["fetched_at"] == before["fetched_at"]
        assert codes(again) == codes(before)
    finally:
        restarted.stop()
    sim.start()
    assert restarted.results is not None


def test_the_webhook_adapter_lists_results_through_its_own_url(tmp_path: Path, sim: SimServer) -> None:
    runtime = CentralRuntime(
        load_central_config(
            {
                "adapter": "webhook",
                "base_url": f"{sim.url}/webhook/events",
                "webhook_secret": "a-webhook-secret-of-some-length",
                "results_url": f"{sim.url}/webhook/results",
                "deliver": False,
            }
        ),
        db_path=tmp_path / "hub.db",
        site=SITE,
    )
    try:
        assert runtime.results is not None and runtime.results.refresh()
        payload = runtime.results_payload()
        assert payload is not None
        assert sorted(codes(payload)) == sorted(row["dossierNo"] for row in sim_rows(sim, "releasing"))
    finally:
        runtime.stop()


@pytest.fixture
def kiosk(mqtt_settings: MqttSettings) -> Iterator[RpcClient]:
    with Link(mqtt_settings, site=SITE, device_id="kiosk-1", role="kiosk") as link:
        assert link.wait_connected(5)
        yield RpcClient(link, default_timeout=10)


def test_from_the_kiosk_to_the_return_counter_central_hears_once(
    hub: Hub, sim: SimServer, kiosk: RpcClient
) -> None:
    wait_until(lambda: board(hub)["fetched_at"] is not None, timeout=5)
    dossier = sim_rows(sim, "releasing")[0]
    code = dossier["dossierNo"]

    # The kiosk looks the dossier up (scanned receipt): ready, so it offers "Lấy số nhận kết quả".
    found = kiosk.call("dossier.lookup", {"code": code.lower(), "scanned": True})
    assert found["result_ready"] is True and found["result_service_id"] == "tra-ket-qua"
    # A code that is not a dossier code is refused before any ticket is issued.
    with pytest.raises(RpcError) as refused:
        kiosk.call("ticket.issue", {"service_id": "tra-ket-qua", "dossier_code": "xyz"})
    assert refused.value.code == "central_code_invalid"
    issued = kiosk.call(
        "ticket.issue", {"service_id": "tra-ket-qua", "dossier_code": found["code"]}, request_id="r-1"
    )
    again = kiosk.call(
        "ticket.issue", {"service_id": "tra-ket-qua", "dossier_code": found["code"]}, request_id="r-1"
    )
    assert issued["ticket"]["id"] == again["ticket"]["id"]  # a retried tap: one ticket, one link
    assert issued["dossier_code"] == code and issued["ticket"]["number"].startswith("T")

    # The officer of counter 6 (Trả kết quả) calls it; the console shows the dossier in full.
    api = requests.Session()
    api.auth = ("canbo5", PASSWORD)
    base = hub.web.url
    called = api.post(f"{base}/api/v1/counters/6/call-next", json={}, timeout=5).json()
    assert called["ticket"]["id"] == issued["ticket"]["id"]
    desk = api.get(f"{base}/api/v1/results/counter/6", timeout=5).json()
    assert desk["code"] == code and desk["returned"] is None
    assert desk["dossier"]["applicant_name"] == dossier["applicantName"]
    assert desk["dossier"]["status_label"] == "Đã xử lý xong" and desk["dossier"]["ready"]
    page = api.get(f"{base}/counter/6", timeout=5).text
    assert code in page and "Đã trả kết quả" in page

    # "Đã trả kết quả", pressed twice.
    first = api.post(f"{base}/api/v1/results/counter/6/returned", json={}, timeout=5).json()
    second = api.post(f"{base}/api/v1/results/counter/6/returned", json={}, timeout=5).json()
    assert first["fresh"] is True and second["fresh"] is False
    assert second["message"].startswith(f"Hồ sơ {code} đã được ghi nhận trả kết quả lúc")
    assert first["returned"]["returned_at"] == second["returned"]["returned_at"]

    assert hub.central.relay.drained(10)
    received = requests.get(f"{sim.url}/admin/received", timeout=5).json()["items"]
    returned = [r for r in received if r["kind"] == "returned"]
    assert len(returned) == 1, returned
    assert returned[0]["key"] == f"{SITE}:result-returned-{code}"
    assert returned[0]["data"]["codeNumber"] == issued["ticket"]["number"]
    assert returned[0]["data"]["actionUser"] == "canbo5"
    # Central closed the dossier; the board dropped it at once (not only at the next refresh).
    assert code not in codes(board(hub))
    assert sim.state.by_no[code.upper()]["dossierStatus"] == "done"
    lookup = kiosk.call("dossier.lookup", {"code": code})
    assert lookup["result_ready"] is False

    # The outbox holds exactly one row for it, delivered.
    with sqlite3.connect(hub.service.db_path) as db:
        rows = db.execute("SELECT delivered_at FROM outbox WHERE kind='result.returned'").fetchall()
    assert len(rows) == 1 and rows[0][0] is not None


def test_return_counter_refuses_what_it_cannot_hand_over(hub: Hub) -> None:
    api = requests.Session()
    api.auth = ("canbo5", PASSWORD)
    base = hub.web.url
    # Nobody called yet.
    nothing = api.post(f"{base}/api/v1/results/counter/6/returned", json={}, timeout=5)
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "result_no_ticket"
    # A plain result-return number without a dossier: the officer links it by typing the code.
    hub.service.call("ticket.issue", {"service_id": "tra-ket-qua"}, caller_id="web")
    api.post(f"{base}/api/v1/counters/6/call-next", json={}, timeout=5)
    unlinked = api.post(f"{base}/api/v1/results/counter/6/returned", json={}, timeout=5)
    assert unlinked.status_code == 409 and unlinked.json()["error"]["code"] == "result_not_linked"
    bad = api.post(f"{base}/api/v1/results/counter/6/link", json={"code": "abc"}, timeout=5)
    assert bad.status_code == 400
    # Counter 1 does not return results.
    other = requests.get(f"{base}/api/v1/results/counter/1", auth=("canbo1", PASSWORD), timeout=5)
    assert other.status_code == 404
