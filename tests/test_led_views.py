"""LED boards, the pure parts: what a counter or hall board shows for a queue state, events, a
hub message or a lost connection; blinking and scrolling; text folding; Modbus encodings; config."""

from __future__ import annotations

import copy
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from appliance.errors import ConfigError
from led_board.board import Board, Frame, Line, LineSpec, Output
from led_board.config import LedConfig, load_config
from led_board.desk import RatingArm
from led_board.keys import Action, Debouncer
from led_board.modbus import LineField, ModbusProfile, builtin_models, encode_line
from led_board.model import QueueModel
from led_board.text import fold_ascii, scroll_window
from led_board.views import CounterView, HallView, Situation


def ticket(number: str, *, recalls: int = 0, service: str = "Đất đai") -> dict[str, Any]:
    return {"id": f"20250602-{number}", "number": number, "recalls": recalls, "service_name": service}


STATE: dict[str, Any] = {
    "v": 1,
    "seq": 10,
    "counters": [
        {"id": "1", "name": "1", "services": ["dat-dai"], "open": True, "serving": ticket("1002")},
        {"id": "2", "name": "2", "services": ["dat-dai"], "open": True, "serving": None},
        {"id": "3", "name": "3", "services": ["ho-tich"], "open": False, "serving": None},
    ],
    "recent_calls": [
        {"ticket": ticket("1002"), "counter_id": "1", "counter_name": "1", "ts": "x"},
        {"ticket": ticket("1001"), "counter_id": "2", "counter_name": "2", "ts": "x"},
        {"ticket": ticket("1002"), "counter_id": "1", "counter_name": "1", "ts": "x"},  # a recall
    ],
}
TWO_LINES = (LineSpec(8), LineSpec(12))


def event(kind: str, seq: int, counter_id: str, number: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "type": kind,
        "seq": seq,
        "counter_id": counter_id,
        "ticket": ticket(number, **extra) if number else None,
    }


def model_with_state() -> QueueModel:
    model = QueueModel()
    assert model.apply_state(copy.deepcopy(STATE))
    return model


def texts(frame: Frame) -> list[str]:
    return [line.text for line in frame.lines]


# ---------------------------------------------------------------------- counter board


def test_counter_board_shows_the_number_served_after_a_restart_without_blinking() -> None:
    view = CounterView("1", TWO_LINES)
    frame = view.frame(model_with_state(), Situation(now=100.0))
    assert texts(frame)[:2] == ["1002", "QUẦY 1"]
    assert not frame.lines[0].blink  # an old call rebuilt from queue/state must not blink


def test_a_new_call_blinks_for_the_configured_seconds_then_stays() -> None:
    model = model_with_state()
    view = CounterView("2", TWO_LINES, blink_seconds=5)
    assert model.apply_event(event("ticket.called", 11, "2", "1003"), now=50.0)
    assert view.frame(model, Situation(now=50.1)).lines[0] == Line("1003", blink=True)
    assert view.frame(model, Situation(now=54.9)).lines[0].blink
    steady = view.frame(model, Situation(now=55.1)).lines[0]
    assert steady.text == "1003" and not steady.blink


def test_the_reply_and_the_event_of_one_press_blink_once_and_a_recall_blinks_again() -> None:
    model = model_with_state()
    reply = {"ticket": ticket("1003"), "counter_id": "2"}
    assert model.apply_reply("counter.call_next", reply, "2", now=10.0)
    assert not model.apply_event(event("ticket.called", 11, "2", "1003"), now=10.2)  # same call
    assert model.calls["2"].at == 10.0
    assert model.apply_event(event("ticket.recalled", 12, "2", "1003", recalls=1), now=30.0)
    assert CounterView("2", TWO_LINES).frame(model, Situation(now=30.5)).lines[0].blink


def test_the_board_clears_when_the_counter_closes_and_events_out_of_order_are_ignored() -> None:
    model = model_with_state()
    view = CounterView("1", TWO_LINES)
    model.apply_event(event("ticket.completed", 11, "1", "1002"), now=1.0)
    assert texts(view.frame(model, Situation(now=1.0)))[0] == ""
    assert model.apply_event(event("counter.closed", 12, "1"), now=2.0)
    assert texts(view.frame(model, Situation(now=2.0))) == ["", ""]
    assert not model.apply_event(event("ticket.called", 12, "1", "1009"), now=3.0)  # seq already seen
    stale = copy.deepcopy(STATE)
    assert not model.apply_state(stale)  # seq 10 < 12: an old retained state
    model.expect_resync()  # … unless we just reconnected: then it is the truth
    assert model.apply_state(stale)
    assert texts(view.frame(model, Situation(now=4.0)))[:2] == ["1002", "QUẦY 1"]


