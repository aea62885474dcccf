"""The pure engine's console operations (call a given number, hold and resume, pause with a reason,
the waiting list) and live reconfiguration (the head widens a block, adds a service or counter)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from hub.engine import CounterSpec, QueueError, Service
from tests.test_engine import T0, issue, make_engine


def test_call_a_given_waiting_or_skipped_number_out_of_turn() -> None:
    engine = make_engine()
    first, second, third = (issue(engine, "land", T0 + timedelta(seconds=i)) for i in range(3))
    called = engine.call_number("1", third.number, now=T0 + timedelta(minutes=1)).result
    assert called.id == third.id and called.status == "called"
    assert [t.id for t in engine.waiting_list("1")] == [first.id, second.id]
    # The citizen called first did not come; they come back later and are called by number.
    engine.skip("1", now=T0 + timedelta(minutes=2))
    engine.call_next("1", now=T0 + timedelta(minutes=3))
    change = engine.call_number("1", third.number, now=T0 + timedelta(minutes=4))
    assert change.result.id == third.id
    assert engine.tickets[first.id].status == "completed"  # the one being served was completed
    with pytest.raises(QueueError) as refused:
        engine.call_number("1", third.number, now=T0 + timedelta(minutes=5))
    assert refused.value.code == "invalid_state"


def test_call_number_refuses_another_counters_service_and_a_closed_counter() -> None:
    engine = make_engine()
    civil = issue(engine, "civil", T0)
    with pytest.raises(QueueError) as refused:
        engine.call_number("1", civil.number, now=T0)
    assert refused.value.code == "service_not_at_counter"
    engine.counters["2"].open = False
    with pytest.raises(QueueError) as closed:
        engine.call_number("2", civil.number, now=T0)
    assert closed.value.code == "counter_closed"
    assert engine.tickets[civil.id].status == "waiting"


def test_hold_frees_the_counter_and_only_that_counter_resumes() -> None:
    engine = make_engine()
    parked, other = issue(engine, "land", T0), issue(engine, "land", T0 + timedelta(seconds=1))
    engine.call_next("1", now=T0 + timedelta(minutes=1))
    engine.hold("1", now=T0 + timedelta(minutes=2))
    assert engine.tickets[parked.id].status == "held" and engine.counters["1"].current is None
    assert [t.id for t in engine.held("1")] == [parked.id]
    engine.call_next("1", now=T0 + timedelta(minutes=3))  # the next citizen meanwhile
    with pytest.raises(QueueError):
        engine.resume("2", parked.id, now=T0 + timedelta(minutes=4))
    change = engine.resume("1", parked.id, now=T0 + timedelta(minutes=5))
    assert change.result.status == "serving" and engine.counters["1"].current == parked.id
    assert engine.tickets[other.id].status == "completed"
    assert [e.type for e in change.events] == ["ticket.completed", "ticket.resumed"]
    # A held ticket is cancelled with the day, like any ticket still open.
    engine.hold("1", now=T0 + timedelta(minutes=6))
    rolled = engine.roll(T0 + timedelta(days=1))
    assert parked.id in {t.id for t in rolled.tickets.values() if t.status == "cancelled"}


def test_pause_closes_with_a_reason_shown_in_the_snapshot_until_reopened() -> None:
    engine = make_engine()
    engine.pause("1", "Họp giao ban", now=T0)
    counter = next(c for c in engine.snapshot()["counters"] if c["id"] == "1")
    assert counter["open"] is False and counter["pause_reason"] == "Họp giao ban"
    engine.set_open("1", True, now=T0 + timedelta(minutes=30))
    counter = next(c for c in engine.snapshot()["counters"] if c["id"] == "1")
    assert counter["open"] is True and counter["pause_reason"] is None


def test_waiting_list_is_in_calling_order_with_priority_first() -> None:
    engine = make_engine()
    ordinary = issue(engine, "land", T0)
    elderly = issue(engine, "land", T0 + timedelta(seconds=5), priority_group="elderly")
    civil = issue(engine, "civil", T0 + timedelta(seconds=1))
    assert [t.id for t in engine.waiting_list("2")] == [elderly.id, ordinary.id, civil.id]
    assert engine.call_next("2", now=T0 + timedelta(minutes=1)).result.id == elderly.id


def test_reconfigure_widens_a_full_block_and_adds_services_and_counters() -> None:
    engine = make_engine()
    issue(engine, "tiny", T0)
    issue(engine, "tiny", T0)
    with pytest.raises(QueueError):
        issue(engine, "tiny", T0)
    services = [replace(s, last=5) if s.id == "tiny" else s for s in engine.services.values()]
    services.append(Service("tax", "Thuế", prefix="T", first=1, last=99, digits=2))
    counters = [*(c.spec for c in engine.counters.values()), CounterSpec("9", "9", ("tax", "tiny"))]
    engine.reconfigure(services, counters, open_at_start=frozenset({"9"}))
    assert issue(engine, "tiny", T0).number == "Z3"
    assert issue(engine, "tax", T0 + timedelta(seconds=1)).number == "T01"
    assert engine.call_next("9", now=T0).result.number == "Z1"


def test_reconfigure_refuses_what_would_strand_a_citizen_or_a_number() -> None:
    engine = make_engine()
    issue(engine, "tiny", T0)
    before = dict(engine.services)
    moved = [replace(s, first=7, last=9) if s.id == "tiny" else s for s in engine.services.values()]
    with pytest.raises(QueueError) as refused:
        engine.reconfigure(moved, [c.spec for c in engine.counters.values()])
    assert refused.value.code == "admin_numbers_in_use"
    gone = [s for s in engine.services.values() if s.id != "tiny"]
    with pytest.raises(QueueError) as in_use:
        engine.reconfigure(gone, [c.spec for c in engine.counters.values()])
    assert in_use.value.code == "admin_service_in_use"
    assert engine.services == before  # untouched


def test_interleave_calls_one_priority_after_every_n_ordinary_and_says_why() -> None:
    engine = make_engine()
    land = engine.services["land"]
    engine.reconfigure(
        [
            replace(land, priority_rule="interleave", interleave_every=2),
            engine.services["civil"],
            engine.services["tiny"],
        ],
        [c.spec for c in engine.counters.values()],
    )
    ordinary = [issue(engine, "land", T0 + timedelta(seconds=i)) for i in range(4)]
    elderly = issue(engine, "land", T0 + timedelta(minutes=1), priority_group="elderly")
    called = [engine.call_next("1", now=T0 + timedelta(minutes=2 + i)).result for i in range(4)]
    assert [t.id for t in called] == [ordinary[0].id, ordinary[1].id, elderly.id, ordinary[2].id]
    assert engine.describe(called[0])["call_reason"] == "interleave"
    assert engine.describe(called[2])["call_reason"] == "priority"  # jumped the older ordinary ones


def test_strict_priority_jumps_and_the_reason_is_given() -> None:
    engine = make_engine()
    ordinary = issue(engine, "land", T0)
    elderly = issue(engine, "land", T0 + timedelta(minutes=1), priority_group="elderly")
    first = engine.call_next("1", now=T0 + timedelta(minutes=2)).result
    assert first.id == elderly.id and engine.describe(first)["call_reason"] == "priority"
    second = engine.call_next("1", now=T0 + timedelta(minutes=3)).result
    assert second.id == ordinary.id and engine.describe(second)["call_reason"] is None


def test_a_call_by_number_says_so_and_a_later_call_in_turn_says_nothing() -> None:
    engine = make_engine()
    first, second = (issue(engine, "land", T0 + timedelta(seconds=i)) for i in range(2))
    called = engine.call_number("1", second.number, now=T0 + timedelta(minutes=1))
    assert called.result.call_reason == "number" and engine.describe(second)["call_reason"] == "number"
    assert second.id in called.tickets  # the reason is part of the change the store writes
    # They did not come; reinstated, they are called again in their turn: no reason any more.
    engine.skip("1", now=T0 + timedelta(minutes=2))
    assert engine.reinstate(second.number, now=T0 + timedelta(minutes=3)).result.call_reason is None
    assert engine.call_next("1", now=T0 + timedelta(minutes=4)).result.id == first.id
    again = engine.call_next("1", now=T0 + timedelta(minutes=5)).result
    assert again.id == second.id and again.call_reason is None
