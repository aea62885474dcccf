"""Public ticket issuing over HTTP is limited per address (`[limits]` in the site TOML), with a clear
Vietnamese refusal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.service import QueueService
from hub.site import HubConfig, LimitSettings
from hub.web import create_app
from tests.support.hub import site_config

TICKETS_PER_ADDRESS = LimitSettings().public_tickets_per_address


@pytest.fixture
def service(tmp_path: Path) -> Iterator[QueueService]:
    running = QueueService(HubConfig.model_validate(site_config(tmp_path, 1883)), tmp_path / "hub.db")
    yield running
    running.close()


def test_one_address_cannot_empty_a_service(service: QueueService) -> None:
    client = create_app(service, broker_connected=lambda: True).test_client()
    numbers = []
    for _ in range(TICKETS_PER_ADDRESS):
        answer = client.post("/api/v1/tickets", json={"service_id": "dat-dai"})
        assert answer.status_code == 201
        numbers.append(answer.get_json()["number"])
    assert len(set(numbers)) == TICKETS_PER_ADDRESS
    refused = client.post(
        "/api/v1/tickets", json={"service_id": "dat-dai"}, headers={"Accept": "application/json"}
    )
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    error = refused.get_json()["error"]
    assert error["code"] == "too_many_tickets"
    assert "lấy số tại ki-ốt" in error["message"]
    # Nothing was issued for the refused request, and another address is not affected.
    assert service.snapshot()["services"][0]["waiting"] == TICKETS_PER_ADDRESS
    other = client.post(
        "/api/v1/tickets", json={"service_id": "dat-dai"}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other.status_code == 201


def test_the_limit_is_a_site_setting(tmp_path: Path) -> None:
    config = site_config(tmp_path, 1883, limits={"public_tickets_per_address": 3})
    service = QueueService(HubConfig.model_validate(config), tmp_path / "hub.db")
    try:
        client = create_app(service, broker_connected=lambda: True).test_client()
        body = {"service_id": "dat-dai"}
        answers = [client.post("/api/v1/tickets", json=body).status_code for _ in range(4)]
        assert answers == [201, 201, 201, 429]
    finally:
        service.close()


def test_a_service_out_of_numbers_says_so_at_the_kiosk_and_on_the_console(tmp_path: Path) -> None:
    import base64

    from werkzeug.security import generate_password_hash

    config = site_config(tmp_path, 1883)
    land = next(s for s in config["services"] if s["id"] == "dat-dai")
    land.update({"prefix": "", "first": 1001, "last": 1003})
    for officer in config["officers"]:
        officer["password_hash"] = generate_password_hash("mat-khau-thu-nghiem", method="pbkdf2:sha256:1000")
    service = QueueService(HubConfig.model_validate(config), tmp_path / "hub.db")
    try:
        client = create_app(service, broker_connected=lambda: True).test_client()
        auth = {"Authorization": "Basic " + base64.b64encode(b"canbo1:mat-khau-thu-nghiem").decode()}
        counter = next(c for c in config["counters"] if "dat-dai" in c["services"])["id"]
        client.post("/api/v1/tickets", json={"service_id": "dat-dai"})
        client.post("/api/v1/tickets", json={"service_id": "dat-dai"})
        low = client.get(f"/api/v1/counters/{counter}", headers=auth).get_json()["numbers"]
        assert [(w["service_id"], w["left"], w["level"]) for w in low] == [("dat-dai", 1, "warn")]
        client.post("/api/v1/tickets", json={"service_id": "dat-dai"})
        refused = client.post("/api/v1/tickets", json={"service_id": "dat-dai"})
        assert refused.status_code == 409
        assert refused.get_json()["error"]["code"] == "service_full"
        assert "đã hết số trong ngày" in refused.get_json()["error"]["message"]
        english = client.post("/api/v1/tickets?lang=en", json={"service_id": "dat-dai"}).get_json()
        assert "run out of numbers" in english["error"]["message"]
        page = client.get(f"/counter/{counter}?lang=vi", headers=auth).text
        assert "đã hết số trong ngày (khối 1001–1003)" in page
    finally:
        service.close()