def test_completing_an_older_ticket_does_not_clear_the_new_one() -> None:
    model = model_with_state()
    model.apply_event(event("ticket.called", 11, "1", "1004"), now=1.0)
    assert not model.apply_event(event("ticket.completed", 12, "1", "1002"), now=1.0)
    assert model.counters["1"].serving is not None and model.counters["1"].serving.number == "1004"


def test_a_hub_message_takes_the_last_line_for_its_seconds() -> None:
    view = CounterView("2", TWO_LINES)
    situation = Situation(now=10.0, notice="Không còn ai chờ", notice_until=14.0)
    assert texts(view.frame(model_with_state(), situation)) == ["", "Không còn ai chờ"]
    later = Situation(now=14.5, notice="Không còn ai chờ", notice_until=14.0)
    assert texts(view.frame(model_with_state(), later)) == ["", "QUẦY 2"]


def test_the_lost_connection_mark_appears_only_after_five_seconds_and_keeps_the_number() -> None:
    view = CounterView("1", TWO_LINES)
    model = model_with_state()
    assert texts(view.frame(model, Situation(now=104.9, offline_since=100.0))) == ["1002", "QUẦY 1"]
    assert texts(view.frame(model, Situation(now=105.0, offline_since=100.0))) == ["1002", "MẤT KẾT NỐI"]
    english = CounterView("1", TWO_LINES, language="en")
    assert texts(english.frame(model, Situation(now=106.0, offline_since=100.0))) == ["1002", "OFFLINE"]


def test_a_one_line_board_alternates_the_number_with_the_mark() -> None:
    model = model_with_state()
    text_board = CounterView("1", (LineSpec(12),))
    shown = {texts(text_board.frame(model, Situation(now=t, offline_since=0.0)))[0] for t in (6.0, 7.0, 8.5)}
    assert shown == {"1002", "MẤT KẾT NỐI"}
    digits = CounterView("1", (LineSpec(4, text=False),))
    shown = {texts(digits.frame(model, Situation(now=t, offline_since=0.0)))[0] for t in (6.0, 7.0, 8.5)}
    assert shown == {"1002", ""}  # a numbers-only module beats dark instead


# ---------------------------------------------------------------------- hall board


def test_hall_board_lists_the_latest_calls_once_each_with_header_and_message() -> None:
    model = model_with_state()
    view = HallView((LineSpec(16),) * 5, message_text="Kính chào quý khách")
    frame = view.frame(model, Situation(now=1.0))
    assert texts(frame) == ["SỐ → QUẦY", "1002 → 1", "1001 → 2", "", "Kính chào quý khách"]
    assert frame.lines[-1].scroll
    model.apply_event(event("ticket.called", 11, "3", "2001", service="Hộ tịch"), now=2.0)
    frame = view.frame(model, Situation(now=2.5))
    assert texts(frame)[1:4] == ["2001 → 3", "1002 → 1", "1001 → 2"]
    assert frame.lines[1].blink and not frame.lines[2].blink
    offline = view.frame(model, Situation(now=20.0, offline_since=10.0))
    assert texts(offline)[-1] == "MẤT KẾT NỐI"


def test_hall_rows_can_be_limited() -> None:
    frame = HallView((LineSpec(16),) * 6, rows=1, header=False).frame(model_with_state(), Situation(now=0))
    assert texts(frame) == ["1002 → 1"]


# ---------------------------------------------------------------------- board base: blink, scroll, folding


class RecordingBoard(Board):
    kind = "recording"

    def __init__(self, specs: tuple[LineSpec, ...], **options: Any) -> None:
        super().__init__(specs, clock=lambda: 0.0, **options)
        self.drawn: list[Output] = []

    def _draw(self, output: Output) -> None:
        self.drawn.append(output)


def test_board_blinks_scrolls_folds_and_draws_only_changes() -> None:
    board = RecordingBoard((LineSpec(4, text=False), LineSpec(6, unicode=False)), scroll_speed=2.0)
    frame = Frame((Line("T1002", blink=True), Line("QUẦY SỐ 3", scroll=True)))
    board.show(frame, now=0.0)
    assert board.output == Output(("1002", "QUAY S"), ("center", "left"))
    board.show(frame, now=0.1)  # nothing changed on the panel: nothing sent
    assert len(board.drawn) == 1
    board.tick(now=0.6)  # dark half of the blink, scrolled by one character
    assert board.output is not None and board.output.lines == ("", "UAY SO")
    board.clear()
    assert board.output is not None and board.output.lines == ("", "")
    board.close()
    board.close()  # idempotent


def test_text_folding_and_scroll_window() -> None:
    assert fold_ascii("QUẦY SỐ → Đất đai “x”") == 'QUAY SO > Dat dai "x"'
    assert fold_ascii(unicodedata.normalize("NFD", "Hộ tịch")) == "Ho tich"
    assert scroll_window("ABCDEF", 4, 0) == "ABCD"
    assert scroll_window("ABCDEF", 4, 8) == " ABC"  # after the gap the message comes round again
    assert scroll_window("AB", 4, 3) == "AB"


