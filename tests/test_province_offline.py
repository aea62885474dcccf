"""A site offline for an hour, on a shortened clock: its line to the province drops without a word
(no FIN: tests.support.netcut), the site goes on working and queues an hour's events in its own
broker; the province shows it offline (within the minute the issue asks; here the bridge's
keep-alive is shortened to 2 s instead of the shipped 30 s, so it takes seconds), then, the line
back, drains the backlog: every event stored exactly once, the site online again with no backlog.
The figures at the shipped settings are in docs/benchmarks.md (bench.bench_province --offline)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import requests

from province.brokers import BridgedSiteBroker, ProvinceBroker
from province.loadgen import SiteStream
from tests.support.mqtt import Observer, wait_until
from tests.support.netcut import LinkCut
from tests.support.province import ADMIN_PASSWORD, ProvinceProcess, write_province_config

SITE = "xa-vung-cao"
# A busy hour: ~120 numbers, ~3.5 events each.
HOUR_OF_EVENTS = 420


def _stored(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(DISTINCT seq) FROM events WHERE site = %s", (SITE,)).fetchone()
        return int(row[0]) if row else 0


def test_a_site_offline_for_an_hour_is_shown_offline_then_drained(tmp_path: Path, province_dsn: str) -> None:
    province_broker = ProvinceBroker(data_dir=tmp_path / "pb", persistence=True).start()
    line = LinkCut(province_broker.port)
    site_broker = BridgedSiteBroker(SITE, line.port, data_dir=tmp_path / "site", keepalive_s=2).start()
    province = ProvinceProcess(
        write_province_config(tmp_path / "province", mqtt_port=province_broker.port, dsn=province_dsn)
    ).start()
    publisher = Observer(site_broker.port)
    stream = SiteStream(SITE)
    topic = f"motcua/v1/{SITE}/queue/events"

    def shown() -> dict[str, Any]:
        sites = requests.get(
            f"{province.url}/api/v1/province/sites", auth=("admin", ADMIN_PASSWORD), timeout=10
        ).json()
        return sites[0] if sites else {}

    try:
        first = json.dumps(next(stream.events(1)))

        def arrived() -> bool:
            publisher.publish(topic, first)
            return _stored(province_dsn) == 1

        wait_until(arrived, timeout=20, interval=0.3)
        for event in stream.events(50):
            publisher.publish(topic, json.dumps(event))
        wait_until(lambda: _stored(province_dsn) == stream.seq and shown().get("online") is True, timeout=20)
        before = stream.seq

        # The line drops; the site works on through its hour.
        line.cut()
        for event in stream.events(HOUR_OF_EVENTS):
            publisher.publish(topic, json.dumps(event))
        wait_until(lambda: shown().get("online") is False, timeout=60, interval=0.5)
        offline = shown()
        assert offline["link_since"] is not None and offline["events_stored"] == before

        # The line is back: the backlog drains, each event once.
        line.restore()
        wait_until(lambda: _stored(province_dsn) == stream.seq, timeout=60, interval=0.3)
        wait_until(lambda: shown().get("online") is True, timeout=30, interval=0.3)
        back = shown()
        assert (back["events_stored"], back["backlog"]) == (before + HOUR_OF_EVENTS, 0)
        with psycopg.connect(province_dsn) as conn:
            row = conn.execute("SELECT count(*) FROM events WHERE site = %s", (SITE,)).fetchone()
        assert row is not None and row[0] == stream.seq
    finally:
        publisher.close()
        province.stop()
        site_broker.stop()
        line.close()
        province_broker.stop()
