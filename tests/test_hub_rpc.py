"""The hub over MQTT: every contract method, through paho and mosquitto_rr, bad input, idempotency,
gap-free events, concurrency storms from several processes, and kill -9 durability."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient, RpcError
from tests.support.hub import ROOT, HubProcess, site_config, write_config
from tests.support.mqtt import Observer

SITE = "test"
ROOT_TOPIC = f"motcua/v1/{SITE}"


@pytest.fixture
def hub_config(tmp_path: Path, broker: PrivateBroker) -> Path:
    return write_config(tmp_path, site_config(tmp_path, broker.port, site=SITE))


@pytest.fixture
def hub(hub_config: Path) -> Iterator[HubProcess]:
    process = HubProcess(hub_config).start()
    yield process
    assert process.stop() == 0, "".join(process.output)


@pytest.fixture
def client(mqtt_settings: MqttSettings, hub: HubProcess) -> Iterator[RpcClient]:
    with Link(mqtt_settings, site=SITE, device_id="kiosk-9", role="kiosk") as link:
        assert link.wait_connected(5)
        yield RpcClient(link, default_timeout=10)


def storm(
    port: int,
    caller: str,
    method: str,
    params: dict[str, object],
    count: int,
    params_list: list[dict[str, object]] | None = None,
) -> subprocess.Popen[str]:
    extra = ["--params-list", json.dumps(params_list)] if params_list is not None else []
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.storm",
            *extra,
            "--port",
            str(port),
            "--site",
            SITE,
            "--caller",
            caller,
            "--method",
            method,
            "--params",
            json.dumps(params),
            "--count",
            str(count),
            "--concurrency",
            str(count),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def replies(process: subprocess.Popen[str], timeout: float = 120) -> list[dict[str, object]]:
    out, _ = process.communicate(timeout=timeout)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_issue_call_and_complete_show_in_state_and_gap_free_events(
    broker: PrivateBroker, client: RpcClient
) -> None:
    with Observer(broker.port, f"{ROOT_TOPIC}/queue/#") as observer:
        issued = client.call("ticket.issue", {"service_id": "dat-dai"})["ticket"]
        assert issued["number"] == "1001" and issued["service_name"] == "Đất đai"
        assert issued["status"] == "waiting" and issued["ahead"] == 0
        second = client.call("ticket.issue", {"service_id": "dat-dai", "priority_group": "elderly"})["ticket"]
        assert second["priority"] is True
        called = client.call("counter.call_next", {"counter_id": "1"})
        assert called["ticket"]["number"] == "1002"  # the elderly citizen goes first
        assert called["ticket"]["counter_name"] == "1"
        client.call("counter.recall", {"counter_id": "1"})
        client.call("counter.complete", {"counter_id": "1"})

        state = observer.wait_for(lambda m: m.topic.endswith("queue/state") and m.json()["seq"] >= 5).json()
        land = next(s for s in state["services"] if s["id"] == "dat-dai")
        assert land["waiting"] == 1
        assert state["recent_calls"][0]["ticket"]["number"] == "1002"
        events = [m.json() for m in observer.messages if m.topic.endswith("queue/events")]
        assert [e["type"] for e in events] == [
            "ticket.issued",
            "ticket.issued",
            "ticket.called",
            "ticket.recalled",
            "ticket.completed",
        ]
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_retained_state_rebuilds_a_late_subscriber(broker: PrivateBroker, client: RpcClient) -> None:
    with Observer(broker.port, f"{ROOT_TOPIC}/queue/state") as early:
        client.call("ticket.issue", {"service_id": "ho-tich"})
        # The state follows the reply: wait until it is out, then subscribe late.
        early.wait_for(lambda m: m.json()["services"][1]["waiting"] == 1)
    with Observer(broker.port, f"{ROOT_TOPIC}/queue/state") as late:
        snapshot = late.wait_for(lambda m: m.retain and m.json()["services"][1]["waiting"] == 1).json()
    assert snapshot["site"] == {
        "id": SITE,
        "name": "Bộ phận Một cửa UBND huyện Long Thành",
        "elderly_age": 60,
    }
    assert len(snapshot["counters"]) == 6


def test_every_method_callable_with_mosquitto_rr(broker: PrivateBroker, hub: HubProcess) -> None:
    def rr(method: str, payload: str) -> dict[str, object]:
        out = subprocess.run(
            [
                "mosquitto_rr",
                "-p",
                str(broker.port),
                "-t",
                f"{ROOT_TOPIC}/rpc/tech/{method}",
                "-e",
                f"{ROOT_TOPIC}/devices/tech/replies",
                "-m",
                payload,
                "-W",
                "10",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
        return json.loads(out)

    issued = rr("ticket.issue", '{"v":1,"service_id":"chung-thuc","request_id":"rr-1"}')
    assert issued["ok"] and issued["result"]["ticket"]["number"] == "3001"
    assert rr("counter.call_next", '{"v":1,"counter_id":"4"}')["result"]["ticket"]["number"] == "3001"
    assert rr("counter.skip", '{"counter_id":"4"}')["result"]["ticket"]["status"] == "skipped"
    assert rr("ticket.reinstate", '{"ticket_id":"3001"}')["result"]["ticket"]["status"] == "waiting"
    assert rr("counter.call_next", '{"counter_id":"4"}')["ok"]
    assert rr("counter.start", '{"counter_id":"4"}')["result"]["ticket"]["status"] == "serving"
    moved = rr("counter.transfer", '{"counter_id":"4","to_service_id":"ho-tich"}')["result"]["ticket"]
    assert (moved["service_id"], moved["number"]) == ("ho-tich", "3001")
    assert rr("counter.call_next", '{"counter_id":"3"}')["result"]["ticket"]["number"] == "3001"
    assert rr("counter.complete", '{"counter_id":"3"}')["ok"]
    assert rr("rating.submit", '{"ticket_id":"3001","score":3}')["result"]["score"] == 3
    assert rr("counter.close", '{"counter_id":"3"}')["result"]["counter"]["open"] is False
    assert rr("counter.open", '{"counter_id":"3"}')["result"]["counter"]["open"] is True
    cancelled = rr("ticket.issue", '{"service_id":"chung-thuc"}')["result"]["ticket"]
    assert rr("ticket.cancel", json.dumps({"ticket_id": cancelled["id"]}))["result"]["ticket"]["status"] == (
        "cancelled"
    )
    for method in ("dossier.lookup", "procedure.search"):
        answer = rr(method, '{"code":"000.00.06.H56-231027-0361","query":"khai sinh"}')
        assert answer["ok"] is False and answer["error"]["code"] == "not_implemented"
    # Replayed request id: the first answer, no second ticket.
    again = rr("ticket.issue", '{"v":1,"service_id":"chung-thuc","request_id":"rr-1"}')
    assert again == issued


@pytest.mark.parametrize(
    ("method", "payload", "code", "words"),
    [
        ("ticket.issue", b"{not json", "bad_json", "JSON"),
        ("ticket.issue", b"[1, 2]", "bad_request", "đối tượng JSON"),
        ("ticket.issue", b'{"service_id": 5}', "bad_request", "service_id"),
        ("ticket.issue", b'{"service_id": "dat-dai", "priority": "yes"}', "bad_request", "priority"),
        ("ticket.issue", b'{"v": 2, "service_id": "dat-dai"}', "unsupported_version", "Phiên bản"),
        ("ticket.issue", b'{"service_id": "thue"}', "unknown_service", "Không có dịch vụ"),
        ("ticket.print_money", b"{}", "unknown_method", "Không có chức năng"),
        ("counter.call_next", b'{"counter_id": "99"}', "unknown_counter", "Không có quầy"),
        ("counter.call_next", b'{"counter_id": "1"}', "no_waiting", "Không còn ai chờ"),
        ("counter.recall", b'{"counter_id": "2"}', "counter_idle", "chưa gọi số"),
        ("rating.submit", b'{"ticket_id": "1001", "score": "3"}', "bad_request", "score"),
        ("ticket.issue", b'{"service_id": "' + b"x" * 70_000 + b'"}', "payload_too_large", "quá lớn"),
    ],
)
def test_bad_input_gets_a_vietnamese_error_and_the_hub_keeps_serving(
    broker: PrivateBroker,
    hub: HubProcess,
    client: RpcClient,
    method: str,
    payload: bytes,
    code: str,
    words: str,
) -> None:
    reply_topic = f"{ROOT_TOPIC}/devices/probe/replies"
    with Observer(broker.port, reply_topic) as probe:
        probe.publish(
            f"{ROOT_TOPIC}/rpc/probe/{method}", payload, response_topic=reply_topic, correlation=b"c1"
        )
        reply = probe.wait_for(lambda m: m.correlation == b"c1", timeout=10)
    answer = reply.json()
    assert answer["v"] == 1 and answer["ok"] is False
    assert answer["error"]["code"] == code
    assert words in answer["error"]["message"]
    assert client.call("ticket.issue", {"service_id": "dat-dai"})["ticket"]["number"] == "1001"
    assert hub.process is not None and hub.process.poll() is None


def test_request_id_replay_returns_first_answer_and_changes_nothing(client: RpcClient) -> None:
    first = client.call("ticket.issue", {"service_id": "dat-dai"}, request_id="kiosk-tap-1")
    again = client.call("ticket.issue", {"service_id": "dat-dai"}, request_id="kiosk-tap-1")
    assert again == first
    other = client.call("ticket.issue", {"service_id": "dat-dai"}, request_id="kiosk-tap-2")
    assert other["ticket"]["number"] == "1002"
    called = client.call("counter.call_next", {"counter_id": "1"}, request_id="press-1")
    assert client.call("counter.call_next", {"counter_id": "1"}, request_id="press-1") == called
    assert called["ticket"]["number"] == "1001"
    # A new press is a new call: the next citizen, then nobody.
    assert (
        client.call("counter.call_next", {"counter_id": "1"}, request_id="press-2")["ticket"]["number"]
        == "1002"
    )
    with pytest.raises(RpcError) as refused:
        client.call("counter.call_next", {"counter_id": "1"}, request_id="press-3")
    assert refused.value.code == "no_waiting"
    assert refused.value.message == "Không còn ai chờ."


@pytest.mark.slow
def test_eight_processes_issuing_concurrently_get_800_distinct_numbers(
    broker: PrivateBroker, hub: HubProcess
) -> None:
    services = ["dat-dai", "ho-tich"]
    storms = [
        storm(broker.port, f"kiosk-{i}", "ticket.issue", {"service_id": services[i % 2]}, 100)
        for i in range(8)
    ]
    answers = [reply for process in storms for reply in replies(process)]
    assert len(answers) == 800
    assert all(a["ok"] for a in answers), [a for a in answers if not a["ok"]][:3]
    numbers = [a["result"]["ticket"]["number"] for a in answers]  # type: ignore[index]
    assert len(set(numbers)) == 800
    by_service = Counter(n[0] for n in numbers)
    assert by_service == {"1": 400, "2": 400}
    assert sorted(n for n in numbers if n.startswith("1")) == [str(1001 + i) for i in range(400)]


@pytest.mark.slow
def test_two_counters_calling_concurrently_never_call_a_ticket_twice(
    broker: PrivateBroker, hub: HubProcess, client: RpcClient
) -> None:
    issuers = [
        storm(broker.port, f"kiosk-{i}", "ticket.issue", {"service_id": "dat-dai"}, 100) for i in range(4)
    ]
    assert all(r["ok"] for p in issuers for r in replies(p))
    callers = [
        storm(broker.port, f"counter-{c}", "counter.call_next", {"counter_id": c}, 200) for c in ("1", "2")
    ]
    answers = [reply for process in callers for reply in replies(process)]
    called = [a["result"]["ticket"]["id"] for a in answers if a["ok"]]  # type: ignore[index]
    assert len(called) == 400
    assert len(set(called)) == 400, "a ticket was called twice"
    assert {a.get("code") for a in answers if not a["ok"]} <= {"no_waiting"}


@pytest.mark.slow
def test_call_number_hold_and_resume_under_concurrency_never_call_or_resume_a_ticket_twice(
    broker: PrivateBroker, hub: HubProcess, client: RpcClient
) -> None:
    issuers = [
        storm(broker.port, f"kiosk-{i}", "ticket.issue", {"service_id": "dat-dai"}, 60) for i in range(2)
    ]
    numbers = [r["result"]["ticket"]["number"] for p in issuers for r in replies(p)]  # type: ignore[index]
    assert len(numbers) == 120
    by_number = [{"counter_id": "2", "number": n} for n in numbers]
    # Two officers at counters serving the same service (each with a console and a keypad: two
    # clients): one calls next and parks, the other calls numbers out of turn (every number, so each
    # is contested) and calls next.
    fired = [
        storm(broker.port, "counter-1", "counter.call_next", {"counter_id": "1"}, 80),
        storm(broker.port, "counter-1-keypad", "counter.hold", {"counter_id": "1"}, 80),
        storm(broker.port, "counter-2-keypad", "counter.call_number", {}, 120, params_list=by_number),
        storm(broker.port, "counter-2", "counter.call_next", {"counter_id": "2"}, 40),
    ]
    answers = [reply for process in fired for reply in replies(process)]
    called = [
        a["result"]["ticket"]["id"]  # type: ignore[index]
        for a in answers
        if a["ok"] and a["result"]["ticket"]["status"] == "called"  # type: ignore[index]
    ]
    assert len(called) == len(set(called)), "a ticket was called twice"
    refused = {a.get("code") for a in answers if not a["ok"]}
    assert refused <= {"no_waiting", "invalid_state", "counter_idle"}, refused
    held = [
        a["result"]["ticket"]["id"]  # type: ignore[index]
        for a in answers
        if a["ok"] and a["result"]["ticket"]["status"] == "held"  # type: ignore[index]
    ]
    assert len(held) == len(set(held))
    # The parks raced the calls; park a few more one after the other so the resume storm has work.
    for _ in range(3):
        client.call("ticket.issue", {"service_id": "dat-dai"})
        client.call("counter.call_next", {"counter_id": "1"})
        held.append(client.call("counter.hold", {"counter_id": "1"})["ticket"]["id"])

    # Both officers try to resume every parked ticket at once: only the counter that parked it can,
    # each exactly once.
    resumes = [
        storm(
            broker.port,
            f"counter-{c}-resume",
            "counter.resume",
            {},
            len(held),
            params_list=[{"counter_id": c, "ticket_id": t} for t in held],
        )
        for c in ("1", "2")
    ]
    results = [
        (c, reply) for c, process in zip(("1", "2"), resumes, strict=True) for reply in replies(process)
    ]
    resumed = [r["result"]["ticket"]["id"] for c, r in results if r["ok"]]  # type: ignore[index]
    assert sorted(resumed) == sorted(held)
    assert all(c == "1" for c, r in results if r["ok"])
    assert {r.get("code") for c, r in results if not r["ok"]} == {"invalid_state"}


@pytest.mark.slow
def test_kill_minus_nine_during_a_storm_loses_no_acknowledged_ticket(
    broker: PrivateBroker, hub_config: Path, tmp_path: Path
) -> None:
    hub = HubProcess(hub_config).start()
    storms = [
        storm(broker.port, f"kiosk-{i}", "ticket.issue", {"service_id": "dat-dai"}, 150) for i in range(4)
    ]
    acknowledged: list[dict[str, object]] = []
    lock = threading.Lock()
    first_acks = threading.Event()

    def collect(process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            reply = json.loads(line)
            if reply.get("ok"):
                with lock:
                    acknowledged.append(reply["result"]["ticket"])  # type: ignore[index]
                    if len(acknowledged) >= 100:
                        first_acks.set()

    readers = [threading.Thread(target=collect, args=(p,)) for p in storms]
    for reader in readers:
        reader.start()
    assert first_acks.wait(60), "no tickets were issued"
    hub.kill()  # SIGKILL in the middle of the storm
    for process in storms:
        process.kill()
    for reader in readers:
        reader.join(10)
    with lock:
        acked = {t["number"]: t for t in acknowledged}
    assert len(acked) == len(acknowledged), "a number was acknowledged twice"

    db = sqlite3.connect(tmp_path / "hub.db")
    stored = {row[0] for row in db.execute("SELECT number FROM tickets")}
    db.close()
    missing = set(acked) - stored
    assert not missing, f"acknowledged but lost: {sorted(missing)[:5]}"

    restarted = HubProcess(hub_config).start()
    try:
        with Link(
            MqttSettings(port=broker.port, reconnect_min=0.05),
            site=SITE,
            device_id="kiosk-after",
            role="kiosk",
        ) as link:
            assert link.wait_connected(5)
            after = RpcClient(link, default_timeout=10).call("ticket.issue", {"service_id": "dat-dai"})
        assert after["ticket"]["number"] not in stored
        assert int(after["ticket"]["number"]) == max(int(n) for n in stored) + 1
    finally:
        assert restarted.stop() == 0


def test_receipt_goes_to_the_counters_printer(broker: PrivateBroker, client: RpcClient) -> None:
    receipt = {"dossier_code": "000.00.06.H56-231027-0361", "procedure": "Đăng ký khai sinh"}
    with Observer(broker.port, f"{ROOT_TOPIC}/print/+/jobs") as printers:
        sent = client.call("receipt.print", {"counter_id": "1", "receipt": receipt}, request_id="r-1")
        job = printers.wait_for(lambda m: True).json()
    assert printers.messages[0].topic == f"{ROOT_TOPIC}/print/printer-counter-1/jobs"
    assert (job["kind"], job["receipt"], job["job_id"]) == ("receipt", receipt, sent["job_id"])
    assert sent["print"] == "unavailable"  # no printer daemon runs in this test
    with pytest.raises(RpcError) as refused:
        client.call("receipt.print", {"counter_id": "2", "receipt": receipt})
    assert (refused.value.code, refused.value.message) == ("no_printer", "Quầy 2 chưa có máy in.")
