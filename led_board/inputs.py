"""Where presses come from: GPIO buttons (gpiozero) and USB numeric keypads (evdev, grabbed).

Both call `on_press(action)` from their own thread; the desk decides what a press means. A keypad
that is missing or unplugged is looked for again every `retry_interval` seconds and reported in
`error` (the daemon's health), never raised into the daemon.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import sys
import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, BinaryIO

from appliance.evdev_input import InputDeviceLike, Opener, first_match, open_evdev, open_grabbed
from appliance.inputs import RejectedInputs

from .errors import InputUnavailable
from .keys import Action, KeymapDecoder

log = logging.getLogger(__name__)

OnPress = Callable[[Action], None]
# A simulated key line is a short action name; a longer one is refused without reading it whole.
MAX_KEY_LINE_BYTES = 256


class _ReaderThread:
    """A press source that reads on a daemon thread of its own, named `thread_name`, started once."""

    thread_name = "keys"
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()


class GpioButtons:
    """Buttons on GPIO pins, one action each (keys of a counter, or rating scores)."""

    kind = "gpio"

    def __init__(
        self,
        buttons: Mapping[Action, object],
        on_press: OnPress,
        *,
        pull_up: bool = True,
        bounce_time: float | None = 0.02,
        pin_factory: Any = None,
    ) -> None:
        from gpiozero import Button
        from gpiozero.exc import GPIOZeroError

        self.device = "GPIO " + ", ".join(f"{pin}={action}" for action, pin in buttons.items())
        self.error: str | None = None
        self.buttons: dict[Action, Any] = {}
        try:
            for action, pin in buttons.items():
                button = Button(pin, pull_up=pull_up, bounce_time=bounce_time, pin_factory=pin_factory)
                button.when_pressed = partial(on_press, action)
                self.buttons[action] = button
        except (GPIOZeroError, OSError, ValueError) as error:
            self.close()
            raise InputUnavailable(f"GPIO pin {pin} ({action})", str(error)) from None

    def start(self) -> None:
        """gpiozero watches the pins from its own thread already."""

    def close(self) -> None:
        for button in self.buttons.values():
            button.close()
        self.buttons.clear()


class EvdevKeypad(_ReaderThread):
    """A USB numeric keypad: `device` is an event device path or a glob (first match)."""

    kind = "evdev"

    def __init__(
        self,
        device: str,
        keymap: Mapping[int, Action],
        on_press: OnPress,
        *,
        grab: bool = True,
        retry_interval: float = 2.0,
        opener: Opener = open_evdev,
    ) -> None:
        self.pattern = device
        self.device = device
        self.grab = grab
        self.retry_interval = retry_interval
        self.decoder = KeymapDecoder(keymap)
        self.on_press = on_press
        self.opener = opener
        self.error: str | None = None
        self.connected = threading.Event()  # the keypad is open and read
        self._stop = threading.Event()
        self._wake_read, self._wake_write = os.pipe()
        self.thread_name = f"keypad {device}"

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"x")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    # ------------------------------------------------------------------ thread
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                keypad = self._open()
            except InputUnavailable as error:
                self._report(str(error))
                self._stop.wait(self.retry_interval)
                continue
            self._report(None)
            self.connected.set()
            try:
                self._read_until_lost(keypad)
            except InputUnavailable as error:
                self._report(str(error))
            finally:
                self.connected.clear()
                with contextlib.suppress(OSError):
                    keypad.close()

    def _open(self) -> InputDeviceLike:
        self.device = first_match(self.pattern, InputUnavailable)
        return open_grabbed(self.device, self.opener, InputUnavailable, grab=self.grab)

    def _read_until_lost(self, keypad: InputDeviceLike) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([keypad.fileno(), self._wake_read], [], [], 1.0)
            except (OSError, ValueError) as error:
                raise InputUnavailable(self.device, f"lost: {error}") from None
            if keypad.fileno() not in ready:
                continue
            try:
                events = list(keypad.read())
            except BlockingIOError:
                continue
            except OSError as error:  # ENODEV: unplugged
                raise InputUnavailable(self.device, f"lost: {error.strerror or error}") from None
            for event in events:
                action = self.decoder.feed(event.type, event.code, event.value)
                if action is not None:
                    self.on_press(action)

    def _report(self, error: str | None) -> None:
        if error != self.error:
            if error is None:
                log.info("keypad %s: ready", self.device)
            else:
                log.warning("%s", error)
        self.error = error


class LineKeypad(_ReaderThread):
    """Presses typed as lines ("call_next", "rate:3") on standard input or a FIFO: keys for a demo
    or a test bench without GPIO or USB keypads. Any bytes may come: a line that is not an action (not
    UTF-8, too long, unknown) is refused, counted in `rejected` (health) and skipped; reading goes on."""

    kind = "simulated"

    def __init__(self, path: str, on_press: OnPress, rejected: RejectedInputs | None = None) -> None:
        self.device = path
        self.on_press = on_press
        self.rejected = rejected or RejectedInputs()
        self.error: str | None = None
        self._stop = threading.Event()
        self.thread_name = f"keys {path}"

    def close(self) -> None:
        self._stop.set()  # the reader thread is a daemon: it may stay blocked on its read

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.device == "-":
                    self._read_lines(sys.stdin.buffer)
                    return
                if not os.path.exists(self.device):
                    os.mkfifo(self.device)
                with open(self.device, "rb") as stream:  # blocks until a writer opens it
                    self._read_lines(stream)
            except OSError as error:
                self.error = f"{self.device}: {error.strerror or error}"
                log.warning("simulated keypad %s", self.error)
                self._stop.wait(2.0)

    def _read_lines(self, stream: BinaryIO) -> None:
        skipping = False  # inside a line that was already refused as too long
        while not self._stop.is_set():
            raw = stream.readline(MAX_KEY_LINE_BYTES + 1)
            if not raw:
                return
            complete = raw.endswith(b"\n")
            if skipping:
                skipping = not complete
                continue
            if not complete and len(raw) > MAX_KEY_LINE_BYTES:
                self.rejected.reject(f"keys {self.device}", f"line longer than {MAX_KEY_LINE_BYTES} bytes")
                skipping = True
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                self.rejected.reject(f"keys {self.device}", f"not UTF-8: {error.reason} ({raw[:16]!r})")
                continue
            if not line.strip():
                continue
            try:
                action = Action.parse(line)
            except ValueError as error:
                self.rejected.reject(f"keys {self.device}", error)
                continue
            self.on_press(action)
