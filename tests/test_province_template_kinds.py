"""Every other kind of province template — service catalogue, number formats, priority rules,
holidays — through real bridges to two real hubs and a real PostgreSQL: each is applied live at one
hub (the citizen or the head notices: a new service, new numbers, a holiday refusing numbers) and
refused at the other with a reason (its own numbers overlap, it issued numbers today, it keeps the
kind its own), shown on the province's page and on the hub's admin page. A locked field cannot be
changed at the site, an overridable one can and keeps the site's value when a new template comes;
all of it survives the hub's kill -9."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests
from werkzeug.security import generate_password_hash

from province.brokers import BridgedSiteBroker, ProvinceBroker
from tests.support.hub import HubProcess, site_config, write_config
from tests.support.mqtt import wait_until
from tests.support.province import ADMIN_PASSWORD, ProvinceProcess, write_province_config

ADMIN = ("admin", ADMIN_PASSWORD)
PASSWORD = "mat-khau-thu-nghiem"
HUB_ADMIN = ("admin", PASSWORD)
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

CATALOGUE = [
    {"id": "dat-dai", "name": "Đất đai – Nhà ở", "target_wait_minutes": 25},
    {"id": "bhxh", "name": "Bảo hiểm xã hội", "name_en": "Social insurance", "prefix": "B", "last": 999},
]
TODAY = date.today()
HOLIDAYS = [{"date": (TODAY + timedelta(days=d)).isoformat(), "name": "Ngày hội tỉnh"} for d in (-1, 0, 1)]


def _site(tmp: Path, site: str, port: int, accepted: list[str] | None) -> dict[str, Any]:
    config = site_config(tmp, port, site=site)
    for officer in config["officers"]:
        officer["password_hash"] = FAST_HASH
    # Open every minute of every day and strict about it: a holiday is the only closing.
    config["opening_hours"] = {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "periods": [{"start": "00:00", "end": "23:59"}],
        "refuse_tickets_outside": True,
    }
    config["limits"]["public_tickets_per_address"] = 100
    if accepted is not None:
        config.setdefault("fleet", {})["province_templates"] = accepted
    return config


def _ticket(web: str, service: str = "ho-tich") -> requests.Response:
    return requests.post(f"{web}/api/v1/tickets", json={"service_id": service}, timeout=10)


def test_each_kind_is_applied_at_one_hub_and_refused_with_a_reason_at_another(
    tmp_path: Path, province_dsn: str
) -> None:
    province_broker = ProvinceBroker(data_dir=tmp_path / "pb", persistence=True).start()
    brokers = {
        site: BridgedSiteBroker(site, province_broker.port, data_dir=tmp_path / site / "broker").start()
        for site in ("xa-a", "xa-b")
    }
    province = ProvinceProcess(
        write_province_config(tmp_path / "province", mqtt_port=province_broker.port, dsn=province_dsn)
    ).start()
    for site in brokers:
        (tmp_path / site).mkdir(exist_ok=True)
    config_a = _site(tmp_path / "xa-a", "xa-a", brokers["xa-a"].port, None)
    # Site B keeps its own priority rules and opening hours (holidays with them), and has a service
    # of its own numbered B1–B999.
    config_b = _site(tmp_path / "xa-b", "xa-b", brokers["xa-b"].port, ["service_catalogue", "number_formats"])
    config_b["services"].append({"id": "thue", "name": "Thuế", "prefix": "B", "first": 1, "last": 999})
    path_a = write_config(tmp_path / "xa-a", config_a)
    hub_a = HubProcess(path_a, web=True).start()
    hub_b = HubProcess(write_config(tmp_path / "xa-b", config_b), web=True).start()
    web_a, web_b = config_a["hub"]["public_url"], config_b["hub"]["public_url"]
    api = f"{province.url}/api/v1/province"
    try:
        # Both sites known to the province; B has issued a Đất đai number today, A has not.
        assert _ticket(web_a).status_code == 201
        assert _ticket(web_b, "dat-dai").status_code == 201

        def both_known() -> bool:
            sites = requests.get(f"{api}/sites", auth=ADMIN, timeout=10).json()
            return {s["site"] for s in sites} == {"xa-a", "xa-b"}

        wait_until(both_known, timeout=30, interval=0.3)

        def publish(kind: str, body: Any, overridable: list[str] | None = None) -> int:
            sent = requests.post(
                f"{api}/templates",
                json={"kind": kind, "name": f"Mẫu {kind}", "body": body, "overridable": overridable or []},
                auth=ADMIN,
                timeout=10,
            )
            assert sent.status_code == 201, sent.text
            return int(sent.json()["template_id"])

        def answers(template_id: int) -> dict[str, dict[str, Any]]:
            found: dict[str, dict[str, Any]] = {}

            def answered() -> bool:
                rows = requests.get(f"{api}/templates", auth=ADMIN, timeout=10).json()
                found.clear()
                found.update(
                    {r["site"]: r for r in rows if r["template_id"] == template_id and r["status"] != "sent"}
                )
                return len(found) == 2

            wait_until(answered, timeout=30, interval=0.3)
            assert found["xa-a"]["status"] == "applied" and found["xa-a"]["reason"] is None
            assert found["xa-b"]["status"] == "refused"
            return found

        # Service catalogue: A gets the province's names and a new service; at B the new service's
        # numbers would overlap B's own service "thue".
        catalogue = publish("service_catalogue", CATALOGUE, ["target_wait_minutes"])
        refused = answers(catalogue)["xa-b"]
        assert "have overlapping numbers" in refused["reason_en"], refused
        assert refused["reason"].startswith("Mẫu cấu hình của tỉnh không hợp với cấu hình của điểm này")
        queue_a = requests.get(f"{web_a}/api/v1/queue", timeout=10).json()
        names = {s["id"]: s["name"] for s in queue_a["services"]}
        assert names["dat-dai"] == "Đất đai – Nhà ở" and names["bhxh"] == "Bảo hiểm xã hội"

        # Number formats: A's Đất đai numbers become D001…; B issued Đất đai numbers today.
        formats = publish("number_formats", {"dat-dai": {"prefix": "D", "first": 1, "last": 999}})
        refused = answers(formats)["xa-b"]
        assert "Service Đất đai issued numbers today" in refused["reason_en"], refused
        assert refused["reason"].startswith("Lĩnh vực Đất đai đã cấp số hôm nay")
        issued = _ticket(web_a, "dat-dai")
        assert issued.status_code == 201 and issued.json()["number"] == "D001", issued.text

        # Priority rules: interleave everywhere at A (every-N overridable); B keeps its own.
        rules = publish(
            "priority_rules",
            {"*": {"priority_rule": "interleave", "interleave_every": 2}},
            ["interleave_every"],
        )
        refused = answers(rules)["xa-b"]
        assert "keeps its own “priority_rules”" in refused["reason_en"]
        services_a = requests.get(f"{web_a}/api/v1/admin/services", auth=HUB_ADMIN, timeout=10).json()
        assert {s["priority_rule"] for s in services_a["services"]} == {"interleave"}

        # Holidays: A is closed today (and refuses numbers); B keeps its own calendar.
        holidays = publish("holidays", HOLIDAYS)
        refused = answers(holidays)["xa-b"]
        assert refused["reason"] == "Điểm một cửa này giữ cấu hình “holidays” riêng, không nhận mẫu của tỉnh."
        closed = _ticket(web_a)
        assert closed.status_code != 201 and closed.json()["error"]["code"] == "service_closed"
        assert "Ngày hội tỉnh" in closed.json()["error"]["message"]
        assert _ticket(web_b).status_code == 201

        # The province's page shows the outcomes with the reasons.
        page = requests.get(f"{province.url}/province/templates", auth=ADMIN, timeout=10)
        assert page.status_code == 200
        assert "Bị từ chối" in page.text and "đã cấp số hôm nay" in page.text

        # Locked and overridable at the site: the province's name stays, the target wait is the site's.
        def edit(body: dict[str, Any]) -> requests.Response:
            return requests.put(
                f"{web_a}/api/v1/admin/services/dat-dai", json=body, auth=HUB_ADMIN, timeout=10
            )

        locked = edit({"name": "Đất đai (xã đặt)"})
        assert locked.status_code >= 400
        assert "services/dat-dai/name" in locked.json()["error"]["message"]
        assert "Mẫu service_catalogue" in locked.json()["error"]["message"]
        assert edit({"target_wait_minutes": 40}).status_code == 200
        assert edit({"interleave_every": 4}).status_code == 200

        # kill -9 of hub A: everything applied, its locks and the hub's record of templates survive.
        hub_a.kill()
        hub_a = HubProcess(path_a, web=True).start()
        closed = _ticket(web_a)
        assert closed.status_code != 201 and closed.json()["error"]["code"] == "service_closed"
        assert edit({"name": "Đất đai (xã đặt)"}).status_code >= 400
        admin_page = requests.get(f"{web_a}/admin/province", auth=HUB_ADMIN, timeout=10)
        assert admin_page.status_code == 200
        for template_id in (catalogue, formats, rules, holidays):
            assert f'data-template="{template_id}" data-status="applied"' in admin_page.text
        admin_b = requests.get(f"{web_b}/admin/province", auth=HUB_ADMIN, timeout=10)
        assert f'data-template="{formats}" data-status="refused"' in admin_b.text
        assert "đã cấp số hôm nay" in admin_b.text

        # A new catalogue: the locked name is the province's again, the site's own target wait stays.
        again = publish(
            "service_catalogue",
            [{"id": "dat-dai", "name": "Đất đai", "target_wait_minutes": 15}, CATALOGUE[1]],
            ["target_wait_minutes"],
        )
        answers(again)
        services_a = requests.get(f"{web_a}/api/v1/admin/services", auth=HUB_ADMIN, timeout=10).json()
        dat_dai = next(s for s in services_a["services"] if s["id"] == "dat-dai")
        assert (dat_dai["name"], dat_dai["target_wait_minutes"], dat_dai["interleave_every"]) == (
            "Đất đai",
            40,
            4,
        )
    finally:
        hub_a.stop()
        hub_b.stop()
        province.stop()
        for broker in brokers.values():
            broker.stop()
        province_broker.stop()
