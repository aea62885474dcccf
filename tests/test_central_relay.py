"""The relay to central: every queue event and rating reaches central exactly once — through a
central outage (the simulator killed with SIGKILL mid-stream), a hub restart in the middle of it,
refusals, wrong credentials — with backoff and a circuit breaker in between.

Real parts: Mosquitto (fixture `broker`), the simulator as its own process with its journal, the
hub (a `python -m hub` process once hub/daemon.py wires attach_central, else the Hub in-process),
SQLite files, RPC over MQTT."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client import CollectorRegistry, generate_latest

from appliance.broker import PrivateBroker, find_free_port
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient
from hub.central import CentralRuntime, attach_central, load_central_config
from hub.central.metrics import CentralCollector
from hub.central_sim import SimServer, SimState
from hub.daemon import Hub
from hub.service import QueueService
from hub.site import HubConfig
from tests.support.hub import ROOT, HubProcess, site_config, write_config
from tests.support.mqtt import wait_until

SITE = "test"
SECRET = "a-webhook-secret-of-some-length"
SERVICES = ("dat-dai", "ho-tich", "chung-thuc", "xay-dung")
WIRED = "attach_central" in (ROOT / "hub" / "daemon.py").read_text(encoding="utf-8")
# Impatient settings so outages and recoveries fit in a test.
QUICK = {
    "retry_base_s": 0.05,
    "retry_max_s": 0.4,
    "breaker_failures": 3,
    "breaker_open_s": 0.2,
    "poll_interval_s": 0.2,
}


# ---------------------------------------------------------------------- the simulator as a process
class SimProcess:
    def __init__(self, port: int, journal: Path) -> None:
        self.port = port
        self.journal = journal
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SimProcess:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub.central_sim",
                "--port",
                str(self.port),
                "--journal",
                str(self.journal),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("Central simulator ready"), line + self.process.stdout.read()
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stats(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/admin/stats", timeout=5).json()

    def received(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.url}/admin/received?limit=100000", timeout=10).json()["items"]

    def faults(self, **faults: Any) -> None:
        requests.post(f"{self.url}/admin/faults", json=faults, timeout=5).raise_for_status()


# ---------------------------------------------------------------------- the hub, process or in-process
class HubUnderTest:
    """A real `python -m hub` once the daemon wires central; until then the same Hub object
    in-process with the outbox switched on and `attach_central` called as the daemon will."""

    def __init__(self, tmp: Path, config: dict[str, Any]) -> None:
        self.tmp = tmp
        self.config = config
        self.process: HubProcess | None = None
        self.hub: Hub | None = None
        self.central: CentralRuntime | None = None

    def start(self) -> HubUnderTest:
        if WIRED:
            self.process = HubProcess(write_config(self.tmp, self.config)).start()
        else:
            self.hub = Hub(HubConfig.model_validate(self.config))
            self.hub.service._outbox = True  # what the daemon does when [central] is configured
            self.hub.start(web=False)
            self.central = attach_central(self.hub)
        return self

    def crash(self) -> None:
        """kill -9 for the process; for the in-process hub, stop without draining anything."""
        if self.process is not None:
            self.process.kill()
        self.stop()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        if self.central is not None:
            self.central.stop()
            self.central = None
        if self.hub is not None:
            self.hub.stop()
            self.hub = None


@pytest.fixture
def kiosk(mqtt_settings: MqttSettings) -> Iterator[RpcClient]:
    with Link(mqtt_settings, site=SITE, device_id="kiosk-1", role="kiosk") as link:
        assert link.wait_connected(5)
        yield RpcClient(link, default_timeout=15)


def issue(client: RpcClient, first: int, last: int) -> None:
    """Tickets first..last-1, eight callers at a time (kiosks in a morning rush)."""

    def one(n: int) -> None:
        client.call("ticket.issue", {"service_id": SERVICES[n % len(SERVICES)]}, request_id=f"t-{n}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(first, last)))


def scrape(runtime: CentralRuntime) -> str:
    """The /metrics text the hub would serve for central."""
    registry = CollectorRegistry()
    registry.register(CentralCollector(runtime))
    return generate_latest(registry).decode()


def undelivered(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0])


# ---------------------------------------------------------------------- exactly once, through it all
@pytest.mark.slow
def test_exactly_once_through_a_central_kill_and_a_hub_restart(
    tmp_path: Path, broker: PrivateBroker, kiosk: RpcClient
) -> None:
    sim = SimProcess(find_free_port(), tmp_path / "central-journal.jsonl").start()
    central = {
        "adapter": "opencps",
        "base_url": sim.url,
        "agency_code": "000.00.16.H19",
        "cache_fresh_s": 0,
        **QUICK,
    }
    hub = HubUnderTest(tmp_path, site_config(tmp_path, broker.port, site=SITE, central=central)).start()
    try:
        processing = requests.get(f"{sim.url}/admin/dossiers?status=processing", timeout=5).json()
        code = processing["data"][0]["dossierNo"]
        assert kiosk.call("dossier.lookup", {"code": code})["stale"] is False
        wait_until(lambda: kiosk.call("procedure.search", {"query": "khai sinh"})["count"] > 0, timeout=10)

        sim.faults(latency_ms=5)  # deliveries lag behind the issues, so the kill lands mid-stream
        issue(kiosk, 0, 300)
        sim.kill()
        issue(kiosk, 300, 500)
        during = kiosk.call("dossier.lookup", {"code": code})
        assert during["stale"] is True and during["fetched_at"]
        search = kiosk.call("procedure.search", {"query": "dang ky khai sinh"})
        assert search["results"][0]["name"] == "Đăng ký khai sinh"  # the catalogue is local

        hub.crash()  # the hub dies in the middle of the outage, its backlog on disk only
        hub.start()
        issue(kiosk, 500, 1000)
        assert undelivered(tmp_path / "hub.db") > 0

        sim.start()  # central is back, with what it had acknowledged before the kill
        wait_until(lambda: sim.stats()["unique_keys"] >= 1000, timeout=40, interval=0.2)
        wait_until(lambda: undelivered(tmp_path / "hub.db") == 0, timeout=10, interval=0.1)
        received = sim.received()
        keys = [r["key"] for r in received]
        assert len(keys) == len(set(keys)) == 1000
        assert set(keys) == {f"{SITE}:event-{n}" for n in range(1, 1001)}
        numbers = {r["data"]["codeNumber"] for r in received}
        assert len(numbers) == 1000  # each ticket issued once, each event about a different ticket
        assert kiosk.call("dossier.lookup", {"code": code})["stale"] is False
    finally:
        hub.stop()
        sim.kill()


# ---------------------------------------------------------------------- the relay in detail
Factory = Callable[..., tuple[QueueService, CentralRuntime]]


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = SimServer(SimState(webhook_secret=SECRET)).start()
    yield server
    server.stop()


@pytest.fixture
def make_relay(tmp_path: Path, sim: SimServer) -> Iterator[Factory]:
    """A real QueueService writing its outbox and a CentralRuntime relaying it (no broker needed)."""
    made: list[tuple[QueueService, CentralRuntime]] = []

    def make(**overrides: Any) -> tuple[QueueService, CentralRuntime]:
        raw = site_config(tmp_path, 1883, site=SITE)
        config = HubConfig.model_validate(raw)
        service = QueueService(config, tmp_path / "hub.db", outbox=True)
        central_config = load_central_config(
            {"adapter": "opencps", "base_url": sim.url, **QUICK, **overrides}
        )
        runtime = CentralRuntime(central_config, db_path=service.db_path, site=SITE, rating_scale=3)
        service.add_commit_hook(runtime.on_commit)
        runtime.start()
        made.append((service, runtime))
        return service, runtime

    yield make
    for service, runtime in made:
        runtime.stop()
        service.close()


def test_breaker_spares_a_failing_central_and_the_backlog_drains_after(
    sim: SimServer, make_relay: Factory
) -> None:
    service, runtime = make_relay(breaker_open_s=0.5)
    assert runtime.relay is not None
    sim.state.faults.down = True
    for n in range(100):
        service.call("ticket.issue", {"service_id": SERVICES[n % 4]}, caller_id="kiosk-1")
    wait_until(lambda: runtime.relay is not None and runtime.relay.breaker.trips >= 1, timeout=5)
    time.sleep(1.0)  # an outage going on; not a speed assertion
    status = runtime.status()["relay"]
    assert status["backlog"] == 100 and status["oldest_age_s"] > 0.5
    scraped = scrape(runtime)
    assert "motcua_central_outbox_backlog 100.0" in scraped
    assert "motcua_central_relay_breaker_open 1.0" in scraped
    assert status["breaker"] in ("open", "half_open") and "503" in status["last_error"]
    # Three failures open the breaker; then one probe per (doubling) interval, not 100 requests.
    assert sim.state.requests["bookings"] <= 8
    sim.state.faults.down = False
    assert runtime.relay.drained(10)
    assert len(sim.state.received) == 100 and sim.state.duplicates == 0
    status = runtime.status()["relay"]
    assert status["backlog"] == 0 and status["oldest_age_s"] == 0 and status["breaker"] == "closed"
    scraped = scrape(runtime)
    assert "motcua_central_outbox_backlog 0.0" in scraped
    assert "motcua_central_outbox_oldest_age_seconds 0.0" in scraped
    assert "motcua_central_events_delivered_total 100.0" in scraped


def test_a_repeat_after_a_lost_acknowledgement_is_recognised_by_central(
    sim: SimServer, make_relay: Factory, tmp_path: Path
) -> None:
    service, runtime = make_relay()
    assert runtime.relay is not None
    for _ in range(20):
        service.call("ticket.issue", {"service_id": "ho-tich"}, caller_id="kiosk-1")
    assert runtime.relay.drained(10)
    runtime.stop()
    # The hub died after central acknowledged but before it wrote that down.
    with sqlite3.connect(tmp_path / "hub.db") as conn:
        conn.execute("UPDATE outbox SET delivered_at = NULL")
    _, again = make_relay()
    assert again.relay is not None and again.relay.drained(10)
    assert len(sim.state.received) == 20 and sim.state.duplicates == 20


def test_each_tickets_events_arrive_in_order_with_ratings_as_votings(
    sim: SimServer, make_relay: Factory
) -> None:
    service, runtime = make_relay(delivery_concurrency=8)
    assert runtime.relay is not None
    tickets = [
        service.call("ticket.issue", {"service_id": "ho-tich"}, caller_id="kiosk-1")["ticket"]
        for _ in range(6)
    ]
    for _ in tickets:
        service.call("counter.call_next", {"counter_id": "3"}, caller_id="counter-3")
        service.call("counter.complete", {"counter_id": "3"}, caller_id="counter-3")
    service.call("rating.submit", {"ticket_id": tickets[0]["id"], "score": 3}, caller_id="counter-3")
    service.call("rating.submit", {"ticket_id": tickets[1]["id"], "score": 1}, caller_id="counter-3")
    assert runtime.relay.drained(10)
    bookings: dict[str, list[str]] = defaultdict(list)
    votes = []
    for record in sim.state.received:
        if record["kind"] == "booking":
            bookings[record["data"]["classPK"]].append(record["data"]["eventType"])
        else:
            votes.append(record["data"])
    for ticket in tickets:
        assert bookings[ticket["id"]] == ["ticket.issued", "ticket.called", "ticket.completed"]
    assert sorted((v["classPK"], v["selected"]) for v in votes) == sorted(
        [(tickets[0]["id"], "3"), (tickets[1]["id"], "1")]
    )
    assert all(v["votingId"] == "counter-satisfaction" for v in votes)
    # Central never sees the token that opens a citizen's ticket page.
    assert not any(t["token"] in str(sim.state.received) for t in tickets)


def test_refused_events_are_parked_and_do_not_block_the_rest(sim: SimServer, make_relay: Factory) -> None:
    events = ["ticket.issued", "counter.closed"]
    service, runtime = make_relay(events=events)
    assert runtime.relay is not None
    service.call("ticket.issue", {"service_id": "dat-dai"}, caller_id="kiosk-1")
    service.call("counter.close", {"counter_id": "1"}, caller_id="counter-1")  # no ticket: central says 400
    service.call("counter.open", {"counter_id": "1"}, caller_id="counter-1")  # not forwarded at all
    service.call("ticket.issue", {"service_id": "dat-dai"}, caller_id="kiosk-1")
    assert runtime.relay.drained(10)
    assert [r["data"]["eventType"] for r in sim.state.received] == ["ticket.issued", "ticket.issued"]
    status = runtime.status()["relay"]
    assert status["dead_letters"] == 1 and "400" in status["last_error"]


def test_webhook_events_are_signed_and_a_wrong_secret_keeps_them_waiting(
    sim: SimServer, make_relay: Factory
) -> None:
    hook = {
        "adapter": "webhook",
        "base_url": f"{sim.url}/webhook/events",
        "webhook_secret": "not-the-right-secret",
    }
    service, runtime = make_relay(**hook)
    assert runtime.relay is not None
    for _ in range(5):
        service.call("ticket.issue", {"service_id": "ho-tich"}, caller_id="kiosk-1")
    wait_until(lambda: runtime.relay is not None and runtime.relay.failures >= 1, timeout=5)
    status = runtime.status()["relay"]
    assert sim.state.received == [] and "401" in status["last_error"]
    assert status["backlog"] == 5 and status["dead_letters"] == 0  # kept for when the secret is fixed
    runtime.stop()

    # The operator fixes the secret and restarts: everything waiting goes, signed, exactly once.
    _, fixed = make_relay(**{**hook, "webhook_secret": SECRET})
    assert fixed.relay is not None and fixed.relay.drained(10)
    envelopes = [r["data"] for r in sim.state.received]
    # Different tickets travel in parallel, so they may arrive in any order; each arrives once.
    assert sorted(e["id"] for e in envelopes) == [f"{SITE}:event-{n}" for n in range(1, 6)]
    assert all(e["kind"] == "ticket.issued" and e["site"] == SITE and e["data"]["ticket"] for e in envelopes)


def test_a_burst_of_calls_is_relayed_in_a_few_passes_not_one_per_commit(
    sim: SimServer, make_relay: Factory
) -> None:
    """A busy hub commits every few ms; the relay must not wake, query and post once per commit."""
    service, runtime = make_relay()
    relay = runtime.relay
    assert relay is not None and relay.drained(10)
    passes: list[float] = []
    look = relay._due_rows

    def counted() -> list[tuple[Any, ...]]:  # the real query, counted
        passes.append(time.monotonic())
        return look()

    relay._due_rows = counted  # type: ignore[method-assign]
    started = time.monotonic()
    for n in range(40):
        service.call("ticket.issue", {"service_id": SERVICES[n % 4]}, caller_id="kiosk-1")
        time.sleep(0.005)
    burst = time.monotonic() - started
    assert relay.drained(10)
    assert len(sim.state.received) == 40 and sim.state.duplicates == 0
    # A settle window of 50 ms gathers the commits: a look that delivers them and one that finds
    # nothing left, per window (the old relay looked twice per commit: 80 looks for 40 tickets).
    looks_in_burst = sum(1 for at in passes if at <= started + burst)
    assert looks_in_burst <= 2 * (burst / 0.05) + 3, (looks_in_burst, burst)


def test_a_counters_steady_calls_cost_one_look_per_pass_and_no_thread_hand_off(
    sim: SimServer, make_relay: Factory
) -> None:
    """A counter calling every 50 ms: each pass of the relay queries the outbox once (it used to
    look again to find nothing), and a central answering in a millisecond gets the events from the
    relay's own thread, not via a thread pool (a hand-off per event costs the hub's cores more
    than the request)."""
    service, runtime = make_relay(poll_interval_s=5.0)  # no idle looks in between
    relay = runtime.relay
    assert relay is not None and relay.drained(10)
    for _ in range(12):
        service.call("ticket.issue", {"service_id": "ho-tich"}, caller_id="kiosk-1")
    assert relay.drained(10)
    received, looks = len(sim.state.received), [0]
    look = relay._due_rows

    def counted() -> list[tuple[Any, ...]]:  # the real query, counted
        looks[0] += 1
        return look()

    relay._due_rows = counted  # type: ignore[method-assign]
    pool_threads = {t.name for t in threading.enumerate() if t.name.startswith("relay")}
    for _ in range(12):
        service.call("counter.call_next", {"counter_id": "3"}, caller_id="counter-3")
        time.sleep(0.05)
    wait_until(lambda: len(sim.state.received) >= received + 12 + 11, timeout=10)
    time.sleep(0.5)  # a last pass, if the relay wanted one
    # 12 calls in 0.6 s, a window of 0.2 s: a handful of passes, one look each (and no look
    # that finds nothing after a delivery).
    assert looks[0] <= 6, looks[0]
    assert len(sim.state.received) == received + 12 + 11 and sim.state.duplicates == 0
    assert {t.name for t in threading.enumerate() if t.name.startswith("relay")} == pool_threads


def test_the_relay_reuses_its_connections_to_central(sim: SimServer, make_relay: Factory) -> None:
    """A connection per event (a handshake and a server thread each) is what a busy hub cannot
    afford on its two cores: the relay keeps its few connections, and the simulator keeps them
    open as a real central does."""
    service, runtime = make_relay()
    relay = runtime.relay
    assert relay is not None and relay.drained(10)
    before = sim.connections
    for n in range(40):
        service.call("ticket.issue", {"service_id": SERVICES[n % 4]}, caller_id="kiosk-1")
        if n % 10 == 9:
            assert relay.drained(10)
    assert relay.drained(10)
    assert len(sim.state.received) == 40 and sim.state.duplicates == 0
    assert sim.connections - before <= runtime.config.delivery_concurrency, sim.connections - before
