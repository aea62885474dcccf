"""The province pages and API over real HTTP on a real PostgreSQL: every site live with the
contract's fields, a site head sees only their own site, reports across sites (JSON and xlsx), and
the fleet page with 4,000 devices stays responsive."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from openpyxl import load_workbook

from appliance.timeutil import now
from province.config import ProvinceConfig, parse
from province.loadgen import SiteStream
from province.store import Incoming, ProvinceStore
from province.web import ProvinceServer, serve
from tests.support.province import ADMIN_PASSWORD, HEAD_PASSWORD
from tests.support.province import write_province_config as _write

ADMIN = ("admin", ADMIN_PASSWORD)
HEAD = ("truong-q1", HEAD_PASSWORD)


@pytest.fixture
def province(tmp_path, province_dsn: str) -> Iterator[tuple[ProvinceStore, ProvinceServer]]:
    import tomllib

    path = _write(tmp_path, mqtt_port=1, dsn=province_dsn, heads={"truong-q1": "hcm-q1"})
    config: ProvinceConfig = parse(tomllib.loads(path.read_text(encoding="utf-8")))
    store = ProvinceStore(province_dsn)
    server = serve(config)
    try:
        yield store, server
    finally:
        server.shutdown()
        store.close()


def _site_day(store: ProvinceStore, site: str, events: int, *, live: bool = False) -> SiteStream:
    """`events` of a site's day from 08:00; `live`: from half an hour ago (never before midnight),
    so that the waiting tickets have waited whatever the time the test runs."""
    at = now()
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(midnight, at - timedelta(minutes=30)) if live else midnight.replace(hour=8)
    stream = SiteStream(site, day=start)
    store.ingest([Incoming("event", site, e) for e in stream.events(events)])
    return stream


def test_every_site_live_for_the_admin_and_only_their_own_for_a_site_head(province) -> None:
    store, server = province
    _site_day(store, "hcm-q1", 60, live=True)
    _site_day(store, "hcm-q3", 30, live=True)
    store.ingest(
        [
            Incoming("bridge", "hcm-q1", True),
            Incoming("bridge", "hcm-q3", False),  # the commune's link dropped
            Incoming("state", "hcm-q1", {"v": 1, "online": True, "role": "kiosk"}, "kiosk-1"),
            Incoming("state", "hcm-q1", {"v": 1, "online": False, "role": "printer"}, "printer-1"),
        ]
    )
    url = f"{server.url}/api/v1/province/sites"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, auth=("admin", "wrong"), timeout=10).status_code == 401

    sites = {s["site"]: s for s in requests.get(url, auth=ADMIN, timeout=10).json()}
    assert set(sites) == {"hcm-q1", "hcm-q3"}
    for site in sites.values():
        assert {"site", "online", "issued_today", "waiting", "devices_offline", "last_event_at"} <= set(site)
    q1, q3 = sites["hcm-q1"], sites["hcm-q3"]
    assert (q1["online"], q3["online"]) == (True, False)
    assert q1["devices_offline"] == 1 and q1["devices"] == 2
    assert q1["open_counters"] == 4
    with store.conn.cursor() as cursor:
        issued, waiting = (
            cursor.execute(
                "SELECT count(*) AS a, count(*) FILTER (WHERE status = 'waiting') AS b FROM tickets"
                " WHERE site = 'hcm-q1'"
            )
            .fetchone()
            .values()
        )
    assert (q1["issued_today"], q1["waiting"]) == (issued, waiting) and issued > 0
    assert q1["longest_wait_s"] > 0 if waiting else True
    assert q3["link_for_s"] is not None and q3["link_for_s"] < 60

    # A site head sees their own site only, pages and API alike, and cannot publish templates.
    mine = requests.get(url, auth=HEAD, timeout=10).json()
    assert [s["site"] for s in mine] == ["hcm-q1"]
    devices = requests.get(f"{server.url}/api/v1/province/devices", auth=HEAD, timeout=10).json()
    assert {d["site"] for d in devices} == {"hcm-q1"}
    page = requests.get(f"{server.url}/province", auth=HEAD, timeout=10)
    assert page.status_code == 200 and "trưởng bộ phận hcm-q1" in page.text


def test_a_site_not_yet_rolled_over_shows_its_own_service_day(province) -> None:
    """Between midnight and the site's `day_rollover` (03:00 in the sample) the site is still in
    yesterday's service day: the province shows that day's figures, not an empty calendar day."""
    store, _ = province
    yesterday_evening = now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=2)
    stream = SiteStream("hcm-q1", day=yesterday_evening)
    store.ingest([Incoming("event", "hcm-q1", e) for e in stream.events(40)])
    before_rollover = now().replace(hour=2, minute=38)  # the site's day is still yesterday's
    late_morning = now().replace(hour=10, minute=0)  # any site has rolled over by then
    (early,) = store.sites(before_rollover)
    (later,) = store.sites(late_morning)
    assert early["issued_today"] == stream._issued > 0
    assert later["issued_today"] == 0


def test_reports_across_sites_by_site_service_and_day_with_an_xlsx(province) -> None:
    store, server = province
    _site_day(store, "hcm-q1", 400)
    _site_day(store, "hcm-q3", 200)
    today = now().date()
    query = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    api = f"{server.url}/api/v1/province/reports"
    by_site = requests.get(api, params={**query, "by": "site"}, auth=ADMIN, timeout=10).json()
    assert [row["key"] for row in by_site] == ["hcm-q1", "hcm-q3"]
    assert all(row["issued"] > 0 and row["served"] > 0 and row["wait_p50_s"] is not None for row in by_site)
    by_service = requests.get(api, params={**query, "by": "service"}, auth=ADMIN, timeout=10).json()
    assert sum(r["issued"] for r in by_service) == sum(r["issued"] for r in by_site)
    by_day = requests.get(api, params={**query, "by": "day"}, auth=ADMIN, timeout=10).json()
    assert [r["key"] for r in by_day] == [today.isoformat()]
    # The site head's report is their site's only.
    head = requests.get(api, params={**query, "by": "site"}, auth=HEAD, timeout=10).json()
    assert [r["key"] for r in head] == ["hcm-q1"]

    xlsx = requests.get(api, params={**query, "by": "site", "format": "xlsx"}, auth=ADMIN, timeout=10)
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:3] == ("Điểm một cửa", "Số phiếu đã cấp", "Đã phục vụ")
    assert [(r[0], r[1]) for r in rows[2:]] == [(r["key"], r["issued"]) for r in by_site]

    page = requests.get(
        f"{server.url}/province/reports", params={**query, "by": "service"}, auth=ADMIN, timeout=10
    )
    assert page.status_code == 200 and "dat-dai" in page.text


def test_the_fleet_page_of_4000_devices_stays_responsive(province) -> None:
    store, server = province
    batch = []
    for site_index in range(200):
        site = f"xa-{site_index:03d}"
        for device_index in range(20):
            online = not (site_index % 10 == 0 and device_index == 0)
            body = {"v": 1, "online": online, "role": "kiosk" if device_index < 4 else "led"}
            batch.append(Incoming("state", site, body, f"dev-{device_index:02d}"))
    store.ingest(batch)
    started = time.monotonic()
    page = requests.get(f"{server.url}/province/fleet", auth=ADMIN, timeout=10)
    elapsed = time.monotonic() - started
    assert page.status_code == 200 and "4000 thiết bị, 20 mất kết nối" in page.text
    assert elapsed < 1.5, f"the fleet page took {elapsed:.2f} s"
    offline = requests.get(f"{server.url}/province/fleet?status=offline", auth=ADMIN, timeout=10).text
    assert "20 thiết bị, 20 mất kết nối" in offline and "xa-190" in offline
    sites = requests.get(f"{server.url}/api/v1/province/sites", auth=ADMIN, timeout=10).json()
    assert len(sites) == 200 and sum(s["devices_offline"] for s in sites) == 20