# ---------------------------------------------------------------------- Modbus encodings


@pytest.mark.parametrize(
    ("encoding", "columns", "text", "registers"),
    [
        ("uint16", 4, "1002", [1002]),
        ("uint16", 4, "T005", [5]),
        ("uint16", 4, "", [0]),
        ("uint32", 6, "123456", [0x0001, 0xE240]),
        ("bcd", 4, "12", [0xFF12]),
        ("bcd", 6, "1002", [0xFF10, 0x02FF]),
        ("seven_segment", 4, "T05", [0x00, 0x78, 0x3F, 0x6D]),
        ("ascii", 5, "AB", [0x4142, 0x2020, 0x2000 | 0x20]),
        ("char", 3, "A1", [0x41, 0x31, 0x20]),
        ("utf16", 4, "SỐ", [0x53, 0x1ED0, 0x20, 0x20]),
    ],
)
def test_modbus_line_encodings(encoding: str, columns: int, text: str, registers: list[int]) -> None:
    field = LineField(address=0, columns=columns, encoding=encoding)  # type: ignore[arg-type]
    assert encode_line(field, text) == registers
    assert len(registers) == field.registers


def test_modbus_profiles_are_data_and_overlaps_are_refused() -> None:
    models = builtin_models()
    assert {"digits-4", "text-2x8", "hall-6x12", "unicode-2x16"} <= set(models)
    assert models["digits-4"].lines[0].spec == LineSpec(4, text=False, unicode=False)
    assert models["unicode-2x16"].lines[0].spec.unicode
    with pytest.raises(ValueError, match="both use register 1"):
        ModbusProfile.model_validate(
            {
                "lines": [{"address": 0, "columns": 4, "encoding": "ascii"}],
                "brightness": {"address": 1, "max": 8},
            }
        )


# ---------------------------------------------------------------------- keys, rating window, config


def test_actions_debounce_and_rating_window() -> None:
    assert Action.parse("transfer:ho-tich") == Action("transfer", "ho-tich")
    assert Action.parse("rate:3").score == 3 and Action.parse("rate:3").method == "rating.submit"
    for bad in ("dance", "rate:9", "recall:2", "call next"):
        with pytest.raises(ValueError):
            Action.parse(bad)
    debouncer = Debouncer(0.3)
    assert debouncer.accept("call_next", 1.0)
    assert not debouncer.accept("call_next", 1.2)
    assert debouncer.accept("recall", 1.2)
    assert debouncer.accept("call_next", 1.31)
    arm = RatingArm(30)
    assert arm.current(0) is None
    arm.arm("t1", 100.0)
    assert arm.current(129.9) == "t1" and arm.current(130.0) is None
    arm.arm("t1", 200.0)
    assert arm.take(201.0) == "t1"
    assert arm.take(202.0) is None and not arm.arm("t1", 203.0)  # one rating per ticket


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "led.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid_and_mistakes_name_the_key(tmp_path: Path) -> None:
    example = load_config(Path("led_board/led.example.toml"))
    assert isinstance(example, LedConfig) and example.rating is not None and example.rating.scale == 3
    head = 'device_id = "led-1"\nsite = "demo"\nrole = "led"\n'
    cases = {
        '[counter]\ncounter_id = "1"\n[board]\ndriver = "modbus"\nmodel = "nope"\n': "unknown model 'nope'",
        '[counter]\ncounter_id = "1"\n[board]\ndriver = "simulated"\n[rating]\nscale = 5\n'
        "buttons = [1, 2, 3]\n": "needs 5 buttons",
        '[counter]\ncounter_id = "1"\n[board]\ndriver = "simulated"\n[[keypads]]\ntype = "evdev"\n'
        'keys = { KEY_NOPE = "call_next" }\n': "unknown key 'KEY_NOPE'",
        '[counter]\ncounter_id = "1"\n[board]\ndriver = "simulated"\n[[keypads]]\ntype = "gpio"\n'
        "buttons = { dance = 17 }\n": "unknown key action 'dance'",
        '[board]\ndriver = "simulated"\n': r"needs a \[counter\] table",
    }
    for body, words in cases.items():
        with pytest.raises(ConfigError, match=words) as error:
            load_config(write(tmp_path, head + body))
        assert str(tmp_path / "led.toml") in str(error.value)


def test_python_m_led_board_checks_a_configuration() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "led_board", "--check", "-c", "led_board/led.example.toml"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "OK — LED led-counter-3 (counter 3)" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "led_board", "--check", "-c", "/nonexistent/led.toml"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and "configuration file not found" in bad.stderr
