"""The real board drivers: a Modbus RTU module simulated on a pty pair (the registers written are
read back), MAX7219 matrices on luma's dummy device (the image is checked), and the simulated board's
PNG and terminal renderings."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from luma.core.device import dummy
from PIL import Image
from pymodbus.client import ModbusSerialClient

from led_board.board import Frame, Line, LineSpec
from led_board.max7219 import Max7219Board
from led_board.modbus import ModbusBoard, builtin_models, profile_for
from led_board.modbus_sim import ModbusSlaveSimulator
from led_board.simulated import SimulatedBoard

# ---------------------------------------------------------------------- Modbus RTU over a pty pair


@pytest.fixture
def module() -> Iterator[ModbusSlaveSimulator]:
    with ModbusSlaveSimulator(unit=7) as simulator:
        yield simulator


def modbus_board(module: ModbusSlaveSimulator, model: str, *, clock: float = 0.0) -> ModbusBoard:
    client = ModbusSerialClient(module.port, baudrate=19200, timeout=0.3, retries=0)
    return ModbusBoard(client, profile_for(model), unit=7, port=module.port, clock=lambda: clock)


def ascii_of(registers: list[int]) -> str:
    return b"".join(value.to_bytes(2, "big") for value in registers).decode("ascii")


def test_counter_number_brightness_and_blink_reach_the_module_registers(module: ModbusSlaveSimulator) -> None:
    with modbus_board(module, "digits-4") as board:
        board.set_brightness(50)
        board.show(Frame((Line("1002", blink=True),)), now=0.0)
        assert board.ok, board.error
        assert module.read(0, 4) == [1002, 0, 5, 1]  # number, -, brightness 1–8 at 50 %, blink on
        board.show(Frame((Line("1002"),)), now=1.0)
        assert module.read(3, 1) == [0]
        writes = len(module.writes)
        board.show(Frame((Line("1002"),)), now=2.0)
        board.tick(now=3.0)
        assert len(module.writes) == writes  # nothing changed: the RS-485 line stays quiet


def test_text_module_gets_folded_ascii_two_characters_per_register(module: ModbusSlaveSimulator) -> None:
    with modbus_board(module, "text-2x8") as board:
        board.show(Frame((Line("1002"), Line("QUẦY 3"))), now=0.0)
        assert ascii_of(module.read(16, 4)) == "  1002  "
        assert ascii_of(module.read(32, 4)) == " QUAY 3 "
        assert [address for _, address, _ in module.writes] == [16, 32]


def test_a_silent_module_is_reported_and_rewritten_in_full_when_it_answers_again(
    module: ModbusSlaveSimulator,
) -> None:
    with modbus_board(module, "text-2x8") as board:
        board.retry_interval = 0.0
        board.show(Frame((Line("1002"), Line("QUẦY 3"))), now=0.0)
        module.silent = True  # cable pulled
        board.show(Frame((Line("1003"), Line("QUẦY 3"))), now=1.0)
        assert not board.ok and "unit 7" in (board.error or "") and module.port in (board.error or "")
        module.silent = False
        module.registers.clear()  # and the module lost its memory meanwhile (power cut)
        board.tick(now=2.0)
        assert board.ok
        assert ascii_of(module.read(16, 4)) == "  1003  " and ascii_of(module.read(32, 4)) == " QUAY 3 "


def test_unicode_module_gets_vietnamese_as_utf16(module: ModbusSlaveSimulator) -> None:
    with modbus_board(module, "unicode-2x16") as board:
        board.show(Frame((Line("1002"), Line("QUẦY SỐ 3"))), now=0.0)
        second = "".join(map(chr, module.read(216, 16)))
        assert second.strip() == "QUẦY SỐ 3"


def test_hall_module_rows_and_software_blink(module: ModbusSlaveSimulator) -> None:
    profile = builtin_models()["hall-6x12"]
    assert profile.blink is None
    with modbus_board(module, "hall-6x12") as board:
        frame = Frame((Line("SỐ → QUẦY"), Line("1002 → 3", blink=True)))
        board.show(frame, now=0.0)
        assert ascii_of(module.read(100, 6)).strip() == "SO > QUAY"
        assert ascii_of(module.read(108, 6)).strip() == "1002 > 3"
        board.tick(now=0.6)  # dark half: the row is blanked in software
        assert ascii_of(module.read(108, 6)).strip() == ""


# ---------------------------------------------------------------------- MAX7219 on luma's dummy device


def lit_columns(image: Image.Image) -> list[int]:
    width, height = image.size
    return [x for x in range(width) if any(image.getpixel((x, y)) for y in range(height))]


def test_max7219_draws_the_number_centred_and_blinks() -> None:
    device = dummy(width=32, height=8, mode="1")
    with Max7219Board(device, clock=lambda: 0.0) as board:
        board.show(Frame((Line("1002", blink=True),)), now=0.0)
        assert device.image is not None
        columns = lit_columns(device.image)
        assert columns, "nothing lit"
        left, right = columns[0], 31 - columns[-1]
        assert abs(left - right) <= 2, f"not centred: {left} free on the left, {right} on the right"
        digit_one = [device.image.getpixel((columns[0], y)) for y in range(8)]
        board.tick(now=0.6)
        assert not lit_columns(device.image)  # the dark half of the blink
        board.tick(now=1.1)
        assert [device.image.getpixel((columns[0], y)) for y in range(8)] == digit_one
        board.set_brightness(40)


def test_max7219_two_bands_of_16_rows_use_a_vietnamese_font() -> None:
    device = dummy(width=64, height=32, mode="1")
    board = Max7219Board(device, line_height=16, clock=lambda: 0.0)
    assert board.lines[0].unicode and len(board.lines) == 2
    board.show(Frame((Line("1002"), Line("QUẦY 3"))), now=0.0)
    image = device.image
    assert image is not None
    top = [y for y in range(16) if any(image.getpixel((x, y)) for x in range(64))]
    bottom = [y for y in range(16, 32) if any(image.getpixel((x, y)) for x in range(64))]
    assert top and bottom
    assert bottom[0] < 19  # the circumflex and grave of Ầ rise above the capitals
    board.close()


# ---------------------------------------------------------------------- simulated board


def colours(picture: Image.Image) -> list[tuple[int, tuple[int, int, int]]]:
    return picture.convert("RGB").getcolors(maxcolors=1 << 20) or []


def test_simulated_board_png_and_terminal(tmp_path: Path) -> None:
    png = tmp_path / "counter.png"
    terminal = io.StringIO()
    now = [0.0]
    board = SimulatedBoard((LineSpec(6), LineSpec(10)), png=png, terminal=terminal, clock=lambda: now[0])
    board.show(Frame((Line("1002"), Line("QUẦY SỐ 3"))))
    picture = Image.open(png)
    assert picture.size == board.image().size
    red = sum(count for count, (r, g, _) in colours(picture) if r > 200 and g < 90)
    assert red > 500, "the LEDs of the number and the label are lit red"
    assert "│QUẦY SỐ 3 │" in terminal.getvalue() and "1002" in terminal.getvalue()
    now[0] = 1.0  # the picture is rewritten at most once a second
    board.clear()
    assert not any(r > 200 for _, (r, _, _) in colours(Image.open(png)))
    assert board.wait_for(lambda output: output.lines[0] == "1002", timeout=0).lines[1] == "QUẦY SỐ 3"
    with pytest.raises(AssertionError, match="nothing matching"):
        board.wait_for(lambda output: output.lines[0] == "9999", timeout=0.01)


def test_a_scrolling_simulated_board_writes_its_picture_once(tmp_path: Path) -> None:
    # An idle hall board scrolls its welcome line: a PNG per scroll step cost 10–20 % of a core.
    png = tmp_path / "hall.png"
    board = SimulatedBoard((LineSpec(16), LineSpec(16)), png=png, clock=lambda: 0.0)
    frame = Frame((Line("1023 → QUẦY 2"), Line("Kính chào quý khách, mời lấy số thứ tự", scroll=True)))
    board.show(frame, now=0.0)
    written = png.stat().st_ino
    for step in range(1, 100):  # ten seconds of the daemon's refresh
        board.show(frame, now=step / 10)
    scrolled = {output.lines[1] for _, output in board.history}
    assert len(scrolled) > 20, "the board itself still scrolls"
    assert png.stat().st_ino == written, "the picture was rewritten while only scrolling"
    board.show(Frame((Line("1024 → QUẦY 3"), Line("Kính chào"))), now=10.0)
    assert png.stat().st_ino != written, "a new frame shows in the picture"


def test_a_burst_of_frames_writes_the_picture_at_most_once_a_second(tmp_path: Path) -> None:
    # A hall board's PNG costs ~35 ms to encode: one per call took the CPU the hub needed.
    png = tmp_path / "hall.png"
    board = SimulatedBoard((LineSpec(16), LineSpec(16)), png=png, clock=lambda: 0.0)
    writes: list[float] = []
    encode = board._write_png
    board._write_png = lambda output: (writes.append(board._pushed_at), encode(output))  # type: ignore[method-assign]
    for call in range(50):  # 50 calls within half a second
        board.show(Frame((Line(f"{1001 + call} → QUẦY 2"), Line("Kính chào"))), now=call / 100)
    assert len(writes) == 1, writes  # the first call at once, the rest wait for the next second
    last = Frame((Line("1050 → QUẦY 2"), Line("Kính chào")))
    board.show(last, now=0.8)  # the daemon's refresh: still within the second
    assert len(writes) == 1
    board.show(last, now=1.1)  # a refresh a second after the first picture writes the newest
    assert len(writes) == 2
    alone = SimulatedBoard((LineSpec(16), LineSpec(16)), png=tmp_path / "alone.png", clock=lambda: 0.0)
    alone.show(last)
    with Image.open(png) as picture, Image.open(tmp_path / "alone.png") as expected:
        assert picture.tobytes() == expected.tobytes(), "the picture shows the last call"
