"""Keyboard-wedge scanners: synthetic evdev event sequences as a real scanner types them.

There is no /dev/uinput on these machines, so the decoder is fed `evdev.InputEvent`s directly and the
source reads them from a fake device whose file descriptor is a real pipe (select works on it).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from evdev import InputEvent, ecodes

from barcode_reader.errors import DeviceLost, DeviceUnavailable
from barcode_reader.hid import US_LAYOUT, HidSource, KeyboardDecoder
from barcode_reader.service import RecordingSink, ScannerService

KEY_DOWN, KEY_UP = 1, 0
# Reverse US layout on the main keyboard block (keypad and the ISO 102nd key left out).
_KEYPAD = {code for name, code in ecodes.ecodes.items() if name.startswith("KEY_KP")} | {ecodes.KEY_102ND}
_CHAR_TO_KEY: dict[str, tuple[int, bool]] = {}
for _code, (_plain, _shifted) in US_LAYOUT.items():
    if _code not in _KEYPAD:
        _CHAR_TO_KEY.setdefault(_plain, (_code, False))
        if _shifted != _plain:
            _CHAR_TO_KEY.setdefault(_shifted, (_code, True))


class Typist:
    """Builds the event stream a scanner sends: key down/up with EV_SYN, timestamps advancing."""

    def __init__(self, start: float = 1_700_000_000.0, gap: float = 0.002) -> None:
        self.t = start
        self.gap = gap

    def _event(self, code: int, value: int) -> list[InputEvent]:
        sec, usec = int(self.t), int((self.t % 1) * 1_000_000)
        self.t += self.gap / 2
        return [
            InputEvent(sec, usec, ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70000 + code),
            InputEvent(sec, usec, ecodes.EV_KEY, code, value),
            InputEvent(sec, usec, ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
        ]

    def key(self, code: int) -> list[InputEvent]:
        return self._event(code, KEY_DOWN) + self._event(code, KEY_UP)

    def shifted(self, code: int, shift: int = ecodes.KEY_LEFTSHIFT) -> list[InputEvent]:
        return self._event(shift, KEY_DOWN) + self.key(code) + self._event(shift, KEY_UP)

    def text(self, text: str) -> list[InputEvent]:
        events: list[InputEvent] = []
        for ch in text:
            code, shift = _CHAR_TO_KEY[ch]
            events += self.shifted(code) if shift else self.key(code)
        return events

    def enter(self) -> list[InputEvent]:
        return self.key(ecodes.KEY_ENTER)

    def pause(self, seconds: float) -> None:
        self.t += seconds


def decode(events: Iterable[InputEvent], decoder: KeyboardDecoder | None = None) -> list[str]:
    decoder = decoder or KeyboardDecoder()
    return [scan for event in events for scan in decoder.feed(event)]


def test_a_dossier_code_typed_with_shift_ends_on_enter() -> None:
    typist = Typist()
    code = "000.00.06.H56-231027-0361"
    assert decode(typist.text(code) + typist.enter()) == [code]


def test_every_printable_ascii_character_survives_the_us_layout() -> None:
    typist = Typist()
    text = "".join(chr(c) for c in range(0x21, 0x7F))
    assert decode(typist.text(text) + typist.key(ecodes.KEY_TAB)) == [text]


def test_caps_lock_flips_letters_only_and_shift_flips_them_back() -> None:
    typist = Typist()
    events = typist.key(ecodes.KEY_CAPSLOCK)  # the scanner's host has Caps Lock on
    events += typist.key(ecodes.KEY_C) + typist.key(ecodes.KEY_N) + typist.key(ecodes.KEY_1)
    events += typist.shifted(ecodes.KEY_T) + typist.shifted(ecodes.KEY_2, ecodes.KEY_RIGHTSHIFT)
    events += typist.key(ecodes.KEY_DOT) + typist.enter()
    events += typist.key(ecodes.KEY_CAPSLOCK) + typist.key(ecodes.KEY_C) + typist.enter()
    assert decode(events) == ["CN1t@.", "c"]


def test_keypad_digits_and_keypad_enter() -> None:
    typist = Typist()
    keys = (ecodes.KEY_KP0, ecodes.KEY_KP3, ecodes.KEY_KPDOT, ecodes.KEY_KP9)
    events = [event for code in keys for event in typist.key(code)]
    assert decode(events + typist.key(ecodes.KEY_KPENTER)) == ["03.9"]


def test_alt_keypad_codes_carry_characters_outside_the_layout() -> None:
    """Scanners in "Alt mode" send non-ASCII as Alt + keypad decimal codes (Windows convention)."""
    typist = Typist()

    def alt_code(digits: str) -> list[InputEvent]:
        events = typist._event(ecodes.KEY_LEFTALT, KEY_DOWN)
        for digit in digits:
            events += typist.key(ecodes.ecodes[f"KEY_KP{digit}"])
        return events + typist._event(ecodes.KEY_LEFTALT, KEY_UP)

    # "Hồ" = H, then U+1ED3 (7891) as a Unicode code point; "é" as ANSI 0233.
    events = typist.text("H") + alt_code("7891") + alt_code("0233") + typist.enter()
    assert decode(events) == ["Hồé"]


def test_a_scan_without_terminator_ends_on_the_inter_key_timeout() -> None:
    typist = Typist(gap=0.004)
    decoder = KeyboardDecoder(inter_key_timeout=0.05)
    events = typist.text("CNTBD.181121.00336")
    typist.pause(0.5)  # the scanner is set to send no suffix: the next scan starts after a pause
    events += typist.text("CNTBD.181121.00337")
    assert decode(events, decoder) == ["CNTBD.181121.00336"]
    assert decoder.pending
    assert decoder.flush() == "CNTBD.181121.00337"  # the source flushes once the pause is over
    assert decoder.flush() is None


def test_key_repeat_ctrl_shortcuts_and_unknown_keys_are_not_text() -> None:
    typist = Typist()
    events = typist.text("AB")
    events += [InputEvent(int(typist.t), 0, ecodes.EV_KEY, ecodes.KEY_B, 2)]  # auto-repeat
    events += typist._event(ecodes.KEY_LEFTCTRL, KEY_DOWN) + typist.key(ecodes.KEY_J)
    events += typist._event(ecodes.KEY_LEFTCTRL, KEY_UP)
    events += typist.key(ecodes.KEY_F5) + typist.text("C") + typist.enter()
    decoder = KeyboardDecoder()
    assert decode(events, decoder) == ["ABC"]
    assert decoder.ignored_keys == 2


def test_enter_alone_and_tab_when_not_a_terminator() -> None:
    typist = Typist()
    decoder = KeyboardDecoder(terminators=["enter"])
    events = typist.enter() + typist.text("A") + typist.key(ecodes.KEY_TAB)
    events += typist.text("B") + typist.enter()
    assert decode(events, decoder) == ["AB"]  # Tab has no character; an empty Enter is no scan


# ----------------------------------------------------------------------------- the source


class FakeInputDevice:
    """Stands in for evdev.InputDevice: a pipe whose bytes say "events are ready"."""

    def __init__(self, path: str, events: list[InputEvent]) -> None:
        self.path = path
        self._read_fd, self._write_fd = os.pipe()
        self._events = list(events)
        self.grabbed = False
        self.closed = False
        self.unplugged = False

    def fileno(self) -> int:
        return self._read_fd

    def push(self, events: list[InputEvent]) -> None:
        self._events += events
        os.write(self._write_fd, b"x")

    def unplug(self) -> None:
        self.unplugged = True
        os.write(self._write_fd, b"x")

    def read(self) -> Iterator[InputEvent]:
        os.read(self._read_fd, 4096)
        if self.unplugged:
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        if not self._events:
            raise BlockingIOError(errno.EAGAIN, "no events")
        events, self._events = self._events, []
        yield from events

    def grab(self) -> None:
        self.grabbed = True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._read_fd)
            os.close(self._write_fd)


class FakeInputDevices:
    """A /dev/input with pluggable scanners: opener(path) -> FakeInputDevice or ENOENT."""

    def __init__(self) -> None:
        self.present: dict[str, FakeInputDevice] = {}
        self.opened: list[FakeInputDevice] = []
        self.busy = False

    def plug(self, path: str) -> FakeInputDevice:
        device = FakeInputDevice(path, [])
        self.present[path] = device
        return device

    def unplug(self, path: str) -> None:
        self.present.pop(path).unplug()

    def __call__(self, path: str) -> FakeInputDevice:
        if path not in self.present:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        device = self.present[path]
        if self.busy:
            device.grab = _raise_busy  # type: ignore[method-assign]
        self.opened.append(device)
        return device


def _raise_busy() -> None:
    raise OSError(errno.EBUSY, "Device or resource busy")


PATH = "/dev/input/by-id/usb-Honeywell_Scanner-event-kbd"


def test_source_grabs_the_device_and_reads_scans() -> None:
    devices = FakeInputDevices()
    device = devices.plug(PATH)
    source = HidSource(PATH, opener=devices)
    source.open()
    assert device.grabbed
    typist = Typist()
    device.push(typist.text("000.00.06.H56-231027-0361") + typist.enter() + typist.text("CNTBD.181121.00336"))
    device.push(typist.key(ecodes.KEY_TAB))
    first = source.read(1.0)
    second = source.read(1.0)
    assert first is not None and first.text == "000.00.06.H56-231027-0361"
    assert second is not None and second.text == "CNTBD.181121.00336"
    assert source.read(0.05) is None
    source.close()
    source.close()  # idempotent
    assert device.closed


def test_source_flushes_a_scan_without_terminator_after_the_timeout() -> None:
    devices = FakeInputDevices()
    device = devices.plug(PATH)
    source = HidSource(PATH, opener=devices, inter_key_timeout=0.05, terminators=["enter"])
    source.open()
    device.push(Typist().text("CNTBD.181121.00336"))
    scan = source.read(1.0)
    assert scan is not None and scan.text == "CNTBD.181121.00336"


def test_missing_busy_and_unplugged_devices() -> None:
    devices = FakeInputDevices()
    source = HidSource(PATH, opener=devices)
    with pytest.raises(DeviceUnavailable, match="No such file"):
        source.open()
    devices.plug(PATH)
    devices.busy = True
    with pytest.raises(DeviceUnavailable, match="grabbed by another program"):
        source.open()
    devices.busy = False
    devices.plug(PATH)
    source.open()
    devices.unplug(PATH)
    with pytest.raises(DeviceLost, match="No such device"):
        source.read(1.0)


def test_glob_pattern_picks_the_scanner_that_is_there(tmp_path: Path) -> None:
    folder = str(tmp_path)
    devices = FakeInputDevices()
    source = HidSource(f"{folder}/usb-*-event-kbd", opener=devices)
    with pytest.raises(DeviceUnavailable, match="no device matches"):
        source.open()
    path = f"{folder}/usb-Zebra_DS2208-event-kbd"
    open(path, "w").close()
    devices.plug(path)
    source.open()
    assert source.device == path


def test_unplug_and_replug_resume_without_restart_and_show_in_health() -> None:
    devices = FakeInputDevices()
    device = devices.plug(PATH)
    sink = RecordingSink()
    source = HidSource(PATH, opener=devices)
    with ScannerService(source, sink, retry_interval=0.05, read_timeout=0.05):
        assert sink.wait(lambda s: s.health and s.health[-1]["scanner"] == "attached")
        typist = Typist()
        device.push(typist.text("000.00.06.H56-231027-0361") + typist.enter())
        assert sink.wait(lambda s: len(s.scans) == 1)

        devices.unplug(PATH)
        assert sink.wait(lambda s: s.health[-1]["scanner"] == "detached")
        assert sink.health[-1]["error"] == "No such device"
        assert sink.health[-1]["last_scan_ts"] == sink.scans[0].ts

        device = devices.plug(PATH)
        assert sink.wait(lambda s: s.health[-1]["scanner"] == "attached")
        device.push(typist.text("CNTBD.181121.00336") + typist.enter())
        assert sink.wait(lambda s: len(s.scans) == 2)
    assert [scan.code for scan in sink.scans] == ["000.00.06.H56-231027-0361", "CNTBD.181121.00336"]
    assert [scan.kind for scan in sink.scans] == ["dossier_code", "dossier_code"]
    assert all(scan.source == "hid" for scan in sink.scans)
    assert sum(1 for d in devices.opened if d.grabbed) == 2
