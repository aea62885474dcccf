"""Counter keys and rating buttons: GPIO buttons, buzzer and lamps on gpiozero's MockFactory, a USB
keypad fed synthetic evdev events, and the desk's exactly-once rules (debounce, one press at a time,
retry with the same request_id, refusal while offline). The hub here is a scripted double at the RPC
boundary; tests/test_led_hub.py runs the same parts against a real hub."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from evdev import InputEvent, ecodes
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from appliance.rpc import RpcError, RpcTimeout
from led_board.desk import Desk, Outcome, Press, RatingArm
from led_board.feedback import Feedback, RatingLamps
from led_board.inputs import EvdevKeypad, GpioButtons, LineKeypad
from led_board.keys import Action
from tests.support.mqtt import wait_until

CALLED = {"ticket": {"id": "20250602-1001", "number": "1001", "recalls": 0}, "counter_id": "1"}


class ScriptedHub:
    """Answers calls from a script (results or RpcErrors) and records each with its request_id."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []
        self.script: list[Any] = []
        self.gate = threading.Event()
        self.gate.set()

    def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        self.calls.append((method, dict(params or {}), request_id))
        assert self.gate.wait(5)
        outcome = self.script.pop(0) if self.script else CALLED
        if isinstance(outcome, Exception):
            raise outcome
        return dict(outcome)


class Listener:
    def __init__(self) -> None:
        self.results: list[tuple[Press, Mapping[str, Any]]] = []
        self.notices: list[str] = []

    def on_result(self, press: Press, result: Mapping[str, Any]) -> None:
        self.results.append((press, result))

    def on_notice(self, text: str) -> None:
        self.notices.append(text)


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()
    Device.pin_factory = None


class Counter:
    """A desk with five GPIO keys, a buzzer on 18 and a lamp on 25, as wired at a counter."""

    PINS = {"call_next": 17, "recall": 27, "skip": 22, "complete": 23, "transfer": 24}

    def __init__(self, factory: MockFactory, *, online: bool = True, **options: Any) -> None:
        self.factory = factory
        self.hub = ScriptedHub()
        self.listener = Listener()
        self.online = online
        self.feedback = Feedback.from_pins(18, 25, pin_factory=factory)
        self.rating = RatingArm(30)
        self.lamps = RatingLamps.from_pins([16], pin_factory=factory)
        self.desk = Desk(
            "1",
            self.hub,
            self.listener,
            link_up=lambda: self.online,
            wait_link=lambda timeout: self.online,
            feedback=self.feedback,
            rating=self.rating,
            rating_signals=self.lamps,
            transfer_to="ho-tich",
            **{"debounce": 0.3, "rpc_timeout": 0.2, "retry_window": 2.0, **options},
        )
        self.desk.start()
        self.outcomes: list[Outcome] = []
        keys = {Action.parse(name): pin for name, pin in self.PINS.items()}
        self.keys = GpioButtons(keys, self._press, bounce_time=None, pin_factory=factory)
        scores = {Action("rate", str(score)): pin for score, pin in enumerate((5, 6, 13), 1)}
        self.scores = GpioButtons(scores, self._press, bounce_time=None, pin_factory=factory)

    def _press(self, action: Action) -> None:
        self.outcomes.append(self.desk.press(action))

    def push(self, pin: int) -> None:
        """A finger on the button: the pin goes low (pull-up wiring), then back high."""
        self.factory.pin(pin).drive_low()
        self.factory.pin(pin).drive_high()

    def beeps(self) -> int:
        return sum(1 for state in self.factory.pin(18).states if state.state)

    def idle(self) -> None:
        wait_until(lambda: not any(lane.busy for lane in self.desk.lanes.values()), timeout=5)

    def close(self) -> None:
        self.keys.close()
        self.scores.close()
        self.desk.close()
        self.feedback.close()
        self.lamps.close()


def test_a_key_press_calls_the_hub_once_with_a_request_id_and_beeps(factory: MockFactory) -> None:
    counter = Counter(factory)
    counter.hub.gate.clear()
    counter.push(17)
    wait_until(lambda: len(counter.hub.calls) == 1)
    assert factory.pin(25).state, "the lamp is lit while the request is on its way"
    counter.hub.gate.set()
    counter.idle()
    method, params, request_id = counter.hub.calls[0]
    assert (method, params["counter_id"]) == ("counter.call_next", "1")
    assert request_id and len(request_id) == 32
    assert counter.listener.results[0][1]["ticket"]["number"] == "1001"
    wait_until(lambda: not factory.pin(25).state)
    wait_until(lambda: counter.beeps() == 1)
    counter.close()


