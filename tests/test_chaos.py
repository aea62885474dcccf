"""Chaos: a compressed service day (issue 14, "Done means") — ≥ 3,000 tickets from three kiosks,
five counters calling, the kiosk printer's roll running out twice, a broker restart, a central outage
and `kill -9` of the hub at seeded random points — and what citizens, the hall and central must see:
no number acknowledged twice, nothing acknowledged lost, every call announced once, nothing printed
late, every event relayed to central exactly once.

The day runs once per module (tests/support/chaos.py) and each promise is its own test. Seeded:
`MOTCUA_CHAOS_SEED=n` picks other fault points; `MOTCUA_CHAOS_LONG=1` runs a longer day with more
kills. Real parts only: Mosquitto, `python -m hub`, the central simulator, the printer daemon on a
fake network printer, the hall display's service with a journal for a loudspeaker.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from queue_display.voicepack import build_pack, default_keys
from tests.support.chaos import (
    LIBFAKETIME,
    LONG,
    PRINT_WINDOW_S,
    PRINTING_KIOSK,
    SITE,
    DayRecord,
    Plan,
    ServiceDay,
    clock_steps,
    environment_ready,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(environment_ready() is not None, reason=str(environment_ready())),
]

SEED = int(os.environ.get("MOTCUA_CHAOS_SEED", "14"))
# The long day: 900 of each service's 999 numbers, four times the kills and rolls.
LONG_PLAN = Plan(seed=SEED, tickets=5400, hub_kills=16, paper_rolls=(40, 60, 30, 80))
PLAN = LONG_PLAN if LONG else Plan(seed=SEED)


@pytest.fixture(scope="module")
def voice_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("voicepack")
    build_pack(directory, default_keys())
    return directory


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory, voice_pack: Path) -> DayRecord:
    return ServiceDay(tmp_path_factory.mktemp("chaos-day"), PLAN, voice_pack).run()


def test_the_day_happened_with_all_its_faults(day: DayRecord) -> None:
    print(f"chaos day: {len(day.acks)} tickets, {len(day.calls)} calls, {day.seconds:.0f} s {day.phases}")
    assert len(day.acks) >= PLAN.tickets, (len(day.acks), dict(day.refusals))
    assert sum(r.startswith("hub kill -9") for r in day.restarts) == PLAN.hub_kills, day.restarts
    assert any(r.startswith("broker restart") for r in day.restarts), day.restarts
    assert any(r.startswith("central down") for r in day.restarts), day.restarts
    assert len(day.paper_out) == len(PLAN.paper_rolls), "the roll never ran out"
    assert len(day.calls) > 500, "the counters hardly called anyone"


def test_no_number_is_acknowledged_twice(day: DayRecord) -> None:
    # A retried request (same request_id) must get the same ticket back...
    changed_answers = {rid: answers for rid, answers in day.answers_by_request.items() if len(answers) > 1}
    assert not changed_answers
    # ...and no two requests get the same ticket id or the same number on this service day.
    ids = Counter(ack.ticket_id for ack in day.acks.values())
    numbers = Counter(ack.number for ack in day.acks.values())
    assert [i for i, n in ids.items() if n > 1] == []
    assert [i for i, n in numbers.items() if n > 1] == []
    assert day.doubles == []  # the same, checked after every restart


def test_each_ticket_is_called_once(day: DayRecord) -> None:
    changed_answers = {rid: a for rid, a in day.call_answers_by_request.items() if len(a) > 1}
    assert not changed_answers
    called = Counter(call.ticket_id for call in day.calls.values())
    assert [t for t, n in called.items() if n > 1] == []
    acknowledged = {ack.ticket_id for ack in day.acks.values()}
    assert {call.ticket_id for call in day.calls.values()} <= acknowledged


def test_nothing_acknowledged_is_lost(day: DayRecord) -> None:
    """Read back after every restart and at the end: each acknowledged ticket, with its number."""
    assert day.lost == []
    assert day.changed == []


def test_every_call_is_announced_once(day: DayRecord) -> None:
    heard = Counter(label.split("-", 1)[0] for label in day.announced)
    calls = {call.number: call for call in day.calls.values()}
    called = Counter(call.number for call in day.calls.values())
    never = sorted(f"{n} ({day.nearest_fault(calls[n].at)})" for n in set(called) - set(heard))
    twice = sorted(number for number, n in heard.items() if n > 1)
    not_called = sorted(set(heard) - set(called))
    assert (never, twice, not_called) == ([], [], [])


def test_every_event_reaches_central_exactly_once(day: DayRecord) -> None:
    keys = Counter(day.central_keys)
    assert [k for k, n in keys.items() if n > 1] == []
    expected = {f"{SITE}:event-{n}" for n in range(1, day.final_seq + 1)}
    assert set(keys) == expected, (len(keys), day.final_seq)


def test_nothing_is_printed_late_or_twice(day: DayRecord) -> None:
    """A ticket prints once, within the window after the kiosk answered, and only if the kiosk said
    it would (`print: queued`); one issued while the paper lasts for its whole window prints."""
    acks = {ack.token: ack for ack in day.acks.values()}
    printed = Counter(token for token, _at in day.pages)

    def paper_lasted(start: float) -> bool:
        return all(out > start + PRINT_WINDOW_S or back < start for out, back in day.paper_out)

    problems = {
        "unreadable pages": day.unreadable_pages,
        "printed twice": [acks[t].number if t in acks else t for t, n in printed.items() if n > 1],
        "printed for no acknowledged ticket": [t for t in printed if t not in acks],
        "printed although the kiosk said it would not": [
            f"{acks[t].number} ({acks[t].print}, {day.nearest_fault(acks[t].at)})"
            for t in printed
            if t in acks and acks[t].print != "queued"
        ],
        "printed late": [
            f"{acks[t].number} {at - acks[t].at:.0f}s after issue ({day.nearest_fault(acks[t].at)})"
            for t, at in day.pages
            if t in acks and at - acks[t].at > PRINT_WINDOW_S
        ],
        "queued, the paper lasted, never printed": [
            ack.number
            for ack in day.acks.values()
            if ack.request_id.startswith(f"{PRINTING_KIOSK}-")
            and ack.print == "queued"
            and paper_lasted(ack.at)
            and ack.token not in printed
        ],
    }
    assert {what: found for what, found in problems.items() if found} == {}


@pytest.mark.skipif(not LIBFAKETIME.exists(), reason="needs Debian libfaketime")
def test_clock_steps_of_a_day_never_reacknowledge_a_number(tmp_path: Path) -> None:
    """A hub with no RTC: restarted with the clock a day behind, corrected, a day ahead, corrected
    (`kill -9` between). A number once acknowledged is never acknowledged again, the service day never
    moves backwards, a forward jump is not applied blindly, and nothing acknowledged is lost."""
    record = clock_steps(tmp_path, ("", "-1d", "", "+1d", ""))
    assert [code for offset, code in record.refusals if offset == ""] == []
    ids = Counter(ack.ticket_id for _offset, ack in record.acks)
    assert [i for i, n in ids.items() if n > 1] == []
    days = [ack.ticket_id.split("-", 1)[0] for _offset, ack in record.acks]
    today = days[0]
    by_day: Counter[tuple[str, str]] = Counter(
        (d, ack.number) for d, (_o, ack) in zip(days, record.acks, strict=True)
    )
    assert [key for key, n in by_day.items() if n > 1] == []
    assert days == sorted(days), "the service day moved backwards"
    assert [
        (offset, ack.ticket_id) for offset, ack in record.acks if not ack.ticket_id.startswith(today)
    ] == []
    assert record.lost == []
