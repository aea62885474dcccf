"""The queue service on a real SQLite file: durability across restarts, idempotency that survives a
restart, day rollover with a controlled clock, listeners, opening hours."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from appliance.rpc import RpcError
from appliance.timeutil import SITE_TZ
from hub.service import QueueService
from hub.site import HubConfig
from tests.support.hub import site_config


class Clock:
    def __init__(self, start: datetime) -> None:
        self.moment = start
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return self.moment

    def advance(self, **delta: float) -> None:
        with self.lock:
            self.moment += timedelta(**delta)


def synced() -> bool:
    """These tests drive the clock by hand: it counts as synchronised (NTP)."""
    return True


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 24, 9, 0, tzinfo=SITE_TZ))


@pytest.fixture
def config(tmp_path: Path) -> HubConfig:
    return HubConfig.model_validate(site_config(tmp_path, 1883))


@pytest.fixture
def service(config: HubConfig, tmp_path: Path, clock: Clock) -> Iterator[QueueService]:
    running = QueueService(config, tmp_path / "hub.db", clock=clock, synchronised=synced)
    yield running
    running.close()


def issue(service: QueueService, service_id: str = "dat-dai", **params: object) -> dict[str, object]:
    return service.call("ticket.issue", {"service_id": service_id, **params}, caller_id="kiosk-1")["ticket"]


def test_database_is_wal_full_sync_and_versioned(service: QueueService, tmp_path: Path) -> None:
    issue(service)
    db = sqlite3.connect(tmp_path / "hub.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert db.execute("SELECT number, status FROM tickets").fetchall() == [("1001", "waiting")]


def test_a_restart_keeps_tickets_counters_and_numbering(
    config: HubConfig, tmp_path: Path, clock: Clock
) -> None:
    first = QueueService(config, tmp_path / "hub.db", clock=clock, synchronised=synced)
    issue(first)
    issue(first)
    called = first.call("counter.call_next", {"counter_id": "1"}, caller_id="c1")["ticket"]
    first.call("counter.close", {"counter_id": "2"}, caller_id="c2")
    seq_before = first.snapshot()["seq"]
    first.close()

    again = QueueService(config, tmp_path / "hub.db", clock=clock, synchronised=synced)
    try:
        snap = again.snapshot()
        counters = {c["id"]: c for c in snap["counters"]}
        assert counters["1"]["serving"]["number"] == called["number"]
        assert counters["2"]["open"] is False
        assert snap["seq"] == seq_before
        assert issue(again)["number"] == "1003"
        # The ticket at counter 1 is not called again anywhere.
        nxt = again.call("counter.call_next", {"counter_id": "1"}, caller_id="c1")["ticket"]
        assert nxt["number"] == "1002"
    finally:
        again.close()


def test_request_ids_are_remembered_across_a_restart(config: HubConfig, tmp_path: Path, clock: Clock) -> None:
    first = QueueService(config, tmp_path / "hub.db", clock=clock, synchronised=synced)
    answer = first.call("ticket.issue", {"service_id": "ho-tich"}, caller_id="kiosk-1", request_id="tap-7")
    first.close()
    again = QueueService(config, tmp_path / "hub.db", clock=clock, synchronised=synced)
    try:
        replay = again.call(
            "ticket.issue", {"service_id": "ho-tich"}, caller_id="kiosk-1", request_id="tap-7"
        )
        assert replay == answer
        # The same request id from another device is another request.
        other = again.call("ticket.issue", {"service_id": "ho-tich"}, caller_id="kiosk-2", request_id="tap-7")
        assert other["ticket"]["number"] == "2002"
    finally:
        again.close()


def test_rollover_restarts_numbers_and_cancels_yesterdays_line(service: QueueService, clock: Clock) -> None:
    with service.listen() as listener:
        issue(service)
        clock.moment = datetime(2026, 11, 25, 2, 59, tzinfo=SITE_TZ)  # the sample site rolls at 03:00
        assert issue(service)["number"] == "1002"
        clock.moment = datetime(2026, 11, 25, 3, 0, 1, tzinfo=SITE_TZ)
        fresh = issue(service)
        assert fresh["number"] == "1001" and fresh["id"] == "20261125-1001"
        types = []
        while (event := listener.get(timeout=1)) is not None:
            types.append((event["type"], event.get("reason")))
    assert types.count(("ticket.cancelled", "day_end")) == 2
    assert service.snapshot()["service_day"] == "2026-11-25"
    assert next(s for s in service.snapshot()["services"] if s["id"] == "dat-dai")["waiting"] == 1


def test_a_hub_off_across_the_rollover_starts_the_new_day_clean(
    config: HubConfig, tmp_path: Path, clock: Clock
) -> None:
    first = QueueService(config, tmp_path / "hub.db", clock=clock, synchronised=synced)
    issue(first)
    first.call("counter.call_next", {"counter_id": "1"}, caller_id="c1")
    issue(first)
    first.close()
    clock.moment = datetime(2026, 11, 25, 7, 30, tzinfo=SITE_TZ)
    again = QueueService(config, tmp_path / "hub.db", clock=clock, synchronised=synced)
    try:
        snap = again.snapshot()
        assert all(c["serving"] is None for c in snap["counters"])
        assert all(s["waiting"] == 0 for s in snap["services"])
        assert issue(again)["number"] == "1001"
        db = sqlite3.connect(tmp_path / "hub.db")
        stale = db.execute("SELECT status FROM tickets WHERE service_day='2026-11-24'").fetchall()
        assert stale == [("cancelled",), ("cancelled",)]
    finally:
        again.close()


def test_opening_hours_refuse_numbers_when_the_site_says_so(tmp_path: Path, clock: Clock) -> None:
    raw = site_config(tmp_path, 1883)
    raw["opening_hours"]["refuse_tickets_outside"] = True
    service = QueueService(
        HubConfig.model_validate(raw), tmp_path / "hub.db", clock=clock, synchronised=synced
    )
    try:
        assert issue(service)["number"] == "1001"  # Tuesday 09:00
        clock.moment = datetime(2026, 11, 24, 12, 0, tzinfo=SITE_TZ)  # lunch break
        with pytest.raises(RpcError) as refused:
            issue(service)
        assert refused.value.code == "service_closed"
        assert "13:00–17:00" in refused.value.message
    finally:
        service.close()


def test_estimated_wait_counts_people_ahead_and_open_counters(service: QueueService) -> None:
    tickets = [issue(service) for _ in range(4)]
    # Land: 10 minutes by default, counters 1 and 2 open.
    assert [t["ahead"] for t in tickets] == [0, 1, 2, 3]
    assert tickets[3]["estimated_wait_s"] == 3 * 600 // 2
    land = next(s for s in service.snapshot()["services"] if s["id"] == "dat-dai")
    assert (land["waiting"], land["estimated_wait_s"]) == (4, 4 * 600 // 2)


def test_public_ticket_follows_the_call_and_reveals_only_itself(service: QueueService) -> None:
    mine = service.call("ticket.issue", {"service_id": "ho-tich"}, caller_id="kiosk-1")["ticket"]
    assert mine["token"] and len(mine["token"]) >= 22
    view = service.public_ticket(mine["token"])
    assert view is not None and view["status"] == "waiting"
    service.call("counter.call_next", {"counter_id": "3"}, caller_id="c3")
    view = service.public_ticket(mine["token"])
    assert view is not None and (view["status"], view["counter_name"]) == ("called", "3")
    assert service.public_ticket("not-a-token") is None
    # Events and the snapshot, which every device reads, never carry tokens.
    assert "token" not in str(service.snapshot())


def test_listeners_get_events_in_order_and_a_lagging_one_gets_resync(service: QueueService) -> None:
    with service.listen() as listener:
        for _ in range(3):
            issue(service)
        seqs = [listener.get(timeout=1)["seq"] for _ in range(3)]  # type: ignore[index]
        assert seqs == sorted(seqs) and seqs[-1] - seqs[0] == 2
    slow = service.listen()
    slow._queue.maxsize = 2  # a tiny buffer that a burst overflows
    for _ in range(5):
        issue(service)
    got = []
    while (event := slow.get(timeout=0.5)) is not None:
        got.append(event["type"])
    slow.close()
    assert "resync" in got


def test_a_failed_commit_acknowledges_nothing_and_the_queue_carries_on(
    service: QueueService, tmp_path: Path
) -> None:
    issue(service)
    issue(service)
    # The disk refuses the third ticket (a trigger stands in for a full or failing disk).
    db = sqlite3.connect(tmp_path / "hub.db")
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON tickets WHEN NEW.number = '1003'"
        " BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
    )
    db.commit()
    with pytest.raises(RpcError) as failed:
        service.call("ticket.issue", {"service_id": "dat-dai"}, caller_id="kiosk-1", request_id="tap-9")
    assert failed.value.code == "internal"
    assert "Lỗi hệ thống" in failed.value.message
    # Nothing of the failed batch is visible, and the queue still works for everything else.
    assert next(s for s in service.snapshot()["services"] if s["id"] == "dat-dai")["waiting"] == 2
    assert (
        service.call("counter.call_next", {"counter_id": "1"}, caller_id="c1")["ticket"]["number"] == "1001"
    )
    db.execute("DROP TRIGGER refuse")
    db.commit()
    db.close()
    # The retry of the refused tap is a new request (its first answer was never durable): it gets
    # the number that was never handed out.
    retry = service.call("ticket.issue", {"service_id": "dat-dai"}, caller_id="kiosk-1", request_id="tap-9")
    assert retry["ticket"]["number"] == "1003"
    assert next(s for s in service.snapshot()["services"] if s["id"] == "dat-dai")["waiting"] == 2
    assert service.public_ticket(retry["ticket"]["token"]) is not None


def test_a_version_1_database_is_migrated_in_place(config: HubConfig, tmp_path: Path, clock: Clock) -> None:
    from hub.store import MIGRATIONS, SCHEMA_VERSION

    old = sqlite3.connect(tmp_path / "hub.db")
    old.executescript(MIGRATIONS[0] + "; PRAGMA user_version=1;")
    old.execute(
        "INSERT INTO tickets(id, service_day, number, service_id, priority, status, issued_at, token)"
        " VALUES('20261124-1001', '2026-11-24', '1001', 'dat-dai', 0, 'waiting',"
        " '2026-11-24T08:00:00+07:00', 't')"
    )
    old.execute("INSERT INTO number_seq VALUES('2026-11-24', 'dat-dai', 1)")
    old.commit()
    old.close()
    service = QueueService(config, tmp_path / "hub.db", clock=clock, synchronised=synced)
    try:
        assert issue(service)["number"] == "1002"  # the old day's numbering goes on
        linked = issue(service, "tra-ket-qua", dossier_code="000.00.06.H56-231027-0361")
        assert linked["dossier_code"] == "000.00.06.H56-231027-0361"
    finally:
        service.close()
    db = sqlite3.connect(tmp_path / "hub.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("SELECT dossier_code FROM tickets WHERE number='T001'").fetchone()[0] == (
        "000.00.06.H56-231027-0361"
    )


def test_the_store_refuses_a_number_it_acknowledged_before(
    config: HubConfig, tmp_path: Path, clock: Clock
) -> None:
    """A new ticket is an INSERT: a second ticket with an id the store holds fails loudly and the
    citizen holding that number keeps it (it used to be merged into the first one)."""
    from hub.engine import Change, Ticket
    from hub.store import DuplicateTicket, Store

    first = QueueService(config, tmp_path / "hub.db", clock=clock, synchronised=synced)
    held = issue(first)
    first.close()
    store = Store(tmp_path / "hub.db")
    twin = Ticket(
        id=str(held["id"]),
        number=str(held["number"]),
        service_id="ho-tich",
        service_day=clock().date(),
        issued_at=clock(),
        token="someone-else",
    )
    try:
        with pytest.raises(DuplicateTicket), store.transaction():
            store.write_change(Change(tickets={twin.id: twin}, created={twin.id}), twin.service_day)
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "hub.db") as db:
        rows = db.execute("SELECT id, token, service_id FROM tickets").fetchall()
    assert rows == [(held["id"], held["token"], "dat-dai")]


class Sync:
    def __init__(self, value: bool | None) -> None:
        self.value = value

    def __call__(self) -> bool | None:
        return self.value


def test_the_day_rolls_on_a_clock_that_lost_ntp_after_being_synchronised(
    config: HubConfig, tmp_path: Path, clock: Clock
) -> None:
    """NTP unreachable overnight: the kernel stops calling the clock synchronised after some hours,
    but a clock synchronised in this run that has run smoothly since still opens the next day. One
    that was never synchronised does not."""

    def monotonic() -> float:  # time passing as the wall clock says: no step
        return (clock() - datetime(2026, 1, 1, tzinfo=SITE_TZ)).total_seconds()

    for was_synced, expected in ((True, "20261125-1001"), (False, "20261124-1002")):
        folder = tmp_path / str(was_synced)
        folder.mkdir()
        clock.moment = datetime(2026, 11, 24, 16, 0, tzinfo=SITE_TZ)
        sync = Sync(was_synced)
        service = QueueService(config, folder / "hub.db", clock=clock, synchronised=sync, monotonic=monotonic)
        try:
            issue(service)
            sync.value = False  # the network to the NTP servers goes down for the night
            for _hour in range(12):  # the writer looks at the clock as the evening passes
                clock.advance(hours=1)
                service.call("counter.open", {"counter_id": "1"}, caller_id="c1")
            assert issue(service)["id"] == expected
        finally:
            service.close()
