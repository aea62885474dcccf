"""Two province services in the default "leader" mode against a real Mosquitto 2.0.11 and a real
PostgreSQL: one is active, the other stands by; the province broker restarts (which drops shared
subscriptions on this Mosquitto, not the active instance's plain ones) and the active instance is
killed with SIGKILL (the standby takes its MQTT session over). Every event published is stored,
exactly once, and nothing is ever stored by two instances at a time."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from province.brokers import BridgedSiteBroker, ProvinceBroker
from province.loadgen import SiteStream
from tests.support.mqtt import Observer, wait_until
from tests.support.province import ProvinceProcess, write_province_config

SITES = ("hn-bd", "hn-hk")
BATCH = 60  # events per site per phase


def _count(dsn: str, sql: str, *args: object) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(sql, args).fetchone()
        return int(row[0]) if row else 0


def _active(instance: ProvinceProcess) -> bool:
    return any(line.startswith("Province active") for line in instance.output)


def test_a_standby_takes_over_and_a_broker_restart_loses_nothing(tmp_path: Path, province_dsn: str) -> None:
    province_broker = ProvinceBroker(data_dir=tmp_path / "pb", persistence=True).start()
    site_brokers = [
        BridgedSiteBroker(site, province_broker.port, data_dir=tmp_path / site).start() for site in SITES
    ]
    instances = {
        name: ProvinceProcess(
            write_province_config(
                tmp_path / "province", mqtt_port=province_broker.port, dsn=province_dsn, client_id=name
            ),
            web=False,
        ).start()
        for name in ("province-a", "province-b")
    }
    publishers = [Observer(broker.port) for broker in site_brokers]
    streams = [SiteStream(site) for site in SITES]
    published = 0

    def stored() -> int:
        return _count(province_dsn, "SELECT count(*) FROM events")

    def publish_batch() -> None:
        nonlocal published
        for _ in range(BATCH):
            for publisher, stream in zip(publishers, streams, strict=True):
                publisher.publish(f"motcua/v1/{stream.site}/queue/events", json.dumps(next(stream.events(1))))
                published += 1

    try:
        wait_until(lambda: any(_active(i) for i in instances.values()), timeout=20, interval=0.2)
        active = [name for name, i in instances.items() if _active(i)]
        assert len(active) == 1, active
        leader = active[0]
        standby = next(name for name in instances if name != leader)
        wait_until(
            lambda: any(line.startswith("Province standby") for line in instances[standby].output), timeout=10
        )

        # The bridges may still be connecting: each site's first event is repeated until stored.
        for publisher, stream in zip(publishers, streams, strict=True):
            first = json.dumps(next(stream.events(1)))
            topic = f"motcua/v1/{stream.site}/queue/events"

            def arrived(publisher: Observer = publisher, topic: str = topic, first: str = first) -> bool:
                publisher.publish(topic, first)
                return (
                    _count(province_dsn, "SELECT count(*) FROM events WHERE site = %s", topic.split("/")[2])
                    == 1
                )

            wait_until(arrived, timeout=20, interval=0.3)
            published += 1
        publish_batch()
        wait_until(lambda: stored() == published, timeout=30, interval=0.2)
        # Only the active instance stored anything.
        assert _count(province_dsn, "SELECT count(*) FROM events WHERE received_by = %s", standby) == 0

        # The province broker restarts; the sites publish while it is down and right after.
        province_broker.stop()
        publish_batch()
        province_broker.restart()
        publish_batch()
        wait_until(lambda: stored() == published, timeout=60, interval=0.3)

        # The active instance dies without a goodbye; the standby takes over its session.
        instances[leader].kill()
        publish_batch()
        wait_until(lambda: _active(instances[standby]), timeout=30, interval=0.2)
        publish_batch()
        wait_until(lambda: stored() == published, timeout=60, interval=0.3)
        assert _count(province_dsn, "SELECT count(*) FROM events WHERE received_by = %s", standby) > 0

        # Exactly once, per site, and counted once.
        for stream in streams:
            assert (
                _count(province_dsn, "SELECT count(DISTINCT seq) FROM events WHERE site = %s", stream.site)
                == stream.seq
            )
            assert _count(province_dsn, "SELECT stored FROM sites WHERE site = %s", stream.site) == stream.seq
        assert stored() == published
    finally:
        for publisher in publishers:
            publisher.close()
        for instance in instances.values():
            instance.stop()
        for broker in site_brokers:
            broker.stop()
        province_broker.stop()
