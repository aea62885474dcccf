"""BoardModel: rebuilt from queue/state, updated by queue/events, highlight, paging (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from appliance.timeutil import SITE_TZ
from queue_display.board import (
    LANDSCAPE,
    PORTRAIT,
    BoardModel,
    counter_title,
    format_clock,
    format_wait,
)


def ticket(number: str, service: str = "dat-dai", **extra: Any) -> dict[str, Any]:
    return {"id": f"20251124-{number}", "number": number, "service_id": service, **extra}


def state(seq: int = 10, counters: int = 4, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "v": 1,
        "seq": seq,
        "ts": "2025-11-24T08:30:00.000+07:00",
        "site": {"id": "demo", "name": "Bộ phận Một cửa UBND huyện Long Thành"},
        "services": [
            {"id": "dat-dai", "name": "Đất đai", "name_en": "Land", "waiting": 5, "estimated_wait_s": 1500},
            {
                "id": "ho-tich",
                "name": "Hộ tịch",
                "name_en": "Civil status",
                "waiting": 0,
                "estimated_wait_s": 0,
            },
        ],
        "counters": [
            {
                "id": str(i),
                "name": str(i),
                "services": ["dat-dai"],
                "open": i != 3,
                "serving": ticket(f"{1000 + i}") if i in (1, 2) else None,
            }
            for i in range(1, counters + 1)
        ],
        "recent_calls": [
            {
                "ticket": ticket("1002"),
                "counter_id": "2",
                "counter_name": "2",
                "ts": "2025-11-24T08:29:00+07:00",
            },
            {
                "ticket": ticket("1001"),
                "counter_id": "1",
                "counter_name": "1",
                "ts": "2025-11-24T08:20:00+07:00",
            },
        ],
    }
    payload.update(overrides)
    return payload


def event(kind: str, seq: int, number: str, counter: str | None = "4", **extra: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "type": kind,
        "seq": seq,
        "ts": "2025-11-24T08:31:00.000+07:00",
        "ticket": ticket(number, **extra),
        "counter_id": counter,
        "counter_name": counter,
    }


def test_rebuilds_everything_from_queue_state() -> None:
    model = BoardModel(message="Xin chào")
    assert not model.snapshot(0).has_state
    model.apply_state(state(), now=0)
    board = model.snapshot(0)
    assert board.has_state and board.site_name == "Bộ phận Một cửa UBND huyện Long Thành"
    assert [(t.title, t.number, t.open) for t in board.counters] == [
        ("Quầy 1", "1001", True),
        ("Quầy 2", "1002", True),
        ("Quầy 3", None, False),
        ("Quầy 4", None, True),
    ]
    assert [(c.number, c.counter_title) for c in board.recent] == [("1002", "Quầy 2"), ("1001", "Quầy 1")]
    assert [(s.name, s.waiting, s.estimated_wait_s) for s in board.services] == [
        ("Đất đai", 5, 1500),
        ("Hộ tịch", 0, 0),
    ]
    assert board.message == "Xin chào"  # no message in the state: the configured one
    assert not any(t.highlighted for t in board.counters) and board.latest is None


def test_a_call_updates_the_board_and_is_highlighted_for_a_while() -> None:
    model = BoardModel(highlight_s=8)
    model.apply_state(state(), now=0)
    call = model.apply_event(event("ticket.called", 11, "1003"), now=100)
    assert call is not None and (call.number, call.counter_id, call.kind) == ("1003", "4", "called")
    board = model.snapshot(101)
    tile = board.counters[3]
    assert (tile.number, tile.highlighted) == ("1003", True)
    assert board.latest is not None and board.latest.number == "1003"
    assert [c.number for c in board.recent] == ["1003", "1002", "1001"]
    assert board.services[0].waiting == 4  # one fewer waiting until the next state says otherwise
    later = model.snapshot(108.5)
    assert not later.counters[3].highlighted and later.latest is None
    assert later.counters[3].number == "1003"


def test_the_state_after_an_event_keeps_the_highlight_and_wins() -> None:
    model = BoardModel(highlight_s=8)
    model.apply_state(state(), now=0)
    model.apply_event(event("ticket.called", 11, "1003"), now=100)
    after = state(seq=11)
    after["counters"][3]["serving"] = ticket("1003")
    after["services"][0]["waiting"] = 7
    model.apply_state(after, now=100.1)
    board = model.snapshot(101)
    assert board.counters[3].highlighted and board.services[0].waiting == 7


def test_completion_clears_the_counter_and_issue_counts_waiting() -> None:
    model = BoardModel()
    model.apply_state(state(), now=0)
    assert model.apply_event(event("ticket.completed", 11, "1001", counter="1"), now=1) is None
    model.apply_event(event("ticket.issued", 12, "1050", counter=None), now=2)
    board = model.snapshot(3)
    assert board.counters[0].number is None
    assert board.services[0].waiting == 6


def test_recall_moves_the_ticket_to_the_top_once() -> None:
    model = BoardModel()
    model.apply_state(state(), now=0)
    call = model.apply_event(event("ticket.recalled", 11, "1001", counter="1"), now=5)
    assert call is not None and call.kind == "recalled"
    board = model.snapshot(6)
    assert [c.number for c in board.recent] == ["1001", "1002"]
    assert board.counters[0].highlighted


def test_an_event_is_announced_once_even_if_delivered_twice_or_already_in_the_state() -> None:
    model = BoardModel()
    model.apply_state(state(seq=10), now=0)
    assert model.apply_event(event("ticket.called", 11, "1003"), now=1) is not None
    assert model.apply_event(event("ticket.called", 11, "1003"), now=1.1) is None  # QoS 1 redelivery
    # The hub publishes events then the state; if the state got here first the call is still news.
    model.apply_state(state(seq=13), now=2)
    assert model.apply_event(event("ticket.called", 13, "1004", counter="2"), now=2.1) is not None
    assert model.snapshot(2.2).counters[1].highlighted


def test_a_hub_reset_is_followed() -> None:
    model = BoardModel()
    model.apply_state(state(seq=500), now=0)
    model.apply_event(event("ticket.called", 501, "1003"), now=1)
    model.apply_state(state(seq=1), now=2)  # new database: numbering restarts
    assert model.snapshot(2).counters[3].number is None
    # Its first call of 1003 is a new call (a later time), said although 1003 was called before.
    again = {**event("ticket.called", 2, "1003"), "ts": "2025-11-24T08:45:00.000+07:00"}
    assert model.apply_event(again, now=3) is not None


def test_new_serving_ticket_seen_only_in_a_state_is_highlighted() -> None:
    model = BoardModel()
    model.apply_state(state(seq=10), now=0)
    changed = state(seq=14)
    changed["counters"][0]["serving"] = ticket("1009")
    model.apply_state(changed, now=50)
    assert model.snapshot(51).counters[0].highlighted
    assert not model.snapshot(51).counters[1].highlighted


def test_sixty_counters_are_paged_and_a_call_shows_its_page() -> None:
    model = BoardModel(page_size=LANDSCAPE.page_size, page_s=10, highlight_s=8)
    model.apply_state(state(counters=60), now=0)
    pages = {model.snapshot(t).page for t in (0, 10, 20, 30)}
    board = model.snapshot(0)
    assert board.pages == 3 and pages == {0, 1, 2} and len(board.page_counters) == 20
    model.apply_event(event("ticket.called", 11, "1055", counter="45"), now=100)
    board = model.snapshot(101)
    assert board.page == 2 and any(t.id == "45" and t.highlighted for t in board.page_counters)


def test_connection_mark() -> None:
    model = BoardModel()
    assert not model.snapshot(0).connected
    model.set_connected(True)
    version = model.version
    assert model.snapshot(0).connected
    model.set_connected(False)
    assert not model.snapshot(0).connected and model.version > version


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"counters": "many", "services": None, "recent_calls": [1, "x", None]},
        {"counters": [{"id": ""}, {"name": "no id"}, {"id": "1", "serving": {"number": None}}]},
        {"seq": "eleven", "site": {}, "services": [{"id": "s", "waiting": -4, "estimated_wait_s": "soon"}]},
    ],
)
def test_malformed_states_do_not_crash(payload: dict[str, Any]) -> None:
    model = BoardModel()
    model.apply_state(payload, now=0)
    model.snapshot(0)


@pytest.mark.parametrize(
    "payload",
    [{}, {"type": "ticket.called"}, {"type": "ticket.called", "ticket": "1003"}, {"type": "x", "seq": None}],
)
def test_malformed_events_do_not_crash_or_announce(payload: dict[str, Any]) -> None:
    model = BoardModel()
    model.apply_state(state(), now=0)
    assert model.apply_event(payload, now=1) is None


def test_layouts_hold_twenty_counters_per_page() -> None:
    assert LANDSCAPE.page_size == PORTRAIT.page_size == 20
    assert LANDSCAPE.grid(4) == (2, 2) and LANDSCAPE.grid(6) == (3, 2) and LANDSCAPE.grid(40) == (5, 4)
    assert PORTRAIT.grid(6) == (2, 3) and PORTRAIT.grid(20) == (4, 5)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "< 1 phút"),
        (29, "< 1 phút"),
        (600, "≈ 10 phút"),
        (3900, "≈ 65 phút"),
        (4 * 3600, "> 3 giờ"),
    ],
)
def test_wait_is_said_in_minutes(seconds: int | None, text: str) -> None:
    assert format_wait(seconds) == text


def test_clock_and_titles() -> None:
    assert format_clock(datetime(2025, 11, 24, 8, 5, tzinfo=SITE_TZ)) == ("08:05", "Thứ Hai, 24/11/2025")
    assert counter_title("5") == "Quầy 5" and counter_title("Quầy 3A") == "Quầy 3A"


def test_a_recall_rehighlights_the_one_line_of_its_number() -> None:
    # The hub's state lists every call, a recall included (hub.engine keeps a call history).
    from datetime import datetime, timedelta

    from appliance.timeutil import SITE_TZ
    from hub.engine import CounterSpec, QueueEngine, Service

    engine = QueueEngine(
        [Service("land", "Đất đai", first=1001, last=1999, digits=1)], [CounterSpec("1", "1", ("land",))]
    )
    engine.counters["1"].open = True
    start = datetime(2026, 11, 24, 8, 0, tzinfo=SITE_TZ)
    for index in range(2):
        engine.issue("land", now=start, token=f"t{index}")
    engine.call_next("1", now=start + timedelta(minutes=1))
    engine.call_next("1", now=start + timedelta(minutes=2))
    engine.recall("1", now=start + timedelta(minutes=3))
    state = engine.snapshot()
    assert [call["ticket"]["number"] for call in state["recent_calls"]] == ["1002", "1002", "1001"]

    model = BoardModel()
    model.apply_state(state, now=0)
    recalled = model.apply_event(
        {
            "v": 1,
            "type": "ticket.recalled",
            "ticket": {"id": state["recent_calls"][0]["ticket"]["id"], "number": "1002"},
            "counter_id": "1",
            "counter_name": "1",
        },
        now=1,
    )
    assert recalled is not None
    model.apply_state(state, now=2)  # the state that follows the recall
    board = model.snapshot(3)
    assert [call.number for call in board.recent] == ["1002", "1001"]
    assert [call.highlighted for call in board.recent] == [True, False]


def test_a_call_only_the_state_brought_is_announced_once_unless_it_is_old() -> None:
    from datetime import timedelta

    from appliance.timeutil import iso, now

    wall = now()

    def recent(number: str, seconds_ago: float) -> dict[str, Any]:
        return {
            "ticket": ticket(number),
            "counter_id": "4",
            "counter_name": "4",
            "ts": iso(wall - timedelta(seconds=seconds_ago)),
        }

    model = BoardModel()
    model.apply_state(state(seq=10), now=0)
    with_calls = {**state(seq=12), "ts": iso(wall), "recent_calls": [recent("1004", 5), recent("1003", 500)]}
    model.apply_state(with_calls, now=1)
    missed = model.missed_calls(with_calls, wall, 120)
    assert [(call.number, call.kind) for call in missed] == [("1004", "called")]  # 1003 is only shown
    assert model.missed_calls(with_calls, wall, 120) == []  # the next state: already said
    # The event of the same call, arriving late, is not said a second time.
    late = {**event("ticket.called", 12, "1004"), "ts": with_calls["recent_calls"][0]["ts"]}
    assert model.apply_event(late, now=2) is None
    # A recall (same ticket, a new time) is news again.
    recalled = {**with_calls, "seq": 13, "recent_calls": [recent("1004", 1), *with_calls["recent_calls"]]}
    assert [(c.number, c.kind) for c in model.missed_calls(recalled, wall, 120)] == [("1004", "recalled")]


def test_an_older_retained_state_from_a_restarted_broker_does_not_make_calls_news_again() -> None:
    """A broker restarted from an older save brings back an older retained `queue/state` (a lower
    seq); the calls the hall already heard must not be said again when the hub's state follows."""
    from datetime import timedelta

    from appliance.timeutil import iso, now

    wall = now()
    call_ts = iso(wall - timedelta(seconds=5))
    model = BoardModel()
    model.apply_state(state(seq=10), now=0)
    heard = model.apply_event({**event("ticket.called", 11, "1004"), "ts": call_ts}, now=1)
    assert heard is not None and heard.number == "1004"
    current = {
        **state(seq=11),
        "ts": iso(wall),
        "recent_calls": [{"ticket": ticket("1004"), "counter_id": "4", "counter_name": "4", "ts": call_ts}],
    }
    assert model.missed_calls(current, wall, 120) == []
    model.apply_state(state(seq=9), now=2)  # the broker's older save
    model.apply_state(current, now=3)  # the hub republishes its state
    assert model.missed_calls(current, wall, 120) == []
