"""What the officer hears and sees when pressing a key: a buzzer and a lamp (gpiozero).

- `working()`: the press was taken and sent: one short beep, the lamp lights until the answer;
- `done()`: the hub answered yes: the lamp goes out;
- `refused()`: not sent (bounce while busy, no connection, not armed): two short beeps;
- `failed()`: the hub said no or did not answer: one long beep, the lamp flashes.

`RatingLamps` light the rating buttons while a rating is possible.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Signals(Protocol):
    def working(self) -> None: ...
    def done(self) -> None: ...
    def refused(self) -> None: ...
    def failed(self) -> None: ...


class Feedback:
    """Buzzer and lamp of a counter's keypad; either may be missing (None)."""

    def __init__(self, buzzer: Any = None, lamp: Any = None) -> None:
        self.buzzer = buzzer
        self.lamp = lamp
        # The key's thread and the worker waiting for the hub both signal; gpiozero's blink() is not
        # thread-safe (a second blink joins the first's thread before it started: RuntimeError).
        self._lock = threading.RLock()

    @classmethod
    def from_pins(
        cls, buzzer_pin: object, lamp_pin: object, *, active_high: bool = True, pin_factory: Any = None
    ) -> Feedback:
        from gpiozero import LED, Buzzer

        buzzer = (
            Buzzer(buzzer_pin, active_high=active_high, pin_factory=pin_factory)
            if buzzer_pin is not None
            else None
        )
        lamp = (
            LED(lamp_pin, active_high=active_high, pin_factory=pin_factory) if lamp_pin is not None else None
        )
        return cls(buzzer, lamp)

    def working(self) -> None:
        with self._lock:
            if self.lamp is not None:
                self.lamp.on()
            self._beep(0.05, 0.05, 1)

    def done(self) -> None:
        with self._lock:
            if self.lamp is not None:
                self.lamp.off()

    def refused(self) -> None:
        self._beep(0.06, 0.08, 2)

    def failed(self) -> None:
        with self._lock:
            if self.lamp is not None:
                self.lamp.blink(on_time=0.1, off_time=0.1, n=3)
            self._beep(0.4, 0.1, 1)

    def _beep(self, on_time: float, off_time: float, count: int) -> None:
        with self._lock:
            if self.buzzer is not None:
                self.buzzer.beep(on_time=on_time, off_time=off_time, n=count, background=True)

    def close(self) -> None:
        with self._lock:
            for device in (self.buzzer, self.lamp):
                if device is not None:
                    device.close()


class RatingLamps:
    """The lamps of the rating buttons: lit while armed; a quick flash thanks the citizen."""

    def __init__(self, lamps: Sequence[Any] = ()) -> None:
        self.lamps = list(lamps)
        self.armed = False

    @classmethod
    def from_pins(cls, pins: Sequence[object], *, pin_factory: Any = None) -> RatingLamps:
        from gpiozero import LED

        return cls([LED(pin, pin_factory=pin_factory) for pin in pins])

    def set_armed(self, armed: bool) -> None:
        if armed == self.armed:
            return
        self.armed = armed
        for lamp in self.lamps:
            lamp.on() if armed else lamp.off()

    # Signals of the rating lane: the lamps are the citizen's feedback.
    def working(self) -> None:
        self.set_armed(False)

    def done(self) -> None:
        for lamp in self.lamps:
            lamp.blink(on_time=0.15, off_time=0.15, n=2)

    def refused(self) -> None:
        """Not armed: nothing to rate; the unlit lamps already say so."""

    def failed(self) -> None:
        for lamp in self.lamps:
            lamp.blink(on_time=0.05, off_time=0.05, n=4)

    def close(self) -> None:
        for lamp in self.lamps:
            lamp.close()
