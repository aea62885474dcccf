"""A number called while the broker is down is announced once when the hall display resyncs
(issue 14.4), and only shown when the call is older than `announce.missed_max_age_s`.

Real Mosquitto restarted between the call and the display's reconnection, the hub process (calls made
over HTTP, which keeps working without the broker), the display service with its voice pack and a
recording speaker. Whether the hub's queued event or its retained queue/state reaches the display first
depends on timing; either way each call is said exactly once.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from queue_display.audio import WavFileSink
from queue_display.config import DisplayConfig
from queue_display.service import DisplayService
from queue_display.voicepack import VoicePack, build_pack, default_keys
from tests.support.hub import running_hub, site_config, write_config
from tests.support.mqtt import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs Debian espeak-ng and sox"
    ),
]
SITE = "resync"
PASSWORD = "mat-khau-thu-nghiem"
AUTH = "Basic " + base64.b64encode(f"canbo1:{PASSWORD}".encode()).decode()
MAX_AGE_S = 3.0


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> VoicePack:
    directory = tmp_path_factory.mktemp("voicepack")
    build_pack(directory, default_keys())
    return VoicePack.load(directory)


def post(base: str, path: str, body: dict[str, Any], *, auth: bool = False) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **({"Authorization": AUTH} if auth else {})}
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.fixture
def hub_url(broker: PrivateBroker, tmp_path: Path) -> Iterator[str]:
    config = site_config(tmp_path, broker.port, site=SITE)
    fast_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    for officer in config["officers"]:
        officer["password_hash"] = fast_hash
    with running_hub(write_config(tmp_path, config), web=True):
        yield f"http://127.0.0.1:{config['hub']['http_port']}"


def test_calls_made_while_the_broker_is_down_are_announced_once(
    broker: PrivateBroker, mqtt_settings: MqttSettings, hub_url: str, pack: VoicePack
) -> None:
    for _ in range(4):
        post(hub_url, "/api/v1/tickets", {"service_id": "dat-dai"})
    config = DisplayConfig.model_validate(
        {
            "device_id": "display-1",
            "site": SITE,
            "mqtt": mqtt_settings.model_dump(),
            "announce": {"repeats": 1, "missed_max_age_s": MAX_AGE_S},
            "audio": {"sink": "none"},
        }
    )
    sink = WavFileSink()
    with DisplayService(config, sink=sink, pack=pack) as display:

        def connected(up: bool) -> None:
            wait_until(lambda: display.store.snapshot(0).connected is up, timeout=15)

        def shown(number: str) -> None:
            wait_until(
                lambda: any(c.number == number for c in display.store.snapshot(display.clock()).counters),
                timeout=15,
            )

        connected(True)
        # With the broker up: the call comes as an event and is said once.
        first = post(hub_url, "/api/v1/counters/1/call-next", {}, auth=True)["ticket"]["number"]
        assert sink.wait_for(1, timeout=10)

        # Broker down; a call is made; the broker comes back (empty: no session, no queued event for
        # the display): the display learns the call from the hub's retained queue/state and says it.
        broker.stop()
        connected(False)
        missed = post(hub_url, "/api/v1/counters/1/call-next", {}, auth=True)["ticket"]["number"]
        broker.start()
        connected(True)
        shown(missed)
        assert sink.wait_for(2, timeout=15), "the call made while the broker was down was never announced"

        # Again, but the broker stays away longer than the limit: the call is shown, not said.
        broker.stop()
        connected(False)
        stale = post(hub_url, "/api/v1/counters/1/call-next", {}, auth=True)["ticket"]["number"]
        time.sleep(MAX_AGE_S + 1)
        broker.start()
        connected(True)
        shown(stale)
        time.sleep(1.5)  # any further announcement (a late event, a second state) would come now

    labels = [played.label for played in sink.played]
    assert labels == [f"{first}-1", f"{missed}-1"], labels
