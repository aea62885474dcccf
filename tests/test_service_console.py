"""The queue service's console operations across a restart: a citizen sent to the end of another
service's line stays behind the people who were waiting, also after the hub restarted; a parked
ticket is still parked at its counter."""

from __future__ import annotations

from pathlib import Path

from hub.service import QueueService
from hub.site import HubConfig
from tests.test_service import Clock, clock, config, issue, synced  # noqa: F401  (fixtures)


def test_transfer_to_the_end_of_the_queue_and_hold_survive_a_restart(
    config: HubConfig,  # noqa: F811
    tmp_path: Path,
    clock: Clock,  # noqa: F811
) -> None:
    service = QueueService(config, tmp_path / "hub.db", clock=clock, synchronised=synced)
    try:
        early = issue(service, "dat-dai")
        clock.advance(minutes=1)
        waiting = [issue(service, "xay-dung")["number"] for _ in range(2)]
        clock.advance(minutes=1)
        parked_first = issue(service, "dat-dai")
        service.call("counter.open", {"counter_id": "1"}, caller_id="t")
        service.call("counter.open", {"counter_id": "2"}, caller_id="t")
        assert (
            service.call("counter.call_next", {"counter_id": "1"}, caller_id="t")["ticket"]["id"]
            == early["id"]
        )
        moved = service.call(
            "counter.transfer",
            {"counter_id": "1", "to_service_id": "xay-dung", "position": "end"},
            caller_id="t",
        )
        assert moved["ticket"]["status"] == "waiting"
        service.call("counter.call_next", {"counter_id": "1"}, caller_id="t")
        held = service.call("counter.hold", {"counter_id": "1"}, caller_id="t")["ticket"]
        assert held["id"] == parked_first["id"] and held["status"] == "held"
    finally:
        service.close()

    restarted = QueueService(config, tmp_path / "hub.db", clock=clock, synchronised=synced)
    try:
        # Counter 2 serves construction: the two who waited there come before the transferred one.
        order = [t["number"] for t in restarted.waiting_list("2") if t["service_id"] == "xay-dung"]
        assert order == [*waiting, early["number"]]
        assert order[-1] == early["number"]
        assert restarted.waiting_list("2")[-1]["transferred_from"] == "dat-dai"
        view = restarted.counter_view("1")
        assert [t["id"] for t in view["held"]] == [parked_first["id"]]
        resumed = restarted.call(
            "counter.resume", {"counter_id": "1", "ticket_id": held["id"]}, caller_id="t"
        )
        assert resumed["ticket"]["status"] == "serving"
    finally:
        restarted.close()
