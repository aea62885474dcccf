"""The printer daemon end to end: a real Mosquitto, the daemon, a fake network printer on TCP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_printer import FakeNetworkPrinter, same_picture
from support.mqtt import Observer, Seen
from support.print_jobs import ticket_job

from appliance.config import MqttSettings
from appliance.topics import Topics
from ticket_printer.config import PrinterConfig
from ticket_printer.daemon import DB_NAME, PrinterDaemon
from ticket_printer.documents import render_job
from ticket_printer.jobs import parse_job
from ticket_printer.layout import paper_for
from ticket_printer.store import JobStore

SITE, DEVICE = "test-site", "printer-1"
TOPICS = Topics(SITE)
JOBS, RESULTS, HEALTH = TOPICS.print_jobs(DEVICE), TOPICS.print_results(DEVICE), TOPICS.device_health(DEVICE)


def make_config(mqtt: MqttSettings, state_dir: Path, port: int, **jobs: Any) -> PrinterConfig:
    return PrinterConfig.model_validate(
        {
            "device_id": DEVICE,
            "site": SITE,
            "role": "printer",
            "mqtt": mqtt.model_dump(),
            "state_dir": str(state_dir),
            "printer": {
                "dots": 576,
                "backend": {"type": "network", "host": "127.0.0.1", "port": port, "timeout": 0.5},
            },
            "jobs": {"deadline_s": 30, "status_interval_s": 0.2, **jobs},
        }
    )


@pytest.fixture
def fake() -> Iterator[FakeNetworkPrinter]:
    with FakeNetworkPrinter() as printer:
        yield printer


@pytest.fixture
def observer(broker) -> Iterator[Observer]:
    with Observer(broker.port, RESULTS, HEALTH) as seen:
        yield seen


def start_daemon(config: PrinterConfig) -> PrinterDaemon:
    daemon = PrinterDaemon(config, wait_poll_s=0.05)
    daemon.start()
    assert daemon.link.wait_connected(5)
    return daemon


@pytest.fixture
def daemon_for(mqtt_settings: MqttSettings, tmp_path: Path, fake: FakeNetworkPrinter) -> Iterator[Any]:
    started: list[PrinterDaemon] = []

    def make(**jobs: Any) -> PrinterDaemon:
        daemon = start_daemon(make_config(mqtt_settings, tmp_path / "state", fake.port, **jobs))
        started.append(daemon)
        return daemon

    yield make
    for daemon in started:
        daemon.stop()


def send(observer: Observer, job: dict[str, Any] | bytes) -> None:
    observer.publish(JOBS, job if isinstance(job, bytes) else json.dumps(job, ensure_ascii=False))


def result_of(job_id: str, status: str | None = None):
    def match(seen: Seen) -> bool:
        if seen.topic != RESULTS:
            return False
        body = seen.json()
        return body["job_id"] == job_id and (status is None or body["status"] == status)

    return match


def health(predicate) -> Any:
    return lambda seen: seen.topic == HEALTH and predicate(seen.json())


def results(observer: Observer) -> list[dict[str, Any]]:
    return [seen.json() for seen in observer.messages if seen.topic == RESULTS]


def rendered(job: dict[str, Any]):
    return render_job(parse_job(job), paper_for(576))


def test_job_prints_the_ticket_and_reports_it(
    daemon_for, fake: FakeNetworkPrinter, observer: Observer
) -> None:
    daemon_for()
    observer.wait_for(health(lambda h: h["paper"] == "ok" and h["online"] is True and h["ready"]))
    job = ticket_job("job-1")
    send(observer, job)
    result = observer.wait_for(result_of("job-1")).json()
    assert result == {"v": 1, "job_id": "job-1", "status": "printed", "ts": result["ts"]}
    pages = fake.wait_for_pages(1)
    assert len(pages) == 1
    assert same_picture(pages[0].image, rendered(job))  # the bytes on the wire are this ticket


def test_the_same_job_id_prints_once(daemon_for, fake: FakeNetworkPrinter, observer: Observer) -> None:
    daemon_for()
    job = ticket_job("job-dup")
    send(observer, job)
    send(observer, job)  # e.g. the hub retried before the result came back
    first = observer.wait_for(result_of("job-dup", "printed"))
    send(observer, job)  # and once more after it was printed: the result is sent again
    observer.wait_for(result_of("job-dup", "printed"), after=observer.messages.index(first) + 1)
    assert len(fake.pages) == 1


def test_paper_out_mid_queue_jobs_wait_then_print_once_each_in_order(
    daemon_for, fake: FakeNetworkPrinter, observer: Observer
) -> None:
    daemon_for()
    fake.state.pages_left = 1  # the roll ends after the first ticket
    jobs = [ticket_job(f"job-{n}", number=f"10{n}") for n in range(1, 5)]
    for job in jobs:
        send(observer, job)
    observer.wait_for(result_of("job-1", "printed"))
    observer.wait_for(health(lambda h: h["paper"] == "out" and h["pending"] == 3 and not h["ready"]))
    queries = fake.status_queries
    assert fake.wait_for_queries(queries + 6)  # the daemon kept asking, and printed nothing meanwhile
    assert len(fake.pages) == 1
    assert [r["job_id"] for r in results(observer)] == ["job-1"]

    fake.state.pages_left, fake.state.paper = None, "ok"  # a technician loads a new roll
    for job in jobs[1:]:
        observer.wait_for(result_of(job["job_id"], "printed"))
    pages = fake.wait_for_pages(4)
    assert len(pages) == 4
    assert all(same_picture(page.image, rendered(job)) for page, job in zip(pages, jobs, strict=True))
    assert all(page.paper_at_cut == "ok" for page in pages)
    assert [r["job_id"] for r in results(observer)] == ["job-1", "job-2", "job-3", "job-4"]
    observer.wait_for(health(lambda h: h["paper"] == "ok" and h["pending"] == 0))


def test_job_fails_with_the_reason_after_the_deadline(
    daemon_for, fake: FakeNetworkPrinter, observer: Observer
) -> None:
    fake.state.paper = "out"
    daemon_for(deadline_s=0.5)
    send(observer, ticket_job("job-late"))
    result = observer.wait_for(result_of("job-late"), timeout=10).json()
    assert result["status"] == "failed"
    assert result["error"]["code"] == "print_deadline"
    assert "hết giấy" in result["error"]["message"]
    assert "out of paper" in result["error"]["message_en"]
    fake.state.paper = "ok"
    observer.wait_for(health(lambda h: h["paper"] == "ok" and h["pending"] == 0))
    assert fake.pages == []


def test_silent_printer_makes_jobs_wait_not_print(
    daemon_for, fake: FakeNetworkPrinter, observer: Observer
) -> None:
    fake.state.silent = True
    daemon_for()
    send(observer, ticket_job("job-silent"))
    observer.wait_for(health(lambda h: h["paper"] == "unknown" and h["online"] is None and h["pending"] == 1))
    assert fake.pages == []
    fake.state.silent = False
    observer.wait_for(result_of("job-silent", "printed"), timeout=10)
    assert len(fake.pages) == 1


def test_bad_jobs_fail_with_a_reason_and_the_daemon_goes_on(
    daemon_for, fake: FakeNetworkPrinter, observer: Observer
) -> None:
    daemon_for()
    send(observer, b"\xff not json")
    send(observer, json.dumps({"v": 1, "job_id": "bad-kind", "kind": "fax"}).encode())
    missing = ticket_job("bad-missing")
    del missing["ticket"]["service_name"]
    send(observer, missing)
    send(observer, ticket_job("bad-wide", number="W" * 12))
    send(observer, ticket_job("good"))
    assert observer.wait_for(result_of("bad-kind")).json()["error"]["code"] == "print_unknown_kind"
    error = observer.wait_for(result_of("bad-missing")).json()["error"]
    assert error["code"] == "print_bad_job" and "ticket.service_name" in error["message"]
    assert observer.wait_for(result_of("bad-wide")).json()["error"]["code"] == "print_does_not_fit"
    observer.wait_for(result_of("good", "printed"))
    assert len(fake.pages) == 1


def test_restart_prints_nothing_twice_and_gets_jobs_sent_meanwhile(
    mqtt_settings: MqttSettings, tmp_path: Path, fake: FakeNetworkPrinter, observer: Observer
) -> None:
    config = make_config(mqtt_settings, tmp_path / "state", fake.port)
    first = start_daemon(config)
    try:
        send(observer, ticket_job("job-a"))
        observer.wait_for(result_of("job-a", "printed"))
    finally:
        first.stop()
    # While the daemon is down the broker keeps its session: these wait there.
    send(observer, ticket_job("job-a"))
    send(observer, ticket_job("job-b", number="102"))
    seen_before = len(observer.messages)
    second = start_daemon(config)
    try:
        observer.wait_for(result_of("job-b", "printed"), after=seen_before)
        observer.wait_for(result_of("job-a", "printed"), after=seen_before)  # answered, not printed
    finally:
        second.stop()
    assert len(fake.pages) == 2
    assert same_picture(fake.pages[1].image, rendered(ticket_job("job-b", number="102")))


def test_job_interrupted_mid_print_is_failed_not_reprinted(
    mqtt_settings: MqttSettings, tmp_path: Path, fake: FakeNetworkPrinter, observer: Observer
) -> None:
    store = JobStore(tmp_path / "state" / DB_NAME)
    store.add("job-cut", "ticket", json.dumps(ticket_job("job-cut")).encode(), 0.0)
    store.mark_printing("job-cut")  # the power went off while it printed
    store.close()
    daemon = start_daemon(make_config(mqtt_settings, tmp_path / "state", fake.port, deadline_s=600_000))
    try:
        result = observer.wait_for(result_of("job-cut")).json()
    finally:
        daemon.stop()
    assert result["status"] == "failed" and result["error"]["code"] == "print_interrupted"
    assert fake.pages == []


def test_test_print_command(daemon_for, fake: FakeNetworkPrinter, observer: Observer) -> None:
    daemon_for()
    observer.publish(TOPICS.device_commands(DEVICE), json.dumps({"v": 1, "cmd": "test_print", "id": "c1"}))
    # The page is queued by appliance.device.DeviceRuntime under a job id of the daemon's own.
    observer.wait_for(
        lambda seen: (
            seen.topic == RESULTS
            and seen.json()["job_id"].startswith("test-")
            and seen.json()["status"] == "printed"
        )
    )
    pages = fake.wait_for_pages(1)
    assert len(pages) == 1 and pages[0].image.width == 576
