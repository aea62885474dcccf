"""The pure queue engine: numbering, calling order, life cycle, estimates, day rollover."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

import pytest

from appliance.timeutil import SITE_TZ
from hub.engine import CounterSpec, DayDecision, QueueEngine, QueueError, Service, decide_day

T0 = datetime(2026, 11, 24, 7, 30, tzinfo=SITE_TZ)
_tokens = itertools.count()


def make_engine(**kwargs: object) -> QueueEngine:
    services = [
        Service("land", "Đất đai", first=1001, last=1999, digits=1, default_service_s=600),
        Service("civil", "Hộ tịch", prefix="A", first=1, last=999, digits=3, default_service_s=300),
        Service("tiny", "Thử", prefix="Z", first=1, last=2, digits=1),
    ]
    counters = [
        CounterSpec("1", "1", ("land",)),
        CounterSpec("2", "2", ("land", "civil")),
        CounterSpec("3", "3A", ("civil",)),
    ]
    engine = QueueEngine(services, counters, **kwargs)  # type: ignore[arg-type]
    for counter in engine.counters.values():
        counter.open = True
    return engine


def issue(engine: QueueEngine, service: str, at: datetime, **kw: object):
    return engine.issue(service, now=at, token=f"tok{next(_tokens)}", **kw).result  # type: ignore[arg-type]


def test_numbers_follow_each_service_format() -> None:
    engine = make_engine()
    assert [issue(engine, "land", T0).number for _ in range(3)] == ["1001", "1002", "1003"]
    assert [issue(engine, "civil", T0).number for _ in range(2)] == ["A001", "A002"]


def test_a_service_out_of_numbers_refuses_without_reusing() -> None:
    engine = make_engine()
    issue(engine, "tiny", T0)
    issue(engine, "tiny", T0)
    with pytest.raises(QueueError) as refused:
        issue(engine, "tiny", T0)
    assert refused.value.code == "service_full"
    assert engine.last_seq["tiny"] == 2


def test_unknown_service_and_counter_are_named() -> None:
    engine = make_engine()
    with pytest.raises(QueueError) as error:
        issue(engine, "nope", T0)
    assert (error.value.code, error.value.values) == ("unknown_service", {"service_id": "nope"})
    with pytest.raises(QueueError) as error:
        engine.call_next("99", now=T0)
    assert error.value.code == "unknown_counter"


def test_call_next_takes_oldest_priority_then_oldest_ordinary_across_services() -> None:
    engine = make_engine()
    a = issue(engine, "land", T0)
    b = issue(engine, "civil", T0 + timedelta(minutes=1))
    c = issue(engine, "civil", T0 + timedelta(minutes=2), priority=True)
    d = issue(engine, "land", T0 + timedelta(minutes=3), priority_group="elderly")
    order = []
    for minute in range(4):
        order.append(engine.call_next("2", now=T0 + timedelta(minutes=10 + minute)).result.number)
    assert order == [c.number, d.number, a.number, b.number]


def test_a_counter_only_calls_its_own_services() -> None:
    engine = make_engine()
    issue(engine, "civil", T0)
    with pytest.raises(QueueError) as error:
        engine.call_next("1", now=T0)
    assert error.value.code == "no_waiting"


def test_calling_next_completes_the_previous_ticket_and_records_service_time() -> None:
    engine = make_engine()
    first = issue(engine, "land", T0)
    issue(engine, "land", T0)
    engine.call_next("1", now=T0 + timedelta(minutes=1))
    change = engine.call_next("1", now=T0 + timedelta(minutes=5))
    assert first.status == "completed"
    assert [e.type for e in change.events] == ["ticket.completed", "ticket.called"]
    assert engine.average_service_s("land") == 240


def test_closed_counter_cannot_call_and_busy_counter_cannot_close() -> None:
    engine = make_engine()
    issue(engine, "land", T0)
    engine.set_open("1", False, now=T0)
    with pytest.raises(QueueError) as error:
        engine.call_next("1", now=T0)
    assert error.value.code == "counter_closed"
    engine.set_open("1", True, now=T0)
    engine.call_next("1", now=T0)
    with pytest.raises(QueueError) as error:
        engine.set_open("1", False, now=T0)
    assert error.value.code == "counter_busy"
    engine.complete("1", now=T0)
    assert not engine.set_open("1", False, now=T0).result.open


def test_skip_then_reinstate_puts_the_ticket_back_at_its_original_place() -> None:
    engine = make_engine()
    first = issue(engine, "land", T0)
    second = issue(engine, "land", T0 + timedelta(minutes=1))
    engine.call_next("1", now=T0 + timedelta(minutes=2))
    engine.skip("1", now=T0 + timedelta(minutes=3))
    assert first.status == "skipped"
    assert engine.ahead(second) == 0
    engine.reinstate(first.number, now=T0 + timedelta(minutes=4))
    assert engine.ahead(second) == 1
    assert engine.call_next("1", now=T0 + timedelta(minutes=5)).result is first


def test_transfer_keeps_number_and_original_issue_time() -> None:
    engine = make_engine()
    early = issue(engine, "land", T0)
    later = issue(engine, "civil", T0 + timedelta(minutes=5))
    engine.call_next("1", now=T0 + timedelta(minutes=6))
    engine.transfer("1", "civil", now=T0 + timedelta(minutes=7))
    assert (early.number, early.service_id, early.original_service_id) == ("1001", "civil", "land")
    assert early.issued_at == T0
    # The transferred citizen is ahead of those who took a civil-status number after them.
    assert engine.call_next("3", now=T0 + timedelta(minutes=8)).result is early
    assert engine.ahead(later) == 0


def test_transfer_to_same_service_is_refused_and_changes_nothing() -> None:
    engine = make_engine()
    ticket = issue(engine, "land", T0)
    engine.call_next("1", now=T0)
    with pytest.raises(QueueError) as error:
        engine.transfer("1", "land", now=T0)
    assert error.value.code == "same_service"
    assert ticket.status == "called" and engine.counters["1"].current == ticket.id


def test_recall_counts_and_requires_a_current_ticket() -> None:
    engine = make_engine()
    with pytest.raises(QueueError) as error:
        engine.recall("1", now=T0)
    assert error.value.code == "counter_idle"
    ticket = issue(engine, "land", T0)
    engine.call_next("1", now=T0)
    change = engine.recall("1", now=T0)
    assert ticket.recalls == 1 and change.events[0].type == "ticket.recalled"


def test_cancel_only_waiting_or_skipped() -> None:
    engine = make_engine()
    ticket = issue(engine, "land", T0)
    engine.cancel(ticket.id, now=T0)
    assert ticket.status == "cancelled" and engine.waiting("land") == 0
    with pytest.raises(QueueError) as error:
        engine.cancel(ticket.id, now=T0)
    assert error.value.code == "invalid_state"
    assert "Đã hủy" in str(error.value.values["status"])


def test_ahead_and_estimated_wait_use_recent_service_times_and_open_counters() -> None:
    engine = make_engine()
    tickets = [issue(engine, "land", T0) for _ in range(5)]
    # No history: the configured default of 10 minutes, shared by the 2 open land counters.
    assert engine.ahead(tickets[4]) == 4
    assert engine.estimated_wait_s("land", 4) == 4 * 600 // 2
    engine.set_open("2", False, now=T0)
    assert engine.estimated_wait_s("land", 4) == 4 * 600
    engine.call_next("1", now=T0)
    engine.call_next("1", now=T0 + timedelta(seconds=120))  # first one took 2 minutes
    assert engine.average_service_s("land") == 120
    assert engine.estimated_wait_s("land") == 3 * 120


def test_priority_ticket_waits_only_behind_older_priority_tickets() -> None:
    engine = make_engine()
    for _ in range(3):
        issue(engine, "civil", T0)
    vip = issue(engine, "civil", T0 + timedelta(minutes=1), priority=True)
    assert engine.ahead(vip) == 0
    ordinary = issue(engine, "civil", T0 + timedelta(minutes=2))
    assert engine.ahead(ordinary) == 4


def test_rating_once_within_scale_after_service() -> None:
    engine = make_engine()
    ticket = issue(engine, "land", T0)
    with pytest.raises(QueueError) as error:
        engine.rate(ticket.number, 3, low=1, high=3, now=T0)
    assert error.value.code == "not_rateable"
    engine.call_next("1", now=T0)
    engine.complete("1", now=T0)
    with pytest.raises(QueueError) as error:
        engine.rate(ticket.number, 4, low=1, high=3, now=T0)
    assert error.value.code == "bad_score"
    engine.rate(ticket.number.lower(), 3, low=1, high=3, now=T0)
    assert ticket.rating == 3
    with pytest.raises(QueueError) as error:
        engine.rate(ticket.id, 2, low=1, high=3, now=T0)
    assert error.value.code == "already_rated"


def test_service_day_rolls_over_at_configured_local_time_and_numbers_restart() -> None:
    engine = make_engine(rollover=time(3, 0))
    evening = datetime(2026, 11, 24, 23, 0, tzinfo=SITE_TZ)
    left = issue(engine, "land", evening)
    # 02:59 next morning is still the same service day: numbering continues.
    assert issue(engine, "land", evening + timedelta(hours=3, minutes=59)).number == "1002"
    morning = datetime(2026, 11, 25, 3, 0, tzinfo=SITE_TZ)
    # An operation never opens a day by itself: the hub decides (decide_day) and rolls.
    assert engine.issue("land", now=morning, token="late").result.id == "20261124-1003"
    change = engine.roll(morning)
    assert change.day_rolled
    fresh = engine.issue("land", now=morning, token="new").result
    assert fresh.number == "1001" and fresh.id.startswith("20261125-")
    assert left.status == "cancelled"
    assert any(e.type == "ticket.cancelled" and e.ticket is left for e in change.events)
    # The day never goes back.
    assert not engine.roll(evening).day_rolled and engine.service_day == date(2026, 11, 25)


D = date(2026, 12, 5)
NEXT = D + timedelta(days=1)


@pytest.mark.parametrize(
    ("clock_day", "kwargs", "expected"),
    [
        # A clock behind the service day: stay (never backwards).
        (D - timedelta(days=1), {}, DayDecision(D)),
        # The clock ran into the next day: a rollover.
        (NEXT, {}, DayDecision(NEXT, roll=True)),
        # The clock jumped across the rollover: held, nobody's ticket cancelled.
        (NEXT, {"stepped": True}, DayDecision(D, held=NEXT, reason="clock_jump")),
        # Two rollovers at once without a step (a suspended machine): held.
        (D + timedelta(days=2), {}, DayDecision(D, held=D + timedelta(days=2), reason="clock_jump")),
        # An unsynchronised clock never opens a day, running or starting.
        (NEXT, {"synchronised": False}, DayDecision(D, held=NEXT, reason="clock_unsynchronised")),
        (
            NEXT,
            {"synchronised": False, "starting": True},
            DayDecision(D, held=NEXT, reason="clock_unsynchronised"),
        ),
        # Starting after a weekend off on a synchronised clock: open today.
        (
            D + timedelta(days=3),
            {"starting": True, "synchronised": True},
            DayDecision(D + timedelta(days=3), roll=True),
        ),
        # ...on a clock of unknown sync, only the next day opens by itself.
        (NEXT, {"starting": True, "synchronised": None}, DayDecision(NEXT, roll=True)),
        (
            D + timedelta(days=3),
            {"starting": True, "synchronised": None},
            DayDecision(D, held=D + timedelta(days=3), reason="clock_jump"),
        ),
        # A held day stays held across a restart on the same clock...
        (NEXT, {"held": NEXT, "starting": True}, DayDecision(D, held=NEXT, reason="clock_jump")),
        # ...and opens when the clock runs past the next rollover.
        (NEXT + timedelta(days=1), {"held": NEXT}, DayDecision(NEXT + timedelta(days=1), roll=True)),
        # The clock corrected back to the service day: nothing held any more.
        (D, {"held": NEXT}, DayDecision(D)),
    ],
)
def test_day_rules(clock_day: date, kwargs: dict[str, object], expected: DayDecision) -> None:
    given: dict[str, object] = {"held": None, "synchronised": True, "stepped": False, "starting": False}
    given.update(kwargs)
    assert decide_day(D, clock_day, **given) == expected  # type: ignore[arg-type]


def test_rollover_uses_vietnam_time_even_for_utc_input() -> None:
    engine = make_engine()
    utc_evening = datetime(2026, 11, 24, 17, 30, tzinfo=SITE_TZ).astimezone(tz=None)
    assert engine.day_of(utc_evening).isoformat() == "2026-11-24"
    assert engine.day_of(datetime.fromisoformat("2026-11-24T17:30:00+00:00")).isoformat() == "2026-11-25"


def test_refused_operation_changes_nothing() -> None:
    engine = make_engine()
    issue(engine, "land", T0)
    before = engine.snapshot()
    for bad in (
        lambda: engine.call_next("3", now=T0),
        lambda: engine.complete("1", now=T0),
        lambda: engine.transfer("1", "civil", now=T0),
        lambda: engine.issue("nope", now=T0, token="x"),
    ):
        with pytest.raises(QueueError):
            bad()
    assert engine.snapshot() == before


def test_snapshot_shows_serving_tickets_and_recent_calls() -> None:
    engine = make_engine()
    issue(engine, "civil", T0)
    engine.call_next("3", now=T0)
    snap = engine.snapshot()
    counter3 = next(c for c in snap["counters"] if c["id"] == "3")
    assert counter3["serving"]["number"] == "A001"
    assert snap["recent_calls"][0]["counter_name"] == "3A"
    assert next(s for s in snap["services"] if s["id"] == "civil")["last_number"] == "A001"


def test_a_clock_set_back_does_not_put_a_new_ticket_in_front_of_the_line() -> None:
    engine = make_engine()
    first = issue(engine, "land", T0)
    late = issue(engine, "land", T0 - timedelta(days=1))  # the clock went back a day
    assert late.issued_at >= first.issued_at
    engine.set_open("1", True, now=T0)
    assert engine.call_next("1", now=T0).result is first
