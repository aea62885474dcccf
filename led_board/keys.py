"""Key actions of a counter and the pure parts of reading keys: parsing "transfer:ho-tich",
debouncing, and turning evdev key events into actions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# Action name -> hub RPC method. Every one takes {counter_id}; transfer also {to_service_id}.
COUNTER_METHODS: dict[str, str] = {
    "call_next": "counter.call_next",
    "recall": "counter.recall",
    "skip": "counter.skip",  # vắng mặt (no-show)
    "complete": "counter.complete",
    "transfer": "counter.transfer",
    "start": "counter.start",
    "open": "counter.open",
    "close": "counter.close",
}
RATE = "rate"
_SPEC = re.compile(r"^(?P<name>[a-z_]+)(?::(?P<argument>[A-Za-z0-9][A-Za-z0-9_.-]{0,63}))?$")
KEY_DOWN = 1  # evdev values: 0 up, 1 down, 2 auto-repeat (never a new press)


@dataclass(frozen=True)
class Action:
    name: str
    argument: str | None = None  # transfer: target service id; rate: the score

    @classmethod
    def parse(cls, spec: str) -> Action:
        """ "call_next", "transfer", "transfer:ho-tich", "rate:3"; ValueError naming the spec."""
        match = _SPEC.match(spec.strip())
        if match is None:
            raise ValueError(f"invalid key action {spec!r}")
        name, argument = match["name"], match["argument"]
        if name == RATE:
            if argument is None or not argument.isdigit() or not 1 <= int(argument) <= 5:
                raise ValueError(f"invalid key action {spec!r}: use rate:1 … rate:5")
        elif name not in COUNTER_METHODS:
            known = ", ".join([*COUNTER_METHODS, "rate:N"])
            raise ValueError(f"unknown key action {spec!r}; known: {known}")
        elif argument is not None and name != "transfer":
            raise ValueError(f"key action {name!r} takes no argument (got {spec!r})")
        return cls(name, argument)

    @property
    def method(self) -> str:
        return "rating.submit" if self.name == RATE else COUNTER_METHODS[self.name]

    @property
    def score(self) -> int | None:
        return int(self.argument) if self.name == RATE and self.argument else None

    def __str__(self) -> str:
        return self.name if self.argument is None else f"{self.name}:{self.argument}"


class Debouncer:
    """Accepts one press per key per `window` seconds: contact bounce and a nervous double tap
    are one press."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._last: dict[object, float] = {}

    def accept(self, key: object, now: float) -> bool:
        last = self._last.get(key)
        if last is not None and 0 <= now - last < self.window:
            return False
        self._last[key] = now
        return True


class KeymapDecoder:
    """evdev key events -> actions: a key going down is a press; releases and auto-repeat are not."""

    def __init__(self, keymap: Mapping[int, Action]) -> None:
        self.keymap = dict(keymap)
        self.ignored = 0  # keys pressed that map to nothing (diagnostics)

    def feed(self, event_type: int, code: int, value: int) -> Action | None:
        from evdev import ecodes

        if event_type != ecodes.EV_KEY or value != KEY_DOWN:
            return None
        action = self.keymap.get(code)
        if action is None:
            self.ignored += 1
        return action


def key_code(name: str) -> int:
    """The evdev code of "KEY_KP1" (or of a plain number); ValueError for an unknown name."""
    from evdev import ecodes

    if name.isdigit():
        return int(name)
    code = ecodes.ecodes.get(name)
    if not isinstance(code, int) or not name.startswith(("KEY_", "BTN_")):
        raise ValueError(f"unknown key {name!r} (names are evdev's, e.g. KEY_KP1, KEY_KPENTER)")
    return code
