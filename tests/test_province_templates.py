"""A configuration template from the province, through the bridges to two real hubs: the hub whose
site takes the province's opening hours applies it live (it now refuses numbers outside them, as the
template says), the other keeps its own and refuses it; both answers, with the reason, are shown by
the province and logged by the hubs."""

from __future__ import annotations

from pathlib import Path

import requests

from appliance.broker import PrivateBroker
from province.brokers import BridgedSiteBroker, ProvinceBroker
from tests.support.hub import running_hub, site_config, write_config
from tests.support.mqtt import wait_until
from tests.support.province import ADMIN_PASSWORD, HEAD_PASSWORD, ProvinceProcess, write_province_config

ADMIN = ("admin", ADMIN_PASSWORD)
# Open one minute a week, and no numbers outside: a change every citizen at the kiosk would notice.
CLOSED_HOURS = {
    "days": ["sun"],
    "periods": [{"start": "00:00", "end": "00:01"}],
    "refuse_tickets_outside": True,
}


def _ticket(web: str) -> requests.Response:
    return requests.post(f"{web}/api/v1/tickets", json={"service_id": "dat-dai"}, timeout=10)


def test_a_template_applied_at_one_hub_and_refused_with_a_reason_at_another(
    tmp_path: Path, province_dsn: str
) -> None:
    province_broker: PrivateBroker = ProvinceBroker(data_dir=tmp_path / "pb", persistence=True).start()
    brokers = {
        site: BridgedSiteBroker(site, province_broker.port, data_dir=tmp_path / site / "broker").start()
        for site in ("xa-a", "xa-b")
    }
    province = ProvinceProcess(
        write_province_config(
            tmp_path / "province",
            mqtt_port=province_broker.port,
            dsn=province_dsn,
            heads={"truong-b": "xa-b"},
        )
    ).start()
    configs = {}
    for site, broker in brokers.items():
        (tmp_path / site).mkdir(exist_ok=True)
        configs[site] = site_config(tmp_path / site, broker.port, site=site)
    # Site B keeps its own opening hours (a commune's market-day hours, say).
    configs["xa-b"].setdefault("fleet", {})["province_templates"] = ["rating_criteria"]
    try:
        with (
            running_hub(write_config(tmp_path / "xa-a", configs["xa-a"]), web=True) as hub_a,
            running_hub(write_config(tmp_path / "xa-b", configs["xa-b"]), web=True) as hub_b,
        ):
            webs = {site: config["hub"]["public_url"] for site, config in configs.items()}
            assert province.url is not None
            api = f"{province.url}/api/v1/province"
            # Both sites known to the province (a number taken at each travels over its bridge).
            for web in webs.values():
                assert _ticket(web).status_code == 201

            def both_known() -> bool:
                sites = requests.get(f"{api}/sites", auth=ADMIN, timeout=10).json()
                return {s["site"] for s in sites} == {"xa-a", "xa-b"}

            wait_until(both_known, timeout=20, interval=0.3)

            # A site head may read, not publish.
            refused = requests.post(
                f"{api}/templates",
                json={"kind": "opening_hours", "body": CLOSED_HOURS},
                auth=("truong-b", HEAD_PASSWORD),
            )
            assert refused.status_code == 403
            sent = requests.post(
                f"{api}/templates",
                json={"kind": "opening_hours", "name": "Giờ làm việc 2026", "body": CLOSED_HOURS},
                auth=ADMIN,
                timeout=10,
            )
            assert sent.status_code == 201, sent.text
            template_id = sent.json()["template_id"]

            def answered() -> dict[str, dict]:
                rows = requests.get(f"{api}/templates", auth=ADMIN, timeout=10).json()
                return {
                    r["site"]: r for r in rows if r["template_id"] == template_id and r["status"] != "sent"
                }

            wait_until(lambda: len(answered()) == 2, timeout=20, interval=0.3)
            results = answered()
            assert results["xa-a"]["status"] == "applied" and results["xa-a"]["reason"] is None
            assert results["xa-b"]["status"] == "refused"
            assert results["xa-b"]["reason"] == (
                "Điểm một cửa này giữ cấu hình “opening_hours” riêng, không nhận mẫu của tỉnh."
            )
            assert "keeps its own" in results["xa-b"]["reason_en"]

            # Applied live at A: no numbers outside the template's hours; B issues as before.
            closed = _ticket(webs["xa-a"])
            assert closed.status_code != 201 and closed.json()["error"]["code"] == "service_closed"
            assert _ticket(webs["xa-b"]).status_code == 201
            # The hubs say so too.
            wait_until(
                lambda: any("template" in line and "refused" in line for line in hub_b.output), timeout=5
            )
            assert any("template" in line and "applied" in line for line in hub_a.output)

            # An invalid template is refused by the hub's own validation, with the detail.
            bad = requests.post(
                f"{api}/templates",
                json={"kind": "opening_hours", "body": {"days": ["someday"]}, "sites": ["xa-a"]},
                auth=ADMIN,
                timeout=10,
            ).json()

            def bad_answered() -> bool:
                rows = requests.get(f"{api}/templates", auth=ADMIN, timeout=10).json()
                return any(r["template_id"] == bad["template_id"] and r["status"] == "refused" for r in rows)

            wait_until(bad_answered, timeout=20, interval=0.3)
            # The site head of B sees their site's answers only.
            mine = requests.get(f"{api}/templates", auth=("truong-b", HEAD_PASSWORD), timeout=10).json()
            assert {r["site"] for r in mine} == {"xa-b"}
    finally:
        province.stop()
        for broker in brokers.values():
            broker.stop()
        province_broker.stop()