def test_contact_bounce_and_a_double_tap_make_one_call(factory: MockFactory) -> None:
    counter = Counter(factory)
    for _ in range(5):  # a bouncing contact: five falling edges within a few milliseconds
        counter.push(17)
    counter.idle()
    assert [call[0] for call in counter.hub.calls] == ["counter.call_next"]
    assert counter.outcomes.count(Outcome.ACCEPTED) == 1
    assert counter.outcomes.count(Outcome.BOUNCED) == 4
    time.sleep(0.35)  # the officer presses again on purpose: a new call with a new request_id
    counter.push(17)
    counter.idle()
    assert len(counter.hub.calls) == 2 and counter.hub.calls[0][2] != counter.hub.calls[1][2]
    counter.close()


def test_the_key_and_the_answer_may_signal_at_the_same_moment(factory: MockFactory) -> None:
    """The key's thread beeps "working" while the worker already beeps "failed" (an instant refusal):
    gpiozero's blink is not thread-safe, and the refusal must still be signalled, not raise."""
    errors: list[BaseException] = []

    def signal(action: Any) -> None:
        try:
            action()
        except Exception as error:
            errors.append(error)

    for _ in range(150):
        feedback = Feedback.from_pins(18, 19, pin_factory=factory)
        threads = [threading.Thread(target=signal, args=(f,)) for f in (feedback.working, feedback.failed)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        feedback.close()
    assert errors == []


def test_a_press_while_the_previous_is_on_its_way_is_refused_with_two_beeps(factory: MockFactory) -> None:
    counter = Counter(factory)
    counter.hub.gate.clear()
    counter.push(17)
    wait_until(lambda: len(counter.hub.calls) == 1 and counter.beeps() == 1 and not factory.pin(18).state)
    counter.push(27)  # recall while call_next has no answer yet
    assert counter.outcomes == [Outcome.ACCEPTED, Outcome.BUSY]
    assert counter.listener.notices == ["Đang xử lý lệnh trước, xin chờ."]
    counter.hub.gate.set()
    counter.idle()
    assert [call[0] for call in counter.hub.calls] == ["counter.call_next"]
    wait_until(lambda: counter.beeps() == 3)  # one for the press, two for the refusal
    counter.close()


def test_an_unanswered_press_is_retried_with_the_same_request_id(factory: MockFactory) -> None:
    counter = Counter(factory)
    counter.hub.script = [RpcTimeout(), RpcError.from_key("unavailable"), CALLED]
    counter.push(17)
    counter.idle()
    ids = {request_id for _, _, request_id in counter.hub.calls}
    assert len(counter.hub.calls) == 3 and len(ids) == 1, "a retry must replay, not call again"
    assert len(counter.listener.results) == 1
    counter.close()


def test_the_hub_refusal_is_shown_and_a_long_beep_sounds(factory: MockFactory) -> None:
    counter = Counter(factory)
    counter.hub.script = [RpcError("no_waiting", "Không còn ai chờ.", "No one is waiting.")]
    counter.push(17)
    counter.idle()
    assert counter.listener.notices == ["Không còn ai chờ"]
    assert len(counter.hub.calls) == 1  # a refusal is an answer: not retried
    wait_until(
        lambda: any(
            b.timestamp - a.timestamp >= 0.35
            for a, b in zip(factory.pin(18).states, factory.pin(18).states[1:], strict=False)
            if a.state
        )
    )
    counter.close()


def test_presses_while_offline_are_refused_not_queued(factory: MockFactory) -> None:
    counter = Counter(factory, online=False)
    counter.push(17)
    counter.idle()
    assert counter.outcomes == [Outcome.OFFLINE]
    assert counter.listener.notices == ["MẤT KẾT NỐI"]
    counter.online = True
    time.sleep(0.05)
    assert counter.hub.calls == [], "nothing was queued for later"
    time.sleep(0.3)
    counter.push(17)
    counter.idle()
    assert [call[0] for call in counter.hub.calls] == ["counter.call_next"]
    counter.close()


def test_transfer_key_sends_the_configured_service(factory: MockFactory) -> None:
    counter = Counter(factory)
    counter.push(24)
    counter.idle()
    method, params, _ = counter.hub.calls[0]
    assert method == "counter.transfer" and params["to_service_id"] == "ho-tich"
    counter.close()


def test_rating_buttons_are_armed_after_a_completion_once_per_ticket(factory: MockFactory) -> None:
    counter = Counter(factory)
    counter.push(5)  # nobody was served: not armed, nothing sent
    assert counter.outcomes == [Outcome.NOT_ARMED] and counter.hub.calls == []
    counter.rating.arm("20250602-1001", time.monotonic())
    counter.lamps.set_armed(True)
    assert factory.pin(16).state, "the lamp shows the buttons are armed"
    counter.hub.script = [{"ticket": CALLED["ticket"], "score": 2}]
    counter.push(6)
    counter.idle()
    assert counter.hub.calls == [
        ("rating.submit", {"ticket_id": "20250602-1001", "score": 2, "lang": "vi"}, counter.hub.calls[0][2])
    ]
    assert counter.listener.notices == ["Cảm ơn quý khách!"]
    time.sleep(0.35)
    counter.push(13)  # a second rating for the same ticket is not sent
    assert counter.outcomes[-1] == Outcome.NOT_ARMED and len(counter.hub.calls) == 1
    counter.close()


# ---------------------------------------------------------------------- USB keypad (evdev)


class FakeKeypad:
    """An `evdev.InputDevice` stand-in: a pipe makes it readable, `read()` returns queued events."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.grabbed = False
        self.closed = False
        self.events: list[InputEvent] = []
        self.error: OSError | None = None
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)

    def type_keys(self, *events: InputEvent) -> None:
        self.events.extend(events)
        os.write(self._write, b"x")

    def unplug(self) -> None:
        self.error = OSError(errno.ENODEV, "No such device")
        os.write(self._write, b"x")

    def fileno(self) -> int:
        return self._read

    def read(self) -> list[InputEvent]:
        with contextlib.suppress(BlockingIOError):
            os.read(self._read, 64)
        if self.error is not None:
            raise self.error
        events, self.events = self.events, []
        return events

    def grab(self) -> None:
        self.grabbed = True

    def close(self) -> None:
        self.closed = True


def key(code: int, value: int, at: float = 0.0) -> InputEvent:
    return InputEvent(int(at), int((at % 1) * 1e6), ecodes.EV_KEY, code, value)


def test_usb_keypad_is_grabbed_and_only_key_downs_of_mapped_keys_are_presses(factory: MockFactory) -> None:
    counter = Counter(factory)
    opened: list[FakeKeypad] = []

    def opener(path: str) -> FakeKeypad:
        if opened and opened[-1].error is not None:  # still unplugged
            raise OSError(errno.ENOENT, "No such file or directory")
        opened.append(FakeKeypad(path))
        return opened[-1]

    keymap = {ecodes.KEY_KP1: Action("call_next"), ecodes.KEY_KP0: Action("transfer", "chung-thuc")}
    keypad = EvdevKeypad(
        "/dev/input/by-id/usb-keypad-event-kbd", keymap, counter._press, opener=opener, retry_interval=0.05
    )
    keypad.start()
    assert keypad.connected.wait(5) and opened[0].grabbed
    opened[0].type_keys(
        key(ecodes.KEY_KP1, 1),
        key(ecodes.KEY_KP1, 2),
        key(ecodes.KEY_KP1, 2),  # held: auto-repeat
        key(ecodes.KEY_KP1, 0),
        InputEvent(0, 0, ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
        key(ecodes.KEY_A, 1),
        key(ecodes.KEY_A, 0),  # not on the map
    )
    wait_until(lambda: len(counter.hub.calls) == 1)
    counter.idle()
    opened[0].type_keys(key(ecodes.KEY_KP0, 1), key(ecodes.KEY_KP0, 0))
    wait_until(lambda: len(counter.hub.calls) == 2)
    assert counter.hub.calls[1][1]["to_service_id"] == "chung-thuc"
    assert keypad.decoder.ignored == 1

    opened[0].unplug()  # pulled out: reported, then found again when plugged back
    wait_until(lambda: keypad.error is not None and not keypad.connected.is_set())
    opened[0].error = None
    wait_until(lambda: keypad.connected.is_set() and len(opened) == 2)
    assert opened[0].closed and opened[1].grabbed
    keypad.close()
    keypad.close()
    counter.close()


def test_simulated_keypad_reads_actions_from_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "keys"
    seen: list[Action] = []
    keypad = LineKeypad(str(fifo), seen.append)
    keypad.start()
    wait_until(fifo.exists)
    with fifo.open("w", encoding="utf-8") as writer:
        writer.write("call_next\nnonsense\n\nrate:2\n")
    wait_until(lambda: len(seen) == 2)
    assert seen == [Action("call_next"), Action("rate", "2")]
    keypad.close()
