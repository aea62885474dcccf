"""The province at scale: N site brokers bridged to one province broker, the province service
(`python -m province`, its own process) into a real PostgreSQL (issue 18).

    .venv/bin/python -m bench.bench_province [--sites 200] [--rate 1.2] [--seconds 60]
        [--outage 0] [--kill] [--offline 0] [--mode leader|shared]

Each site is a Mosquitto with the shipped bridge (province.brokers.BridgedSiteBroker); a load
generator (one MQTT client per site, in this process) publishes site-shaped `queue/events`
(province.loadgen) at `--rate` events/s per site with `ts` = now. A busy commune centre issues about
120 numbers in its peak hour, ~3.5 events each: 0.12 events/s; the default 1.2/s is ten times that.
Measured from PostgreSQL: ingest lag (received_at − ts) p50/p99, events/s stored, and bytes per
event → PostgreSQL size per site-year (a busy site: 1,400 events a day, 250 days). `--outage S`
stops the province broker S seconds mid-run; `--kill` kills the province service (SIGKILL) mid-run
and restarts it: the count at the end must equal what was published (exactly once). `--offline S`
cuts site s000's line S seconds (no FIN; shipped keep-alive and back-off) while an hour of its
events queues in its broker: when the province shows it offline, when its backlog is stored.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appliance.timeutil import now  # noqa: E402
from province.brokers import BridgedSiteBroker, ProvinceBroker  # noqa: E402
from province.loadgen import SiteStream  # noqa: E402
from province.postgres import PrivatePostgres  # noqa: E402
from tests.support.netcut import LinkCut  # noqa: E402
from tests.support.province import ProvinceProcess, write_province_config  # noqa: E402

EVENTS_PER_SITE_YEAR = 1400 * 250


def _count(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


class OfflineSite:
    """`--offline S`: site s000's line cut (no FIN) S seconds mid-run while an hour of its events (at
    `--rate`) queues in its broker. Shipped bridge settings: keep-alive 30 s, restart back-off 2–60 s.
    Measures when the province shows it offline and when its backlog is stored after the line is back."""

    def __init__(self, line: LinkCut, dsn: str, site: str, seconds: float) -> None:
        self.line, self.dsn, self.site, self.seconds = line, dsn, site, seconds
        self.cut_at = self.restored_at = 0.0
        self.offline_after: float | None = None

    def cut(self, client: Client, stream: SiteStream, events: int) -> None:
        self.cut_at = time.time()
        self.line.cut()
        for event in stream.events(events, now=now()):
            client.publish(f"motcua/v1/{self.site}/queue/events", json.dumps(event), qos=1)
        threading.Timer(self.seconds, self._restore).start()
        threading.Thread(target=self._watch, daemon=True).start()

    def _restore(self) -> None:
        self.restored_at = time.time()
        self.line.restore()

    def _link(self) -> tuple[bool | None, float | None, int, float | None]:
        with psycopg.connect(self.dsn) as conn:
            online, changed = conn.execute(
                "SELECT link_online, link_changed_at FROM sites WHERE site = %s", (self.site,)
            ).fetchone() or (None, None)
            stored, last = conn.execute(
                "SELECT count(*), max(received_at) FROM events WHERE site = %s", (self.site,)
            ).fetchone()
        return (
            online,
            changed.timestamp() if changed else None,
            int(stored),
            last.timestamp() if last else None,
        )

    def _watch(self) -> None:
        while self.offline_after is None and time.time() - self.cut_at < self.seconds + 120:
            online, changed, _, _ = self._link()
            if online is False and changed is not None and changed >= self.cut_at:
                self.offline_after = changed - self.cut_at
            time.sleep(0.2)

    def report(self, expected: int) -> None:
        deadline = time.time() + 300
        while time.time() < deadline:
            online, changed, stored, last = self._link()
            if stored >= expected and online and self.restored_at:
                break
            time.sleep(0.5)
        print(
            f"offline site {self.site}: line cut {self.seconds:.0f} s; shown offline after "
            f"{self.offline_after if self.offline_after is None else round(self.offline_after, 1)} s; "
            f"online again {round((changed or 0) - self.restored_at, 1)} s and backlog drained "
            f"{round((last or 0) - self.restored_at, 1)} s after the line was back; "
            f"stored {stored}/{expected}"
        )
        # The other sites' lag while the backlog drained: the figure the whole run's p99 dilutes.
        with psycopg.connect(self.dsn) as conn:
            n, p50, p99, worst = conn.execute(
                "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY lag),"
                " percentile_cont(0.99) WITHIN GROUP (ORDER BY lag), max(lag) FROM"
                " (SELECT extract(epoch FROM received_at - ts) AS lag FROM events WHERE site <> %s"
                " AND received_at BETWEEN to_timestamp(%s) AND to_timestamp(%s)) AS drain",
                (self.site, self.restored_at, last or self.restored_at),
            ).fetchone()
        if n:
            print(
                f"other sites while the backlog drained: {n} events, lag p50 {p50:.3f} s, "
                f"p99 {p99:.3f} s, max {worst:.3f} s"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--rate", type=float, default=1.2, help="events/s per site")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--outage", type=float, default=0, help="province broker down this long mid-run")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the province service mid-run")
    parser.add_argument(
        "--offline", type=float, default=0, help="site s000's line cut this long mid-run (no FIN)"
    )
    parser.add_argument(
        "--mode", choices=("leader", "shared"), default="leader", help="[mqtt] mode of the province service"
    )
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="motcua-bench-province-"))
    postgres = PrivatePostgres(folder / "pg").start()
    province_broker = ProvinceBroker(data_dir=folder / "pb", persistence=True).start()
    sites: list[BridgedSiteBroker] = []
    clients: list[Client] = []
    service = None
    published = 0
    try:
        service = ProvinceProcess(
            write_province_config(
                folder / "province",
                mqtt_port=province_broker.port,
                dsn=postgres.dsn,
                mode=args.mode,
            ),
            web=False,
        ).start()
        offline = None
        for index in range(args.sites):
            port = province_broker.port
            if index == 0 and args.offline:
                offline = OfflineSite(LinkCut(port), postgres.dsn, "s000", args.offline)
                port = offline.line.port
            site = BridgedSiteBroker(
                f"s{index:03d}",
                port,
                data_dir=folder / f"s{index:03d}",
                fast_restart=not (index == 0 and offline is not None),
            )
            sites.append(site.start())
        for site in sites:
            client = Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
            client.connect("127.0.0.1", site.port)
            client.loop_start()
            clients.append(client)
        streams = [SiteStream(site.site) for site in sites]
        time.sleep(3)  # bridges connect
        size_before = 0
        with psycopg.connect(postgres.dsn) as conn:
            size_before = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])
        interval = 1.0 / (args.rate * args.sites)
        started = time.monotonic()
        disturbance = started + args.seconds / 3
        disturbed = False
        next_at = started
        turn = 0
        while time.monotonic() - started < args.seconds:
            if not disturbed and time.monotonic() >= disturbance:
                disturbed = True
                if args.outage:
                    province_broker.stop()
                    threading.Timer(args.outage, province_broker.restart).start()
                if offline is not None:
                    hour = round(args.rate * 3600)
                    offline.cut(clients[0], streams[0], hour)
                    published += hour
                if args.kill:
                    service.kill()
                    service = ProvinceProcess(service.config_path, web=False).start()
            index = turn % len(sites)
            event = next(streams[index].events(1, now=now()))
            clients[index].publish(f"motcua/v1/{sites[index].site}/queue/events", json.dumps(event), qos=1)
            published += 1
            turn += 1
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        publishing_s = time.monotonic() - started
        if offline is not None:
            offline.report(streams[0].seq)
        deadline = time.monotonic() + 120 + args.outage
        while _count(postgres.dsn) < published and time.monotonic() < deadline:
            time.sleep(0.5)
        drained_s = time.monotonic() - started
        with psycopg.connect(postgres.dsn) as conn:
            stored, p50, p99, worst, first, last = conn.execute(
                # The lag of the sites that stayed online (an offline site's is its outage).
                "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM"
                " received_at - ts)) FILTER (WHERE site <> %(off)s),"
                " percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - ts))"
                " FILTER (WHERE site <> %(off)s),"
                " max(extract(epoch FROM received_at - ts)) FILTER (WHERE site <> %(off)s),"
                " min(received_at), max(received_at) FROM events",
                {"off": "s000" if offline is not None else ""},
            ).fetchone()
            size = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])
        per_event = (size - size_before) / max(1, stored)
        print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}")
        print(
            f"sites {args.sites}, rate {args.rate}/s per site, published {published} in {publishing_s:.1f} s"
        )
        print(f"stored {stored} (exactly once: {stored == published}), drained after {drained_s:.1f} s")
        span = (last - first).total_seconds() if first and last else 0
        print(f"events/s stored: {stored / max(span, 0.001):.0f} (over {span:.1f} s)")
        print(f"ingest lag p50 {p50:.3f} s, p99 {p99:.3f} s, max {worst:.3f} s")
        print(
            f"PostgreSQL: {per_event:.0f} bytes/event → {per_event * EVENTS_PER_SITE_YEAR / 1e6:.0f} MB per "
            f"site-year (1,400 events/day × 250 days)"
        )
        return 0 if stored == published else 1
    finally:
        for client in clients:
            client.loop_stop()
            client.disconnect()
        if service is not None:
            service.stop()
        for site in sites:
            site.stop()
        province_broker.stop()
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
