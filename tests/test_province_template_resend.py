"""A template the province publishes while a site's hub is down (`kill -9`, then restarting) reaches
the site's broker with nobody to take it; when the hub is back the province sends it again, and the
hub applies it once and answers once: the province shows it applied, the citizen sees the holiday
(no number from the hub, the kiosk's lock screen naming it)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from werkzeug.security import generate_password_hash

from appliance.config import MqttSettings
from appliance.timeutil import SITE_TZ
from kiosk.config import KioskConfig
from kiosk.controller import KioskController
from province.brokers import BridgedSiteBroker, ProvinceBroker
from tests.support.hub import HubProcess, site_config, write_config
from tests.support.mqtt import Observer, wait_until
from tests.support.province import ADMIN_PASSWORD, ProvinceProcess, write_province_config

ADMIN = ("admin", ADMIN_PASSWORD)
PASSWORD = "mat-khau-thu-nghiem"
HUB_ADMIN = ("admin", PASSWORD)
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
TODAY = datetime.now(SITE_TZ).date()
HOLIDAY = [{"date": TODAY.isoformat(), "name": "Ngày hội tỉnh"}]


def _site(tmp: Path, port: int) -> dict[str, Any]:
    config = site_config(tmp, port, site="xa-a")
    for officer in config["officers"]:
        officer["password_hash"] = FAST_HASH
    # Open every minute of every day and strict about it: the holiday is the only closing.
    config["opening_hours"] = {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "periods": [{"start": "00:00", "end": "23:59"}],
        "refuse_tickets_outside": True,
    }
    return config


def _ticket(web: str) -> requests.Response:
    return requests.post(f"{web}/api/v1/tickets", json={"service_id": "ho-tich"}, timeout=10)


def test_a_template_sent_while_the_hub_is_down_is_applied_once_it_is_back(
    tmp_path: Path, province_dsn: str
) -> None:
    province_broker = ProvinceBroker(data_dir=tmp_path / "pb", persistence=True).start()
    broker = BridgedSiteBroker("xa-a", province_broker.port, data_dir=tmp_path / "xa-a" / "broker").start()
    province = ProvinceProcess(
        write_province_config(tmp_path / "province", mqtt_port=province_broker.port, dsn=province_dsn)
    ).start()
    config = _site(tmp_path, broker.port)
    path = write_config(tmp_path, config)
    hub = HubProcess(path, web=True).start()
    web = config["hub"]["public_url"]
    api = f"{province.url}/api/v1/province"
    # What travels on the site's own broker: the template in, the hub's answers out.
    watch = Observer(broker.port, "motcua/v1/xa-a/province/templates", "motcua/v1/xa-a/province/results")
    kiosk = KioskController(
        KioskConfig(
            device_id="kiosk-1",
            site="xa-a",
            mqtt=MqttSettings(port=broker.port, reconnect_min=0.05, reconnect_max=0.5),
            public_url=web,
        )
    )
    kiosk.start()
    try:
        assert _ticket(web).status_code == 201

        def known() -> bool:
            sites = requests.get(f"{api}/sites", auth=ADMIN, timeout=10).json()
            return [s["site"] for s in sites] == ["xa-a"]

        wait_until(known, timeout=30, interval=0.3)

        hub.kill()  # kill -9: no clean goodbye, whatever it was doing is gone
        sent = requests.post(
            f"{api}/templates",
            json={"kind": "holidays", "name": "Ngày lễ của tỉnh", "body": HOLIDAY},
            auth=ADMIN,
            timeout=10,
        )
        assert sent.status_code == 201, sent.text
        template_id = int(sent.json()["template_id"])

        def for_it(seen: Any) -> bool:
            return seen.topic.endswith("/templates") and seen.json().get("template_id") == template_id

        watch.wait_for(for_it, timeout=30)  # it reached the site while its hub was down
        rows = requests.get(f"{api}/templates", auth=ADMIN, timeout=10).json()
        assert [r["status"] for r in rows if r["template_id"] == template_id] == ["sent"]

        hub = HubProcess(path, web=True).start()

        def applied() -> bool:
            rows = requests.get(f"{api}/templates", auth=ADMIN, timeout=10).json()
            return [r["status"] for r in rows if r["template_id"] == template_id] == ["applied"]

        wait_until(applied, timeout=60, interval=0.3)
        closed = _ticket(web)
        assert closed.status_code != 201 and closed.json()["error"]["code"] == "service_closed"
        assert "Ngày hội tỉnh" in closed.json()["error"]["message"]
        locked = kiosk.wait_for(lambda view: view.overlay is not None and view.overlay.kind == "locked", 10)
        assert locked.overlay is not None
        assert locked.overlay.lines[0] == f"Hôm nay nghỉ lễ: {TODAY:%d/%m/%Y} Ngày hội tỉnh"
        # Applied and answered once: one record at the hub, one answer on the site's broker.
        page = requests.get(f"{web}/admin/province", auth=HUB_ADMIN, timeout=10).text
        assert page.count(f'data-template="{template_id}"') == 1
        assert f'data-template="{template_id}" data-status="applied"' in page
        answers = [m.json() for m in watch.messages if m.topic.endswith("/results")]
        assert [a["status"] for a in answers if a["template_id"] == template_id] == ["applied"]
    finally:
        kiosk.stop()
        watch.close()
        hub.stop()
        province.stop()
        broker.stop()
        province_broker.stop()
