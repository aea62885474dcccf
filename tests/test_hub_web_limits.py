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
        answers = [client.post("/api/v1/tickets", json={"service_id": "dat-dai"}).status_code for _ in range(4)]
        assert answers == [201, 201, 201, 429]
    finally:
        service.close()
