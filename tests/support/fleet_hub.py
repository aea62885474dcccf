"""The hub's side of device commands for daemon tests: the real hub.fleet.FleetRuntime sends the
commands exactly as the /devices page does, and reads the results back as the page shows them; an
independent observer sees the raw `devices/{id}/command_results`; `push_config` publishes a retained
configuration revision in the hub's format (also one the hub itself would refuse, as a hub of another
version or a bridge could)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.timeutil import iso, now
from hub.fleet.accounts import OpenBroker
from hub.fleet.runtime import FleetRuntime, SiteInfo
from hub.fleet.settings import FleetSettings
from hub.fleet.store import FleetStore

from .mqtt import Observer, wait_until

HUB_ID = "hub"


class FleetHub:
    """A hub link + FleetRuntime on the test broker; context manager."""

    def __init__(self, settings: MqttSettings, site: str, db_dir: Path) -> None:
        self.site = site
        self.link = Link(settings, site=site, device_id=HUB_ID, role="hub")
        self.fleet = FleetRuntime(
            self.link,
            FleetStore(db_dir / "fleet.db"),
            OpenBroker(),
            FleetSettings(watch_interval_s=60),
            SiteInfo(site=site, hub_id=HUB_ID, hub_mqtt=settings),
        )
        root = self.link.topics.root
        self.results = Observer(settings.port, f"{root}/devices/+/command_results")

    def __enter__(self) -> FleetHub:
        self.link.start()
        assert self.link.wait_connected(5)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.results.close()
        self.fleet.close()
        self.link.stop()

    def online(self, device_id: str) -> bool:
        return any(view.device_id == device_id and view.online for view in self.fleet.devices())

    def command(self, device_id: str, command: str, timeout: float = 10.0) -> dict[str, Any]:
        """Send `command` as the fleet page does; the raw result the device published."""
        wait_until(lambda: self.online(device_id), timeout)
        ident = self.fleet.send_command(device_id, command).ident
        assert ident is not None
        seen = self.results.wait_for(
            lambda s: s.topic.endswith(f"/{device_id}/command_results") and s.json().get("id") == ident,
            timeout,
        )
        result: dict[str, Any] = seen.json()
        # The fleet page shows the same outcome in its "last command" column.
        wait_until(lambda: self.last_command(device_id).get("status") in ("ok", "failed"), timeout)
        return result

    def last_command(self, device_id: str) -> dict[str, Any]:
        view = next((v for v in self.fleet.devices() if v.device_id == device_id), None)
        return dict(view.last_command or {}) if view is not None else {}

    def push_config(self, device_id: str, role: str, rev: int, sections: dict[str, Any]) -> None:
        """A retained `devices/{id}/config` revision in the shape of FleetRuntime.config_payload."""
        body = {
            "v": 1,
            "rev": rev,
            "ts": iso(now()),
            "device_id": device_id,
            "site": self.site,
            "role": role,
            "config": sections,
        }
        self.results.publish(
            self.link.topics.device_config(device_id), json.dumps(body, ensure_ascii=False), retain=True
        )
