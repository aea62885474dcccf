"""USB HID "keyboard wedge" scanners through evdev.

The scanner types its code as key presses. `KeyboardDecoder` (pure, fed `evdev.InputEvent`s) turns
key codes into text with a US layout, honouring Shift, Caps Lock and Alt+keypad character entry; a
scan ends on Enter/Tab or when the keys stop for longer than the inter-key timeout. `HidSource` opens
`/dev/input/by-id/…-event-kbd`, grabs it so the keystrokes never reach the kiosk UI, and feeds the
decoder.
"""

from __future__ import annotations

import contextlib
import os
import select
import time
from collections.abc import Callable, Iterable
from typing import Literal

from evdev import InputEvent, ecodes

from appliance.evdev_input import InputDeviceLike, Opener, first_match, open_evdev, open_grabbed

from .errors import DeviceLost, DeviceUnavailable
from .source import StreamSource

Terminator = Literal["enter", "tab"]

# US layout: key code -> (unshifted, shifted). Letters are listed lower case; Caps Lock flips them.
_ROWS: dict[str, tuple[str, str]] = {
    "KEY_1": ("1", "!"),
    "KEY_2": ("2", "@"),
    "KEY_3": ("3", "#"),
    "KEY_4": ("4", "$"),
    "KEY_5": ("5", "%"),
    "KEY_6": ("6", "^"),
    "KEY_7": ("7", "&"),
    "KEY_8": ("8", "*"),
    "KEY_9": ("9", "("),
    "KEY_0": ("0", ")"),
    "KEY_MINUS": ("-", "_"),
    "KEY_EQUAL": ("=", "+"),
    "KEY_LEFTBRACE": ("[", "{"),
    "KEY_RIGHTBRACE": ("]", "}"),
    "KEY_BACKSLASH": ("\\", "|"),
    "KEY_SEMICOLON": (";", ":"),
    "KEY_APOSTROPHE": ("'", '"'),
    "KEY_GRAVE": ("`", "~"),
    "KEY_COMMA": (",", "<"),
    "KEY_DOT": (".", ">"),
    "KEY_SLASH": ("/", "?"),
    "KEY_SPACE": (" ", " "),
    "KEY_102ND": ("\\", "|"),
    # Keypad: scanners in "numeric keypad" mode send these; Num Lock is assumed on.
    "KEY_KP0": ("0", "0"),
    "KEY_KP1": ("1", "1"),
    "KEY_KP2": ("2", "2"),
    "KEY_KP3": ("3", "3"),
    "KEY_KP4": ("4", "4"),
    "KEY_KP5": ("5", "5"),
    "KEY_KP6": ("6", "6"),
    "KEY_KP7": ("7", "7"),
    "KEY_KP8": ("8", "8"),
    "KEY_KP9": ("9", "9"),
    "KEY_KPDOT": (".", "."),
    "KEY_KPMINUS": ("-", "-"),
    "KEY_KPPLUS": ("+", "+"),
    "KEY_KPASTERISK": ("*", "*"),
    "KEY_KPSLASH": ("/", "/"),
}
US_LAYOUT: dict[int, tuple[str, str]] = {ecodes.ecodes[name]: chars for name, chars in _ROWS.items()}
_LETTERS = {ecodes.ecodes[f"KEY_{letter}"]: letter.lower() for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
US_LAYOUT.update({code: (letter, letter.upper()) for code, letter in _LETTERS.items()})
_KEYPAD_DIGITS = {ecodes.ecodes[f"KEY_KP{digit}"]: str(digit) for digit in range(10)}
_SHIFT = {ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT}
_ALT = {ecodes.KEY_LEFTALT, ecodes.KEY_RIGHTALT}
_CTRL = {ecodes.KEY_LEFTCTRL, ecodes.KEY_RIGHTCTRL}
_TERMINATOR_KEYS: dict[Terminator, set[int]] = {
    "enter": {ecodes.KEY_ENTER, ecodes.KEY_KPENTER},
    "tab": {ecodes.KEY_TAB},
}
_DOWN, _UP = 1, 0  # value 2 is auto-repeat, which scanners never mean


class KeyboardDecoder:
    """Key events in, scanned strings out. Pure: time comes from the events' own timestamps."""

    def __init__(
        self,
        *,
        terminators: Iterable[Terminator] = ("enter", "tab"),
        inter_key_timeout: float = 0.1,
        layout: dict[int, tuple[str, str]] | None = None,
        max_length: int = 4096,
    ) -> None:
        self.layout = US_LAYOUT if layout is None else layout
        self.terminator_keys: set[int] = set().union(*(_TERMINATOR_KEYS[name] for name in terminators))
        self.inter_key_timeout = inter_key_timeout
        self.max_length = max_length
        self._buffer: list[str] = []
        self._last_key_at: float | None = None
        self._shift: set[int] = set()
        self._ctrl: set[int] = set()
        self._alt: set[int] = set()
        self._alt_digits = ""
        self.caps_lock = False
        self.ignored_keys = 0  # keys with no character in the layout (diagnostics)

    @property
    def pending(self) -> bool:
        return bool(self._buffer)

    def flush(self) -> str | None:
        """End the scan in progress (the inter-key timeout passed with no terminator)."""
        if not self._buffer:
            return None
        text = "".join(self._buffer)
        self._buffer.clear()
        return text

    def feed(self, event: InputEvent) -> list[str]:
        """Process one event; return the scans it completed (usually none, sometimes one)."""
        if event.type != ecodes.EV_KEY:
            return []
        done: list[str] = []
        moment = event.timestamp()
        if (
            self._buffer
            and self.inter_key_timeout > 0
            and self._last_key_at is not None
            and moment - self._last_key_at > self.inter_key_timeout
        ):
            # The keys stopped for a while: what came before was a scan without a terminator.
            done.append(self.flush() or "")
        self._last_key_at = moment
        code, value = event.code, event.value
        if code in _SHIFT or code in _CTRL or code in _ALT:
            self._modifier(code, value)
            return done
        if value != _DOWN:
            return done
        if code == ecodes.KEY_CAPSLOCK:
            self.caps_lock = not self.caps_lock
        elif code in self.terminator_keys:
            text = self.flush()
            if text:
                done.append(text)
        elif self._alt and code in _KEYPAD_DIGITS:
            self._alt_digits += _KEYPAD_DIGITS[code]
        elif self._ctrl or self._alt:
            self.ignored_keys += 1  # a shortcut, not text
        elif code in self.layout:
            self._append(self._character(code))
        else:
            self.ignored_keys += 1
        return [text for text in done if text]

    def _modifier(self, code: int, value: int) -> None:
        held = self._shift if code in _SHIFT else self._ctrl if code in _CTRL else self._alt
        if value == _DOWN:
            held.add(code)
        elif value == _UP:
            held.discard(code)
            if code in _ALT and not self._alt:
                self._finish_alt_code()

    def _finish_alt_code(self) -> None:
        """Alt+keypad digits, as scanners send characters outside the layout (Windows convention)."""
        digits, self._alt_digits = self._alt_digits, ""
        if not digits:
            return
        number = int(digits)
        if digits.startswith("0") and number < 256:
            self._append(bytes([number]).decode("cp1252", errors="replace"))
        elif number < 256:
            self._append(bytes([number]).decode("cp437"))
        elif number < 0x110000:
            self._append(chr(number))

    def _character(self, code: int) -> str:
        plain, shifted = self.layout[code]
        upper = bool(self._shift)
        if code in _LETTERS and self.caps_lock:
            upper = not upper
        return shifted if upper else plain

    def _append(self, text: str) -> None:
        # Keep one character past the limit so the classifier can still say "too long".
        if len(self._buffer) <= self.max_length:
            self._buffer.append(text)


class HidSource(StreamSource):
    """A keyboard-wedge scanner: `device` is an event device path, or a glob such as
    `/dev/input/by-id/usb-*Honeywell*-event-kbd` (the first match in sorted order). A scan ends on a
    terminator key, or when the keys stop for `inter_key_timeout` seconds."""

    kind = "hid"

    def __init__(
        self,
        device: str,
        *,
        grab: bool = True,
        terminators: Iterable[Terminator] = ("enter", "tab"),
        inter_key_timeout: float = 0.1,
        opener: Opener = open_evdev,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(quiet_s=inter_key_timeout, clock=clock)
        self._pattern = device
        self.grab = grab
        self._terminators = tuple(terminators)
        self._opener = opener
        self._path = device
        self.decoder = self._new_decoder()

    def _new_decoder(self) -> KeyboardDecoder:
        return KeyboardDecoder(terminators=self._terminators, inter_key_timeout=self.quiet_s)

    @property
    def device(self) -> str:
        return self._path

    def open(self) -> None:
        self.close()
        self._path = first_match(self._pattern, DeviceUnavailable)
        self._handle = open_grabbed(self._path, self._opener, DeviceUnavailable, grab=self.grab)
        self.decoder = self._new_decoder()  # a half-typed scan from before the unplug is gone
        self._pending.clear()

    def _buffered(self) -> bool:
        return self.decoder.pending

    def _flush(self) -> None:
        text = self.decoder.flush()
        if text:
            self._pending.append(text)

    def _receive(self, handle: InputDeviceLike, wait: float) -> None:
        try:
            ready, _, _ = select.select([handle.fileno()], [], [], wait)
        except (OSError, ValueError) as error:
            raise DeviceLost(self._path, str(error)) from None
        if not ready:
            return
        try:
            for event in handle.read():
                self._pending.extend(self.decoder.feed(event))
        except BlockingIOError:
            pass
        except OSError as error:
            # ENODEV when the scanner is unplugged; any other read error is as fatal for this handle.
            raise DeviceLost(self._path, error.strerror or os.strerror(error.errno or 0)) from None
        self._last_input_at = self._clock()

    def close(self) -> None:
        device, self._handle = self._handle, None
        if device is None:
            return
        with contextlib.suppress(OSError):  # already gone with the unplug
            device.close()
