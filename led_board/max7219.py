"""MAX7219 8×8 LED matrices chained on SPI, through luma.led_matrix.

Lines are bands of `line_height` LED rows: 8-row bands use luma's legacy 8-pixel font (ASCII, so
Vietnamese is folded), bands of 12 rows or more use DejaVu Sans Bold with every diacritic. Frames
are drawn with luma's `canvas`, which pushes the image only when the drawing completed.
"""

from __future__ import annotations

import time
from typing import Any

from .board import Board, Clock, LineSpec, Output
from .errors import BoardError
from .render import MIN_TTF_LINE, PixelRenderer

LEGACY_CHAR_WIDTH = 6  # LCD_FONT is 5 pixels wide plus a column of space


def open_max7219(settings: Any) -> Any:
    """The luma device for `settings` (spi_port, spi_device, width, height, block_orientation,
    rotate, reverse_order); BoardError naming the bus if it cannot be opened."""
    try:
        from luma.core.interface.serial import noop, spi
        from luma.led_matrix.device import max7219
    except ImportError as error:
        raise BoardError(f"MAX7219: luma.led_matrix is not installed ({error})") from None
    bus = f"SPI {settings.spi_port}.{settings.spi_device}"
    try:
        serial = spi(port=settings.spi_port, device=settings.spi_device, gpio=noop())
        return max7219(
            serial,
            width=settings.width,
            height=settings.height,
            rotate=settings.rotate,
            block_orientation=settings.block_orientation,
            blocks_arranged_in_reverse_order=settings.reverse_order,
        )
    except Exception as error:  # luma raises DeviceNotFoundError, DevicePermissionError, ImportError…
        raise BoardError(f"MAX7219 on {bus}: {error}") from None


class Max7219Board(Board):
    kind = "max7219"

    def __init__(
        self,
        device: Any,
        *,
        line_height: int = 8,
        name: str = "MAX7219 matrix",
        clock: Clock = time.monotonic,
        **options: float,
    ) -> None:
        width, height = device.width, device.height
        lines = height // line_height
        if lines < 1:
            raise BoardError(f"{name}: {height} LED rows cannot hold a line of {line_height}")
        font = "ttf" if line_height >= MIN_TTF_LINE else "legacy"
        columns = width // (LEGACY_CHAR_WIDTH if font == "legacy" else round(line_height * 0.62))
        spec = LineSpec(columns=max(1, columns), text=True, unicode=font == "ttf")
        super().__init__([spec] * lines, name=name, clock=clock, **options)
        self.device = device
        self.renderer = PixelRenderer(width, [line_height] * lines, font=font)

    def _draw(self, output: Output) -> None:
        from luma.core.render import canvas

        image = self.renderer.render(output)
        try:
            with canvas(self.device) as draw:
                draw.bitmap((0, 0), image, fill="white")
        except OSError as error:
            raise BoardError(f"{self.name}: {error.strerror or error}") from None

    def _apply_brightness(self, percent: int) -> None:
        try:
            self.device.contrast(round(255 * percent / 100))
        except OSError as error:
            raise BoardError(f"{self.name}: {error.strerror or error}") from None

    def _close(self) -> None:
        try:
            self.device.cleanup()
        except OSError as error:
            raise BoardError(f"{self.name}: {error.strerror or error}") from None
