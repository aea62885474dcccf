"""Shared fixtures: a real Mosquitto per test and MQTT settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings

# PostgreSQL for the province tests (tests/support/postgres.py).
pytest_plugins = ["tests.support.postgres"]


@pytest.fixture
def broker() -> Iterator[PrivateBroker]:
    """A fresh Mosquitto on a free port, stopped after the test."""
    with PrivateBroker() as running:
        yield running


@pytest.fixture
def mqtt_settings(broker: PrivateBroker) -> MqttSettings:
    """Settings for `broker` with short reconnect delays so restart tests finish quickly."""
    return MqttSettings(
        host="127.0.0.1", port=broker.port, keepalive=10, reconnect_min=0.05, reconnect_max=0.5
    )
